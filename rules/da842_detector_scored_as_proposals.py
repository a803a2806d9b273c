from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name
from detaudit.rule.merge import where

EVALUATORS = ("val_evaluator", "test_evaluator")
PROPOSAL_METRICS = {"proposal", "proposal_fast"}
# detectors whose output is proposals: recall is what there is to measure
PROPOSERS = {"RPN"}


def _metrics(evaluator, key: str):
    """(key path, the metric dict) of each metric of an evaluator entry (a dict or a list of them)."""
    items = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for i, m in enumerate(items):
        if is_mapping(m):
            yield (f"{key}.{i}" if isinstance(evaluator, (list, tuple)) else key), m


@rule(code="DA842", name="detector-scored-as-proposals", severity="warning", tier="static", needs=("source_map",))
def detector_scored_as_proposals(ctx):
    """A detector is evaluated with proposal metrics only.

    ## What it does
    Reads the ``metric`` of every ``CocoMetric``/``LVISMetric`` of ``val_evaluator`` and
    ``test_evaluator`` and reports an evaluator whose metrics are all proposal recall
    (``'proposal'``, ``'proposal_fast'``) when the model is a detector (not an ``RPN``).

    ## Why is this bad?
    Proposal metrics report the average recall of the boxes at 100, 300 and 1000 proposals per
    image: for a detector they ignore its classes and its scores' calibration, and report no
    mAP. The run trains and validates without error, ``save_best='auto'`` keeps the checkpoint
    with the best recall, and the figure that measures a detector is never computed. Copying the
    evaluator of an RPN config onto a detector is the usual cause.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    val_evaluator = dict(metric='proposal_fast')
    ```

    ## Use instead
    ```python
    val_evaluator = dict(metric='bbox')
    ```
    """
    model = ctx.cfg.get("model", None)
    kind = type_name(model.get("type", None)) if is_mapping(model) else None
    if kind is None or kind in PROPOSERS:
        return
    sm, seen = ctx.source_map, set()
    for name in EVALUATORS:
        for key, m in _metrics(ctx.cfg.get(name, None), name):
            if type_name(m.get("type", None)) not in ("CocoMetric", "LVISMetric"):
                continue
            metric = m.get("metric", "bbox")
            metrics = {metric} if isinstance(metric, str) else set(metric or ())
            if not metrics or not metrics <= PROPOSAL_METRICS:
                continue
            written = where(sm.locate(f"{key}.metric"))
            if written in seen:
                continue
            seen.add(written)
            yield Violation(
                message=(f"{key}.metric = {metric!r} ({written}) scores proposal recall only, but the model is a "
                         f"{kind}: no mAP of its boxes is computed, and a checkpoint chosen by this metric is the "
                         "one with the best recall"),
                key_path=f"{key}.metric", evidence={"metric": sorted(metrics), "model": kind},
                fix=f"set {key}.metric = 'bbox' (and 'segm' for a mask model)")
