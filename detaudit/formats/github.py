"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

``::error file=F,line=L,col=C,title=CODE name::message`` (``warning`` and ``notice`` for the
lower severities), errors first. File paths are relative to the repository root (see
``_ci.py``). Per GitHub's rules, ``%``, CR and LF are escaped in the message, and also ``:``
and ``,`` in the properties.
"""
from __future__ import annotations

from pathlib import Path

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
ORDER = {"error": 0, "warning": 1, "info": 2}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def lines(report, *, cwd: Path | None = None, root: Path | None = None) -> list[str]:
    from urllib.parse import unquote

    from ._ci import locate, repo_root

    cwd = Path(cwd or Path.cwd()).resolve()
    root = Path(root).resolve() if root else repo_root(cwd)
    rows = []
    for audit in report.audits:
        for f in audit.findings:
            where = locate(f, audit.config, cwd, root, audit.base_line)
            props = [f"file={escape_property(unquote(where.uri))}", f"line={where.line}"]
            if where.column:
                props.append(f"col={where.column}")
            props.append(f"title={escape_property(f'{f.code} {f.name}')}")
            message = f.message or f.name or f.code
            if where.note:
                message += f" ({where.note})"
            if f.fix:
                message += f"\nFix: {f.fix}"
            rows.append((ORDER.get(f.severity, 1),
                         f"::{COMMANDS.get(f.severity, 'warning')} {','.join(props)}::{escape_data(message)}"))
    rows.sort(key=lambda r: r[0])  # stable: report order within a severity
    return [text for _, text in rows]


def render(report, *, color: bool = False) -> str:
    out = lines(report)
    return "\n".join(out) + ("\n" if out else "")
