"""``--format rdjson``: the Reviewdog Diagnostic Format, as one ``DiagnosticResult``
(``reviewdog -f=rdjson``).

One diagnostic per finding: ``message`` (with the fix), ``location.path`` relative to the
repository root and ``location.range.start`` (``line``; ``column`` counted in UTF-8 bytes from
1, as the format asks and as Python's parser reports it), ``severity`` (``ERROR``,
``WARNING``, ``INFO``), ``code`` (the rule code and its documentation URL) and ``source``
(detaudit). Each diagnostic also carries the finding's ``fingerprint`` (the one
SARIF and baselines use): the format has no field for it, and reviewdog ignores fields it does
not know.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

SEVERITIES = {"error": "ERROR", "warning": "WARNING", "info": "INFO"}


def to_rdjson(report, *, cwd: Path | None = None, root: Path | None = None) -> dict:
    from ._ci import ci_findings, message_with_note

    source = {"name": "detaudit", "url": "https://detaudit.readthedocs.io"}
    diagnostics = []
    for item in ci_findings(report, cwd, root):
        f, where = item.finding, item.where
        message = message_with_note(f, where)
        if f.fix:
            message += f"\nFix: {f.fix}"
        start = {"line": where.line}
        if where.column:
            start["column"] = where.column
        code = {"value": f.code}
        if f.url:
            code["url"] = f.url
        diagnostics.append({
            "message": message,
            "location": {"path": unquote(where.uri), "range": {"start": start}},
            "severity": SEVERITIES.get(f.severity, "WARNING"),
            "source": source,
            "code": code,
            "fingerprint": item.fingerprint,
        })
    return {"source": source, "diagnostics": diagnostics}


def render(report, *, color: bool = False) -> str:
    return json.dumps(to_rdjson(report), indent=2, ensure_ascii=False, default=str) + "\n"
