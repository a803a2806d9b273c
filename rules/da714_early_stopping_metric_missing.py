from detaudit.rule import Violation, rule


@rule(code="DA714", name="early-stopping-metric-missing", severity="warning", tier="run", needs=("run_result",))
def early_stopping_metric_missing(ctx):
    """``EarlyStoppingHook`` monitors a metric the validation evaluator does not produce.

    ## What it does
    Runs one validation pass with the config's own evaluator in the dry run and compares the
    metric names it produces with the ``monitor`` of each ``EarlyStoppingHook``. Reports a name
    that is not produced, with the names that are.

    ## Why is this bad?
    The hook looks the metric up after every validation and, when it is absent, only warns and
    returns: training runs its whole schedule and never stops early. A training loss such as
    ``loss`` is never a validation metric.

    ## Example
    ```python
    custom_hooks = [dict(type='EarlyStoppingHook', monitor='bbox_mAP', patience=5)]
    ```

    ## Use instead
    ```python
    custom_hooks = [dict(type='EarlyStoppingHook', monitor='coco/bbox_mAP', patience=5)]
    ```

    ## References
    - mmengine ``EarlyStoppingHook.after_val_epoch``
    """
    for check in ctx.run_result.monitored:
        if check["hook"] != "EarlyStoppingHook":
            continue
        produced = check["produced"]
        for name in check["missing"]:
            close = [p for p in produced if p.split("/")[-1] == name.split("/")[-1]]
            yield Violation(
                message=f"EarlyStoppingHook monitors '{name}', which the validation does not produce (it produces "
                        f"{', '.join(produced) or 'no metrics'}): the hook warns at every validation and never "
                        f"stops training", key_path=check["key"], evidence={"monitor": name, "produced": produced},
                fix=f"monitor='{close[0]}'" if close else "monitor one of the metrics the evaluator produces")
