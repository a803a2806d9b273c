"""Stage 4: run the planned rules over one config's facts and collect an AuditResult.

Each rule reads the facts through a :class:`FactView` holding only what it declared; a fact
that cannot be computed makes it skipped (with the reason), a rule that raises is an
internal error that does not lose the other rules' findings.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .errors import FactUnavailable
from .findings import sort_findings
from .plan import Plan
from .report.result import AuditResult, to_finding
from .report.tables import tables
from .rule import CLI_TIERS, EVERY_FACT, tier_rank
from .rule.facts import ALWAYS_READABLE, CONFIG_TIERS, FACT_TIERS

if TYPE_CHECKING:
    from .facts.context import AuditContext
    from .rule import Rule


class UndeclaredFact(AttributeError):
    """A rule read a fact it does not list in ``needs``: a defect of the rule pack."""


class FactView:
    """What one rule sees: the facts it declared, the config, the audit's options."""

    __slots__ = ("_ctx", "_allowed", "_code")

    def __init__(self, ctx: AuditContext, r: Rule):
        self._ctx = ctx
        self._code = r.code
        self._allowed = None if r.needs == EVERY_FACT else frozenset(r.needs) | {"cfg"} | set(ALWAYS_READABLE)

    def __getattr__(self, name: str):
        if self._allowed is None or name in self._allowed:
            return getattr(self._ctx, name)
        if name in FACT_TIERS:
            raise UndeclaredFact(f"rule {self._code} reads fact '{name}' without declaring it in needs=")
        raise AttributeError(f"rules cannot read '{name}'; the readable facts are listed in detaudit.rule.facts")


def run_rules(ctx: AuditContext, plan: Plan, *, severity_overrides: dict[str, str] | None = None,
              debug: bool = False) -> AuditResult:
    severity_overrides = severity_overrides or {}
    start = time.perf_counter()
    result = AuditResult(config=ctx.display_path, skipped=list(plan.skipped))
    for name in plan.eager:
        try:
            getattr(ctx, name)
        except FactUnavailable:
            continue
    for r in plan.rules:
        try:
            violations = list(r.check(FactView(ctx, r)) or ())
        except FactUnavailable as exc:
            result.skipped.append({"code": r.code, "reason": exc.reason})
            continue
        except Exception as exc:  # noqa: BLE001 - a broken rule must not lose the others' findings
            if ctx.cancelled:  # stopped by --timeout mid-rule: not the rule's fault
                result.skipped.append({"code": r.code, "reason": ctx.cancelled})
                continue
            if debug:
                raise
            result.internal_errors.append(f"rule {r.code} crashed: {type(exc).__name__}: {exc}")
            result.skipped.append({"code": r.code, "reason": f"rule crashed: {type(exc).__name__}: {exc}"})
            continue
        result.ran.append(r.code)
        result.findings.extend(to_finding(ctx, r, v, severity_overrides) for v in violations)
    result.tiers = tier_status(ctx)
    result.status = _status(ctx, result)
    for key, value in tables(ctx).items():
        setattr(result, key, value)
    result.timings = {k: round(v, 3) for k, v in ctx.timings.items()}
    result.timings["total"] = round(time.perf_counter() - start, 3)
    result.findings = sort_findings(result.findings)
    position = {code: i for i, code in enumerate(plan.order)}
    result.skipped.sort(key=lambda s: position.get(s["code"], len(position)))
    return result


_FAILED_BY = {"static": ("load",), "build": ("build",), "checkpoint": ("checkpoint",),
              "optimizer": ("optimizer",), "forward": ("predict", "loss"), "train": ("step",), "run": ("run",)}


def tier_status(ctx: AuditContext) -> dict[str, str]:
    """ok / failed / skipped per tier, from which facts were computed or failed."""
    deepest = CLI_TIERS[ctx.cli_tier]
    out = {}
    blocked = False
    for tier in CONFIG_TIERS:
        if tier_rank(tier) > tier_rank(deepest) or tier in ctx.refused:
            out[tier] = "skipped"
            continue
        if blocked or (ctx.no_exec and tier != "static"):
            out[tier] = "skipped"  # after a failed load/build, a --timeout stop, or under --no-exec
            continue
        if tier in ("forward", "train") and ctx.input_unsupported:
            out[tier] = "skipped"  # a video model: the synthetic batch cannot stand for its input
            continue
        if tier == "run" and (ctx.run_skipped or (not ctx.has("run_result") and "run" not in ctx.errors)):
            out[tier] = "skipped"  # no data for the train loader, or the optimizer does not build
            continue  # (a run that could not be set up, or was stopped at --timeout, failed)
        if any(k in ctx.errors for k in _FAILED_BY[tier]):
            out[tier] = "failed"
            if tier in ("static", "build") or ctx.cancelled:
                blocked = True
        else:
            out[tier] = "ok"
    return out


def _status(ctx: AuditContext, result: AuditResult) -> str:
    if "load" in ctx.errors or "build" in ctx.errors:
        return "failed"
    if any(v == "failed" for v in result.tiers.values()) or result.internal_errors:
        return "partial"
    return "completed"
