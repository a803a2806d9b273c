from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA719", name="hook-model-attribute-missing", severity="error", tier="run", needs=("run_result",))
def hook_model_attribute_missing(ctx):
    """A hook needs a part of the model that the built model does not have.

    ## What it does
    Takes the model as hooks take it (``runner.model``, its ``.module`` when wrapped) and checks
    what each hook's code reaches on it: ``MeanTeacherHook`` asserts ``model.teacher`` and
    ``model.student`` (a semi-supervised detector) and averages them parameter by parameter,
    ``SetEpochInfoHook`` calls ``model.set_epoch``, ``YOLOXModeSwitchHook`` sets
    ``model.bbox_head.use_l1`` (only YOLOX's head reads it).

    ## Why is this bad?
    A missing method or a failed assertion stops the training at the hook's stage, with an
    ``AssertionError`` that has no message; an attribute the head does not read means the switch
    the hook exists for does nothing (no L1 loss in the last epochs).

    ## Example
    ```python
    model = dict(type='RTMDet', ...)
    custom_hooks = [dict(type='YOLOXModeSwitchHook', num_last_epochs=15)]
    ```

    ## Use instead
    ```python
    model = dict(type='RTMDet', ...)
    custom_hooks = [dict(type='PipelineSwitchHook', switch_epoch=280, switch_pipeline=train_pipeline_stage2)]
    ```

    ## References
    - mmdet ``MeanTeacherHook.before_train``, ``SetEpochInfoHook.before_train_epoch``,
      ``YOLOXModeSwitchHook.before_train_epoch``
    """
    yield from hook_contract_violations(ctx, "model")
