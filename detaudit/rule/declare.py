"""Declaring a rule: ``@rule(code=..., name=..., severity=..., tier=..., needs=...)``.

A rule is a plain function of the facts (:class:`~detaudit.rule.facts.AuditFacts`) that
yields :class:`Violation` values; the engine completes each into a finding (severity after
user overrides, location from the key path, fingerprint). ``needs`` names every fact the
rule reads: the engine computes those and nothing else, and reading a fact that is not
declared is an error. ``tier`` is the shallowest ``--tier`` the rule runs at. A fact that
could not be computed makes the rule *skipped*, never *passed*.

A rule pack is any importable object listed under the ``detaudit.rules`` entry-point
group that is an iterable of :class:`Rule` (the built-in pack is ``rules:RULES``).
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..findings import SEVERITIES
from .facts import FACT_TIERS, TIERS


DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")
# The "Fix" section of a rule whose findings carry no fix (detaudit --fix leaves them to the user).
NO_FIX = ("None: ``detaudit --fix`` leaves this finding to the user, since what to change (a value, a file, "
          "the environment) is theirs to choose; \"Use instead\" shows the usual change.")
DOCS_URL = "https://detaudit.readthedocs.io/en/latest/rules/{code}"
# ``needs=EVERY_FACT``: the rule watches the audit itself (the supervisor's DA091-DA093), so
# every fact up to the requested tier is computed whether another rule needs it or not.
EVERY_FACT = "every-fact"
CODE_RE = re.compile(r"^[A-Z]{2,4}\d{3}$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass
class Violation:
    """What a rule saw. The engine completes it into a Finding."""

    message: str
    key_path: str | None = None
    module_path: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    severity: str | None = None  # only to change a rule's default in a case its documentation states
    file: str | None = None      # explicit location when no key path can give it
    line: int | None = None
    autofix: Any = None          # a :class:`~detaudit.rule.fixes.Autofix`: key-level edits and their applicability


@dataclass
class Rule:
    code: str
    name: str
    severity: str
    tier: str
    check: Callable[..., Iterable[Violation]]
    summary: str
    doc: str
    needs: tuple[str, ...] | str = ()
    origin: str = ""  # distribution/package that registered it, filled in by the registry

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code)

    def doc_sections(self) -> dict[str, str]:
        sections: dict[str, str] = {}
        current = None
        for line in self.doc.splitlines():
            m = re.match(r"^##\s+(.*?)\s*$", line)
            if m:
                current = m.group(1)
                sections[current] = ""
            elif current is not None:
                sections[current] += line + "\n"
        return {k: v.strip() for k, v in sections.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "tier": self.tier,
            "summary": self.summary,
            "origin": self.origin,
        }


def rule(*, code: str, name: str, severity: str, tier: str,
         needs: Iterable[str] | str = ()) -> Callable[[Callable], Rule]:
    """Declare a rule. The decorated function's docstring is its documentation, in the
    layout: a one-line summary, then ``## What it does``, ``## Why is this bad?``,
    ``## Example``, ``## Use instead``, optionally ``## Fix`` (what ``--fix`` changes, its
    applicability, why; a rule without one gets a "None" section) and ``## References``. ``needs`` lists the
    facts it reads (``cfg`` is always readable), or is ``EVERY_FACT``."""
    if not CODE_RE.match(code):
        raise ValueError(f"rule code {code!r} must look like DA101")
    if not NAME_RE.match(name):
        raise ValueError(f"rule name {name!r} must be kebab-case")
    if severity not in SEVERITIES:
        raise ValueError(f"rule {code}: severity {severity!r} not in {SEVERITIES}")
    if tier not in TIERS:
        raise ValueError(f"rule {code}: tier {tier!r} not in {TIERS}")
    if needs != EVERY_FACT:
        needs = tuple(needs)
        unknown = [n for n in needs if n not in FACT_TIERS]
        if unknown:
            raise ValueError(f"rule {code}: needs unknown fact(s) {unknown}; the facts are {sorted(FACT_TIERS)}")

    def wrap(fn: Callable) -> Rule:
        doc = inspect.cleandoc(fn.__doc__ or "")
        if doc and not re.search(r"^##\s+Fix\s*$", doc, re.MULTILINE):
            doc += "\n\n## Fix\n" + NO_FIX
        summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
        return Rule(code=code, name=name, severity=severity, tier=tier, check=fn,
                    summary=summary, doc=doc, needs=needs)

    return wrap
