"""Run the selected rules over one config's facts and collect an AuditResult."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .context import AuditContext
from .errors import FactUnavailable
from .findings import Finding, Location
from .rule import CLI_TIERS, TIERS, Rule, Violation, tier_rank

DOCS_URL = "https://detaudit.readthedocs.io/en/latest/rules/{code}"


@dataclass
class AuditResult:
    config: str
    findings: list[Finding] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    tiers: dict[str, str] = field(default_factory=dict)
    status: str = "completed"
    model: dict | None = None
    optimizer: dict | None = None
    losses: dict[str, float] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    internal_errors: list[str] = field(default_factory=list)


def _tier_status(ctx: AuditContext) -> dict[str, str]:
    """ok / failed / skipped per tier, from which facts were computed or failed."""
    deepest = CLI_TIERS[ctx.cli_tier]
    failed_by = {"static": "load", "build": "build", "checkpoint": "checkpoint", "optimizer": "optimizer",
                 "forward": ("predict", "loss"),
                 "train": "step"}
    out = {}
    blocked = False
    for tier in TIERS:
        if tier_rank(tier) > tier_rank(deepest):
            out[tier] = "skipped"
            continue
        if blocked or (getattr(ctx, "no_exec", False) and tier != "static"):
            out[tier] = "skipped"  # after a failed load/build, a --timeout stop, or under --no-exec
            continue
        if tier in ("forward", "train") and ctx.input_unsupported:
            out[tier] = "skipped"  # a video model: the synthetic batch cannot stand for its input
            continue
        keys = failed_by.get(tier, ())
        keys = keys if isinstance(keys, tuple) else (keys,)
        if any(k in ctx.errors for k in keys):
            out[tier] = "failed"
            if tier in ("static", "build") or getattr(ctx, "cancelled", None):
                blocked = True
        else:
            out[tier] = "ok"
    return out


def run_audit(ctx: AuditContext, rules: list[Rule], *, severity_overrides: dict[str, str] | None = None,
              debug: bool = False) -> AuditResult:
    severity_overrides = severity_overrides or {}
    start = time.perf_counter()
    result = AuditResult(config=ctx.display_path)
    # Rules that defer a failure to a more specific rule do so only when that rule runs.
    ctx.selected_codes = {r.code for r in rules}
    for r in sorted(rules, key=lambda r: (tier_rank(r.tier), r.code)):
        if tier_rank(r.tier) > tier_rank(ctx.max_tier):
            result.skipped.append({"code": r.code, "reason": f"tier '{r.tier}' not requested (--tier {ctx.cli_tier})"})
            continue
        try:
            violations = list(r.check(ctx) or ())
        except FactUnavailable as exc:
            result.skipped.append({"code": r.code, "reason": exc.reason})
            continue
        except Exception as exc:  # noqa: BLE001 - a broken rule must not lose the others' findings
            if getattr(ctx, "cancelled", None):  # stopped by --timeout mid-rule: not the rule's fault
                result.skipped.append({"code": r.code, "reason": ctx.cancelled})
                continue
            if debug:
                raise
            result.internal_errors.append(f"rule {r.code} crashed: {type(exc).__name__}: {exc}")
            result.skipped.append({"code": r.code, "reason": f"rule crashed: {type(exc).__name__}: {exc}"})
            continue
        result.ran.append(r.code)
        for v in violations:
            result.findings.append(complete(ctx, r, v, severity_overrides))
    result.tiers = _tier_status(ctx)
    result.status = _status(ctx, result)
    result.model = _summary(model_summary, ctx)
    result.optimizer = _summary(optimizer_summary, ctx)
    result.losses = _summary(loss_summary, ctx)
    result.timings = {k: round(v, 3) for k, v in ctx.timings.items()}
    result.timings["total"] = round(time.perf_counter() - start, 3)
    result.findings.sort(key=lambda f: (-["info", "warning", "error"].index(f.severity), f.code,
                                        f.key_path or "", f.module_path or ""))
    return result


def _summary(fn, ctx):
    """A table for the report, or None when a fact it reads is unavailable (audit stopped)."""
    try:
        return fn(ctx)
    except FactUnavailable:
        return None


def _status(ctx, result) -> str:
    if "load" in ctx.errors or "build" in ctx.errors:
        return "failed"
    if any(v == "failed" for v in result.tiers.values()) or result.internal_errors:
        return "partial"
    return "completed"


def complete(ctx: AuditContext, r: Rule, v: Violation, overrides: dict[str, str]) -> Finding:
    severity = overrides.get(r.code) or v.severity or r.severity
    location = None
    if v.file:
        location = Location(v.file, v.line, None)
    elif v.key_path:
        try:
            loc = ctx.source_map.locate(v.key_path)
        except FactUnavailable:
            loc = None
        if loc is not None:
            location = Location(loc.file, loc.line or None, loc.column if loc.line else None)
    if location is None:
        location = Location(ctx.display_path, None, None)
    return Finding(code=r.code, name=r.name, severity=severity, message=v.message, key_path=v.key_path,
                   module_path=v.module_path, location=location, evidence=v.evidence, fix=v.fix,
                   url=DOCS_URL.format(code=r.code), config=ctx.display_path)


def model_summary(ctx: AuditContext) -> dict[str, Any] | None:
    """Parameter counts per top-level module and per named submodule, with modes after train()."""
    if "model" not in ctx._facts:
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


def optimizer_summary(ctx: AuditContext) -> dict[str, Any] | None:
    """Parameter groups merged by the custom key (or 'default') that produced them."""
    if "optim_wrapper" not in ctx._facts:
        return None
    from .intent import effective_custom_key

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


def loss_summary(ctx: AuditContext) -> dict[str, float] | None:
    if "loss_result" not in ctx._facts:
        return None
    import math

    return {k: round(v, 6) if math.isfinite(v) else None for k, v in ctx.loss_result.values.items()}
