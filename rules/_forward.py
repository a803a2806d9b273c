"""What DA402 and DA403 share: turning a failed forward pass into a finding."""
from detaudit.errors import FactUnavailable
from detaudit.rule import Violation


def forward_failure(ctx, kind: str, what: str):
    """The violation for the ``kind`` pass ("predict" or "loss"), named ``what`` in messages;
    nothing when it ran. Skipped (raises FactUnavailable) when an earlier fact failed or when
    the failure is the audit's own limit rather than the model's."""
    try:
        getattr(ctx, f"{kind}_result")
    except FactUnavailable:
        if kind not in ctx.errors:  # an earlier fact failed: skipped, not passed
            raise
    err = ctx.errors.get(kind)
    if err is None:
        return None
    from detaudit.parallel import not_the_models_fault

    excuse = not_the_models_fault(err)
    if excuse:  # the audit's limits or this machine, not the config: skipped with the reason
        raise FactUnavailable(f"{kind}_result", f"the {what} could not run here: {excuse}")
    sizes = err.extra.get("sizes_tried", [])
    if err.type in ("ImportError", "ModuleNotFoundError"):
        message = f"{what} needs a package that is not installed: {err.short()}"
        fix = "install the package the message names in the training environment"
    else:
        message = f"{what} raised {err.short()}" + (f" in module '{err.module}'" if err.module else "")
        message += f" (synthetic input tried at {', '.join(sizes)})" if len(sizes) > 1 else ""
        fix = "run with --debug for the traceback; the metainfo was complete, so look at the module named here"
    return Violation(
        message=message, module_path=err.module, key_path="model",
        evidence={"exception": err.type, "detail": err.message.splitlines()[0] if err.message else "",
                  "module": err.module, "input_size": err.extra.get("input_size"), "sizes_tried": sizes},
        fix=fix,
    )
