"""The tables a report carries besides findings: parameters per module (with modes after
``train()``), optimizer groups, and the synthetic losses. Each is None when the fact it reads
was never computed (a shallower tier, or the audit stopped)."""
from __future__ import annotations

from typing import Any

from ..errors import FactUnavailable


def tables(ctx) -> dict[str, Any]:
    return {"model": _summary(model_summary, ctx), "optimizer": _summary(optimizer_summary, ctx),
            "losses": _summary(loss_summary, ctx), "run": _summary(run_summary, ctx)}


def _summary(fn, ctx):
    try:
        return fn(ctx)
    except FactUnavailable:
        return None


def model_summary(ctx) -> dict[str, Any] | None:
    """Parameter counts per top-level module and per named submodule, with modes after train()."""
    if not ctx.has("model"):
        return None
    from torch.nn.modules.batchnorm import _BatchNorm

    model = ctx.model
    params = ctx.params
    total = sum(p.numel for p in params)
    trainable = sum(p.numel for p in params if p.requires_grad)
    rows = []
    for top_name, top in model.named_children():
        row = _module_row(top_name, top, params, _BatchNorm)
        if row["params"] == 0:
            continue  # data_preprocessor and other parameter-free parts
        rows.append(row)
        for child_name, child in top.named_children():
            row = _module_row(f"{top_name}.{child_name}", child, params, _BatchNorm)
            if row["params"] > 0:
                rows.append(row)
    return {"total_params": total, "trainable_params": trainable, "modules": rows}


def _module_row(path, module, params, bn_type) -> dict[str, Any]:
    prefix = path + "."
    mine = [p for p in params if p.name.startswith(prefix)]
    bns = [m for m in module.modules() if isinstance(m, bn_type)]
    return {
        "path": path,
        "type": type(module).__name__,
        "params": sum(p.numel for p in mine),
        "trainable": sum(p.numel for p in mine if p.requires_grad),
        "mode_after_train": "train" if module.training else "eval",
        "bn_in_train_mode": sum(1 for m in bns if m.training),
    }


def optimizer_summary(ctx) -> dict[str, Any] | None:
    """Parameter groups merged by the custom key (or 'default') that produced them."""
    if not ctx.has("optim_wrapper"):
        return None
    from ..rule.custom_keys import effective_custom_key

    custom_keys = ctx.config_value("optim_wrapper.paramwise_cfg.custom_keys", None) or {}
    sizes = {p.name: p.numel for p in ctx.params}
    groups: dict[tuple, dict] = {}
    for name, info in ctx.param_lr.items():
        key = effective_custom_key(name, custom_keys) or "default"
        g = groups.setdefault((key, info["lr"], info["weight_decay"]),
                              {"name": key, "params": 0, "numel": 0, "lr": info["lr"],
                               "weight_decay": info["weight_decay"]})
        g["params"] += 1
        g["numel"] += sizes.get(name, 0)
    return {"groups": list(groups.values())}


def loss_summary(ctx) -> dict[str, float] | None:
    if not ctx.has("loss_result"):
        return None
    import math

    return {k: round(v, 6) if math.isfinite(v) else None for k, v in ctx.loss_result.values.items()}


def run_summary(ctx) -> dict[str, Any] | None:
    """What the run tier did: stages, the data it read, metric names, what it changed."""
    if not ctx.has("run_result"):
        return None
    return ctx.run_result.summary()
