from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA721", name="hook-interval-never-fires", severity="warning", tier="run", needs=("run_result",))
def hook_interval_never_fires(ctx):
    """A hook's period is longer than the training, or counts epochs in an iteration-based loop.

    ## What it does
    Compares the periods hooks act on with the schedule of ``train_cfg`` and the loop the Runner
    built: in an iteration-based loop, the iteration periods of
    ``CheckInvalidLossHook``, ``MeanTeacherHook`` and ``EMAHook``. A ``CheckpointHook`` with
    ``by_epoch=True`` in an ``IterBasedTrainLoop`` saves in ``after_train_epoch``, which that loop
    calls once, at the end (DA806 reports a ``by_epoch=True`` written in
    ``default_hooks.checkpoint`` from the config alone; this rule, the default and other keys).
    A ``CheckpointHook`` interval longer than the training in the loop's own unit is DA824's,
    reported from the config alone.

    ## Why is this bad?
    The hook never does what it is there for: no intermediate checkpoints to resume a long run
    from, a loss that is never checked, a teacher or an EMA that is never updated after its first
    copy (the validated model is then the model after one iteration).

    ## Example
    ```python
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=90000, val_interval=5000)
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5000))
    ```

    ## Use instead
    ```python
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=90000, val_interval=5000)
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5000, by_epoch=False))
    ```

    ## References
    - mmengine ``CheckpointHook.after_train_epoch``, ``Hook.every_n_train_iters``
    """
    yield from hook_contract_violations(ctx, "interval")
