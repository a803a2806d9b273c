from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, walk_dicts

EVALUATORS = ("val_evaluator", "test_evaluator")
COCO_STYLE = {"CocoMetric", "LVISMetric"}
MASK_BOX_HEADS = ("RTMDetIns",)  # one-stage heads whose box head predicts the masks too


def _predicts_masks(model) -> bool:
    for _path, d in walk_dicts(model, "model"):
        if is_mapping(d.get("mask_head", None)) or isinstance(d.get("mask_head", None), (list, tuple)):
            return True
        if is_mapping(d.get("panoptic_head", None)):  # MaskFormer and Mask2Former: masks per query
            return True
        if node_type(d).split(".")[-1].startswith(MASK_BOX_HEADS):
            return True
    return False


@rule(code="DA886", name="mask-model-scored-on-boxes-only", severity="warning", tier="static", needs=())
def mask_model_scored_on_boxes_only(ctx):
    """An instance segmentation model whose COCO-style evaluator scores boxes only.

    ## What it does
    When the model predicts masks (a ``mask_head`` anywhere in it, a MaskFormer-style ``panoptic_head``,
    or an RTMDet-Ins head), reads
    the ``metric`` of each ``CocoMetric``/``LVISMetric`` of ``val_evaluator`` and
    ``test_evaluator`` and reports one that does not include ``'segm'``.

    ## Why is this bad?
    The metric's default is ``'bbox'``: the masks the model is trained and selected for are never
    scored. The best checkpoint is chosen by box mAP, the logs show no mask AP, and a mask
    regression goes unseen until someone evaluates by hand.

    ## Example
    ```python
    _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
    val_evaluator = dict(type='CocoMetric', ann_file='data/coco/annotations/instances_val2017.json', metric='bbox')
    ```

    ## Use instead
    ```python
    val_evaluator = dict(type='CocoMetric', ann_file='data/coco/annotations/instances_val2017.json',
                         metric=['bbox', 'segm'])
    ```
    """
    if not _predicts_masks(ctx.cfg.get("model", None)):
        return
    for name in EVALUATORS:
        evaluator = ctx.cfg.get(name, None)
        items = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
        for i, m in enumerate(items):
            if not is_mapping(m) or node_type(m).split(".")[-1] not in COCO_STYLE or m.get("format_only", False):
                continue
            metric = m.get("metric", "bbox")
            metrics = [metric] if isinstance(metric, str) else list(metric or [])
            if "segm" in metrics:
                continue
            key = f"{name}.{i}" if isinstance(evaluator, (list, tuple)) else name
            yield Violation(
                message=(f"{key}.metric = {metric!r}: the model predicts masks, but only its boxes are scored "
                         "(no mask AP is computed, and a checkpoint is chosen by box mAP)"),
                key_path=f"{key}.metric", evidence={"metric": metrics},
                fix=f"set {key}.metric = {metrics + ['segm']!r}")
            if name == "val_evaluator" and ctx.cfg.get("test_evaluator", None) == evaluator:
                return  # test_evaluator = val_evaluator: one setting, said once
