from detaudit.errors import FactUnavailable
from detaudit.rule import Violation, rule


@rule(code="DA403", name="loss-failed", severity="error", tier="forward")
def loss_failed(ctx):
    """The loss forward raises on a synthetic training batch.

    ## What it does
    Runs ``model(..., mode='loss')`` in train mode on a small synthetic batch with at least
    one ground-truth box per image and complete metainfo, and reports the exception and
    the innermost module that was executing.

    ## Why is this bad?
    Training cannot start; when it fails only in a custom head, hours of data loading and
    queueing are spent before the first iteration shows it.

    ## Example
    ```python
    model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True,
                                                            num_classes=2))))  # not an argument
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False))))
    ```
    """
    try:
        ctx.loss_result
    except FactUnavailable:
        if "loss" not in ctx.errors:  # an earlier fact failed: skipped, not passed
            raise
    err = ctx.errors.get("loss")
    if err is None:
        return
    from detaudit.parallel import not_the_models_fault

    excuse = not_the_models_fault(err)
    if excuse:  # the audit's limits or this machine, not the config: skipped with the reason
        raise FactUnavailable("loss_result", f"the loss forward could not run here: {excuse}")
    sizes = err.extra.get("sizes_tried", [])
    if err.type in ("ImportError", "ModuleNotFoundError"):
        message = f"loss forward needs a package that is not installed: {err.short()}"
        fix = "install the package the message names in the training environment"
    else:
        message = f"loss forward raised {err.short()}" + (f" in module '{err.module}'" if err.module else "")
        message += f" (synthetic input tried at {', '.join(sizes)})" if len(sizes) > 1 else ""
        fix = "run with --debug for the traceback; the metainfo was complete, so look at the module named here"
    yield Violation(
        message=message, module_path=err.module, key_path="model",
        evidence={"exception": err.type, "detail": err.message.splitlines()[0] if err.message else "",
                  "module": err.module, "input_size": err.extra.get("input_size"), "sizes_tried": sizes},
        fix=fix,
    )
