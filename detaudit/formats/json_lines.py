"""``--format json-lines``: one finding per line (JSON Lines, https://jsonlines.org), for log
shippers and ``jq``.

Each line is one JSON object, UTF-8, ending with ``\\n``, that stands on its own: the tool and
its version, the audited config and the file and line to fix (both relative to the repository
root, as in SARIF; see ``_ci.py`` for findings outside it), the rule, severity, message, key
and module paths, evidence, fix, documentation URL and the fingerprint SARIF and baselines use.
``detaudit/schema/json-lines.schema.json`` describes one line. A report without findings is
an empty output.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

SCHEMA_VERSION = "1.0"


def records(report, *, cwd: Path | None = None, root: Path | None = None) -> list[dict]:
    from .._version import __version__
    from ._ci import ci_findings

    out = []
    for item in ci_findings(report, cwd, root):
        f, where = item.finding, item.where
        out.append({
            "schema_version": SCHEMA_VERSION,
            "tool": "detaudit",
            "tool_version": __version__,
            "config": item.config_uri,
            "code": f.code,
            "name": f.name,
            "severity": f.severity,
            "message": f.message,
            "path": unquote(where.uri),
            "line": where.line,
            "column": where.column,
            "moved_from": where.note,
            "key_path": f.key_path,
            "module_path": f.module_path,
            "evidence": f.evidence or {},
            "fix": f.fix,
            "url": f.url,
            "fingerprint": item.fingerprint,
        })
    return out


def render(report, *, color: bool = False) -> str:
    from ..report.result import jsonable

    # ensure_ascii=False keeps text readable; json.dumps escapes the control characters
    # (newlines included) that would break a line apart
    return "".join(json.dumps(r, ensure_ascii=False, default=jsonable, allow_nan=False) + "\n"
                   for r in records(report))
