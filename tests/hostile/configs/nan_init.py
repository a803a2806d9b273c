# Every convolution initialised to NaN: the synthetic forward produces non-finite values.
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
model = dict(backbone=dict(init_cfg=dict(type='Constant', val=float('nan'), layer='Conv2d')))
