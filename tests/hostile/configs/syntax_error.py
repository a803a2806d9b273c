_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
model = dict(backbone=dict(depth=18)   # unclosed
