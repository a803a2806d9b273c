"""Feature maps that do not line up, read as an image size the network's stride does not divide.

A neck that upsamples a coarse map and joins it to a finer one (PAFPN, CSPNeXtPAFPN, YOLOX's) needs
each map to be exactly twice the next: the images must be a multiple of the largest stride (32).
A pipeline that pads or resizes every image to one exact size that is not, with a data preprocessor
that pads to no multiple of 32 itself, makes the maps round unevenly (720 rows: 23 at stride 32, 45
at stride 16) and the join fails with sizes that name no key. The steps that set that size are the
keys to edit.
"""
from __future__ import annotations

import re

from .config import dataloader_pipelines, is_mapping, node_type
from .config import value_at as get
from .explanation import Explanation

STRIDE = 32
MISMATCH = re.compile(r"Sizes of tensors must match|must match the size of tensor|size mismatch", re.IGNORECASE)


def exact_step(pipeline: list, path: str = "") -> tuple[str, tuple[int, int]] | None:
    """(key path, (w, h)) of the last step leaving every image one exact size, if the pipeline ends so."""
    found = None
    for i, t in enumerate(pipeline):
        if not is_mapping(t):
            continue
        kind = node_type(t)
        key = "size" if kind.endswith("Pad") else "scale" if "Resize" in kind and t.get("keep_ratio", False) is False \
            else None
        value = t.get(key, None) if key else None
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value, value)
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
            found = (f"{path}.{i}.{key}", (int(value[0]), int(value[1])))
        elif "Resize" in kind or kind.endswith("Pad"):
            found = None  # resized again by ratio, or padded by a divisor: no longer one size
    return found


def uneven_image_size(cfg, err, comps) -> list[Explanation]:
    if err.type != "RuntimeError" or not MISMATCH.search(err.message or ""):
        return []
    pad = get(cfg, "model.data_preprocessor.pad_size_divisor", 1)
    pad = pad if isinstance(pad, int) and pad > 0 else 1
    out, seen = [], set()
    for _loader, path, _ds, pipeline in dataloader_pipelines(cfg):
        step = exact_step(pipeline, path)
        if step is None or step[0] in seen:
            continue
        key, (w, h) = step
        padded = [-(-side // pad) * pad for side in (w, h)]
        if all(side % STRIDE == 0 for side in padded):
            continue
        seen.add(key)
        fit = tuple(-(-side // STRIDE) * STRIDE for side in padded)
        out.append(Explanation(
            key, f"{key} = {(w, h)} makes every image {w}x{h}, which the network's largest stride ({STRIDE}) does not "
                 f"divide and the data preprocessor pads to a multiple of {pad} only: the feature maps round unevenly "
                 "and the layers joining them meet maps one row or column apart",
            {"size": [w, h], "stride": STRIDE, "pad_size_divisor": pad},
            f"use a size the stride divides ({fit}) or set model.data_preprocessor.pad_size_divisor={STRIDE}"))
    return out
