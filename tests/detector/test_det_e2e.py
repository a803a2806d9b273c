"""End to end: synthetic data -> stage 1 (paired LLVIP) -> fixed stage 2 (KAIST) from its checkpoint.

Runs the README commands (``python -m detector.make_synthetic_data`` and ``python -m
detector.train`` with the smoke overrides) in a temporary project folder, on the CPU.
"""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from det_helpers import CONFIGS, ROOT

SMOKE = [
    'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
    'train_dataloader.dataset.pipeline.2.scale=(160,128)',
    'val_dataloader.dataset.pipeline.1.scale=(160,128)',
    # keep the test light on a shared machine
    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
]


def _run(args, cwd, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return proc


def _scalars(work_dir):
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.slow
def test_stage1_then_fixed_stage2_from_its_checkpoint(tmp_path):
    cwd = str(tmp_path)
    _run(['-m', 'detector.make_synthetic_data', '--root', 'data', '--llvip', '4,1', '--kaist',
          '4,1,1'], cwd)
    _run(['-m', 'detector.train', osp.join(CONFIGS, 'stage1_llvip_pretrain.py'), '--cfg-options',
          'model.backbone.init_cfg=None'] + SMOKE, cwd)
    stage1_dir = tmp_path / 'work_dirs' / 'stage1_llvip_pretrain'
    ckpt1 = stage1_dir / 'latest.pth'
    assert ckpt1.is_file()
    stage1 = torch.load(ckpt1, map_location='cpu', weights_only=True)
    s1_losses = [r for r in _scalars(str(stage1_dir)) if 'loss_macl' in r]
    assert len(s1_losses) == 2 and all(math.isfinite(r['loss_dhn']) for r in s1_losses)

    _run(['-m', 'detector.train', osp.join(CONFIGS, 'stage2_kaist_domain_ft_fixed.py'),
          '--cfg-options'] + SMOKE, cwd)
    stage2_dir = tmp_path / 'work_dirs' / 'stage2_kaist_domain_ft_fixed'
    logs = glob.glob(str(stage2_dir / '*' / '*.log'))
    text = open(logs[0]).read()
    assert 'Load checkpoint from ./work_dirs/stage1_llvip_pretrain/latest.pth' in text
    assert 'FreezeModulesHook: froze' in text
    records = [r for r in _scalars(str(stage2_dir)) if 'loss_macl' in r]
    assert len(records) == 2
    for r in records:
        for key in ('loss_macl', 'loss_dhn', 'loss_domain'):
            assert math.isfinite(r[key]), (key, r)

    stage2 = torch.load(stage2_dir / 'epoch_1.pth', map_location='cpu', weights_only=True)
    s1, s2 = stage1['state_dict'], stage2['state_dict']
    backbone = [k for k in s1 if k.startswith('backbone.')]
    assert backbone and all(torch.equal(s1[k], s2[k]) for k in backbone)
    for key in ('roi_head.bbox_head.fc_cls.weight', 'neck.msp_module.alpha',
                'roi_head.macl_head.proj.0.weight', 'roi_head.domain_classifier.classifier.0.weight'):
        assert not torch.equal(s1[key], s2[key]), key
    # the DHN queue came with the stage-1 checkpoint and kept filling in stage 2
    filled1 = int((s1['roi_head.dhn_sampler.queue_labels'] >= 0).sum())
    filled2 = int((s2['roi_head.dhn_sampler.queue_labels'] >= 0).sum())
    assert filled1 > 0 and filled2 > filled1
    assert int(s2['roi_head.dhn_sampler.key_initialized']) == 1
    assert not os.listdir(CONFIGS) or all(
        f.endswith('.py') for f in os.listdir(CONFIGS))  # nothing written next to the configs
