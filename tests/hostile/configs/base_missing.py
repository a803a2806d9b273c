_base_ = ['../../rules/fixtures/_base_/no_such_base.py']
