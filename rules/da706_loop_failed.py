from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where


@rule(code="DA706", name="loop-failed", severity="error", tier="run", needs=("run_result",))
def loop_failed(ctx):
    """A training, validation or test loop (``train_cfg``, ``val_cfg``, ``test_cfg``) fails.

    ## What it does
    Builds the loops the config names and runs them in the dry run (two training iterations,
    one validation pass, the test loop). Reports the loop's key when the loop itself raises: a
    loop type no registry knows, an argument it does not take, a loop that needs a dataloader
    or evaluator the config does not give it.

    ## Why is this bad?
    The train loop is built when training starts; the validation loop runs its first pass at
    the end of the first epoch, where a broken loop stops a run that has already cost hours.

    ## Example
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1, max_iters=90000)
    ```

    ## Use instead
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
    ```
    """
    for f in failures_of(ctx, "loop"):
        loop = f.detail.get("loop", "the loop")
        yield violation(f, f"{f.key_path} ({loop}) fails {where(f)}: {f.error.short()}",
                        "fix the loop's type and arguments; run with --debug for the traceback")
