"""How many passes over its training data a config trains for, and how many mmdet 3.3.0's zoo
configs of the same detector type train for.

An epoch-based loop runs ``train_cfg.max_epochs`` epochs over the training dataloader's
dataset; a ``RepeatDataset`` makes one such epoch ``times`` passes over the data it wraps
(mmengine's ``RepeatDataset.__len__`` is ``times * len(dataset)``), and repeats nested in one
another multiply. Other wrappers do not multiply the length by a factor of the config:
``ClassBalancedDataset`` repeats single images by their class frequency (its ``oversample_thr``),
``MultiImageMixDataset`` keeps its dataset's length, ``ConcatDataset`` adds its datasets one after
the other (each is passed over once per epoch, times its own repeats).

How long the zoo trains depends on the augmentation: its long recipes (200-epoch large-scale
jitter, 300-epoch mosaic, SSD's 120 passes of expand-and-crop, DETR's 500 epochs) all augment
beyond resizing and flipping, while its configs that only resize and flip train at most 73
passes. The zoo's figures are kept per detector type and per augmentation group: ``light`` (the
training pipeline only loads, resizes, flips, pads, filters and packs) and ``strong`` (anything
else: crops, mosaic, mixup, affine, expand, photometric, custom transforms). They are data
(``zoo_passes.json``, written by ``scripts/zoo_training_passes.py``).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from .config import dataloader_pipelines, is_mapping, train_loop, transforms_in, type_name

TABLE = Path(__file__).with_name("zoo_passes.json")
REPEAT = "RepeatDataset"
# transforms that leave the images' content as it is: loading, resizing, flipping, padding,
# filtering, packing, and the wrappers that only choose among or broadcast other transforms
LIGHT = ("LoadImageFromFile", "LoadAnnotations", "LoadPanopticAnnotations", "LoadProposals", "LoadTrackAnnotations",
         "LoadImageFromNDArray", "LoadMultiChannelImageFromFiles", "PackDetInputs", "PackTrackInputs",
         "PackReIDInputs", "Resize", "RandomResize", "RandomChoiceResize", "FixShapeResize", "RandomFlip",
         "RandomFlip_GLIP", "Pad", "Normalize", "FilterAnnotations", "RandomChoice", "ProposalBroadcaster",
         "TransformBroadcaster", "GTBoxSubOne_GLIP", "RandomSamplingNegPos", "UniformRefFrameSample",
         "SegRescale", "ImageToTensor", "ToTensor", "Collect", "DefaultFormatBundle")


class Passes(NamedTuple):
    """``max_epochs`` times the repeats of the most repeated dataset: ``passes``; ``repeats`` are the
    (key path, times) of the ``RepeatDataset`` wrappers on the way to it, outermost first."""
    passes: float
    max_epochs: float
    repeats: tuple[tuple[str, float], ...]


def _num(v) -> float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v else None


def _repeats(ds: Any, path: str, depth: int = 0) -> tuple[tuple[str, float], ...] | None:
    """The repeat wrappers on the way to the most repeated dataset under ``ds``; None when one
    of them has no readable ``times`` (a variable the config does not resolve)."""
    if depth > 8 or not is_mapping(ds):
        return ()
    here: tuple[tuple[str, float], ...] = ()
    if type_name(ds.get("type", None)) == REPEAT:
        times = _num(ds.get("times", None))
        if times is None or times <= 0:
            return None
        here = ((f"{path}.times", times),)
    inner = ds.get("datasets", None)
    if isinstance(inner, (list, tuple)) and inner:
        best: tuple[tuple[str, float], ...] = ()
        for i, d in enumerate(inner):
            got = _repeats(d, f"{path}.datasets.{i}", depth + 1)
            if got is None:
                return None
            if _product(got) > _product(best):
                best = got
        return here + best
    below = _repeats(ds.get("dataset", None), f"{path}.dataset", depth + 1)
    return None if below is None else here + below


def _product(repeats) -> float:
    out = 1.0
    for _, times in repeats:
        out *= times
    return out


def training_passes(cfg: Any) -> Passes | None:
    """The passes of an epoch-based loaded config, or None (an iteration loop, no readable
    ``max_epochs`` or ``times``, no training dataloader)."""
    loop = train_loop(cfg)
    if loop is None or loop[0] != "epoch":
        return None
    epochs = _num(loop[1])
    dl = cfg.get("train_dataloader", None)
    if epochs is None or epochs <= 0 or not is_mapping(dl) or not is_mapping(dl.get("dataset", None)):
        return None
    repeats = _repeats(dl["dataset"], "train_dataloader.dataset")
    if repeats is None:
        return None
    return Passes(epochs * _product(repeats), epochs, repeats)


def augmentation(cfg: Any) -> list[str]:
    """The transforms of the training pipelines beyond loading, resizing and flipping (sorted):
    empty for a ``light`` config, else its ``strong`` augmentations."""
    kinds = set()
    for _, pipe_path, _, pipeline in dataloader_pipelines(cfg, ("train_dataloader",)):
        for _, t in transforms_in(pipeline, pipe_path):
            kinds.add(type_name(t.get("type", None)) or "?")
    return sorted(k for k in kinds if k not in LIGHT)


def detector_type(cfg: Any) -> str | None:
    model = cfg.get("model", None)
    return type_name(model.get("type", None)) if is_mapping(model) else None


@lru_cache(maxsize=1)
def table() -> dict:
    """``{"zoo_configs": N, "detectors": {type or "(any)": {group or "(any)": {"n", "min",
    "max", "min_config", "max_configs", "values": {passes: configs}}}}}``; empty when the data file
    is missing."""
    try:
        return json.loads(TABLE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"zoo_configs": 0, "detectors": {}}


ANY = "(any)"
SCRATCH = "scratch"  # the configs of a detector type that train from random weights
MIN_CONFIGS = 5  # fewer configs than this are one or two recipes' choice, not a distribution


def _distribution(s: dict | None) -> bool:
    return bool(s) and s["n"] >= MIN_CONFIGS and len(s["values"]) >= 2


def zoo_reference(detector: str | None, group: str, repeated: bool) -> tuple[str, str, dict] | None:
    """(detector type, augmentation group, the zoo's passes) to compare a config with, or None when
    the table is missing. A config whose training set is repeated is compared with its own detector
    type and augmentation group when at least 5 zoo configs with at least two different lengths
    are in it, else with its detector type over both groups; any other config (and a detector type
    without such a distribution) with every detector type of its augmentation group."""
    by_type = table()["detectors"]
    tries = ((detector, group), (detector, ANY)) if repeated else ()
    for kind, grp in tries:
        s = by_type.get(kind or "", {}).get(grp)
        if _distribution(s):
            return kind, grp, s
    s = by_type.get(ANY, {}).get(group)
    return (ANY, group, s) if s else None
