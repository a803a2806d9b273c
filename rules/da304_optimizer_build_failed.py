from detaudit.rule import Violation, rule
from detaudit.rule.config import locate_build_failure


@rule(code="DA304", name="optimizer-build-failed", severity="error", tier="optimizer", needs=("optim_wrapper",))
def optimizer_build_failed(ctx):
    """The config's ``optim_wrapper`` does not build.

    ## What it does
    Builds ``optim_wrapper`` over the built model exactly as the Runner does and reports why it
    fails, with the key to edit: an optimizer ``type`` no registry knows, an argument the
    optimizer does not take (an ``Adam`` that inherited SGD's ``momentum`` from a base config),
    a ``paramwise_cfg`` the constructor rejects.

    ## Why is this bad?
    The Runner builds the optimizer when training starts, after the datasets were indexed and
    the job waited for its GPUs, and stops there. Every rule that needs the optimizer (lr
    multipliers, parameter groups) cannot say anything about such a config.

    ## Example
    ```python
    _base_ = './faster-rcnn_r50_fpn_1x_coco.py'   # optimizer=dict(type='SGD', lr=0.02, momentum=0.9, ...)
    optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-4))
    ```
    """
    try:
        ctx.optim_wrapper
        return
    except Exception:
        err = ctx.errors.get("optimizer")
        if err is None or err.type == "KeyError" and "has no `optim_wrapper`" in err.message:
            raise  # the model did not build, or there is no optim_wrapper to build: not this rule's case
    where = locate_build_failure(err.message, ctx.config_value("optim_wrapper", None), "optim_wrapper")
    if where.kind == "unexpected-argument":
        what = f"{where.cls or 'the optimizer'} does not take the argument '{where.argument}'"
        fix = (f"remove '{where.argument}', or start the dict afresh with _delete_=True when its type changed "
               f"from the base config's")
    elif where.kind == "unregistered":
        what = f"type '{where.argument}' is not registered in the {where.registry} registry"
        fix = "use an optimizer type torch or mmengine registers (SGD, Adam, AdamW, ...), or import the module " \
              "that registers it through custom_imports"
    elif where.kind == "missing-argument":
        what = f"{where.cls or 'the optimizer'} is missing required argument(s): {', '.join(where.missing)}"
        fix = f"set {', '.join(where.missing)} under {where.key_path}"
    else:
        what = f"it raised {err.short()}"
        fix = "run with --debug for the traceback"
    yield Violation(message=f"optim_wrapper does not build: {what}", key_path=where.key_path,
                    evidence={"exception": err.type, "detail": err.message.splitlines()[0] if err.message else "",
                              "argument": where.argument, "cls": where.cls},
                    fix=fix)
