from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where


@rule(code="DA704", name="hook-failed", severity="error", tier="run", needs=("run_result",))
def hook_failed(ctx):
    """A default or custom hook does not build, or raises at one of its stages.

    ## What it does
    Builds every entry of ``default_hooks`` and ``custom_hooks`` from its own key, then runs them
    in the dry run, where the Runner calls each at every stage (``before_train``,
    ``after_train_iter``, ``after_val_epoch``...). Reports the hook's key, its type and the stage
    that raised: an argument the hook does not take, a misspelled type, a hook that expects
    something the config does not provide.

    ## Why is this bad?
    Hooks run around every iteration and epoch; one that fails at ``after_val_epoch`` or
    ``after_train_epoch`` stops the training after the first epoch.

    ## Example
    ```python
    custom_hooks = [dict(type='EMAHook', momentum=0.0002, update_buffers=True, priority=49, skip_ema=True)]
    ```

    ## Use instead
    ```python
    custom_hooks = [dict(type='EMAHook', momentum=0.0002, update_buffers=True, priority=49)]
    ```
    """
    for f in failures_of(ctx, "hook"):
        hook = f.detail.get("hook", "the hook")
        stage = f.detail.get("stage")
        at = f"at {stage}" if stage else where(f)
        yield violation(f, f"{f.key_path} ({hook}) fails {at}: {f.error.short()}",
                        "fix the hook's arguments or remove it; run with --debug for the traceback")
