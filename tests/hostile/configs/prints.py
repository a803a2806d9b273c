# Output from the config's own code must not corrupt a report written to stdout.
print('{"this": "is not the report"}')
__import__('sys').stdout.write('garbage on stdout\n')
__import__('os').write(1, b'garbage on file descriptor 1\n')
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
