from detaudit.rule import Violation, rule
from detaudit.rule.run import failures_of


@rule(code="DA709", name="save-best-metric-missing", severity="error", tier="run", needs=("run_result",))
def save_best_metric_missing(ctx):
    """``save_best`` names a metric the validation evaluator does not produce.

    ## What it does
    Runs one validation pass with the config's own evaluator in the dry run and compares the
    metric names it produces with the ``save_best`` of the ``CheckpointHook``. Reports each name
    that is not produced, with the names that are (``coco/bbox_mAP`` rather than ``bbox_mAP``).

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


def _missing(key: str, name: str, produced: list) -> Violation:
    close = [p for p in produced if p.endswith("/" + name) or p.split("/")[-1] == name.split("/")[-1]]
    return Violation(
        message=f"save_best='{name}' is not a metric the validation produces (it produces "
                f"{', '.join(produced) or 'no metrics'}): the CheckpointHook raises KeyError after the first "
                f"validation", key_path=key, evidence={"save_best": name, "produced": produced},
        fix=f"save_best='{close[0]}'" if close else "name one of the metrics the evaluator produces, or 'auto'")
