"""Stage 5: where a finding is completed. What the rules saw (:class:`~detaudit.check.Checked`)
becomes one config's :class:`AuditResult`, the same way for every source and every face:

1. each violation becomes a finding with the user's severity (``to_finding``), located at its
   file:line;
2. the tiers' status, the audit's status, the model/optimizer/loss/run tables and timings;
3. the findings of the audit's supervision (DA091 timeout, DA092 memory) and the blocking calls it
   intercepted (DA095);
4. inline and per-file ``# detaudit: ignore[...]`` suppressions, and DA007 for the unused ones;
5. with ``debug``, the tracebacks of the audited code's failures.

The baseline is the report's last step (:func:`apply_baseline`), since an entry is stale only
when no audited config of the report still has it.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..findings import sort_findings
from ..rule import CLI_TIERS, tier_rank
from ..rule.facts import CONFIG_TIERS
from . import suppress
from .result import AuditResult, to_finding
from .blocking import add_blocking_findings
from .supervision import add_supervision_findings
from .tables import tables

if TYPE_CHECKING:
    from ..check import Checked
    from ..facts.context import AuditContext
    from ..options import AuditOptions


def complete(ctx: AuditContext, checked: Checked, rules, options: AuditOptions, blocking_calls=()) -> AuditResult:
    """The one completion of one audit (see the module docstring). ``blocking_calls``: what the
    audit intercepted (facts/blocking.py), each a DA095 finding."""
    result = AuditResult(config=ctx.display_path, skipped=list(checked.skipped), ran=list(checked.ran),
                         internal_errors=list(checked.internal_errors))
    for r, violations in checked.violations:
        result.findings.extend(to_finding(ctx, r, v, options.severity) for v in violations)
    result.tiers = tier_status(ctx)
    result.base_line = _base_line(ctx)
    result.status = _status(ctx, result)
    for key, value in tables(ctx).items():
        setattr(result, key, value)
    result.timings = {k: round(v, 3) for k, v in ctx.timings.items()}
    result.timings["total"] = round(time.perf_counter() - checked.started, 3)
    result.findings = sort_findings(result.findings)
    position = {code: i for i, code in enumerate(checked.order)}
    result.skipped.sort(key=lambda s: position.get(s["code"], len(position)))
    add_supervision_findings(ctx, result, rules, options.severity, options.max_memory)
    if blocking_calls:  # DA095 also where the source leaves out the rules that watch the whole audit (training)
        from ..registry import select_rules

        add_blocking_findings(ctx, result, select_rules(options.select, options.ignore, options.extend_select),
                              options.severity, blocking_calls)
    suppress.apply(ctx, result, rules, options.severity)
    if options.debug:  # what DA001/DA002/DA40x point at, in full
        result.tracebacks = {phase: info.traceback for phase, info in ctx.errors.items() if info.traceback}
    return result


def _base_line(ctx: AuditContext) -> int | None:
    """The config's ``_base_`` line, as the load stage read it (CI formats point there)."""
    from ..errors import FactUnavailable

    try:
        return ctx.source_map.base_line if ctx.config_path else None
    except FactUnavailable:
        return None


def stopped(ctx: AuditContext, options: AuditOptions, interruption: dict) -> AuditResult:
    """The result of an audit stopped at its time bound outside any step: DA091 alone, naming
    where it was stopped."""
    from .supervision import TIMEOUT_CODE, failure_result, timeout_message

    message, evidence = timeout_message(interruption, "running the rules")
    return failure_result(ctx.display_path, options, TIMEOUT_CODE, message, evidence,
                          "look for a loop or a blocking call in the config's code or custom modules, "
                          "or raise --timeout")


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


def apply_baseline(report, path):
    """Drop the findings the baseline at ``path`` accepts from every audit of ``report``; the
    outcome lists the accepted count and the stale entries. Raises BaselineError."""
    from . import baseline

    return baseline.apply(report, path)
