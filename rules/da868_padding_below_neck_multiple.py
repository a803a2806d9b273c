from pathlib import Path

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, node_type

from ._zoo_tables import learnt_table

TABLE = Path(__file__).with_name("zoo_neck_pad_divisors.json")
MIN_ZOO_CONFIGS = 2


def neck_types(model) -> list[str]:
    neck = model.get("neck", None) if is_mapping(model) else None
    return [node_type(n) for n in (neck if isinstance(neck, (list, tuple)) else [neck]) if is_mapping(n) and node_type(n)]


def pad_divisor(model):
    dp = model.get("data_preprocessor", None) if is_mapping(model) else None
    value = dp.get("pad_size_divisor", 1) if is_mapping(dp) else 1
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def zoo_table() -> dict:
    return learnt_table(TABLE, "necks")


def _fixed_size(cfg) -> bool:
    """Whether images reach the model at one fixed size (a ``Pad`` to ``size``, a fixed-size batch
    pad): every side is then what the pipeline says, whatever the divisor."""
    dp = cfg.get("model", {}).get("data_preprocessor", None) if is_mapping(cfg.get("model", None)) else None
    augments = dp.get("batch_augments", None) if is_mapping(dp) else None
    if isinstance(augments, (list, tuple)) and any(is_mapping(a) and "Fixed" in node_type(a) for a in augments):
        return True
    for _loader, _key, _ds, pipeline in dataloader_pipelines(cfg, ("train_dataloader",)):
        if any(is_mapping(t) and node_type(t) == "Pad" and t.get("size", None) for t in pipeline):
            return True
    return False


@rule(code="DA868", name="padding-below-neck-multiple", severity="warning", tier="static")
def padding_below_neck_multiple(ctx):
    """The data preprocessor pads images to a smaller multiple than every zoo config with the same neck.

    ## What it does
    Compares ``model.data_preprocessor.pad_size_divisor`` with the divisors mmdet's zoo configs use
    in front of the same neck type (``rules/zoo_neck_pad_divisors.json``, counted by
    ``scripts/zoo_neck_pad_divisors.py``; a type with at least two zoo configs), and reports a
    divisor below all of them. Pipelines that bring every image to one fixed size (``Pad`` with
    ``size``, a fixed-size batch augment) are left alone.

    ## Why is this bad?
    Necks that fuse levels through fixed stride-2 convolutions and upsamplings (``FPG``,
    ``NASFPN``, ``FPN_CARAFE``) need every level's map to be exactly half the one below, so the
    padded side must be a multiple of their coarsest stride, not only of the backbone's 32. With
    a smaller multiple, an image whose side is not a multiple fails in the neck with a size
    mismatch of one pixel, after hours of training on the images that happened to fit.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'   # pad_size_divisor=32
    model = dict(neck=dict(_delete_=True, type='FPG', ...))
    ```

    ## Use instead
    ```python
    model = dict(data_preprocessor=dict(pad_size_divisor=64), neck=dict(_delete_=True, type='FPG', ...))
    ```
    """
    model = ctx.cfg.get("model", None)
    divisor = pad_divisor(model)
    if divisor is None or _fixed_size(ctx.cfg):
        return
    table = zoo_table()
    for kind in neck_types(model):
        seen = {int(k): n for k, n in table.get(kind, {}).items()}
        if sum(seen.values()) < MIN_ZOO_CONFIGS or divisor >= min(seen):
            continue
        usual = ", ".join(f"{d} ({n})" for d, n in sorted(seen.items()))
        yield Violation(
            message=(f"model.data_preprocessor.pad_size_divisor={divisor}, but every zoo config with a {kind} neck "
                     f"pads to a multiple of at least {min(seen)} (zoo: {usual}): {kind} halves and doubles its maps "
                     f"level by level, and an image side that is not a multiple of its coarsest stride fails in the "
                     "neck with a one-pixel size mismatch"),
            key_path="model.data_preprocessor.pad_size_divisor",
            evidence={"pad_size_divisor": divisor, "neck": kind, "zoo": seen},
            fix=f"set model.data_preprocessor.pad_size_divisor={min(seen)}")
