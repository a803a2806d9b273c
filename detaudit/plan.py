"""Stage 2: from the selected rules to the work an audit does.

Each rule declares the facts it reads (``@rule(needs=...)``) and the shallowest tier it runs
at. The plan orders the rules cheapest first (by tier, then code), sets aside those whose tier
was not requested (skipped, with the reason), and lists the facts to compute before any rule
runs: those a rule watching the audit itself asks for (``needs=EVERY_FACT``: the supervisor's
DA091-DA093 must see every step run); the run tier's among them are computed after the rules
below the run tier (:func:`detaudit.check.check_rules`). Every other fact is computed when the first rule that
declares it reads it, and no rule can read one it did not declare (:mod:`detaudit.check`).

Two kinds of audit share the rules. A config audit runs every rule but those of the
``training`` tier, whose facts only a real run has; a training audit (DetAuditHook's checks
during training, ``detaudit logs`` after it) runs the rules of that tier, and those that report
why the run's config did not load or build.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .rule import EVERY_FACT, FACT_TIERS, Rule, tier_rank
from .rule.facts import TRAINING_TIER

# The facts that say why a step failed: a training audit loads (and may build) the run's config
# too, so the rules reporting these failures run in both kinds of audit.
FAILURE_FACTS = ("load_error", "build_error", "custom_import_errors")
# The steps a training run goes through, in order: what a rule watching the audit needs run (the
# run tier's Runner last, where a blocking call (DA095) or a hang (DA091) is met first).
TRAINING_STEPS = ("cfg", "model", "checkpoint", "optim_wrapper", "predict_result", "loss_result", "step_result",
                  "run_result")


@dataclass
class Plan:
    rules: list[Rule] = field(default_factory=list)     # to run, in order
    skipped: list[dict] = field(default_factory=list)   # {"code", "reason"}
    eager: list[str] = field(default_factory=list)      # facts computed before the first rule (the run tier's: before its own)
    order: list[str] = field(default_factory=list)      # every selected code, cheapest first

    @property
    def codes(self) -> frozenset:
        return frozenset(self.order)


def make_plan(rules: list[Rule], *, max_tier: str, cli_tier: str, audit: str = "config") -> Plan:
    """``audit``: ``"config"`` (every rule but the training tier's) or ``"training"`` (only those)."""
    if audit not in ("config", "training"):
        raise ValueError(f"audit must be 'config' or 'training', not {audit!r}")
    plan = Plan()
    for r in sorted(rules, key=lambda r: (tier_rank(r.tier), r.code)):
        if r.tier == TRAINING_TIER and audit == "config":
            continue  # a training audit's rule: neither run nor skipped here
        if audit == "training" and r.tier != TRAINING_TIER and not _reports_failures(r):
            continue
        plan.order.append(r.code)
        if tier_rank(r.tier) > tier_rank(max_tier):
            plan.skipped.append({"code": r.code, "reason": f"tier '{r.tier}' not requested (--tier {cli_tier})"})
            continue
        plan.rules.append(r)
        if r.needs == EVERY_FACT:
            for name in TRAINING_STEPS:
                if name not in plan.eager and tier_rank(FACT_TIERS.get(name, "static")) <= tier_rank(max_tier):
                    plan.eager.append(name)
    return plan


def _reports_failures(r: Rule) -> bool:
    return r.needs != EVERY_FACT and any(name in FAILURE_FACTS for name in r.needs)
