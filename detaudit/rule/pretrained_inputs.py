"""What a backbone's pretrained source says about the whole config (rules DA856 and DA857), shared
with ``scripts/zoo_pretrained_sources.py``, which learns the table both rules read
(``rules/zoo_pretrained_sources.json``) from mmdet's model-zoo configs.

- :func:`pretrained_backbones`: every backbone under ``model`` whose ``init_cfg`` loads a
  checkpoint, with the data preprocessor that feeds it;
- :func:`source_key`: the family of pretrained sources a checkpoint belongs to (where it comes
  from, the backbone family its name states, caffe or not): ``torchvision://|ResNet``,
  ``open-mmlab://msra/|HRNet``, ``github.com/SwinTransformer|Swin``;
- :func:`normalization`: the (mean, std, channel flip) a data preprocessor applies;
- :func:`runner_checkpoint`, :func:`detector_word`: what a checkpoint's file name says about
  the file holding a whole model rather than a backbone.

Only the config is read here; no checkpoint is opened.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from .checkpoint_family import checkpoint_family
from .config import is_mapping, node_type

# mmengine's CheckpointHook: epoch_12.pth, iter_90000.pth, best_coco_bbox_mAP_epoch_12.pth; latest.pth (mmcv 1.x)
RUNNER_NAME = re.compile(r"^(?:epoch_\d+|iter_\d+|latest|best_[\w.\-]+)\.pth$")
# an OpenMMLab release's date and hash: _20200205-d4b0c5d6, _20210413_115540-5e17991f
RELEASE_SUFFIX = re.compile(r"(?:_\d{8}(?:_\d{6})?)?-[0-9a-f]{8}$")


def basename(checkpoint: str) -> str:
    return checkpoint.rstrip("/").rsplit("/", 1)[-1].lower()


def pretrained_init(backbone) -> tuple[str, Any, str] | None:
    """(checkpoint, the Pretrained init dict, its key under the backbone) or None."""
    init = backbone.get("init_cfg", None) if is_mapping(backbone) else None
    entries = list(enumerate(init)) if isinstance(init, (list, tuple)) else [(None, init)]
    for i, entry in entries:
        if is_mapping(entry) and node_type(entry) == "Pretrained" and isinstance(entry.get("checkpoint"), str) \
                and entry.get("checkpoint"):
            return entry["checkpoint"], entry, "init_cfg" if i is None else f"init_cfg.{i}"
    return None


def _preprocessor(chain: list[tuple[str, Any]]) -> tuple[str, Any] | None:
    """The data preprocessor nearest to the backbone: its owner's, else an ancestor's; a wrapper
    (``MultiBranchDataPreprocessor``) is looked through to the one it runs."""
    for path, owner in reversed(chain):
        pre = owner.get("data_preprocessor", None)
        if is_mapping(pre):
            path = f"{path}.data_preprocessor"
            while is_mapping(pre.get("data_preprocessor", None)):
                path, pre = f"{path}.data_preprocessor", pre["data_preprocessor"]
            return path, pre
    return None


def pretrained_backbones(model, path: str = "model") -> Iterator[tuple[str, Any, str, Any, str, Any]]:
    """(backbone path, backbone, checkpoint, init, init key, (preprocessor path, preprocessor) or None)
    for every ``backbone`` dict under ``model`` (a semi-supervised ``detector``'s too) that loads
    a checkpoint through a ``Pretrained`` init."""

    def walk(node, at, chain):
        if not is_mapping(node):
            return
        chain = chain + [(at, node)]
        for key in list(node.keys()):
            child = node[key]
            if key in ("init_cfg", "data_preprocessor", "train_cfg", "test_cfg") or not is_mapping(child):
                continue
            if key == "backbone":
                got = pretrained_init(child)
                if got is not None:
                    yield f"{at}.backbone", child, got[0], got[1], got[2], _preprocessor(chain)
            yield from walk(child, f"{at}.{key}", chain)

    yield from walk(model, path, [])


def _origin(checkpoint: str) -> str | None:
    c = checkpoint.strip()
    m = re.match(r"^(torchvision|open-?mmlab|mmcls|mmpretrain)://(.*)$", c)
    if m:
        scheme = "open-mmlab" if m.group(1).startswith("open") else m.group(1)
        dirs = m.group(2).split("/")[:-1]
        return f"{scheme}://" + "".join(d + "/" for d in dirs)
    m = re.match(r"^https?://([^/]+)/([^/]+)/", c)
    if m:
        return f"{m.group(1).lower()}/{m.group(2)}"
    return None  # a local file: what it was trained on is not known from its name


def source_key(checkpoint: str) -> str | None:
    """The family of pretrained sources a checkpoint belongs to, or None when its name does not
    say: ``torchvision://resnet101`` -> ``torchvision://|ResNet``; ``open-mmlab://detectron2/
    resnet50_caffe`` -> ``open-mmlab://detectron2/|ResNet|caffe``."""
    origin = _origin(checkpoint) if isinstance(checkpoint, str) else None
    family = checkpoint_family(checkpoint) if origin else None
    if origin is None or family is None:
        return None
    return f"{origin}|{family}" + ("|caffe" if "caffe" in basename(checkpoint) else "")


def _numbers(value) -> tuple[float, ...] | None | bool:
    """A mean or std as a tuple of floats; None when unset; False when it is not numbers."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),)
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return tuple(round(float(v), 4) for v in value)
    return False


def normalization(pre) -> dict | None:
    """``{"mean", "std", "bgr_to_rgb"}`` as the data preprocessor applies them (None: not applied;
    ``bgr_to_rgb`` is whether the channels are flipped), or None when they are not plain numbers for
    three channels."""
    if not is_mapping(pre):
        return None
    mean, std = _numbers(pre.get("mean", None)), _numbers(pre.get("std", None))
    if mean is False or std is False:
        return None
    mean, std = (v * 3 if v and len(v) == 1 else v for v in (mean, std))  # one value serves every channel
    if any(v and len(v) != 3 for v in (mean, std)):
        return None  # not three-channel input: the zoo's sources say nothing of it
    flip = bool(pre.get("bgr_to_rgb", False)) or bool(pre.get("rgb_to_bgr", False))
    return {"mean": list(mean) if mean else None, "std": list(std) if std else None, "bgr_to_rgb": flip}


def _close(a, b, rel: float = 0.02) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and all(abs(x - y) <= rel * max(abs(x), abs(y), 1.0) for x, y in zip(a, b))


def same_normalization(a: dict, b: dict) -> bool:
    """Equal up to rounding (2 %: Detectron's 102.9801 and mmdet's 103.53 are one BGR mean)."""
    return a["bgr_to_rgb"] == b["bgr_to_rgb"] and _close(a["mean"], b["mean"]) and _close(a["std"], b["std"])


def runner_checkpoint(checkpoint: str) -> bool:
    """A file mmengine's ``CheckpointHook`` writes (``epoch_12.pth``, ``iter_N.pth``, ``best_*.pth``)."""
    return bool(RUNNER_NAME.match(basename(checkpoint)))


def release_stem(checkpoint: str) -> str:
    """The file name without extension and release date/hash, ``-`` read as ``_``."""
    name = re.sub(r"\.(pth|pt|pth\.tar|ckpt|bin)$", "", basename(checkpoint))
    return RELEASE_SUFFIX.sub("", name).replace("-", "_")


def detector_word(checkpoint: str, words) -> str | None:
    """The mmdet zoo detector a checkpoint's name starts with (``mask_rcnn_r50_fpn_1x_coco_...pth``
    -> ``mask_rcnn``): mmdet names configs and weights ``{algorithm}_{backbone}_..._{dataset}``."""
    stem = release_stem(checkpoint)
    for word in sorted(words, key=len, reverse=True):
        if stem == word or stem.startswith(word + "_"):
            return word
    return None
