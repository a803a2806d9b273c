"""``--format gitlab``: a GitLab Code Quality report (``artifacts:reports:codequality``).

A JSON array with one object per finding carrying the fields GitLab reads
(https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format, a subset of the
Code Climate issue format): ``description``, ``check_name`` (the rule code), ``fingerprint``
(the one SARIF and baselines use, unique within the report: GitLab shows findings with equal
fingerprints once), ``severity`` (error -> ``major``, warning -> ``minor``, info -> ``info``),
``location.path`` relative to the repository root and ``location.lines.begin``. Findings in
files outside the repository are moved as ``_ci.py`` describes. UTF-8 without a byte order
mark, which GitLab's parser refuses.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}


def to_gitlab(report, *, cwd: Path | None = None, root: Path | None = None) -> list[dict]:
    from ._ci import ci_findings, message_with_note

    issues = []
    for item in ci_findings(report, cwd, root):
        f, where = item.finding, item.where
        issues.append({
            "type": "issue",
            "check_name": f.code,
            "description": f"{f.code} {message_with_note(f, where)}",
            "content": {"body": _body(f)},
            "categories": ["Bug Risk"],
            "fingerprint": item.fingerprint,
            "severity": SEVERITIES.get(f.severity, "minor"),
            "location": {"path": unquote(where.uri), "lines": {"begin": where.line}},
        })
    return issues


def _body(f) -> str:
    """The details GitLab shows when an issue is opened (Markdown)."""
    parts = [f"**{f.code} {f.name}** ({f.severity})"]
    if f.key_path:
        parts.append(f"Key: `{f.key_path}`")
    if f.module_path:
        parts.append(f"Module: `{f.module_path}`")
    if f.fix:
        parts.append(f"Fix: {f.fix}")
    if f.url:
        parts.append(f"Rule: {f.url}")
    return "\n\n".join(parts)


def render(report, *, color: bool = False) -> str:
    return json.dumps(to_gitlab(report), indent=2, ensure_ascii=False, default=str) + "\n"
