"""Findings, severities and locations: the values rules produce and reports carry, and the
one order findings are shown in."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error")
WORST_FIRST = SEVERITIES[::-1]  # how options and messages list them


def severity_rank(severity: str) -> int:
    """Order severities so that ``rank(a) >= rank(b)`` means *a is at least as bad as b*."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


@dataclass
class Finding:
    code: str
    name: str
    severity: str
    message: str
    key_path: str | None = None
    module_path: str | None = None
    location: Location | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    url: str | None = None
    config: str | None = None
    autofix: dict[str, Any] | None = None  # {"applicability", "description", "edits"} (detaudit.rule.fixes)

    @property
    def fingerprint(self) -> str:
        """Stable across line moves: code, config, key path and module path only."""
        parts = [self.code, self.config or "", self.key_path or "", self.module_path or ""]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "key_path": self.key_path,
            "module_path": self.module_path,
            "location": self.location.to_dict() if self.location else None,
            "evidence": self.evidence,
            "fix": self.fix,
            "url": self.url,
            "fingerprint": self.fingerprint,
            "fixable": ({"applicability": self.autofix["applicability"], "description": self.autofix["description"]}
                        if self.autofix else None),
        }


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by code, key path and module path: the order of every report."""
    return sorted(findings, key=lambda f: (-severity_rank(f.severity), f.code, f.key_path or "", f.module_path or ""))
