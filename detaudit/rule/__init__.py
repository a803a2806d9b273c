"""The rule API: everything a rule pack imports, and nothing else.

- :func:`rule`, :class:`Rule`, :class:`Violation`, ``EVERY_FACT``: declaring a rule
  (:mod:`.declare`);
- :class:`AuditFacts`, ``FACT_TIERS``, ``TIERS``, :func:`tier_rank`: the facts a rule may read
  (:mod:`.facts`), and :class:`FactUnavailable`, which a rule raises to be skipped;
- helpers rules share: config walks (:mod:`.config`), ``paramwise_cfg.custom_keys`` matching
  (:mod:`.custom_keys`), installable packages (:mod:`.packages`), checkpoint evidence
  (:mod:`.checkpoints`), forward-failure findings (:mod:`.forward`), and :func:`display_path`;
- fixes a violation carries (:mod:`.fixes`): :class:`Autofix` with its applicability.

A test keeps rule packs (``rules/``, ``detector/audit_rules.py``) from importing any other
part of detaudit.
"""
from __future__ import annotations

from ..errors import FactUnavailable
from ..load.paths import display_path
from .declare import EVERY_FACT, Rule, Violation, rule
from .fixes import DISPLAY_ONLY, SAFE, UNSAFE, Autofix
from .facts import CLI_TIERS, FACT_TIERS, TIERS, AuditFacts, tier_rank

__all__ = ["rule", "Rule", "Violation", "EVERY_FACT", "AuditFacts", "FACT_TIERS", "TIERS", "CLI_TIERS",
           "tier_rank", "FactUnavailable", "display_path", "Autofix", "SAFE", "UNSAFE", "DISPLAY_ONLY"]
