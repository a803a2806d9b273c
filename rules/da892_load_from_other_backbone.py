import re
from pathlib import Path

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name

from ._zoo_tables import learnt_table

# Arguments that shape a backbone's parameters (their names change with them, or their shapes).
SHAPE_ARGS = ("depth", "arch", "embed_dims", "depths", "num_heads", "widen_factor", "deepen_factor",
              "base_channels", "stem_channels", "groups", "base_width", "patch_size", "pretrain_img_size")
TABLE = Path(__file__).with_name("zoo_checkpoint_models.json")  # scripts/zoo_checkpoint_models.py
SCALES_IN_NAME = re.compile(r"(?<![0-9a-z])(\d)[-_]?scales?(?![a-z])", re.IGNORECASE)  # `dino-5scale_...`


def published() -> dict[str, dict]:
    """Checkpoint file name -> {config, backbone}: the detectors mmdet's metafiles publish."""
    return learnt_table(TABLE, "checkpoints")


def backbone_signature(backbone) -> dict | None:
    """The backbone's type and the shape arguments it writes, as plain values."""
    if not is_mapping(backbone) or not type_name(backbone.get("type", None)):
        return None
    out = {"type": type_name(backbone.get("type"))}
    for key in SHAPE_ARGS:
        value = backbone.get(key, None)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            out[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
            out[key] = list(value)
    return out


def feature_levels(model) -> int | None:
    """The feature-level count a deformable-attention detector's config sets: ``num_feature_levels``,
    else its encoder's attention ``num_levels`` (DINO, DDQ and Deformable DETR write one of them)."""
    if not is_mapping(model):
        return None
    for path in (("num_feature_levels",), ("encoder", "layer_cfg", "self_attn_cfg", "num_levels")):
        node = model
        for part in path:
            node = node.get(part, None) if is_mapping(node) else None
        if isinstance(node, int) and not isinstance(node, bool):
            return node
    return None


@rule(code="DA892", name="load-from-other-backbone", severity="warning", tier="static", needs=())
def load_from_other_backbone(ctx):
    """``load_from`` is a published detector whose backbone is another architecture than the model's.

    ## What it does
    Looks ``load_from`` up among the checkpoints mmdet's metafiles publish (by file name;
    ``rules/zoo_checkpoint_models.json``, written by ``scripts/zoo_checkpoint_models.py`` from the
    metafiles and the configs they name) and compares the backbone of the config that trained it
    with the model's: its type, and the arguments that shape its parameters (``depth``, ``arch``,
    ``embed_dims``, ``depths``, ``num_heads``, ``widen_factor``, ...) that both write. For a
    deformable-attention detector (DINO, DDQ, Deformable DETR) it also compares the number of
    feature levels: the published config's, or the count the checkpoint's file name states
    (``5scale``), against ``num_feature_levels`` or the encoder attention's ``num_levels``.

    ## Why is this bad?
    ``load_from`` restores a detector non-strictly: a parameter whose name is missing or whose
    shape differs is skipped with a log line. Loading a Swin-L DINO into the ResNet-50 DINO of the
    base config loads none of the backbone and not the neck's projections: fine-tuning starts far
    from the detector the user meant, and nothing fails.

    ## Example
    ```python
    _base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
    load_from = 'https://download.openmmlab.com/mmdetection/v3.0/dino/dino-5scale_swin-l_8xb2-12e_coco/...pth'
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::dino/dino-5scale_swin-l_8xb2-12e_coco.py'   # the architecture of the checkpoint
    load_from = 'https://download.openmmlab.com/mmdetection/v3.0/dino/dino-5scale_swin-l_8xb2-12e_coco/...pth'
    ```
    """
    value = ctx.cfg.get("load_from", None)
    if not isinstance(value, str) or not value.strip():
        return
    name = value.strip().rsplit("/", 1)[-1]
    entry = published().get(name)
    model = ctx.cfg.get("model", None)
    yield from _other_levels(name, entry, feature_levels(model))
    mine = backbone_signature(model.get("backbone", None)) if is_mapping(model) else None
    if entry is None or mine is None or not entry.get("backbone"):
        return
    theirs = entry["backbone"]
    differ = [k for k in ("type", *SHAPE_ARGS) if k in mine and k in theirs and mine[k] != theirs[k]]
    if not differ:
        return
    shown = ", ".join(f"{k}: {theirs[k]!r} in the checkpoint, {mine[k]!r} here" for k in differ)
    yield Violation(
        message=(f"load_from is the published checkpoint of {entry['config']}, whose backbone differs from "
                 f"model.backbone ({shown}): its backbone weights do not load (mmengine skips them with a log "
                 "line) and training starts from another model than the one named"),
        key_path="load_from", evidence={"checkpoint_config": entry["config"], "differs": differ,
                                        "checkpoint_backbone": theirs, "model_backbone": mine},
        fix=f"inherit {entry['config']} (the checkpoint's architecture), or load a checkpoint of this architecture")


def _other_levels(name: str, entry: dict | None, mine: int | None):
    """A checkpoint trained with another number of feature levels than the model's (the published
    config's ``num_feature_levels``, or the count a file name states: ``5scale``)."""
    if mine is None:
        return
    theirs, source = (entry or {}).get("feature_levels"), f"the published config {(entry or {}).get('config')}"
    if theirs is None:
        found = SCALES_IN_NAME.search(name)
        theirs, source = (int(found.group(1)), f"its file name ({found.group(0)})") if found else (None, "")
    if theirs is None or theirs == mine:
        return
    yield Violation(
        message=(f"load_from was trained with {theirs} feature levels ({source}) and the model uses "
                 f"{mine}: the level embeddings, the neck's input projections and every deformable attention's "
                 "sampling offsets and weights differ in shape and are skipped with a log line, so fine-tuning "
                 "starts from largely random transformer weights"),
        key_path="load_from", evidence={"checkpoint_levels": theirs, "model_levels": mine, "from": source},
        fix=f"load a {mine}-level checkpoint, or inherit the {theirs}-level config the checkpoint was trained with")
