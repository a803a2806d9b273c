from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where


@rule(code="DA705", name="param-scheduler-failed", severity="error", tier="run", needs=("run_result",))
def param_scheduler_failed(ctx):
    """A ``param_scheduler`` entry does not build over the optimizer, or fails while training.

    ## What it does
    Builds every entry of ``param_scheduler`` over the optimizer the config builds, then steps it
    in the dry run. Reports the entry's key with the error: a misspelled type, an argument of
    another scheduler (``T_max`` on ``MultiStepLR``), a momentum scheduler over an optimizer
    without momentum.

    ## Why is this bad?
    The Runner builds the schedulers when training starts and steps them every iteration or
    epoch: a scheduler that fails stops the job, often after the first epoch of warm-up.

    ## Example
    ```python
    param_scheduler = [dict(type='CosineAnnealingLr', T_max=12, by_epoch=True)]
    ```

    ## Use instead
    ```python
    param_scheduler = [dict(type='CosineAnnealingLR', T_max=12, by_epoch=True)]
    ```
    """
    for f in failures_of(ctx, "param_scheduler"):
        name = f.detail.get("scheduler", "the scheduler")
        yield violation(f, f"{f.key_path} ({name}) fails {where(f)}: {f.error.short()}",
                        "fix the scheduler's type and arguments; run with --debug for the traceback")
