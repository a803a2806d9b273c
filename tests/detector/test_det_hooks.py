"""FreezeModulesHook and WeightsOnlyCheckpointHook."""
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from det_helpers import load_config
from mmdet.registry import HOOKS
from mmengine.logging import HistoryBuffer

from detector import FreezeModulesHook, WeightsOnlyCheckpointHook


class TinyDetector(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.Sequential(nn.Conv2d(4, 4, 1), nn.GroupNorm(2, 4)))
        self.head = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))


def _runner(model):
    return SimpleNamespace(model=model, logger=logging.getLogger('test-freeze'))


def test_freeze_hook_sets_requires_grad_and_keeps_norms_in_eval():
    model = TinyDetector()
    hook = HOOKS.build(dict(type='FreezeModulesHook', modules=['backbone']))
    assert isinstance(hook, FreezeModulesHook)
    hook.before_run(_runner(model))
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    for _ in range(2):  # after every model.train()
        model.train()
        assert not model.backbone[1].training and not model.backbone[3][1].training
        assert model.backbone[0].training  # only the norm layers are switched
        assert model.head[1].training
    model.eval()
    assert not model.backbone[0].training
    # running statistics stay put during a training-mode forward
    model.train()
    before = model.backbone[1].running_mean.clone()
    model.backbone(torch.randn(2, 3, 8, 8) * 5 + 3)
    assert torch.equal(before, model.backbone[1].running_mean)
    # and the epoch check re-freezes anything switched back on
    model.backbone[0].weight.requires_grad_(True)
    hook.before_train_epoch(_runner(model))
    assert not model.backbone[0].weight.requires_grad


def test_freeze_hook_rejects_unknown_modules():
    with pytest.raises(KeyError, match="no submodule 'neck'"):
        FreezeModulesHook(modules=['neck']).before_run(_runner(TinyDetector()))
    with pytest.raises(ValueError):
        FreezeModulesHook(modules=[])


def test_fixed_config_declares_both_freezing_ways():
    cfg = load_config('stage2_kaist_domain_ft_fixed.py')
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['FreezeModulesHook']['modules'] == ['backbone']
    assert cfg.model.backbone.frozen_stages == 4 and cfg.model.backbone.norm_eval is True
    assert cfg.load_from == './work_dirs/stage1_llvip_pretrain/latest.pth'
    stage1 = load_config('stage1_llvip_pretrain.py')
    assert stage1.default_hooks.checkpoint.filename_tmpl == 'latest.pth'


def test_weights_only_checkpoint_hook_makes_checkpoint_safe(tmp_path):
    hub = dict(log_scalars={'train/loss': HistoryBuffer([1.0, 2.0], [1, 1])},
               runtime_info={'eta': np.float64(3.5), 'iter': 7, 'dataset_meta': {'classes': ('a', )},
                             'arr': np.arange(3), 'obj': object()},
               resumed_keys={'train/loss': True, 'eta': True, 'obj': True})
    checkpoint = dict(meta={'epoch': np.int64(2), 'cfg': 'x = 1'},
                      state_dict={'w': torch.ones(2)}, message_hub=hub)
    WeightsOnlyCheckpointHook().before_save_checkpoint(None, checkpoint)
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['message_hub']['log_scalars'] == {}
    assert loaded['message_hub']['runtime_info'] == {
        'eta': 3.5, 'iter': 7, 'dataset_meta': {'classes': ('a', )}, 'arr': [0, 1, 2]}
    assert loaded['message_hub']['resumed_keys'] == {'eta': True}
    assert loaded['meta']['epoch'] == 2 and type(loaded['meta']['epoch']) is int
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
