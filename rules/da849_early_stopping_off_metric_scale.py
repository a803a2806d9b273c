from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name
from detaudit.rule.merge import where

# mmdet's detection metrics report AP and AR as fractions (0.374, not 37.4)
FRACTION_METRICS = {"CocoMetric", "VOCMetric", "LVISMetric", "OpenImagesMetric", "CocoOccludedSeparatedMetric"}
RATIO_WORDS = ("mAP", "AP50", "AP75", "AR@", "_AP", "AP_", "recall", "precision")
DEFAULT_MIN_DELTA = 0.1  # mmengine's EarlyStoppingHook
LARGEST_STEP = 0.05     # five AP points between two validations: more than most trainings ever gain


def _hooks(cfg):
    """(key path, hook dict) of every EarlyStoppingHook in default_hooks and custom_hooks."""
    defaults = cfg.get("default_hooks", None)
    for name in (defaults.keys() if is_mapping(defaults) else ()):
        if is_mapping(defaults[name]):
            yield f"default_hooks.{name}", defaults[name]
    custom = cfg.get("custom_hooks", None)
    for i, hook in enumerate(custom if isinstance(custom, (list, tuple)) else ()):
        if is_mapping(hook):
            yield f"custom_hooks.{i}", hook


def _metric_types(cfg) -> set[str]:
    evaluator = cfg.get("val_evaluator", None)
    items = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    return {type_name(e.get("type", None)) for e in items if is_mapping(e)}


@rule(code="DA849", name="early-stopping-off-metric-scale", severity="warning", tier="static", needs=("source_map",))
def early_stopping_off_metric_scale(ctx):
    """``EarlyStoppingHook``'s ``min_delta`` or ``stopping_threshold`` is on another scale than the AP it watches.

    ## What it does
    For each ``EarlyStoppingHook`` that monitors an AP or AR of mmdet's detection metrics
    (``CocoMetric``, ``VOCMetric``, ``LVISMetric``, ``OpenImagesMetric`` as the validation
    evaluator), which report fractions between 0 and 1, reports a ``min_delta`` (mmengine's
    default is 0.1) of 0.05 or more, and a ``stopping_threshold`` above 1.

    ## Why is this bad?
    The hook counts a validation as progress only when the score beats the best so far by
    ``min_delta``. At 0.1 that is ten AP points between two validations: after the first
    epochs nothing counts, and after ``patience`` validations training stops while the AP is
    still rising. A ``stopping_threshold`` above 1 is never reached. The defaults were chosen
    for metrics reported in percent (classification accuracy, segmentation mIoU).

    ## Example
    ```python
    default_hooks = dict(early_stopping=dict(type='EarlyStoppingHook', monitor='coco/bbox_mAP', patience=10))
    ```

    ## Use instead
    ```python
    default_hooks = dict(early_stopping=dict(type='EarlyStoppingHook', monitor='coco/bbox_mAP',
                                             min_delta=0.001, patience=10))
    ```
    """
    if not _metric_types(ctx.cfg) & FRACTION_METRICS:
        return
    sm = ctx.source_map
    for path, hook in _hooks(ctx.cfg):
        monitor = hook.get("monitor", None)
        if type_name(hook.get("type", None)) != "EarlyStoppingHook" or not isinstance(monitor, str):
            continue
        if not any(w in monitor for w in RATIO_WORDS):
            continue
        delta = hook.get("min_delta", DEFAULT_MIN_DELTA)
        if isinstance(delta, (int, float)) and not isinstance(delta, bool) and abs(delta) >= LARGEST_STEP:
            written = f"set at {where(sm.locate(f'{path}.min_delta'))}" if "min_delta" in hook else "mmengine's default"
            yield Violation(
                message=(f"{path} watches {monitor!r}, a fraction between 0 and 1, with min_delta={delta} ({written}): "
                         f"a validation counts as progress only when it gains {abs(delta) * 100:g} AP points, so "
                         f"training stops after patience={hook.get('patience', 5)} validations of ordinary progress"),
                key_path=f"{path}.min_delta", evidence={"monitor": monitor, "min_delta": delta},
                fix=f"set {path}.min_delta to the gain that matters on this scale (e.g. 0.001)")
        threshold = hook.get("stopping_threshold", None)
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold > 1:
            yield Violation(
                message=(f"{path}.stopping_threshold={threshold} ({where(sm.locate(f'{path}.stopping_threshold'))}) "
                         f"on {monitor!r}, a fraction between 0 and 1: it is never reached"),
                key_path=f"{path}.stopping_threshold", evidence={"monitor": monitor, "stopping_threshold": threshold},
                fix=f"give the threshold as a fraction ({threshold / 100:g})")
