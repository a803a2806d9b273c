"""The public rule API: how a rule pack declares its rules.

A rule is a plain function of the :class:`~detaudit.context.AuditContext` that yields
:class:`Violation` values. The engine turns each into a :class:`~detaudit.findings.Finding`
(code, name, severity after user overrides, source location, fingerprint). Rules never
build models or run forwards themselves: they read facts from the context, and a fact
that could not be computed makes the rule *skipped*, never *passed*.

A rule pack is any importable object listed under the ``detaudit.rules`` entry-point
group that is an iterable of :class:`Rule` (the built-in pack is ``rules:RULES``).
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .findings import SEVERITIES

# Deepest fact a rule needs, in the order the engine computes them.
TIERS = ("static", "build", "checkpoint", "optimizer", "forward", "train")
# What ``--tier`` accepts, and the deepest internal tier each one includes.
CLI_TIERS = {"static": "static", "build": "optimizer", "forward": "forward", "train": "train"}

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")
CODE_RE = re.compile(r"^[A-Z]{2,4}\d{3}$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)


@dataclass
class Violation:
    """What a rule saw. The engine completes it into a Finding."""

    message: str
    key_path: str | None = None
    module_path: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    severity: str | None = None  # only to soften a rule's default in a documented case
    file: str | None = None      # explicit location when no key path can give it
    line: int | None = None


@dataclass
class Rule:
    code: str
    name: str
    severity: str
    tier: str
    check: Callable[..., Iterable[Violation]]
    summary: str
    doc: str
    origin: str = ""  # distribution/package that registered it, filled in by the registry

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


def rule(*, code: str, name: str, severity: str, tier: str) -> Callable[[Callable], Rule]:
    """Declare a rule. The decorated function's docstring is its documentation, in the
    layout: a one-line summary, then ``## What it does``, ``## Why is this bad?``,
    ``## Example``, ``## Use instead`` and optionally ``## References``."""
    if not CODE_RE.match(code):
        raise ValueError(f"rule code {code!r} must look like DA101")
    if not NAME_RE.match(name):
        raise ValueError(f"rule name {name!r} must be kebab-case")
    if severity not in SEVERITIES:
        raise ValueError(f"rule {code}: severity {severity!r} not in {SEVERITIES}")
    if tier not in TIERS:
        raise ValueError(f"rule {code}: tier {tier!r} not in {TIERS}")

    def wrap(fn: Callable) -> Rule:
        doc = inspect.cleandoc(fn.__doc__ or "")
        summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
        return Rule(code=code, name=name, severity=severity, tier=tier, check=fn,
                    summary=summary, doc=doc)

    return wrap
