"""A loss that fails on what its head gives it, read as the loss's type.

A head computes each of its losses (``loss_cls``, ``loss_bbox``...) with arguments of its own
making: per-box weights (ATSS's and FCOS's centerness), decoded boxes, soft targets. Swapping the
loss's type for one that takes other shapes (``SmoothL1Loss``, per coordinate, where ATSS passes
one weight per box for an IoU loss) fails inside the loss with a size mismatch that names no key.
When a shape error is raised inside a ``loss_*`` module of a head, the key to edit is that loss's
``type``; the zoo's configs of the same head say which types it is used with
(``zoo_head_losses.json``, written by ``scripts/zoo_head_losses.py``).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from ..errors import is_size_error
from .config import is_mapping
from .config import value_at as get
from .explanation import Explanation, short_type

TABLE = Path(__file__).with_name("zoo_head_losses.json")


def loss_key(head: str, key: str) -> str:
    return f"{head}|{key}"


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    try:
        return json.loads(TABLE.read_text(encoding="utf-8")).get("losses", {})
    except (OSError, ValueError):
        return {}


def loss_type_unfit(cfg, err, comps) -> list[Explanation]:
    if not comps or not is_size_error(err):
        return []
    comp = comps[0]
    owner, _, key = comp.rpartition(".")
    loss, head = get(cfg, comp), get(cfg, owner)
    if not key.startswith("loss") or not is_mapping(loss) or not is_mapping(head):
        return []
    kind, head_type = short_type(loss.get("type")), short_type(head.get("type"))
    used = _table().get(loss_key(head_type, key), {})
    if not kind or kind in used:
        return []  # a type the zoo runs with this head: the shapes are someone else's
    shown = ", ".join(f"{t} ({n})" for t, n in sorted(used.items(), key=lambda kv: -kv[1])[:4])
    return [Explanation(
        f"{comp}.type", f"{comp}.type = {kind!r} fails on what {head_type} passes its {key} ({err.short()})"
        + (f"; the zoo's {head_type} configs use {shown}" if used else ""),
        {"loss": kind, "head": head_type, "zoo_types": used},
        f"give {comp} a loss {head_type} computes with" + (f", e.g. {max(used, key=used.get)}" if used else ""))]
