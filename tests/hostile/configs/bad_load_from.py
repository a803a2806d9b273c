# load_from names a file that is not a checkpoint at all.
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
load_from = '../not_a_checkpoint.pth'
