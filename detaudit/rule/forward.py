"""What DA402 and DA403 share: turning a failed forward pass into a finding."""
from __future__ import annotations

from ..errors import FactUnavailable, not_the_models_fault
from .declare import Violation


def forward_failure(ctx, kind: str, what: str):
    """The violation for the ``kind`` pass ("predict" or "loss"), named ``what`` in messages;
    None when it ran. Skipped (FactUnavailable) when an earlier fact failed, when the model's
    input is beyond the synthetic batch, or when the failure is the audit's own limit."""
    try:
        getattr(ctx, f"{kind}_result")
        return None
    except FactUnavailable:
        err = ctx.errors.get(kind)
        if err is None or not_the_models_fault(err):
            raise  # an earlier fact failed, or the audit's own limits: skipped with the fact's reason
    sizes = err.extra.get("sizes_tried", [])
    if err.type in ("ImportError", "ModuleNotFoundError"):
        message = f"{what} needs a package that is not installed: {err.short()}"
        fix = "install the package the message names in the training environment"
    else:
        message = f"{what} raised {err.short()}" + (f" in module '{err.module}'" if err.module else "")
        message += f" (synthetic input tried at {', '.join(sizes)})" if len(sizes) > 1 else ""
        larger = err.extra.get("larger_size_error")
        if larger:
            message += f"; at {'x'.join(map(str, larger['input_size']))} it fails with {larger['error']}"
        fix = "run with --debug for the traceback; the metainfo was complete, so look at the module named here"
    evidence = {"exception": err.type, "detail": err.message.splitlines()[0] if err.message else "",
                "module": err.module, "input_size": err.extra.get("input_size"), "sizes_tried": sizes}
    if err.file:
        evidence["raised_at"] = err.where()
    for key in ("first_error", "larger_size_error"):  # the other size's error, when it differs
        if err.extra.get(key):
            evidence[key] = err.extra[key]
    return Violation(message=message, module_path=err.module, key_path="model", evidence=evidence, fix=fix)
