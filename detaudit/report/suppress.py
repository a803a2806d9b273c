"""The suppression post-pass, after every rule: findings that an inline
``# detaudit: ignore[...]`` comment covers move to ``result.suppressed``, and when DA007 runs,
each suppressed code that matched nothing is reported (the same idea as ruff's RUF100).

A suppression is judged unused only once its rule really ran: a code whose rule was not
selected, or was skipped because a fact failed, is not judged. Only the audited config's own
comments are judged; a ``_base_`` file's are judged when that file is audited itself.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import FactUnavailable
from ..findings import sort_findings
from ..load.suppressions import Suppression, parse_file
from ..registry import all_rules
from ..rule import SAFE, Autofix, Violation
from ..rule.fixes import drop_suppression
from .result import to_finding

UNUSED_CODE = "DA007"


def _audit_files(ctx) -> tuple[Path | None, list[Path]]:
    """The audited config and every file the audit read (its bases), resolved."""
    top = ctx.config_path.resolve() if ctx.config_path is not None else None
    files = [top] if top is not None else []
    try:
        files += [Path(p).resolve() for p in ctx.source_map.files]
    except FactUnavailable:
        pass
    return top, list(dict.fromkeys(files))


def _finding_file(finding, base_dir: Path) -> Path | None:
    loc = finding.location
    if loc is None or not loc.file or loc.file.startswith("<"):
        return None
    return (Path(base_dir) / loc.file).resolve()


def apply(ctx, result, rules, severity_overrides=None) -> None:
    """Drop suppressed findings from ``result`` (kept in ``result.suppressed``) and, when DA007 is
    selected, add a DA007 finding for each suppressed code that matched nothing."""
    top, files = _audit_files(ctx)
    suppressions = [s for f in files for s in parse_file(f)]
    if not suppressions:
        return
    valid = [s for s in suppressions if s.problem is None]
    kept = []
    for finding in result.findings:
        hit = _match(finding, valid, top, ctx.base_dir)
        if hit is None:
            kept.append(finding)
        else:
            hit.used.add(finding.code)
            result.suppressed.append(finding)
    result.findings = kept

    rule = next((r for r in rules if r.code == UNUSED_CODE), None)
    if rule is None or UNUSED_CODE not in result.ran:
        return
    known = all_rules()
    unused = []
    for s in valid:
        if s.file != top:
            continue
        idle = [c for c in s.codes if c in known and c in result.ran and c not in s.used and c != UNUSED_CODE]
        if not idle:
            continue
        unused.append(to_finding(ctx, rule, unused_violation(ctx, s, idle), severity_overrides or {}))
    for finding in unused:  # "ignore[DA007]" in the file still silences these
        hit = _match(finding, valid, top, ctx.base_dir)
        if hit is None:
            result.findings.append(finding)
        else:
            result.suppressed.append(finding)
    result.findings = sort_findings(result.findings)


def _match(finding, suppressions, top, base_dir) -> Suppression | None:
    file = _finding_file(finding, base_dir)
    line = finding.location.line if finding.location else None
    for s in suppressions:
        if finding.code not in s.codes:
            continue
        if s.scope == "file" and (s.file == top or s.file == file):
            return s
        if s.scope == "line" and s.file == file and line is not None and s.line == line:
            return s
    return None


def unused_violation(ctx, s: Suppression, codes: list[str]):
    shown = ctx.display(s.file)
    where = "this file" if s.scope == "file" else f"line {s.line}"
    return Violation(
        message=f"unused suppression: {', '.join(codes)} reported nothing on {where} ({s.comment})",
        key_path=_key_on_line(ctx, shown, s.line) if s.scope == "line" else None,
        evidence={"codes": codes, "scope": s.scope, "comment": s.comment},
        fix=("remove the comment" if len(codes) == len(s.codes)
             else f"remove {', '.join(codes)} from the comment"),
        file=shown, line=s.line,
        autofix=Autofix(SAFE, f"remove {', '.join(codes)} from the comment on line {s.line}",
                        [drop_suppression(shown, s.line, codes)]),
    )


def _key_on_line(ctx, display_file: str, line: int) -> str | None:
    try:
        return ctx.source_map.outermost_key_at(display_file, line)
    except FactUnavailable:
        return None
