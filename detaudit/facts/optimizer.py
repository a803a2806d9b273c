"""The optimizer tier: the config's own ``optim_wrapper`` built over the model, and the
learning rate and weight decay each parameter ends up with."""
from __future__ import annotations

from ..errors import ErrorInfo, FactUnavailable
from .sandbox import quiet


def optim_wrapper(ctx):
    """AMP is replaced by a plain wrapper for the CPU step; its parameter groups are the same."""
    ow_cfg = ctx.cfg.get("optim_wrapper", None)
    if ow_cfg is None:
        ctx.record_error("optimizer", ErrorInfo("KeyError", "the config has no `optim_wrapper`"))
        raise FactUnavailable("optim_wrapper", "the config has no `optim_wrapper`")
    model = ctx.model
    try:
        import copy

        from mmengine.optim import build_optim_wrapper

        ow_cfg = copy.deepcopy(ow_cfg)
        if str(ow_cfg.get("type", "OptimWrapper")).endswith("AmpOptimWrapper"):
            ow_cfg["type"] = "OptimWrapper"
            for k in ("loss_scale", "dtype", "use_fsdp"):
                ow_cfg.pop(k, None)
        with quiet():
            return build_optim_wrapper(model, ow_cfg)
    except Exception as exc:  # noqa: BLE001
        info = ErrorInfo.from_exception(exc)
        unknown = _unregistered_optimizer(ow_cfg)
        if unknown:  # mmengine's constructor fails later, on inspect.signature(None)
            info.message = f"{unknown} is not in the optimizer registry"
        ctx.record_error("optimizer", info)
        raise FactUnavailable("optim_wrapper", f"optim_wrapper failed to build: {info.short()}")


def _unregistered_optimizer(ow_cfg) -> str | None:
    """The optimizer ``type`` no registry resolves, if that is the failure."""
    optimizer = ow_cfg.get("optimizer", None) if hasattr(ow_cfg, "get") else None
    name = optimizer.get("type", None) if hasattr(optimizer, "get") else None
    if not isinstance(name, str):
        return None
    from mmengine.registry import OPTIMIZERS

    try:
        with OPTIMIZERS.switch_scope_and_registry(None) as registry:
            return None if registry.get(name) is not None else name
    except Exception:  # noqa: BLE001 - a scope that does not resolve: not this failure
        return None


def param_lr(ctx) -> dict[str, dict]:
    """Per parameter name: lr, weight_decay and group index as the optimizer holds them."""
    by_id = {id(p): n for n, p in ctx.model.named_parameters()}
    out: dict[str, dict] = {}
    for gi, group in enumerate(ctx.optim_wrapper.optimizer.param_groups):
        for p in group["params"]:
            name = by_id.get(id(p))
            if name is None:
                continue
            entry = out.setdefault(name, {"lr": group.get("lr"), "weight_decay": group.get("weight_decay", 0.0),
                                          "groups": []})
            entry["groups"].append(gi)
    return out
