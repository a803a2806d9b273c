"""The config key a line of a config file writes, read from the file's syntax tree: what a
failure while the file executes (a name it never defined, a dict written wrongly) names when the
config cannot load, so there is no merged config to ask."""
from __future__ import annotations

import ast
import re

REPEATED = re.compile(r"keyword argument repeated: (\w+)")
PLACEHOLDER = "_repeated_"


def key_at_line(path, line: int | None) -> str | None:
    """The dotted key (``train_dataloader.dataset.data_root``, list items by index) of the innermost
    value written on ``line`` of the config file at ``path``; None when no assignment of the file
    spans that line or the file cannot be read."""
    if not line:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    return _key_in(tree, line)


def key_at_syntax_error(path, line: int | None, message: str) -> str | None:
    """The key being written where a config file stops parsing: a keyword repeated in one ``dict()``
    (``type`` of a wrapper and of the dataset it wraps) names that keyword in its dict; a missing
    comma, the key written on the line once the comma is there; any other error, the innermost key
    whose value spans the line once the line itself is left out. None when the file still does
    not parse."""
    if not line:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not 0 < line <= len(lines):
        return None
    repeated = REPEATED.search(message or "")
    if repeated:  # rename the second writing of the keyword on its line: the file parses, the key is found
        name = repeated.group(1)
        edited, n = re.subn(rf"\b{name}(\s*=)", rf"{name}{PLACEHOLDER}\1", lines[line - 1], count=1)
        if n:
            key = _parsed_key(lines[:line - 1] + [edited] + lines[line:], line)
            if key and key.endswith(f".{name}{PLACEHOLDER}"):
                return key[:-len(PLACEHOLDER)]
    if "forgot a comma" in (message or ""):  # the comma the parser asks for, at the end of the line
        key = _parsed_key(lines[:line - 1] + [lines[line - 1].rstrip() + ","] + lines[line:], line)
        if key:
            return key
    indent = len(lines[line - 1]) - len(lines[line - 1].lstrip())
    return _parsed_key(lines[:line - 1] + [" " * indent] + lines[line:], line)


def _parsed_key(lines: list[str], line: int) -> str | None:
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None
    return _key_in(tree, line)


def _key_in(tree: ast.Module, line: int) -> str | None:
    for stmt in tree.body:
        target = _target(stmt)
        if target is None or not (stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno)):
            continue
        return _innermost(stmt.value, target, line)
    return None


def _target(stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name) and stmt.value:
        return stmt.target.id
    return None


def _innermost(node, path: str, line: int) -> str:
    """Down the ``dict(...)`` calls, dict displays and lists of ``node`` along ``line``, as long as one
    item alone is written on it (a line holding several items names their parent)."""
    children = []  # (name, first line, last line, value)
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
        children = [(kw.arg, kw.lineno, kw.value.end_lineno, kw.value) for kw in node.keywords if kw.arg]
        children += [(None, a.lineno, a.end_lineno, a) for a in node.args]  # a positional argument: not a key
    elif isinstance(node, ast.Dict):
        children = [(k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None,
                     (k or v).lineno, v.end_lineno, v) for k, v in zip(node.keys, node.values)]
    elif isinstance(node, (ast.List, ast.Tuple)):
        children = [(str(i), e.lineno, e.end_lineno, e) for i, e in enumerate(node.elts)]
    on_line = [c for c in children if c[1] <= line <= (c[2] or c[1])]
    if len(on_line) != 1 or on_line[0][0] is None:
        return path
    name, _, _, value = on_line[0]
    return _innermost(value, f"{path}.{name}", line)
