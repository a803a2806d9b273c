"""Describing checkpoint evidence in findings: tensor-name prefixes and shape mismatches."""
from __future__ import annotations

from collections import Counter
from typing import Any


def top_prefixes(keys, depth: int = 2, limit: int = 5) -> list[dict[str, Any]]:
    """The most frequent module prefixes (``roi_head.bbox_head``) of a list of tensor names."""
    counts = Counter(".".join(k.split(".")[:depth]) if k.count(".") >= depth else k.rsplit(".", 1)[0]
                     for k in keys)
    return [{"prefix": p, "tensors": n} for p, n in counts.most_common(limit)]


def describe_mismatches(mismatches, limit: int = 3) -> str:
    """``key: checkpoint (4, 128) vs model (2, 128)`` for the first few mismatches."""
    parts = [f"{m.key}: checkpoint {tuple(m.checkpoint_shape)} vs model {tuple(m.model_shape)}"
             for m in mismatches[:limit]]
    more = len(mismatches) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
