from detaudit.rule import Violation, rule, tier_rank
from detaudit.rule.metric_names import unprefixed, with_prefix


@rule(code="DA714", name="early-stopping-metric-missing", severity="warning", tier="static",
      needs=("run_result", "constructors"))
def early_stopping_metric_missing(ctx):
    """``EarlyStoppingHook`` monitors a metric the validation evaluator does not produce.

    ## What it does
    Compares the ``monitor`` of each ``EarlyStoppingHook`` with the metrics the validation produces.
    From the config alone: every metric's results are named ``<prefix>/<name>`` (the metric's
    ``prefix`` or its class's ``default_prefix``), so a name without one of them is reported. At the
    run tier, one validation pass with the config's own evaluator gives the names themselves: a name
    that is not produced is reported, with the names that are.

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
    if tier_rank(ctx.max_tier) < tier_rank("run") or ctx.run_result.metrics.get("val") is None:
        for key, name, prefixes in unprefixed(ctx.cfg, ctx.constructors, "EarlyStoppingHook"):
            yield Violation(
                message=f"EarlyStoppingHook monitors '{name}', which has none of the prefixes the validation "
                        f"metrics put on every name ({', '.join(p + '/' for p in prefixes)}), so it is not "
                        f"'{with_prefix(name, prefixes)}': the hook warns at every validation and never stops training",
                key_path=key, evidence={"monitor": name, "prefixes": prefixes},
                fix=f"monitor='{with_prefix(name, prefixes)}'")
        return
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
