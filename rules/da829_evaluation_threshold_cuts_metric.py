from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, walk_dicts
from detaudit.rule.merge import where

# Metrics that rank detections by score and integrate precision over recall (AP, mAP, AR).
RANKING = ("CocoMetric", "LVISMetric", "VOCMetric", "OpenImagesMetric", "CocoOccludedSeparatedMetric",
           "CrowdHumanMetric", "CityScapesMetric", "Objects365Metric", "ODVGMetric")
# The largest test score_thr and smallest max_per_img of a detection head in mmdet 3.3's zoo
# (SOLO keeps 0.1; panoptic fusion, trackers and pseudo-labelling thresholds are not detection outputs).
ZOO_MAX_SCORE_THR = 0.1
ZOO_MIN_MAX_PER_IMG = 100
NOT_DETECTION_OUTPUT = ("panoptic", "rpn", "tracker", "semi_test_cfg")


COCO_STYLE = ("CocoMetric", "LVISMetric", "CocoOccludedSeparatedMetric")
COCO_IOUS = [round(0.5 + 0.05 * i, 2) for i in range(10)]


def _iou_changes(cfg):
    """(key path, metric type, thresholds) of COCO-style metrics whose IoU thresholds are not COCO's ten."""
    for key in ("val_evaluator", "test_evaluator"):
        ev = cfg.get(key, None)
        for path, d in walk_dicts(ev, key) if ev is not None else ():
            thrs = d.get("iou_thrs", None)
            if node_type(d) not in COCO_STYLE or thrs is None:
                continue
            values = [thrs] if isinstance(thrs, (int, float)) else list(thrs) if isinstance(thrs, (list, tuple)) else None
            if values is None or not all(isinstance(v, (int, float)) for v in values):
                continue
            if [round(float(v), 2) for v in values] != COCO_IOUS:
                yield f"{path}.iou_thrs", node_type(d), values


def _ranking_metrics(cfg) -> list[tuple[str, str]]:
    out = []
    for key in ("val_evaluator", "test_evaluator"):
        ev = cfg.get(key, None)
        if ev is None:
            continue
        for path, d in walk_dicts(ev, key):
            kind = node_type(d)
            if kind in RANKING and d.get("format_only", False) is not True:
                out.append((path, kind))
    return out


@rule(code="DA829", name="evaluation-threshold-cuts-metric", severity="warning", tier="static",
      needs=("source_map",))
def evaluation_threshold_cuts_metric(ctx):
    """The model's test-time thresholds drop detections before a ranking metric sees them.

    ## What it does
    When a validation or test evaluator computes a ranking metric (COCO, LVIS, VOC, Open Images,
    CrowdHuman, Cityscapes mAP/AR), reads every detection output setting under the model's
    ``test_cfg`` (``test_cfg.score_thr``, ``test_cfg.rcnn.score_thr``, a head's own ``test_cfg``;
    not the RPN's, panoptic fusion's or a tracker's): a ``score_thr`` above 0.1, the largest any
    detection head of mmdet 3.3's zoo evaluates with, or a ``max_per_img`` below 100, the
    smallest the zoo keeps. Also reports a COCO-style metric whose ``iou_thrs`` are not COCO's
    ten (0.5:0.95), which no zoo config changes.

    ## Why is this bad?
    Average precision integrates precision over the whole recall range, down to the
    lowest-scored detections. A score threshold raised to what looks good in a picture (0.3,
    0.5) or a handful of detections per image cuts the low-confidence tail before the metric
    sees it: recall stops early and the reported mAP is lower than the model's, silently, so
    runs and papers compared with it are not comparable. Visualisation thresholds belong to the
    visualizer (``DetLocalVisualizer``, ``--show-score-thr``), not to ``test_cfg``. A COCO metric
    given other IoU thresholds still reports ``bbox_mAP``, now averaged over those thresholds only
    (and ``bbox_mAP_50``/``_75`` missing when 0.5 or 0.75 is not among them): a number under the
    name of COCO's mAP that is not COCO's mAP.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(test_cfg=dict(rcnn=dict(score_thr=0.3)))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(test_cfg=dict(rcnn=dict(score_thr=0.05)))   # the zoo's value; filter when drawing
    ```
    """
    cfg = ctx.cfg
    sm = ctx.source_map
    seen = set()
    for key, kind, values in _iou_changes(cfg):
        written = (where(sm.locate(key)), str(values))
        if written in seen:  # test_evaluator = val_evaluator: once
            continue
        seen.add(written)
        yield Violation(
            message=(f"{key} = {values} ({where(sm.locate(key))}): {kind} still reports bbox_mAP/segm_mAP, now "
                     f"averaged over {len(values)} IoU threshold(s) instead of COCO's ten (0.5:0.95): the number "
                     "named mAP is not COCO's mAP, and not comparable with published results (no zoo config "
                     "changes it)"),
            key_path=key, evidence={"iou_thrs": values, "metric": kind},
            fix=f"drop {key} (COCO's ten thresholds) and read bbox_mAP_50 / bbox_mAP_75 for single thresholds")
    metrics = _ranking_metrics(cfg)
    model = cfg.get("model", None)
    if not metrics or not is_mapping(model):
        return
    names = ", ".join(dict.fromkeys(f"{p} ({k})" for p, k in metrics))
    for path, d in walk_dicts(model, "model"):
        parts = path.split(".")
        if "test_cfg" not in parts or any(w in p for p in parts for w in NOT_DETECTION_OUTPUT):
            continue
        thr = d.get("score_thr", None)
        if isinstance(thr, (int, float)) and not isinstance(thr, bool) and thr > ZOO_MAX_SCORE_THR:
            key = f"{path}.score_thr"
            yield Violation(
                message=(f"{key} = {thr} ({where(sm.locate(key))}) drops every detection scored below {thr} before "
                         f"{names} ranks them: the evaluated mAP loses the low-confidence end of recall (mmdet's "
                         f"zoo evaluates detection heads at score_thr <= {ZOO_MAX_SCORE_THR}, mostly 0.05)"),
                key_path=key, evidence={"score_thr": thr, "metrics": [k for _, k in metrics],
                                        "zoo_max": ZOO_MAX_SCORE_THR},
                fix=f"set {key}=0.05 for evaluation and filter by score when drawing results (the visualizer's "
                    "score threshold)")
        most = d.get("max_per_img", None)
        if isinstance(most, int) and not isinstance(most, bool) and 0 < most < ZOO_MIN_MAX_PER_IMG:
            key = f"{path}.max_per_img"
            yield Violation(
                message=(f"{key} = {most} ({where(sm.locate(key))}) keeps at most {most} detections per image for "
                         f"{names}, which counts up to 100 or more: recall is capped before the metric ranks them "
                         f"(mmdet's zoo keeps >= {ZOO_MIN_MAX_PER_IMG})"),
                key_path=key, evidence={"max_per_img": most, "metrics": [k for _, k in metrics],
                                        "zoo_min": ZOO_MIN_MAX_PER_IMG},
                fix=f"set {key}=100 (or more) for evaluation")
