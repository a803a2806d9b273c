# A buildable model with every other top-level key of the wrong type: rules must report or
# skip, never crash.
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
optim_wrapper = 5
load_from = 3.5
resume = 'yes'
custom_hooks = 'FreezeHook'
train_dataloader = []
val_dataloader = 'none'
test_dataloader = dict(dataset=[1, 2, 3])
test_pipeline = 7
param_scheduler = 'cosine'
train_cfg = None
default_hooks = [None]
env_cfg = 0
work_dir = ['a', 'b']
