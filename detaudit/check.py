"""Stage 4: run the planned rules over one config's facts and collect what they saw (:class:`Checked`).

Each rule reads the facts through a :class:`FactView` holding only what it declared; a fact
that cannot be computed makes it skipped (with the reason), a rule that raises is an
internal error that does not lose the other rules' findings. Turning violations into
findings is the completion stage's (:mod:`detaudit.report.complete`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import FactUnavailable
from .plan import Plan
from .rule import EVERY_FACT
from .rule.facts import ALWAYS_READABLE, FACT_TIERS

if TYPE_CHECKING:
    from .facts.context import AuditContext
    from .rule import Rule, Violation


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


@dataclass
class Checked:
    """What the planned rules did: the rules that ran (in plan order) with their violations, the
    rules skipped with the reason, and the rules that crashed. Findings are made from it by the
    completion stage (:mod:`detaudit.report.complete`)."""

    violations: list[tuple[Rule, list[Violation]]] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)          # the plan's order of codes
    started: float = 0.0                                    # time.perf_counter() when the check began


def check_rules(ctx: AuditContext, plan: Plan, *, debug: bool = False) -> Checked:
    """Compute the eager facts, then run each planned rule over what it declared. The run tier
    comes last, after every rule below it: from then on no rule reads the model's values, so
    the run may take the model's memory for its own (:func:`detaudit.facts.run.lean.lend_model`)."""
    out = Checked(skipped=list(plan.skipped), order=list(plan.order), started=time.perf_counter())
    late = [name for name in plan.eager if FACT_TIERS.get(name) == "run"]
    _compute(ctx, [name for name in plan.eager if name not in late])
    # a rule of a lower tier that may read the run (DA709 reads the config first) waits for it too
    rules = [r for r in plan.rules if not _reads_run(r)] + [r for r in plan.rules if _reads_run(r)]
    for r in rules:
        if _reads_run(r) and ctx.model_loan.state == "kept":
            ctx.model_loan.offer()
            _compute(ctx, late)  # here, not inside the first rule that reads them
        try:
            violations = list(r.check(FactView(ctx, r)) or ())
        except FactUnavailable as exc:
            out.skipped.append({"code": r.code, "reason": exc.reason})
            continue
        except Exception as exc:  # noqa: BLE001 - a broken rule must not lose the others' findings
            if ctx.cancelled:  # stopped by --timeout mid-rule: not the rule's fault
                out.skipped.append({"code": r.code, "reason": ctx.cancelled})
                continue
            if debug:
                raise
            out.internal_errors.append(f"rule {r.code} crashed: {type(exc).__name__}: {exc}")
            out.skipped.append({"code": r.code, "reason": f"rule crashed: {type(exc).__name__}: {exc}"})
            continue
        out.ran.append(r.code)
        out.violations.append((r, violations))
    if late:
        ctx.model_loan.offer()
    _compute(ctx, late)
    return out


def _reads_run(r) -> bool:
    return r.tier == "run" or (r.needs != EVERY_FACT and any(FACT_TIERS.get(n) == "run" for n in r.needs))


def _compute(ctx: AuditContext, names: list[str]) -> None:
    for name in names:
        try:
            getattr(ctx, name)
        except FactUnavailable:
            continue
