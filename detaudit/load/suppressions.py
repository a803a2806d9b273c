"""Inline suppressions in config files: ``# detaudit: ignore[DA201]``.

* On the line of a key (the line a finding's location points at): suppresses those codes there.
* In the comment block at the top of a file, before its first statement: suppresses those codes
  for the whole file. At the top of the audited config that means every finding of the audit
  (including those located in its ``_base_`` files); at the top of a base file, the findings
  located in that base.

Codes are exact (``DA201``), several are separated by commas. This module reads the comments;
applying them, and reporting those that suppress nothing (DA007), is a post-pass over every
rule's findings (:mod:`detaudit.report.suppress`).
"""
from __future__ import annotations

import io
import re
import stat
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

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
