# The config starts a thread that never ends: the process must still exit when the report is done.
__import__('threading').Thread(target=__import__('time').sleep, args=(10 ** 6,), name='hostile').start()
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
