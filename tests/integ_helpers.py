"""Helpers of the integration tests: small configs on the tiny Faster R-CNN base, written into
scratch projects."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_BASE = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"

BROKEN_STAGE2 = """\
_base_ = ['./_base_/tiny_frcnn.py']
# stage 2 as the report wrote it: a stage-1 checkpoint that was never written, and the
# backbone "frozen" through the optimizer only.
load_from = './work_dirs/stage1/epoch_latest.pth'
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0)}))
"""

FIXED_STAGE2 = """\
_base_ = ['./_base_/tiny_frcnn.py']
load_from = '{checkpoint}'
model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def make_project(root: Path, checkpoint: Path | None = None, *, fixed_name="stage2_kaist_domain_ft_fixed.py",
                 broken_name="stage2_broken.py") -> Path:
    """configs/_base_/tiny_frcnn.py, a broken stage-2 config and (with a checkpoint) a fixed one."""
    base = root / "configs" / "_base_" / "tiny_frcnn.py"
    base.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(TINY_BASE, base)
    if broken_name:
        write(root / "configs" / broken_name, BROKEN_STAGE2)
    if checkpoint is not None and fixed_name:
        write(root / "configs" / fixed_name, FIXED_STAGE2.format(checkpoint=checkpoint))
    return root


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of the tiny model itself (every key, every shape), so that a "fixed" stage-2
    config that freezes the backbone and loads it is clean under every rule. (A fixture here rather
    than in a conftest.py: test modules of other folders import ``conftest`` by name.)"""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(TINY_BASE)).model)
    path = tmp_path_factory.mktemp("ckpt") / "stage1_epoch_12.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    return path
