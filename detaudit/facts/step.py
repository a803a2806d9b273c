"""The train tier: one training step on the synthetic batch. Backward of the total loss,
then the config's own optimizer step; what is read: which trainable parameters got no (or an
all-zero) gradient, and how far each BatchNorm layer's running statistics moved."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ErrorInfo, FactUnavailable
from .forward import one_thread, release_memory
from .sandbox import no_network, quiet


@dataclass
class StepResult:
    no_grad: list[str]                       # trainable params whose grad is None
    zero_grad: list[str]                     # trainable params whose grad is all zero
    bn_drift: dict[str, float]               # BN module -> max |delta| of running stats


def step_result(ctx) -> StepResult:
    """One training step: backward of the total loss, then the config's optimizer step."""
    loss = ctx.loss_result
    ow = ctx.optim_wrapper
    model = ctx.model
    named = dict(model.named_parameters())
    try:
        with quiet(), no_network(), one_thread():
            ow.optimizer.zero_grad(set_to_none=True)
            if not loss.total.requires_grad:
                raise RuntimeError("the total loss does not require grad: nothing in it is trainable")
            loss.total.backward()
            release_memory()  # the graph is gone: let the optimizer state reuse its pages
            no_grad, zero_grad = [], []
            for n, p in named.items():
                if not p.requires_grad:
                    continue
                if p.grad is None:
                    no_grad.append(n)
                elif not bool(p.grad.any()):  # no temporary mask as large as the parameter
                    zero_grad.append(n)
            _drop_grads_the_step_cannot_use(ow.optimizer, named.values())
            ow.step()
            ow.optimizer.zero_grad(set_to_none=True)
            ow.optimizer.state.clear()  # momentum and moments: read by no rule, as large as the parameters
    except Exception as exc:  # noqa: BLE001
        info = ctx.record_error("step", ErrorInfo.from_exception(exc))
        info.extra["input_size"] = list(ctx.input_size)
        raise FactUnavailable("step_result", f"training step failed: {info.short()}")
    finally:
        loss.total = loss.total.detach()
    bn_drift = {}
    modules = dict(model.named_modules())
    for n, (mean, var) in loss.bn_before.items():
        m = modules[n]
        bn_drift[n] = float(max((m.running_mean - mean).abs().max(), (m.running_var - var).abs().max()))
    return StepResult(no_grad=no_grad, zero_grad=zero_grad, bn_drift=bn_drift)


def _drop_grads_the_step_cannot_use(optimizer, params) -> None:
    """Before the step, and after the facts about gradients are read: a parameter in no group
    with a learning rate above 0 (``lr_mult=0``) cannot move, so its gradient only makes the
    optimizer allocate state for it (SGD's momentum, Adam's moments: as large again as the
    gradients). Dropping it keeps the audit's peak memory at what the step needs."""
    moving = {id(p) for group in optimizer.param_groups if _positive(group.get("lr", 1.0)) for p in group["params"]}
    dropped = False
    for p in params:
        if p.grad is not None and id(p) not in moving:
            p.grad = None
            dropped = True
    if dropped:
        release_memory()


def _positive(lr) -> bool:
    try:
        return float(lr) > 0
    except (TypeError, ValueError):  # a scheduler object or None: assume it moves
        return True
