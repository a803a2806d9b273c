"""The Report: every audited config's result plus the run's settings, as the JSON contract
(``schema/report.schema.json``) shapes it."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..findings import Finding, severity_rank
from ..settings import Settings
from .result import jsonable

if TYPE_CHECKING:
    from .result import AuditResult

SCHEMA_VERSION = "1.2"   # 1.1: the run tier ("run"), and whether an audit was read from the result cache ("cached")
#                          1.2: the findings an inline comment suppressed ("suppressed"); a shard's report
#                               (--shard I/N) says which share of the configs it holds ("shard"); an audit's
#                               status may be "interrupted" (the run was stopped by a signal); a finding
#                               may carry the fix it offers ("fixable"); an audit says the line of its
#                               config's _base_ statement ("base_line")


@dataclass
class Report:
    audits: list[AuditResult] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    shard: dict | None = None   # --shard I/N: the share of the configs, for `detaudit merge` (workers/shard.py)

    @property
    def findings(self) -> list[Finding]:
        return [f for a in self.audits for f in a.findings]

    def failing(self, fail_on: str | None = None) -> list[Finding]:
        level = severity_rank(fail_on or self.settings.fail_on)
        return [f for f in self.findings if severity_rank(f.severity) >= level]

    @property
    def ok(self) -> bool:
        return not self.failing()

    def summary(self) -> dict[str, Any]:
        sev = Counter(f.severity for f in self.findings)
        return {"configs": len(self.audits), "error": sev["error"], "warning": sev["warning"],
                "info": sev["info"], "by_code": dict(sorted(Counter(f.code for f in self.findings).items()))}

    def to_dict(self) -> dict[str, Any]:
        from .._version import __version__
        from ..registry import rule_packs

        out = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "detaudit", "version": __version__,
                     "rule_packs": [{"package": p, "version": v} for p, v, _ in rule_packs()]},
            "settings": self.settings.to_dict(),
            "audits": [audit_to_dict(a) for a in self.audits],
            "summary": self.summary(),
        }
        if self.shard is not None:
            out["shard"] = self.shard
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=jsonable, allow_nan=False)


def audit_to_dict(a) -> dict[str, Any]:
    out = {
        "config": a.config,
        "status": a.status,
        "tiers": a.tiers,
        "findings": [f.to_dict() for f in a.findings],
        "skipped_rules": a.skipped,
        "model": a.model,
        "optimizer": a.optimizer,
        "losses": a.losses,
        "timings_s": a.timings,
        "cached": a.cached,
    }
    if a.run is not None:
        out["run"] = a.run
    if a.suppressed:
        out["suppressed"] = [f.to_dict() for f in a.suppressed]
    if a.base_line is not None:
        out["base_line"] = a.base_line
    return out
