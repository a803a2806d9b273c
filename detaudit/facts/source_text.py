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


@lru_cache(maxsize=256)
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


def _function_node(tree: ast.Module, fn):
    code = inspect.unwrap(fn).__code__
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name \
                and _first_line(node) == code.co_firstlineno:
            return node
    return None


def source_of(obj) -> str:
    """``inspect.getsource(obj)``: a class's from the cached syntax tree of its file."""
    if not inspect.isclass(obj):
        return inspect.getsource(obj)
    path = _file(obj)
    if path is not None and "<locals>" not in getattr(obj, "__qualname__", "<locals>"):
        try:
            lines, tree = _parsed(path, os.stat(path).st_mtime)
            node = _class_node(tree, obj.__qualname__) if inspect.isclass(obj) else _function_node(tree, obj)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError, AttributeError):
            node = None
        if node is not None:
            return "".join(lines[_first_line(node) - 1:_last_line(lines, node)])
    return inspect.getsource(obj)


def source_lines(obj) -> tuple[list[str], int]:
    """``inspect.getsourcelines(obj)``: the lines and the number of the first."""
    if not inspect.isclass(obj):
        return inspect.getsourcelines(obj)
    text = source_of(obj)
    path = _file(obj)
    if path is not None:
        lines, tree = _parsed(path, os.stat(path).st_mtime)
        node = _class_node(tree, obj.__qualname__) if inspect.isclass(obj) else _function_node(tree, obj)
        if node is not None:
            return text.splitlines(keepends=True), _first_line(node)
    return inspect.getsourcelines(obj)
