from detaudit.errors import FactUnavailable
from detaudit.rule import Violation, rule


@rule(code="DA402", name="predict-failed", severity="error", tier="forward")
def predict_failed(ctx):
    """The model's predict forward raises even with complete metainfo.

    ## What it does
    Runs ``model(..., mode='predict')`` in eval mode on a small synthetic batch whose data
    samples carry every key mmdet's predict paths read (``img_shape``, ``ori_shape``,
    ``scale_factor``, ``pad_shape``, and ``batch_input_shape`` from the model's own data
    preprocessor). Reports the exception and the innermost module that was executing.

    ## Why is this bad?
    Validation and testing fail, usually at the end of the first epoch. Because the
    metainfo is complete, the fault is in the model or its config, not in the input.

    ## Example
    ```python
    model = dict(test_cfg=dict(rcnn=dict(nms=dict(type='nms', iou_threshold=None))))
    ```

    ## Use instead
    ```python
    model = dict(test_cfg=dict(rcnn=dict(nms=dict(type='nms', iou_threshold=0.5))))
    ```
    """
    try:
        ctx.predict_result
    except FactUnavailable:
        if "predict" not in ctx.errors:  # an earlier fact failed: skipped, not passed
            raise
    err = ctx.errors.get("predict")
    if err is None:
        return
    from detaudit.parallel import not_the_models_fault

    excuse = not_the_models_fault(err)
    if excuse:  # the audit's limits or this machine, not the config: skipped with the reason
        raise FactUnavailable("predict_result", f"the predict could not run here: {excuse}")
    sizes = err.extra.get("sizes_tried", [])
    if err.type in ("ImportError", "ModuleNotFoundError"):
        message = f"predict needs a package that is not installed: {err.short()}"
        fix = "install the package the message names in the training environment"
    else:
        message = f"predict raised {err.short()}" + (f" in module '{err.module}'" if err.module else "")
        message += f" (synthetic input tried at {', '.join(sizes)})" if len(sizes) > 1 else ""
        fix = "run with --debug for the traceback; the metainfo was complete, so look at the module named here"
    yield Violation(
        message=message, module_path=err.module, key_path="model",
        evidence={"exception": err.type, "detail": err.message.splitlines()[0] if err.message else "",
                  "module": err.module, "input_size": err.extra.get("input_size"), "sizes_tried": sizes},
        fix=fix,
    )
