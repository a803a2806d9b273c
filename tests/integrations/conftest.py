"""Fixtures of the integration tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from integ_helpers import TINY_BASE


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of the tiny model itself (every key, every shape), so that a "fixed" stage-2
    config that freezes the backbone and loads it is clean under every rule."""
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
