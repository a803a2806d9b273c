# Wrong types inside the model dict.
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
model = dict(backbone=dict(frozen_stages='all', norm_eval='yes', init_cfg=7),
             roi_head=dict(bbox_head=dict(num_classes=-3)))
