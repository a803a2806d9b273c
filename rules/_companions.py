"""The training pipelines a config runs, step by step, as DA845 and ``scripts/zoo_pipeline_companions.py``
read them.

A *chain* is the sequence of transforms one training sample goes through: a dataset's own
``pipeline``, then the pipelines of the wrappers around it, innermost first (a
``MultiImageMixDataset``'s pipeline runs on what its inner dataset's returned). A wrapper that has a
pipeline enters the chain as a marker step ``@<wrapper type>`` just before its own transforms: the
zoo's ``Mosaic`` and ``MixUp`` always come after ``@MultiImageMixDataset``, which gives them the
other images (``mix_results``). A ``PipelineSwitchHook`` in ``custom_hooks`` makes one more chain:
its ``switch_pipeline`` in place of the outermost dataset's pipeline (mmdet's hook sets
``train_dataloader.dataset.pipeline``).

Each step is described by *tokens*: its type, and for the settings that change what it needs
around it, ``Type(arg=True)`` for an explicitly written flag and ``Type(arg<0)`` for a number (or a
sequence of numbers) with a negative value (``RandomAffine(border<0)``); a packing transform
(``PackDetInputs``, ``PackTrackInputs``...) also has the token ``Pack*Inputs``.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from detaudit.rule.config import is_mapping, transforms_in, type_name

TABLE = Path(__file__).with_name("zoo_pipeline_companions.json")
MARK = "@"
# mmdet's packing transforms (PackDetInputs, PackTrackInputs, PackReIDInputs...) share one token:
# each ends a pipeline by turning the results into the model's inputs and data samples
PACKERS = "Pack*Inputs"
PACKER = re.compile(r"^Pack\w*Inputs$")
# keys of a transform dict that are not its settings
NOT_SETTINGS = ("type", "transforms", "backend_args", "meta_keys", "init_cfg")


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def tokens(t) -> list[str]:
    """The type of a transform dict and its flag / negative-number tokens."""
    kind = type_name(t.get("type", None)) or ""
    if not kind:
        return []
    out = [kind]
    if PACKER.match(kind):
        out.append(PACKERS)
    for k in sorted(str(k) for k in t.keys()):
        if k in NOT_SETTINGS:
            continue
        v = t.get(k, None)
        if isinstance(v, bool):
            out.append(f"{kind}({k}={v})")
        elif _number(v) and v < 0:
            out.append(f"{kind}({k}<0)")
        elif isinstance(v, (list, tuple)) and v and all(_number(x) for x in v) and min(v) < 0:
            out.append(f"{kind}({k}<0)")
    return out


class Step:
    """One step of a chain: its key path (None for a wrapper marker), type, tokens and dict."""

    __slots__ = ("path", "kind", "tokens", "cfg")

    def __init__(self, path, kind, toks, cfg):
        self.path, self.kind, self.tokens, self.cfg = path, kind, toks, cfg

    def __repr__(self) -> str:
        return f"Step({self.path!r}, {self.kind!r})"


def _steps(pipeline, path: str) -> list[Step]:
    out = []
    for p, t in transforms_in(pipeline, path):
        toks = tokens(t)
        if toks:
            out.append(Step(p, toks[0], toks, t))
    return out


def _chains(ds, path: str, after: list, replace_outer=None, depth: int = 0):
    """(chain, pipeline key paths in it) of every real dataset under ``ds``; ``after`` is what the
    wrappers around ``ds`` run after it."""
    if depth > 8 or not is_mapping(ds):
        return
    own = ds.get("pipeline", None)
    own_path = f"{path}.pipeline"
    if replace_outer is not None and depth == 0:
        own, own_path = replace_outer
    steps = _steps(own, own_path) if isinstance(own, (list, tuple)) else []
    inner = ds.get("datasets", None)
    one = ds.get("dataset", None)
    children = []
    if isinstance(inner, (list, tuple)):
        children = [(d, f"{path}.datasets.{i}") for i, d in enumerate(inner)]
    elif is_mapping(one):
        children = [(one, f"{path}.dataset")]
    elif isinstance(one, (list, tuple)):
        children = [(d, f"{path}.dataset.{i}") for i, d in enumerate(one)]
    children = [(d, p) for d, p in children if is_mapping(d)]
    if not children:
        yield steps + after
        return
    kind = type_name(ds.get("type", None)) or "wrapper"
    marker = [Step(None, MARK + kind, [MARK + kind], ds)] if isinstance(own, (list, tuple)) else []
    for d, p in children:
        yield from _chains(d, p, marker + steps + after, None, depth + 1)


def training_chains(cfg):
    """(label, chain) of every training chain of a config: the training set's, then one per
    ``PipelineSwitchHook`` (label ``custom_hooks.<i>``)."""
    dl = cfg.get("train_dataloader", None)
    ds = dl.get("dataset", None) if is_mapping(dl) else None
    if not is_mapping(ds):
        return
    for chain in _chains(ds, "train_dataloader.dataset", []):
        yield "train_dataloader", chain
    hooks = cfg.get("custom_hooks", None)
    if not is_mapping(ds) or not isinstance(ds.get("pipeline", None), (list, tuple)):
        return
    for i, hook in enumerate(hooks if isinstance(hooks, (list, tuple)) else []):
        if is_mapping(hook) and type_name(hook.get("type", None)) == "PipelineSwitchHook" \
                and isinstance(hook.get("switch_pipeline", None), (list, tuple)):
            replaced = (hook["switch_pipeline"], f"custom_hooks.{i}.switch_pipeline")
            for chain in _chains(ds, "train_dataloader.dataset", [], replaced):
                yield f"custom_hooks.{i}", chain


def has_before(chain: list[Step], i: int, token: str) -> bool:
    return any(token in s.tokens for s in chain[:i])


def has_after(chain: list[Step], i: int, token: str) -> bool:
    return any(token in s.tokens for s in chain[i + 1:])


def mosaic_border(mosaic_cfg):
    """The ``RandomAffine.border`` that crops a mosaic canvas back to the mosaic's ``img_scale``
    (w, h): ``(-w // 2, -h // 2)``; None when ``img_scale`` is not two numbers. Mosaic's default
    ``img_scale`` is (640, 640)."""
    scale = mosaic_cfg.get("img_scale", (640, 640))
    if isinstance(scale, (list, tuple)) and len(scale) == 2 and all(_number(x) for x in scale):
        return (-int(scale[0]) // 2, -int(scale[1]) // 2)
    if _number(scale):
        return (-int(scale) // 2, -int(scale) // 2)
    return None


def border_of(affine_cfg):
    border = affine_cfg.get("border", (0, 0))
    if isinstance(border, (list, tuple)) and len(border) == 2 and all(_number(x) for x in border):
        return tuple(int(x) for x in border)
    if _number(border):
        return (int(border), int(border))
    return None


@lru_cache(maxsize=1)
def zoo_table() -> dict:
    """The table ``scripts/zoo_pipeline_companions.py`` wrote (``pairs``, ``border``)."""
    try:
        return json.loads(TABLE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"pairs": [], "border": {}}
