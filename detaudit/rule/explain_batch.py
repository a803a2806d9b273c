"""Crash explanations for failures a batch size explains: BatchNorm in training mode given a
single value per channel (a batch of one image reaching a 1x1 feature map or a pooled vector)."""
from __future__ import annotations

import re

from .config import is_mapping
from .explanation import Explanation

ONE_VALUE = re.compile(r"Expected more than 1 value per channel when training, got input size (.+)")


def batch_of_one(cfg, err, comps) -> list[Explanation]:
    """``train_dataloader.batch_size = 1`` when a norm layer needs more than one value per channel."""
    m = ONE_VALUE.search(err.message or "")
    loader = cfg.get("train_dataloader", None) if is_mapping(cfg) else None
    size = loader.get("batch_size", None) if is_mapping(loader) else None
    if not m or size != 1:
        return []
    where = f" in {comps[0]}" if comps else ""
    return [Explanation(
        "train_dataloader.batch_size",
        f"train_dataloader.batch_size = 1: a BatchNorm layer{where} normalizes over the batch and the spatial "
        f"positions, and with one image it is given a single value per channel (input {m.group(1)}), which "
        "training mode refuses",
        {"batch_size": size, "input": m.group(1)},
        "train with at least 2 images per GPU, or give the model norm layers that do not depend on the batch "
        "(GN, or SyncBN across GPUs)")]
