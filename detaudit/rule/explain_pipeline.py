"""Crash explanations about the data pipeline: a results key a step needs that no step makes
(an annotation a LoadAnnotations flag would load, an image no step loads) or that a later step makes."""
from __future__ import annotations

import re

from .config import is_mapping, walk_dicts
from .config import value_at as get
from .explanation import Explanation, short_type as _short

# result keys (and data-sample attributes) -> the LoadAnnotations flag that produces them
PRODUCERS = {"gt_masks": "with_mask", "masks": "with_mask", "mask": "with_mask", "gt_seg_map": "with_seg",
             "gt_sem_seg": "with_seg", "sem_seg": "with_seg", "gt_semantic_seg": "with_seg",
             "gt_bboxes": "with_bbox", "bboxes": "with_bbox", "gt_bboxes_labels": "with_label"}



def _loaders(phase: str) -> tuple[str, ...]:
    """The dataloaders whose pipelines fed the failing phase: training's for the loss, else the evaluation ones first."""
    return ("train_dataloader",) if phase in ("loss", "step", "train") else ("val_dataloader", "test_dataloader",
                                                                             "train_dataloader")


def missing_result(cfg, err, comps, phase: str) -> list[Explanation]:
    m = (re.search(r"^'(\w+)'$", err.message.strip()) if err.type == "KeyError" else None) or \
        re.search(r"object has no attribute '(\w+)'", err.message)
    name = m.group(1).lstrip("_") if m else None  # a data sample's private field: '_gt_sem_seg'
    if name not in PRODUCERS:
        return []
    flag = PRODUCERS[name]
    loaders = _loaders(phase)
    out = []
    for loader in loaders:
        steps = [(p, d) for p, d in walk_dicts(get(cfg, loader), loader)
                 if _short(d.get("type")) in ("LoadAnnotations", "LoadPanopticAnnotations") and ".pipeline." in p]
        for path, d in steps:
            if not d.get(flag, flag in ("with_bbox", "with_label")):
                out.append(Explanation(f"{path}.{flag}",
                                       f"the model needs '{name}' but {path} ({_short(d.get('type'))}) does not load it "
                                       f"({flag} is {d.get(flag, 'not set')})",
                                       {"missing": name, "step": path},
                                       f"set {flag}=True in {path} (and have the annotations carry it), or drop the "
                                       "part of the model that needs it"))
        if out:
            break
    return out[:2]


# The results keys a pipeline step finds only when an earlier step put them there, by the step
# that does (the first word of its type).
MADE_BY = {"img": "LoadImage", "img_shape": "LoadImage", "ori_shape": "LoadImage", "img_path": "LoadImage",
           "scale_factor": "Resize", "scale": "Resize", "pad_shape": "Pad", "flip": "RandomFlip",
           "flip_direction": "RandomFlip", "inputs": "Pack", "data_samples": "Pack"}


def _is_loading(step) -> bool:
    name = _short(step.get("type")) if is_mapping(step) else ""
    return name.startswith("Load") and "Image" in name


def pipeline_input(cfg, err, comps, phase: str) -> list[Explanation]:
    """A transform that finds no results key an earlier step should have put there: the
    pipeline loads no image at all, or the step that makes the key comes after the one that reads it."""
    m = re.search(r"^'(\w+)'$", err.message.strip()) if err.type == "KeyError" else None
    if m is None:
        return []
    name = m.group(1)
    loaders = _loaders(phase)
    for comp in comps:
        pipe, _, index = comp.rpartition(".")
        if not comp.startswith(loaders) or not pipe.endswith("pipeline") or not index.isdigit():
            continue
        steps, i = get(cfg, pipe), int(index)
        if not isinstance(steps, (list, tuple)) or i >= len(steps):
            continue
        here = _short(steps[i].get("type"))
        inner = get(cfg, pipe.rpartition(".")[0] + ".dataset.pipeline")
        loads_inside = isinstance(inner, (list, tuple)) and any(_is_loading(s) for s in inner)  # a mixing wrapper
        loading = next((j for j, step in enumerate(steps) if _is_loading(step)), None)
        if loading is None and not loads_inside:
            return [Explanation(f"{pipe}.0", f"{pipe} loads no image before step {i} ({here}): no step puts 'img' "
                                             f"in the results (no LoadImageFromFile), so {here} finds no '{name}'",
                                {"missing": name, "step": comp, "loading_step": None},
                                f"start {pipe} with dict(type='LoadImageFromFile') (and LoadAnnotations for training)")]
        if loading is not None and loading > i:
            there = _short(steps[loading].get("type"))
            return [Explanation(comp, f"step {i} of {pipe} ({here}) runs before the image is loaded (step {loading}, "
                                      f"{there}), so it finds no '{name}': the steps are out of order",
                                {"missing": name, "step": comp, "loading_step": f"{pipe}.{loading}"},
                                f"move {there} to the start of {pipe}")]
        maker = MADE_BY.get(name)
        later = next((j for j in range(i + 1, len(steps)) if maker and is_mapping(steps[j])
                      and _short(steps[j].get("type")).startswith(maker)), None)
        if later is not None:
            there = _short(steps[later].get("type"))
            return [Explanation(comp, f"step {i} of {pipe} ({here}) reads '{name}', which step {later} ({there}) "
                                      f"puts in the results after it: the steps are out of order",
                                {"missing": name, "step": comp, "made_by": f"{pipe}.{later}"},
                                f"move {there} before {here} in {pipe}")]
    return []
