from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type

EVALUATORS = ("val_evaluator", "test_evaluator")
SUMMARY_METRICS = ("bbox", "segm", "proposal")  # the ones COCOeval.summarize() reports


def _metrics(m) -> list:
    kinds = m.get("metric", "bbox")
    return list(kinds) if isinstance(kinds, (list, tuple)) else [kinds]


def _evaluators(cfg):
    for key in EVALUATORS:
        ev = cfg.get(key, None)
        items = [(f"{key}.{i}", m) for i, m in enumerate(ev)] if isinstance(ev, (list, tuple)) else [(key, ev)]
        for path, m in items:
            if is_mapping(m) and node_type(m) == "CocoMetric":
                yield path, m


@rule(code="DA865", name="coco-summary-settings-unusable", severity="error", tier="static")
def coco_summary_settings_unusable(ctx):
    """``CocoMetric``'s ``proposal_nums`` or ``iou_thrs`` are values the COCO summary cannot read.

    ## What it does
    For each ``CocoMetric`` evaluator that summarizes ``bbox``, ``segm`` or ``proposal`` results,
    reports ``proposal_nums`` with fewer than three limits and ``iou_thrs`` without 0.5 or 0.75.
    ``CocoMetric`` hands them to pycocotools' ``COCOeval`` as ``maxDets`` and ``iouThrs``;
    ``COCOeval.summarize()`` reads ``maxDets[0]``, ``[1]`` and ``[2]`` (the AR@100/300/1000 and
    AP lines) and looks up the AP at IoU 0.5 and 0.75 for ``mAP_50``/``mAP_75``.

    ## Why is this bad?
    Training runs a whole epoch, then the first validation ends in an ``IndexError`` (two or fewer
    limits) or a failed lookup (no 0.5 or 0.75 threshold). ``proposal_nums=(300,)`` is the usual
    way there, written to score more than 100 detections per image: the number of detections is
    the model's ``test_cfg`` ``max_per_img``, and the summary still needs three limits.

    ## Example
    ```python
    val_evaluator = dict(type='CocoMetric', metric='bbox', proposal_nums=(300, ))
    ```

    ## Use instead
    ```python
    val_evaluator = dict(type='CocoMetric', metric='bbox', proposal_nums=(100, 300, 1000))
    ```
    """
    seen = set()
    for path, m in _evaluators(ctx.cfg):
        if not any(k in SUMMARY_METRICS for k in _metrics(m)) or m.get("format_only", False) is True \
                or m.get("use_mp_eval", False) is True:
            continue  # (mmdet's multi-process COCOevalMP summarizes from the one limit it is given)
        nums, thrs = m.get("proposal_nums", None), m.get("iou_thrs", None)
        where = path.replace("test_", "val_")
        if isinstance(nums, (list, tuple)) and len(nums) < 3 and (where, "nums") not in seen:
            seen.add((where, "nums"))
            yield Violation(
                message=(f"{path}.proposal_nums={tuple(nums)!r}: COCOeval.summarize() reads three detection limits "
                         "(maxDets[0], [1] and [2]), so the first validation fails with IndexError after a whole "
                         "training epoch; the number of detections an image keeps is the model's test_cfg "
                         "max_per_img, not this"),
                key_path=f"{path}.proposal_nums", evidence={"proposal_nums": list(nums)},
                fix="give three increasing limits, e.g. proposal_nums=(100, 300, 1000), and raise max_per_img in "
                    "model.test_cfg to keep more detections")
        values = [thrs] if isinstance(thrs, (int, float)) and not isinstance(thrs, bool) else thrs
        if isinstance(values, (list, tuple)) and values and (where, "thrs") not in seen:
            missing = [t for t in (0.5, 0.75) if not any(abs(float(v) - t) < 1e-9 for v in values
                                                         if isinstance(v, (int, float)))]
            if missing:
                seen.add((where, "thrs"))
                yield Violation(
                    message=(f"{path}.iou_thrs={list(values)!r} lacks {', '.join(map(str, missing))}: "
                             "COCOeval.summarize() looks up the AP at IoU 0.5 and 0.75 (mAP_50, mAP_75) and finds "
                             "no such threshold, so the first validation fails after a whole training epoch"),
                    key_path=f"{path}.iou_thrs", evidence={"iou_thrs": list(values), "missing": missing},
                    fix="leave iou_thrs unset (0.5:0.95) and read mAP_50 from the results, or include 0.5 and 0.75")
