"""The source text of an installed class, read from its file's syntax tree, each file parsed once per
process: ``inspect.getsource`` parses the whole file again for every class it is asked for, and the
rules that read mmdet's code ask for the classes of every transform's and head's MRO. A function's
text comes from ``inspect`` itself, which reads only the function's own lines (cheaper than parsing
its file when a file is asked for one constructor). Anything this cannot place goes to ``inspect``."""
from __future__ import annotations

import ast
import inspect
import os
import sys
import tokenize
from functools import lru_cache


@lru_cache(maxsize=64)  # syntax trees of whole files: a bounded few
def _parsed(path: str, mtime: float) -> tuple[list[str], ast.Module]:
    with tokenize.open(path) as f:  # the file's declared encoding, as inspect reads it
        text = f.read()
    return text.splitlines(keepends=True), ast.parse(text)


def _file(obj) -> str | None:
    if inspect.isclass(obj):
        path = getattr(sys.modules.get(obj.__module__), "__file__", None)
    else:
        code = getattr(inspect.unwrap(obj), "__code__", None)
        path = code.co_filename if code is not None else None
    return path if isinstance(path, str) and path.endswith(".py") and os.path.isfile(path) else None


def _first_line(node) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _last_line(lines: list[str], node) -> int:
    """The node's last line, with the comment lines after it that are indented as its body (inspect
    counts them in the block)."""
    last, column = node.end_lineno, node.body[0].col_offset if node.body else node.col_offset + 1
    for number in range(node.end_lineno + 1, len(lines) + 1):
        line = lines[number - 1]
        stripped = line.lstrip()
        if not stripped.strip():
            continue
        if stripped.startswith("#") and len(line) - len(stripped) >= column:
            last = number
            continue
        break
    return last


def _class_node(tree: ast.Module, qualname: str):
    body, node = tree.body, None
    for name in qualname.split("."):
        node = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                     and n.name == name), None)
        if node is None:
            return None
        body = node.body
    return node if isinstance(node, ast.ClassDef) else None


def _class_text(cls) -> tuple[str, int] | None:
    """(text, first line) of a class from its file's cached syntax tree, or None (inspect's to find)."""
    path = _file(cls)
    if path is None or "<locals>" in getattr(cls, "__qualname__", "<locals>"):
        return None
    try:
        lines, tree = _parsed(path, os.stat(path).st_mtime)
        node = _class_node(tree, cls.__qualname__)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, AttributeError):
        return None
    if node is None:
        return None
    first = _first_line(node)
    return "".join(lines[first - 1:_last_line(lines, node)]), first


def source_of(obj) -> str:
    """``inspect.getsource(obj)``: a class's from the cached syntax tree of its file."""
    found = _class_text(obj) if inspect.isclass(obj) else None
    return found[0] if found is not None else inspect.getsource(obj)


def source_lines(obj) -> tuple[list[str], int]:
    """``inspect.getsourcelines(obj)``: the lines and the number of the first."""
    found = _class_text(obj) if inspect.isclass(obj) else None
    if found is None:
        return inspect.getsourcelines(obj)
    return found[0].splitlines(keepends=True), found[1]
