"""The settings of mmdet 3.3.0's config zoo, per component type: for every dict with a ``type``
(models, backbones, necks, heads, losses, assigners, samplers, coders, anchor generators,
preprocessors, loops, schedulers, hooks, optimizers...), how many zoo configs set each of its
numeric and flag settings, their smallest and largest value and the configs they were read from.

The table is data (``zoo_ranges.json``, written by ``scripts/zoo_value_ranges.py``); this module
reads it and walks a loaded config the same way the script walked the zoo, so that a setting of an
audited config and the zoo's are keyed alike.

A setting is keyed by its owner, the nearest enclosing dict whose type names a component
(``FasterRCNN``, ``CrossEntropyLoss``, ``EpochBasedTrainLoop``), and its path from that owner
through untyped dicts: ``model.test_cfg.rcnn.score_thr`` is ``('FasterRCNN', 'test_cfg.rcnn.score_thr')``.
Dicts whose type names an operation rather than a component (``nms``, ``soft_nms``: lower-case)
are looked through. Dicts in a list are keyed with ``*`` for the index; numbers in a list (a mean,
strides) are values of the list's setting. Settings outside any typed dict are owned by
``(config)``: ``train_dataloader.batch_size``.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

ROOT_OWNER = "(config)"
TABLE = Path(__file__).with_name("zoo_ranges.json")
OPTIMIZER_PATH = "optim_wrapper.optimizer"


def _type(node: Any) -> str | None:
    t = node.get("type", None)
    if isinstance(t, str):
        return t.split(".")[-1]
    return getattr(t, "__name__", None) if t is not None else None


def _is_mapping(node: Any) -> bool:
    return hasattr(node, "keys") and hasattr(node, "get")


def component_type(node: Any) -> str | None:
    """The type of a dict when it names a component (a class), else None."""
    if not _is_mapping(node):
        return None
    t = _type(node)
    return t if t and t[:1].isupper() else None


def settings(cfg: Any) -> Iterator[tuple[str, str, str, Any]]:
    """(owner type, path from the owner, full key path, value) of every number and flag of a
    loaded config (a number inside a list is yielded with the list's paths)."""
    yield from _walk(cfg, ROOT_OWNER, "", "", 0)


def _join(a: str, b: str) -> str:
    return f"{a}.{b}" if a else b


def _walk(node, owner, rel, full, depth):
    if depth > 40:
        return
    if isinstance(node, bool) or (isinstance(node, (int, float)) and node == node):
        if rel:
            yield owner, rel, full, node
        return
    if _is_mapping(node):
        own = component_type(node)
        if own is not None and full:
            owner, rel = own, ""
        for k in list(node.keys()):
            if not isinstance(k, str) or k == "type" or k.startswith("_"):
                continue
            yield from _walk(node[k], owner, _join(rel, k), _join(full, k), depth + 1)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            if _is_mapping(v):
                yield from _walk(v, owner, _join(rel, "*"), _join(full, str(i)), depth + 1)
            else:  # numbers of a list (or of nested lists) are values of the list's setting
                yield from _walk(v, owner, rel, _join(full, str(i)), depth + 1)


def owner_types(cfg: Any) -> Iterator[tuple[str, str]]:
    """(key path, type) of every component dict of a loaded config."""
    def walk(node, path, depth):
        if depth > 40:
            return
        if _is_mapping(node):
            t = component_type(node)
            if t is not None and path:
                yield path, t
            for k in list(node.keys()):
                if isinstance(k, str) and not k.startswith("_"):
                    yield from walk(node[k], _join(path, k), depth + 1)
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                yield from walk(v, _join(path, str(i)), depth + 1)
    yield from walk(cfg, "", 0)


STAGES = ("rpn", "rpn_proposal", "rcnn")


def stage_blocks(cfg: Any) -> Iterator[tuple[str, list[str]]]:
    """(place, keys) of the ``train_cfg``/``test_cfg`` blocks of every detector of a loaded config's
    model: ``('test_cfg', [...])`` and, for the stages of two-stage detectors, ``('test_cfg.rcnn', [...])``."""
    def walk(node, depth):
        if depth > 12 or not _is_mapping(node):
            return
        if component_type(node):
            for block in ("train_cfg", "test_cfg"):
                b = node.get(block, None)
                if _is_mapping(b):
                    yield block, [k for k in b.keys() if isinstance(k, str)]
                    for stage in STAGES:
                        st = b.get(stage, None)  # a cascade's stages: a list of dicts
                        for d in (st if isinstance(st, (list, tuple)) else [st]):
                            if _is_mapping(d):
                                yield f"{block}.{stage}", [k for k in d.keys() if isinstance(k, str)]
        for k in list(node.keys()):
            if isinstance(k, str) and not k.endswith("_cfg"):
                yield from walk(node[k], depth + 1)
    yield from walk(cfg.get("model", None) if _is_mapping(cfg) else None, 0)


@lru_cache(maxsize=1)
def table() -> dict:
    """The zoo's table: ``{"zoo_configs": N, "types": {type: configs}, "settings": {type:
    {path: stats}}, "optimizers": [types]}``; empty when the data file is missing."""
    try:
        return json.loads(TABLE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"zoo_configs": 0, "types": {}, "settings": {}, "optimizers": [], "block_keys": {}}


def block_keys(place: str) -> list[str]:
    """The keys any zoo detector writes in one place of its train_cfg/test_cfg (``test_cfg.rcnn``)."""
    return table().get("block_keys", {}).get(place, [])


def setting_stats(owner: str, rel: str) -> dict | None:
    """The zoo's numbers for one setting of one component type, or None."""
    return table()["settings"].get(owner, {}).get(rel)


def _optimizers() -> dict:
    t = table()
    return {kind: dict(t["settings"].get(kind, {}), configs=t["types"].get(kind, 0)) for kind in t["optimizers"]}


def __getattr__(name: str):
    """``ZOO_CONFIGS`` (how many zoo configs were read) and ``OPTIMIZERS`` (the optimizer types of
    ``optim_wrapper.optimizer`` with their settings), read from the table when first asked for."""
    if name == "ZOO_CONFIGS":
        return table()["zoo_configs"]
    if name == "OPTIMIZERS":
        return _optimizers()
    raise AttributeError(name)
