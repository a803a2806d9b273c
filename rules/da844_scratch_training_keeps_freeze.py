from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name, walk_dicts
from detaudit.rule.merge import where

from ._pretrained import other_sources

# norm layers whose statistics or affine parameters a fine-tuning setup freezes
NOT_BATCH_NORM = ("GN", "GroupNorm", "LN", "LayerNorm", "IN", "InstanceNorm")


def _freezes(node, key: str):
    """(key path, value, what it does) for each fine-tuning freeze a model dict sets."""
    stages = node.get("frozen_stages", None)
    if isinstance(stages, int) and not isinstance(stages, bool) and stages >= 0:
        frozen = "the stem" + ("" if stages == 0 else " and stage 1" if stages == 1 else f" and stages 1 to {stages}")
        yield (f"{key}.frozen_stages", stages, f"keeps {frozen} at their random initial weights (never trained)")
    norm = node.get("norm_cfg", None)
    norm_type = type_name(norm.get("type", None)) if is_mapping(norm) else None
    batch_norm = not (norm_type or "").startswith(NOT_BATCH_NORM)
    if node.get("norm_eval", None) is True and batch_norm:
        yield (f"{key}.norm_eval", True,
               "keeps every BatchNorm layer in eval mode: its running statistics stay at their initial "
               "values (mean 0, variance 1) and normalize nothing")
    if is_mapping(norm) and norm.get("requires_grad", None) is False and batch_norm:
        yield (f"{key}.norm_cfg.requires_grad", False,
               "freezes every norm layer's scale and shift at their initial values (1 and 0)")


@rule(code="DA844", name="scratch-training-keeps-freeze", severity="error", tier="static",
      needs=("pretrained_sources", "source_map"))
def scratch_training_keeps_freeze(ctx):
    """Training starts from random weights, yet the model keeps a fine-tuning freeze.

    ## What it does
    When the config has no source of pretrained weights (no ``load_from``, no ``Pretrained``
    init, no other checkpoint a module loads itself, no ``resume``: the condition of DA202),
    reports each freeze under ``model`` that only makes sense on pretrained weights:
    ``frozen_stages`` of 0 or more, ``norm_eval=True`` on a BatchNorm model, and
    ``norm_cfg.requires_grad=False`` on one. One finding per key, at the key to edit.

    ## Why is this bad?
    Backbone configs are written for fine-tuning: they freeze the stem and keep BatchNorm in
    eval mode because the ImageNet statistics are better than those of small detection
    batches. Remove the pretrained init to train from scratch and the same keys freeze random
    weights: the frozen stages never learn, and BatchNorm normalizes with mean 0 and variance 1
    forever, so activations grow layer after layer until the loss turns NaN. Nothing fails at
    build time (DA106 sees the frozen parameters once the model is built).

    ## Example
    ```python
    _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
    model = dict(backbone=dict(init_cfg=None))  # from scratch, but norm_eval=True and frozen_stages=1 stay
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False,
                               norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)))
    ```
    """
    model = ctx.config_value("model", None)
    if not is_mapping(model) or ctx.pretrained_sources or other_sources(model, "model"):
        return
    if ctx.config_value("resume", False) or ctx.config_value("load_from", None):
        return
    for key, node in walk_dicts(model, "model"):
        for path, value, effect in _freezes(node, key):
            loc = ctx.source_map.locate(path)
            yield Violation(
                message=f"training starts from random weights (no load_from, no pretrained init), yet "
                        f"{path}={value!r} (set at {where(loc)}) {effect}",
                key_path=path,
                evidence={"key": path, "value": value, "load_from": ctx.config_value("load_from", None),
                          "pretrained_inits": 0},
                fix="train from scratch without the fine-tuning freeze (frozen_stages=-1, norm_eval=False, "
                    "trainable norms; GroupNorm or SyncBN suit small batches), or give the backbone a "
                    "Pretrained init_cfg",
            )
