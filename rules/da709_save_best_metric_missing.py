from detaudit.rule import Violation, rule, tier_rank
from detaudit.rule.metric_names import unprefixed, with_prefix
from detaudit.rule.run import failures_of


@rule(code="DA709", name="save-best-metric-missing", severity="error", tier="static",
      needs=("run_result", "constructors"))
def save_best_metric_missing(ctx):
    """``save_best`` names a metric the validation evaluator does not produce.

    ## What it does
    Compares each ``save_best`` name of the ``CheckpointHook`` (a name or a list) with the metrics
    the validation produces. From the config alone: every metric's results are named
    ``<prefix>/<name>``, the prefix being the metric's ``prefix`` or its class's ``default_prefix``
    (``coco``, ``pascal_voc``, ``lvis``), so a name without one of them is reported. At the run tier,
    one validation pass with the config's own evaluator gives the names themselves, and each name
    not among them is reported, with the names that are (``coco/bbox_mAP`` rather than ``bbox_mAP``).

    ## Why is this bad?
    The CheckpointHook looks the metric up after the first validation: a name the evaluator does
    not produce raises ``KeyError`` there, so the job dies at the end of its first epoch.

    ## Example
    ```python
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best='bbox_mAP'))
    ```

    ## Use instead
    ```python
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best='coco/bbox_mAP'))
    ```
    """
    if tier_rank(ctx.max_tier) < tier_rank("run") or ctx.run_result.metrics.get("val") is None:
        for key, name, prefixes in unprefixed(ctx.cfg, ctx.constructors, "CheckpointHook"):
            yield _missing(key, name, [], prefixes)
        return
    result = ctx.run_result
    failures = failures_of(ctx, "save_best")
    reported = set()
    for check in result.monitored:
        if check["hook"] != "CheckpointHook":
            continue
        for name in check["missing"]:
            reported.add(name)
            yield _missing(check["key"], name, check["produced"])
    for f in failures:
        name = f.error.message.strip("'\"")
        if name not in reported:
            yield _missing(f.key_path, name, f.detail.get("produced", []))


def _missing(key: str, name: str, produced: list, prefixes: list | None = None) -> Violation:
    if prefixes:  # from the config alone: the names are not known, their prefixes are
        return Violation(
            message=f"save_best='{name}' has none of the prefixes the validation metrics put on every name "
                    f"({', '.join(p + '/' for p in prefixes)}), so it is not '{with_prefix(name, prefixes)}': the "
                    "CheckpointHook raises KeyError after the first validation", key_path=key, evidence={"save_best": name, "prefixes": prefixes},
            fix=f"save_best='{with_prefix(name, prefixes)}'")
    close = [p for p in produced if p.endswith("/" + name) or p.split("/")[-1] == name.split("/")[-1]]
    return Violation(
        message=f"save_best='{name}' is not a metric the validation produces (it produces "
                f"{', '.join(produced) or 'no metrics'}): the CheckpointHook raises KeyError after the first "
                f"validation", key_path=key, evidence={"save_best": name, "produced": produced},
        fix=f"save_best='{close[0]}'" if close else "name one of the metrics the evaluator produces, or 'auto'")
