from detaudit.rule import Violation, rule
from detaudit.rule.conventions import input_breaches
from detaudit.rule.pretrained_inputs import (normalization, pretrained_backbones, same_normalization,
                                             source_key)

from ._zoo_sources import zoo_sources
from .da814_pretrained_convention_mismatch import _convention

KEYS = ("mean", "std", "bgr_to_rgb")


@rule(code="DA857", name="normalization-unseen-for-source", severity="warning", tier="static", needs=())
def normalization_unseen_for_source(ctx):
    """The data preprocessor normalizes the input in a way no mmdet zoo config uses with the backbone's pretrained source.

    ## What it does
    Reads each backbone's ``Pretrained`` checkpoint, the family of sources it belongs to
    (``torchvision://`` ResNets, ``open-mmlab://msra/`` HRNets, ``open-mmlab://detectron2/``
    caffe ResNets, RegNet's pycls weights, the Swin, ConvNeXt, PVT releases...) and the
    ``mean``, ``std`` and ``bgr_to_rgb`` of the data preprocessor that feeds it. the configs of mmdet's
    model zoo state which normalizations each source is used with
    (``rules/zoo_pretrained_sources.json``, learnt by ``scripts/zoo_pretrained_sources.py``);
    one that none of them uses with that source is reported with the numbers the zoo uses and
    the configs they were read from. Sources the zoo never uses, and configs whose ``load_from``
    is a local file (its training chose the normalization), are not judged. Where DA814 or
    DA816 already name the convention a source breaks, they report it.

    ## Why is this bad?
    Pretrained weights only help when the input looks like the input they were trained on.
    Another mean or std (a caffe config's unit std kept after switching to an ImageNet-pretrained
    HRNet, a dataset's own statistics while fine-tuning ImageNet weights) or the other channel
    order scales or permutes every activation of the first layers. Nothing fails: training
    starts from a worse point and ends a few points lower.

    ## Example
    ```python
    model = dict(
        data_preprocessor=dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
        backbone=dict(type='HRNet', init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w32')))
    ```

    ## Use instead
    ```python
    model = dict(
        data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='HRNet', init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w32')))
    ```
    """
    cfg = ctx.cfg
    model = cfg.get("model", None)
    if not hasattr(model, "get"):
        return
    load_from = cfg.get("load_from", None)
    if isinstance(load_from, str) and load_from and "://" not in load_from:
        return
    table = zoo_sources().get("normalizations", {})
    for bb_path, backbone, checkpoint, _init, _key, pre in pretrained_backbones(model):
        family = source_key(checkpoint)
        seen = table.get(family or "", [])
        have = normalization(pre[1]) if pre else None
        if not seen or have is None or any(same_normalization(have, e) for e in seen):
            continue
        if _named_elsewhere(bb_path, backbone, checkpoint, pre[1]):
            continue
        nearest = max(seen, key=lambda e: (sum(_same(k, have, e) for k in KEYS), e["configs"]))
        key = next(k for k in KEYS if not _same(k, have, nearest))
        pre_path = pre[0]
        zoo = "; ".join(f"mean={e['mean']}, std={e['std']}, bgr_to_rgb={e['bgr_to_rgb']} ({e['configs']} configs, "
                        f"e.g. {e['examples'][0]})" for e in seen)
        yield Violation(
            message=(f"{pre_path} normalizes with mean={have['mean']}, std={have['std']}, "
                     f"bgr_to_rgb={have['bgr_to_rgb']}, but {bb_path} starts from {checkpoint}, and no mmdet zoo "
                     f"config feeds checkpoints of its family ({family.replace('|', ' ')}) that normalization: "
                     f"the zoo uses {zoo}. The pretrained "
                     f"weights see input scaled or ordered unlike their training; set {pre_path}.{key} (and the "
                     "rest of the normalization) to what the source expects"),
            key_path=f"{pre_path}.{key}",
            evidence={"checkpoint": checkpoint, "source_family": family, "normalization": have,
                      "zoo": [{k: e[k] for k in (*KEYS, "configs", "examples")} for e in seen]},
            fix=(f"set {pre_path} to mean={nearest['mean']}, std={nearest['std']}, "
                 f"bgr_to_rgb={nearest['bgr_to_rgb']}, or start from weights trained with this normalization"))


def _same(key, a, b) -> bool:
    one = {k: a[k] for k in KEYS}
    other = dict(one, **{key: b[key]})
    return same_normalization(one, other)


def _named_elsewhere(bb_path, backbone, checkpoint, pre) -> bool:
    """DA816 (a source's stated input convention) or DA814 (ResNet style conventions) reports it."""
    if bb_path != "model.backbone":
        return False
    if any(True for _ in input_breaches(checkpoint, pre)):
        return True
    what, want = _convention(checkpoint)
    if want is None or "style" not in backbone or "ResNe" not in str(backbone.get("type", "")):
        return False
    std = pre.get("std", None)
    ones = isinstance(std, (list, tuple)) and bool(std) and all(abs(float(s) - 1.0) < 1e-6 for s in std)
    flip = pre.get("bgr_to_rgb", None)
    return ("bgr_to_rgb" in pre and bool(flip) != want["bgr_to_rgb"]) or (
        isinstance(std, (list, tuple)) and bool(std) and ones != want["std_ones"])
