from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA717", name="hook-switch-outside-schedule", severity="warning", tier="run", needs=("run_result",))
def hook_switch_outside_schedule(ctx):
    """A hook switches at an epoch (or iteration) the training never reaches, or before it starts.

    ## What it does
    Builds each hook as the config writes it and compares the epoch at which it switches with the
    schedule of ``train_cfg`` and the training loop the Runner built: ``PipelineSwitchHook``
    switches when ``epoch >= switch_epoch``, ``YOLOXModeSwitchHook`` when
    ``epoch + 1 >= max_epochs - num_last_epochs``, ``EMAHook`` starts averaging at
    ``begin_epoch`` / ``begin_iter``. An iteration-based loop runs the epoch hooks once, at epoch 0.
    Reports a switch that never happens, one that happens before the first epoch (what it
    switches from is never used), and an EMA start that the hook's own assertion rejects. A
    ``switch_epoch`` past ``max_epochs`` of an epoch-based loop, and an EMA start past the end in
    the loop's own unit, are DA824's: the config alone shows them, so they are reported once, there.

    ## Why is this bad?
    A schedule shortened without its switch keeps the strong augmentation to the end (no
    ``switch_pipeline``, no L1 loss for YOLOX); a switch at epoch 0 trains without Mosaic/MixUp at
    all. Neither raises: the training just differs from the one the config describes.
    ``EMAHook(begin_epoch > max_epochs)`` stops the training in ``before_train``.

    ## Example
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
    custom_hooks = [dict(type='PipelineSwitchHook', switch_epoch=0, switch_pipeline=train_pipeline_stage2)]
    ```

    ## Use instead
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
    custom_hooks = [dict(type='PipelineSwitchHook', switch_epoch=80, switch_pipeline=train_pipeline_stage2)]
    ```

    ## References
    - mmdet ``PipelineSwitchHook.before_train_epoch``, ``YOLOXModeSwitchHook.before_train_epoch``
    - mmengine ``EMAHook.before_train``
    """
    yield from hook_contract_violations(ctx, "switch")
