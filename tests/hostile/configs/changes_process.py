# The config changes process-wide state that the next config would inherit in-process.
__import__('os').chdir('/')
__import__('os').environ['DETAUDIT_HOSTILE'] = 'set by a config'
__import__('sys').setrecursionlimit(80)
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
