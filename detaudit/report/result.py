"""One config's result: findings, skipped rules, tiers, tables, timings. It owns its
serialization across processes (:meth:`AuditResult.to_json` / :meth:`AuditResult.from_json`,
as pytest's reports do), so a worker sends plain JSON and the parent gets an equal object
back; and :func:`to_finding` completes what a rule saw into a finding."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..findings import Finding, Location

if TYPE_CHECKING:
    from ..rule import Rule, Violation


@dataclass
class AuditResult:
    config: str
    findings: list[Finding] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)      # {"code", "reason"} per rule that did not run
    ran: list[str] = field(default_factory=list)           # codes of the rules that ran
    suppressed: list[Finding] = field(default_factory=list)  # findings an inline comment silenced
    tiers: dict[str, str] = field(default_factory=dict)
    status: str = "completed"
    model: dict | None = None
    optimizer: dict | None = None
    losses: dict[str, float | None] | None = None
    run: dict | None = None                                # the run tier's summary, when it ran
    timings: dict[str, float] = field(default_factory=dict)
    internal_errors: list[str] = field(default_factory=list)
    cached: bool = False     # read from the result cache (report/cache.py), not audited in this run
    base_line: int | None = None  # the config's `_base_` / `read_base()` line (load stage): where CI formats
    #                               show findings whose file is outside the repository
    # --debug only: the traceback of each failed step (load, build, predict, ...), for the user's eyes
    tracebacks: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["findings"] = [_finding_data(f) for f in self.findings]
        data["suppressed"] = [_finding_data(f) for f in self.suppressed]
        return json.dumps(data, default=jsonable, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> "AuditResult":
        data = json.loads(text)
        data["findings"] = [_finding_from(d) for d in data["findings"]]
        data["suppressed"] = [_finding_from(d) for d in data["suppressed"]]
        return cls(**data)


def _finding_data(f: Finding) -> dict[str, Any]:
    data = asdict(f)
    data["location"] = f.location.to_dict() if f.location else None
    return data


def _finding_from(data: dict[str, Any]) -> Finding:
    loc = data.pop("location")
    return Finding(location=Location(**loc) if loc else None, **data)


def jsonable(value):
    """Evidence may carry tuples, paths, numpy or torch scalars: make them plain JSON."""
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, RuntimeError):
            pass
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def to_finding(ctx, r: Rule, v: Violation, overrides: dict[str, str]) -> Finding:
    """What rule ``r`` saw, as a finding: the user's severity override (else the violation's own
    softening, else the rule's), located at the violation's file:line, else where its key path
    is set, else at the config."""
    from ..errors import FactUnavailable

    severity = overrides.get(r.code) or v.severity or r.severity
    location = None
    if v.file:
        location = Location(v.file, v.line, None)
    else:  # where its key is set, else where the model key of its module is
        for key in [k for k in (v.key_path, f"model.{v.module_path}" if v.module_path else None) if k]:
            try:
                loc = ctx.source_map.locate(key)
            except FactUnavailable:
                break
            if loc is not None and (loc.line or key == v.key_path):
                location = Location(loc.file, loc.line or None, loc.column if loc.line else None)
                break
    if location is None:
        location = Location(ctx.display_path, None, None)
    return Finding(code=r.code, name=r.name, severity=severity, message=v.message, key_path=v.key_path,
                   module_path=v.module_path, location=location, evidence=v.evidence, fix=v.fix,
                   url=r.url, config=ctx.display_path, autofix=v.autofix.to_dict() if v.autofix else None)
