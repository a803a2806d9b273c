"""Inline suppressions in config files: ``# detaudit: ignore[DA201]``.

* On the line of a key (the line a finding's location points at): suppresses those codes there.
* In the comment block at the top of a file, before its first statement: suppresses those codes
  for the whole file. At the top of the audited config that means every finding of the audit
  (including those located in its ``_base_`` files); at the top of a base file, the findings
  located in that base.

A suppression that suppresses nothing is reported as DA007 (unused-suppression), once the
suppressed rule really ran: a code whose rule was not selected, or was skipped because a fact
failed, is not judged. Codes are exact (``DA201``), several are separated by commas.
Only the audited config's own suppressions are judged for use; a ``_base_`` file's are judged
when that file is audited itself.
"""
from __future__ import annotations

import io
import re
import stat
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

UNUSED_CODE = "DA007"
# "# detaudit: ignore[DA201, DA102]" ; also catches the malformed "# detaudit: ignore" and "ignore DA201".
PATTERN = re.compile(r"#\s*detaudit\s*:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
CODES = re.compile(r"^\[(?P<codes>[^\]]*)\]")
CODE = re.compile(r"^[A-Z]{2,4}\d{3}$")


@dataclass
class Suppression:
    file: Path
    line: int
    scope: str                    # "line" or "file"
    codes: tuple[str, ...]
    comment: str
    problem: str | None = None    # why the comment is malformed, None when it is well formed
    used: set[str] = field(default_factory=set)


def parse_text(text: str, file: Path) -> list[Suppression]:
    """Every ``detaudit: ignore`` comment of a Python source (only real comments, not strings)."""
    comments: list[tuple[int, str]] = []
    first_code_line = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                comments.append((tok.start[0], tok.string))
            elif first_code_line is None and tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING,
                                                                tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
                first_code_line = tok.start[0]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # A config that does not tokenize to the end (it will fail to load, DA001): fall back to
        # a line scan so that its suppressions, DA001's included, still count.
        comments = []
        first_code_line = None
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if first_code_line is None and stripped and not stripped.startswith("#"):
                first_code_line = number
            pos = line.find("#")
            if pos >= 0:
                comments.append((number, line[pos:]))
    out = []
    for line, comment in comments:
        m = PATTERN.search(comment)
        if not m:
            continue
        scope = "file" if first_code_line is None or line < first_code_line else "line"
        rest = m.group("rest").strip()
        cm = CODES.match(rest)
        if not cm:
            out.append(Suppression(file, line, scope, (), comment.strip(),
                                   problem="no codes: write the codes to ignore in brackets, "
                                           "e.g. '# detaudit: ignore[DA201]'"))
            continue
        codes = tuple(c.strip().upper() for c in cm.group("codes").split(",") if c.strip())
        bad = [c for c in codes if not CODE.match(c)]
        problem = None
        if not codes:
            problem = "empty code list"
        elif bad:
            problem = f"{', '.join(repr(c) for c in bad)} is not a rule code"
        out.append(Suppression(file, line, scope, codes, comment.strip(), problem=problem))
    return out


@lru_cache(maxsize=256)
def _parse_cached(path: str, mtime_ns: int, size: int) -> tuple[Suppression, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    return tuple(parse_text(text, Path(path)))


def parse_file(path: Path) -> list[Suppression]:
    """Fresh Suppression objects (their ``used`` sets are per audit) for one file."""
    try:
        st = path.stat()
    except OSError:
        return []
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        return []
    return [Suppression(s.file, s.line, s.scope, s.codes, s.comment, s.problem)
            for s in _parse_cached(str(path), st.st_mtime_ns, st.st_size)]


def audit_files(ctx) -> tuple[Path | None, list[Path]]:
    """The audited config and every file the audit read (its bases), resolved."""
    from .errors import FactUnavailable

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
    top, files = audit_files(ctx)
    suppressions = [s for f in files for s in parse_file(f)]
    result.suppressed = []
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
    from .engine import complete
    from .registry import all_rules

    known = all_rules()
    unused = []
    for s in valid:
        if s.file != top:
            continue
        idle = [c for c in s.codes if c in known and c in result.ran and c not in s.used and c != UNUSED_CODE]
        if not idle:
            continue
        unused.append(complete(ctx, rule, unused_violation(ctx, s, idle), severity_overrides or {}))
    for finding in unused:  # "ignore[DA007]" in the file still silences these
        hit = _match(finding, valid, top, ctx.base_dir)
        if hit is None:
            result.findings.append(finding)
        else:
            result.suppressed.append(finding)
    result.findings.sort(key=lambda f: (-["info", "warning", "error"].index(f.severity), f.code,
                                        f.key_path or "", f.module_path or ""))


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


def key_on_line(ctx, display_file: str, line: int) -> str | None:
    """The outermost config key set on this line of this file, for a stable fingerprint."""
    from .errors import FactUnavailable

    try:
        sm = ctx.source_map
    except FactUnavailable:
        return None
    keys = [k for k in sm.keys() if (loc := sm.locate(k)) is not None and loc.file == display_file
            and loc.line == line]
    return min(keys, key=lambda k: (k.count("."), k)) if keys else None


def display(ctx, path: Path) -> str:
    from .context import _display

    return _display(path, ctx.base_dir)


def unused_violation(ctx, s: Suppression, codes: list[str]):
    from .rule import Violation

    shown = display(ctx, s.file)
    where = "this file" if s.scope == "file" else f"line {s.line}"
    return Violation(
        message=f"unused suppression: {', '.join(codes)} reported nothing on {where} ({s.comment})",
        key_path=key_on_line(ctx, shown, s.line) if s.scope == "line" else None,
        evidence={"codes": codes, "scope": s.scope, "comment": s.comment},
        fix=("remove the comment" if len(codes) == len(s.codes)
             else f"remove {', '.join(codes)} from the comment"),
        file=shown, line=s.line,
    )


def problem_violations(ctx):
    """DA007's static part: malformed comments and codes no rule pack registers."""
    from .registry import all_rules
    from .rule import Violation

    top, _ = audit_files(ctx)
    if top is None:
        return
    known = all_rules()
    shown = display(ctx, top)
    for s in parse_file(top):
        if s.problem is not None:
            yield Violation(message=f"malformed suppression ({s.problem}): {s.comment}",
                            evidence={"comment": s.comment, "scope": s.scope},
                            fix="write '# detaudit: ignore[CODE, ...]' with rule codes from 'detaudit rules'",
                            file=shown, line=s.line)
            continue
        unknown = [c for c in s.codes if c not in known]
        if unknown:
            yield Violation(message=f"suppression names unknown rule code {', '.join(unknown)}: {s.comment}",
                            key_path=key_on_line(ctx, shown, s.line) if s.scope == "line" else None,
                            evidence={"codes": unknown, "comment": s.comment, "scope": s.scope},
                            fix="use a code that 'detaudit rules' lists, or remove it", file=shown, line=s.line)
