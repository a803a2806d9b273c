"""Reading a config without executing any of its code (``--no-exec``).

The config file and its ``_base_`` files (or ``read_base()`` imports) are read as syntax
trees and evaluated by a small interpreter that knows only data: literals, ``dict()`` /
``list()`` / ``tuple()`` calls, names assigned earlier, arithmetic and string
concatenation on such values, subscripts, ``{{_base_.x}}`` and ``_base_.x`` references,
``x.update(...)`` / ``x.append(...)`` on known values, simple comprehensions and a few
pure builtins (``range``, ``len``, ``min``...). Bases merge with mmengine's semantics
(``_delete_``, duplicate keys among bases refused, a child dict over a base non-dict
refused). Nothing is imported, nothing from the environment is substituted, no file is
written.

Whatever cannot be read that way (a function call, a loop, an ``if``, a class) becomes a
:class:`StaticIssue`; the value it would have produced is left out, so the rest of the
config still reads. A file that cannot be read at all (syntax error, missing or circular
``_base_``) raises :class:`StaticConfigError` with the file and line.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sourcemap import mmdet_config_root, package_root

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"
MAX_FILE_BYTES = 8 * 1024 * 1024     # a config larger than this is not a config
MAX_BASE_DEPTH = 64
MAX_SEQUENCE = 100_000               # largest list/str a static expression may build
MAX_INT_BITS = 4096                  # largest integer a static expression may build
MAX_STEPS = 2_000_000                # expression nodes evaluated per file

_BASE_REF = re.compile(r"^\s*\{\{\s*_base_\.([\w.]+)\s*\}\}\s*$")
_PREDEFINED = re.compile(r"\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}")
_ENV_VAR = re.compile(r"\{\{['\"]?\s*\$(\w+)\s*:\s*(\S*?)\s*['\"]?\}\}")


class ImportedName(str):
    """A name a config imports (``from mmdet.models import RetinaNet``), kept as its dotted
    path: mmengine would hand it to the registry as a lazy object; here it stays a string."""


@dataclass
class StaticIssue:
    file: str
    line: int | None
    message: str
    key: str | None = None        # the config key whose value could not be read, if known


@dataclass
class StaticConfig:
    cfg: dict
    issues: list[StaticIssue] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


class StaticConfigError(Exception):
    """The config cannot be read at all without executing it."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line


class _Unreadable(Exception):
    """An expression outside the readable subset (caught per statement)."""

    def __init__(self, message: str, node: ast.AST | None = None):
        super().__init__(message)
        self.node = node


def read_static(path: str | os.PathLike, display=str) -> StaticConfig:
    """Read ``path`` (a .py, .json, .yaml or .yml config) and its bases without executing them."""
    reader = _Reader(display)
    cfg = reader.read(Path(path), stack=())
    return StaticConfig(cfg=cfg, issues=reader.issues, files=reader.files)


# ---------------------------------------------------------------------------- files
def _is_stdlib(module: str) -> bool:
    import sys

    top = module.split(".")[0]
    return top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ())


class _Reader:
    def __init__(self, display):
        self.display = display
        self.issues: list[StaticIssue] = []
        self.files: list[Path] = []

    def issue(self, file: Path, node, message: str, key: str | None = None) -> None:
        line = getattr(node, "lineno", None) if node is not None else None
        self.issues.append(StaticIssue(self.display(file), line, message, key))

    # ------------------------------------------------------------------ one file
    def read(self, path: Path, stack: tuple) -> dict:
        path = Path(os.path.abspath(os.path.expanduser(str(path))))
        shown = self.display(path)
        if path in stack:
            chain = " -> ".join(self.display(p) for p in stack + (path,))
            raise StaticConfigError(f"circular _base_ chain: {chain}", shown, None)
        if len(stack) >= MAX_BASE_DEPTH:
            raise StaticConfigError(f"_base_ chain deeper than {MAX_BASE_DEPTH} files", shown, None)
        if not path.exists():
            raise StaticConfigError(f"no such file: {path}", shown, None)
        if not path.is_file():
            raise StaticConfigError(f"not a regular file: {path}", shown, None)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise StaticConfigError(f"{size:,} bytes is too large for a config (limit {MAX_FILE_BYTES:,})",
                                    shown, None)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StaticConfigError(f"cannot read: {exc.strerror or exc}", shown, None) from None
        self.files.append(path)
        suffix = path.suffix.lower()
        if suffix == ".json":
            return self._read_json(data, shown)
        if suffix in (".yaml", ".yml"):
            return self._read_yaml(data, shown)
        if suffix != ".py":
            raise StaticConfigError("only .py, .json, .yaml and .yml configs are supported", shown, None)
        try:
            tree = ast.parse(data, filename=str(path))
        except SyntaxError as exc:
            raise StaticConfigError(f"SyntaxError: {exc.msg}", shown, exc.lineno) from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise StaticConfigError(f"{type(exc).__name__}: {exc}", shown, None) from None
        if _is_lazy(tree):
            return self._read_lazy(path, tree, stack)
        return self._read_base_style(path, tree, stack)

    def _read_json(self, data: bytes, shown: str) -> dict:
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise StaticConfigError(f"invalid JSON: {exc}", shown, getattr(exc, "lineno", None)) from None
        if not isinstance(value, dict):
            raise StaticConfigError("a JSON config must be an object", shown, 1)
        if BASE_KEY in value:
            raise StaticConfigError("_base_ in JSON/YAML configs is not read by --no-exec", shown, None)
        return value

    def _read_yaml(self, data: bytes, shown: str) -> dict:
        try:
            import yaml
        except ImportError:
            raise StaticConfigError("YAML configs need PyYAML", shown, None) from None
        try:
            value = yaml.safe_load(data.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
            raise StaticConfigError(f"invalid YAML: {exc}", shown, None) from None
        if not isinstance(value, dict):
            raise StaticConfigError("a YAML config must be a mapping", shown, 1)
        if BASE_KEY in value:
            raise StaticConfigError("_base_ in JSON/YAML configs is not read by --no-exec", shown, None)
        return value

    # ------------------------------------------------------------------ _base_ style
    def _read_base_style(self, path: Path, tree: ast.Module, stack: tuple) -> dict:
        shown = self.display(path)
        base_node = next((n for n in tree.body if isinstance(n, ast.Assign)
                          and isinstance(n.targets[0], ast.Name) and n.targets[0].id == BASE_KEY), None)
        bases: list[str] = []
        if base_node is not None:
            value = base_node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                bases = [value.value]
            elif isinstance(value, (ast.List, ast.Tuple)) and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
                bases = [e.value for e in value.elts]
            else:
                raise StaticConfigError("_base_ must be a string or a list of strings", shown, base_node.lineno)
        merged: dict = {}
        for base in bases:
            base_path = self._resolve_base(base, path, shown, base_node)
            base_cfg = self.read(base_path, stack + (path,))
            duplicate = sorted(set(merged) & set(base_cfg))
            if duplicate:
                raise StaticConfigError(f"duplicate keys among _base_ files: {duplicate}", shown, base_node.lineno)
            merged.update(base_cfg)
        env = _Env(self, path, lazy=False)
        env.names[BASE_KEY] = merged
        env.run(tree.body)
        own = {k: v for k, v in env.names.items()
               if k != BASE_KEY and not k.startswith("__") and k not in env.imported}
        try:
            return merge_into(own, merged)
        except TypeError as exc:
            raise StaticConfigError(str(exc), shown, None) from None

    def _resolve_base(self, base: str, path: Path, shown: str, node) -> Path:
        if "::" in base:
            scope, rel = base.split("::", 1)
            root = mmdet_config_root() if scope == "mmdet" else None
            if root is None:
                raise StaticConfigError(f"cannot resolve _base_ '{base}' without executing code "
                                        f"(package '{scope}' configs not found)", shown, getattr(node, "lineno", None))
            return root / rel
        return path.parent / base

    # ------------------------------------------------------------------ read_base() style
    def _read_lazy(self, path: Path, tree: ast.Module, stack: tuple) -> dict:
        env = _Env(self, path, lazy=True)
        body = []
        for node in tree.body:
            if isinstance(node, ast.With) and _is_read_base(node):
                for inner in node.body:
                    if not isinstance(inner, ast.ImportFrom) or inner.module is None:
                        raise StaticConfigError("only `from ... import ...` may appear inside read_base()",
                                                self.display(path), inner.lineno)
                    module_path = self._lazy_module_path(inner, path)
                    base_cfg = self.read(module_path, stack + (path,))
                    for alias in inner.names:
                        if alias.name == "*":
                            env.names.update(copy.deepcopy({k: v for k, v in base_cfg.items()
                                                            if not k.startswith("_")}))
                        elif alias.name in base_cfg:
                            env.names[alias.asname or alias.name] = copy.deepcopy(base_cfg[alias.name])
                        else:
                            raise StaticConfigError(f"cannot import name '{alias.name}' from {inner.module}",
                                                    self.display(path), inner.lineno)
            else:
                body.append(node)
        env.run(body)
        return {k: v for k, v in env.names.items() if not k.startswith("__") and k not in env.imported}

    def _lazy_module_path(self, node: ast.ImportFrom, path: Path) -> Path:
        if node.level:
            folder = path.parent
            for _ in range(node.level - 1):
                folder = folder.parent
            return folder / (node.module.replace(".", "/") + ".py")
        parts = node.module.split(".")
        root = package_root(parts[0]) if len(parts) > 1 else None
        if root is None:
            raise StaticConfigError(f"cannot locate base config module '{node.module}'",
                                    self.display(path), node.lineno)
        return root.joinpath(*parts[1:]).with_suffix(".py")


def _is_read_base(node: ast.With) -> bool:
    expr = node.items[0].context_expr if node.items else None
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "read_base"


def _is_lazy(tree: ast.Module) -> bool:
    """mmengine's rule: ``_base_`` means the classic style; ``with read_base()``, a relative
    import or an import of a non-standard-library module means the pure-Python style."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id == BASE_KEY:
            return False
        if isinstance(node, ast.With) and _is_read_base(node):
            return True
        if isinstance(node, ast.ImportFrom):
            if node.level:
                return True
            if node.module and not node.module.startswith("mmengine.config") and not _is_stdlib(node.module):
                return True
        if isinstance(node, ast.Import) and any(not _is_stdlib(a.name) for a in node.names):
            return True
    return False


# ---------------------------------------------------------------------------- merging
def merge_into(child: dict, base: dict) -> dict:
    """mmengine's ``Config._merge_a_into_b``: child values override, dicts merge
    recursively unless they carry ``_delete_=True``."""
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict):
            value = dict(value)
            if key in out and not value.pop(DELETE_KEY, False):
                if not isinstance(out[key], dict):
                    raise TypeError(f"{key}={value!r} in child config cannot inherit from base because "
                                    f"{key} is a dict in the child config but a {type(out[key]).__name__} "
                                    f"in the base; set {DELETE_KEY}=True to replace it")
                out[key] = merge_into(value, out[key])
            else:
                out[key] = value
        else:
            out[key] = value
    return out


def _update_recursive(target: dict, other: dict) -> None:
    """``ConfigDict.update``: nested dicts update in place, everything else replaces."""
    for key, value in other.items():
        if key in target and isinstance(target[key], dict) and isinstance(value, dict):
            _update_recursive(target[key], value)
        else:
            target[key] = value


# ---------------------------------------------------------------------------- evaluation
_BUILTINS = {
    "dict": dict, "list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
    "range": range, "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "int": int, "float": float, "str": str, "bool": bool, "sorted": sorted, "reversed": reversed,
    "zip": zip, "enumerate": enumerate, "any": any, "all": all,
}
_BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b,
}
_CMPOPS = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_MUTATORS = {"update", "append", "extend", "insert", "pop", "setdefault", "remove", "clear"}
_PLAIN = (type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, range)


class _Env:
    def __init__(self, reader: _Reader, path: Path, *, lazy: bool):
        self.reader = reader
        self.path = path
        self.lazy = lazy
        self.names: dict[str, Any] = {}
        self.imported: set[str] = set()
        self.locals: list[dict] = []   # comprehension scopes
        self.steps = 0
        self.functions: set[str] = set()

    def issue(self, node, message: str, key: str | None = None) -> None:
        self.reader.issue(self.path, node, message, key)

    # ------------------------------------------------------------------ statements
    def run(self, body: list[ast.stmt]) -> None:
        for node in body:
            try:
                self.statement(node)
            except _Unreadable as exc:
                where = exc.node if exc.node is not None and hasattr(exc.node, "lineno") else node
                self.issue(where, exc.args[0], _target_name(node))
            except (RecursionError, MemoryError, OverflowError, ZeroDivisionError, TypeError, ValueError,
                    KeyError, IndexError, AttributeError) as exc:
                self.issue(node, f"{type(exc).__name__} while reading statically: {exc}", _target_name(node))

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            if isinstance(node.targets[0], ast.Name) and node.targets[0].id == BASE_KEY:
                return  # handled by the file reader
            value = self.expr(node.value)
            for target in node.targets:
                self.assign(target, value)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.expr(node.value))
        elif isinstance(node, ast.AugAssign):
            current = self.expr(_load(node.target))
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise _Unreadable(f"operator {type(node.op).__name__} is not statically readable", node)
            self.assign(node.target, self._guard(op(current, self.expr(node.value)), node))
        elif isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                return  # a docstring or a bare literal
            if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
                    and node.value.func.attr in _MUTATORS:
                self.mutate(node.value)
                return
            raise _Unreadable(f"expression statement `{_source(node)}` is not statically readable "
                              "(it would run code)", node)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete(target)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    raise _Unreadable(f"`from {node.module} import *` is not statically readable", node)
                if isinstance(node, ast.ImportFrom):
                    dotted = "." * node.level + (node.module or "") + "." + alias.name
                    name = alias.asname or alias.name
                else:
                    dotted = alias.name
                    name = alias.asname or alias.name.split(".")[0]
                    if alias.asname is None:
                        dotted = name
                self.names[name] = ImportedName(dotted.lstrip("."))
                self.imported.add(name)
        elif isinstance(node, ast.Pass):
            return
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.imported.add(node.name)  # never a config value (mmengine drops functions)
            self.functions.add(node.name)
            raise _Unreadable(f"definition of `{node.name}` is code, not data: not executed", node)
        else:
            kind = type(node).__name__.lower()
            assigned = sorted(_assigned_names(node))
            for name in assigned:
                self.names.pop(name, None)
            what = f" (assigns {', '.join(assigned)})" if assigned else ""
            raise _Unreadable(f"`{kind}` statement is not statically readable{what}", node)

    def assign(self, target: ast.AST, value) -> None:
        if isinstance(target, ast.Name):
            self.names[target.id] = value
            self.imported.discard(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(value)
            if len(items) != len(target.elts):
                raise _Unreadable("unpacking with the wrong number of values", target)
            for t, v in zip(target.elts, items):
                self.assign(t, v)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            container = self.expr(target.value)
            if isinstance(target, ast.Attribute):
                if not isinstance(container, dict):
                    raise _Unreadable(f"cannot set attribute `{target.attr}` on a {type(container).__name__}", target)
                container[target.attr] = value
            else:
                key = self.expr(target.slice)
                if not isinstance(container, (dict, list)):
                    raise _Unreadable(f"cannot set an item on a {type(container).__name__}", target)
                container[key] = value
        else:
            raise _Unreadable(f"assignment target `{_source(target)}` is not statically readable", target)

    def delete(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.names.pop(target.id, None)
            return
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            container = self.expr(target.value)
            key = target.attr if isinstance(target, ast.Attribute) else self.expr(target.slice)
            if isinstance(container, dict):
                container.pop(key, None)
                return
            if isinstance(container, list) and isinstance(key, int):
                del container[key]
                return
        raise _Unreadable(f"`del {_source(target)}` is not statically readable", target)

    def mutate(self, call: ast.Call) -> None:
        target = self.expr(call.func.value)
        method = call.func.attr
        args = [self.expr(a) for a in call.args if not isinstance(a, ast.Starred)]
        kwargs = self._keywords(call)
        if any(isinstance(a, ast.Starred) for a in call.args):
            raise _Unreadable("starred arguments are not statically readable", call)
        if isinstance(target, dict) and method in ("update", "pop", "setdefault", "clear"):
            if method == "update":
                other = dict(*args, **kwargs) if args or kwargs else {}
                if self.lazy:
                    _update_recursive(target, other)
                else:
                    target.update(other)
            else:
                getattr(target, method)(*args, **kwargs)
        elif isinstance(target, list) and method in ("append", "extend", "insert", "pop", "remove", "clear"):
            getattr(target, method)(*args, **kwargs)
            if len(target) > MAX_SEQUENCE:
                raise _Unreadable("list grows beyond the static reading limit", call)
        else:
            raise _Unreadable(f"`.{method}()` on a {type(target).__name__} is not statically readable", call)

    # ------------------------------------------------------------------ expressions
    def expr(self, node: ast.AST):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _Unreadable("expression too costly to read statically", node)
        method = getattr(self, f"e_{type(node).__name__}", None)
        if method is None:
            raise _Unreadable(f"`{_source(node)}` ({type(node).__name__}) is not statically readable", node)
        return method(node)

    def e_Constant(self, node: ast.Constant):
        value = node.value
        if isinstance(value, str):
            m = _BASE_REF.match(value)
            if m and not self.lazy:
                return self._base_lookup(m.group(1), node)
            value = self._substitute_text(value, node)
        return value

    def _substitute_text(self, value: str, node) -> str:
        if "{{" not in value:
            return value
        p = self.path
        templates = {"fileDirname": str(p.parent), "fileBasename": p.name,
                     "fileBasenameNoExtension": p.stem, "fileExtname": p.suffix}
        value = _PREDEFINED.sub(lambda m: templates[m.group(1)].replace("\\", "/"), value)
        if _ENV_VAR.search(value):
            # The environment may hold secrets: --no-exec never copies it into a report.
            self.issue(node, "environment-variable substitution not applied under --no-exec; "
                             "the default value is used")
            value = _ENV_VAR.sub(lambda m: m.group(2), value)
        return value

    def e_JoinedStr(self, node: ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                value = self.expr(v.value)
                if not isinstance(value, _PLAIN):
                    raise _Unreadable("f-string of a non-data value", node)
                spec = self.expr(v.format_spec) if v.format_spec is not None else ""
                if v.conversion == ord("r"):
                    value = repr(value)
                elif v.conversion == ord("s"):
                    value = str(value)
                parts.append(format(value, spec))
        return self._guard("".join(parts), node)

    def e_List(self, node):
        return self._guard(self._elements(node.elts), node)

    def e_Tuple(self, node):
        return tuple(self._elements(node.elts))

    def e_Set(self, node):
        # ``{{_base_.x}}`` written without quotes parses as a set of a set.
        if (len(node.elts) == 1 and isinstance(node.elts[0], ast.Set) and len(node.elts[0].elts) == 1
                and not self.lazy):
            dotted = _dotted(node.elts[0].elts[0])
            if dotted and dotted.startswith(BASE_KEY + "."):
                return self._base_lookup(dotted[len(BASE_KEY) + 1:], node)
        return set(self._elements(node.elts))

    def _elements(self, elts) -> list:
        out = []
        for e in elts:
            if isinstance(e, ast.Starred):
                out.extend(self.expr(e.value))
            else:
                out.append(self.expr(e))
        return out

    def e_Dict(self, node: ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                other = self.expr(v)
                if not isinstance(other, dict):
                    raise _Unreadable("** of a non-dict", v)
                out.update(other)
            else:
                out[self.expr(k)] = self.expr(v)
        return out

    def e_Name(self, node: ast.Name):
        for scope in reversed(self.locals):
            if node.id in scope:
                return scope[node.id]
        if node.id in self.names:
            return self.names[node.id]
        if node.id in _BUILTINS:
            return _BUILTINS[node.id]
        raise _Unreadable(f"name `{node.id}` is not defined by a statically readable assignment", node)

    def e_Attribute(self, node: ast.Attribute):
        dotted = _dotted(node)
        if dotted and dotted.startswith(BASE_KEY + ".") and not self.lazy:
            return self._base_lookup(dotted[len(BASE_KEY) + 1:], node)
        value = self.expr(node.value)
        if isinstance(value, ImportedName):
            return ImportedName(f"{value}.{node.attr}")
        if isinstance(value, dict):
            if node.attr in value:
                return value[node.attr]
            raise _Unreadable(f"key `{node.attr}` is not set", node)
        raise _Unreadable(f"attribute `{node.attr}` of a {type(value).__name__} is not statically readable", node)

    def e_Subscript(self, node: ast.Subscript):
        value = self.expr(node.value)
        key = self.expr(node.slice)
        if not isinstance(value, (dict, list, tuple, str)):
            raise _Unreadable(f"subscript of a {type(value).__name__} is not statically readable", node)
        return value[key]

    def e_Slice(self, node: ast.Slice):
        return slice(*(self.expr(p) if p is not None else None for p in (node.lower, node.upper, node.step)))

    def e_BinOp(self, node: ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise _Unreadable(f"operator {type(node.op).__name__} is not statically readable", node)
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * max(1, abs(left).bit_length()) > MAX_INT_BITS:
                raise _Unreadable("integer power too large to read statically", node)
        if isinstance(node.op, ast.Mult):
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple, bytes)) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
                    raise _Unreadable("sequence repetition too large to read statically", node)
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            raise _Unreadable("%-formatting is not statically readable", node)
        return self._guard(op(left, right), node)

    def e_UnaryOp(self, node: ast.UnaryOp):
        value = self.expr(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        if isinstance(node.op, ast.Not):
            return not value
        raise _Unreadable("operator ~ is not statically readable", node)

    def e_BoolOp(self, node: ast.BoolOp):
        result = None
        for v in node.values:
            result = self.expr(v)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def e_Compare(self, node: ast.Compare):
        left = self.expr(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = self.expr(comp)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True

    def e_IfExp(self, node: ast.IfExp):
        return self.expr(node.body) if self.expr(node.test) else self.expr(node.orelse)

    def e_Call(self, node: ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id in self.functions:
            raise _Unreadable(f"call to `{node.func.id}()`, code defined in the config, is not executed", node)
        func = self.expr(node.func) if not isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Attribute):
            raise _Unreadable(f"call to `{_source(node.func)}()` is not statically readable (it would run code)",
                              node)
        if isinstance(func, ImportedName):
            raise _Unreadable(f"call to imported `{func}()` is not statically readable (it would run code)", node)
        if not any(func is b for b in _BUILTINS.values()):
            raise _Unreadable(f"call to `{_source(node.func)}()` is not statically readable", node)
        args = self._elements(node.args)
        kwargs = self._keywords(node)
        if func is range:
            r = range(*args)
            if len(r) > MAX_SEQUENCE:
                raise _Unreadable("range too large to read statically", node)
            return r
        result = func(*args, **kwargs)
        if func in (reversed, zip, enumerate):
            result = list(result)
        return self._guard(result, node)

    def _keywords(self, node: ast.Call) -> dict:
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                other = self.expr(kw.value)
                if not isinstance(other, dict):
                    raise _Unreadable("** of a non-dict", kw.value)
                kwargs.update(other)
            else:
                kwargs[kw.arg] = self.expr(kw.value)
        return kwargs

    def e_ListComp(self, node):
        return self._guard(list(self._comprehension(node.generators, lambda: self.expr(node.elt))), node)

    def e_SetComp(self, node):
        return set(self._comprehension(node.generators, lambda: self.expr(node.elt)))

    def e_GeneratorExp(self, node):
        return list(self._comprehension(node.generators, lambda: self.expr(node.elt)))

    def e_DictComp(self, node):
        return dict(self._comprehension(node.generators, lambda: (self.expr(node.key), self.expr(node.value))))

    def _comprehension(self, generators, produce):
        gen, rest = generators[0], generators[1:]
        iterable = self.expr(gen.iter)
        if not isinstance(iterable, (list, tuple, range, dict, str, set, frozenset)):
            raise _Unreadable("comprehension over a non-data iterable", gen.iter)
        scope: dict = {}
        self.locals.append(scope)
        try:
            count = 0
            for item in list(iterable):
                self._bind(gen.target, item, scope)
                if all(self.expr(cond) for cond in gen.ifs):
                    if rest:
                        yield from self._comprehension(rest, produce)
                    else:
                        count += 1
                        if count > MAX_SEQUENCE:
                            raise _Unreadable("comprehension too large to read statically", gen.iter)
                        yield produce()
        finally:
            self.locals.pop()

    def _bind(self, target, value, scope: dict) -> None:
        if isinstance(target, ast.Name):
            scope[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(value)
            if len(items) != len(target.elts):
                raise _Unreadable("unpacking with the wrong number of values", target)
            for t, v in zip(target.elts, items):
                self._bind(t, v, scope)
        else:
            raise _Unreadable("comprehension target is not statically readable", target)

    # ------------------------------------------------------------------ helpers
    def _base_lookup(self, dotted: str, node):
        value = self.names.get(BASE_KEY, {})
        for part in dotted.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise _Unreadable(f"_base_.{dotted} is not set by the base configs", node)
        return value  # a reference, as in mmengine: changing it changes the base

    def _guard(self, value, node):
        if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_SEQUENCE:
            raise _Unreadable("value too large to read statically", node)
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
            raise _Unreadable("integer too large to read statically", node)
        if isinstance(value, float) and math.isnan(value):
            return value
        return value


def _load(target: ast.AST) -> ast.AST:
    """An assignment target re-read as an expression (for ``x += ...``)."""
    node = copy.copy(target)
    node.ctx = ast.Load()
    return node


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id] + parts[::-1])
    return None


def _target_name(node: ast.stmt) -> str | None:
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    for t in targets:
        if isinstance(t, ast.Name):
            return t.id
        dotted = _dotted(t)
        if dotted:
            return dotted
    return None


def _assigned_names(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
            names.add(sub.name)
    return names


def _source(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - only used for messages
        return type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------- import guard
class ImportRefused(ImportError):
    pass


class _ImportGuard:
    """A ``sys.meta_path`` entry refusing modules that live under untrusted folders (the
    audited configs' folders, the working directory), except detaudit's own and the rule
    packs' packages. With --no-exec nothing should import such modules; this makes sure."""

    def __init__(self, untrusted: list[Path], trusted: list[Path]):
        self.untrusted = [p.resolve() for p in untrusted]
        self.trusted = [p.resolve() for p in trusted]
        self.busy = False

    def find_spec(self, fullname, path, target=None):
        import sys

        if self.busy:
            return None
        self.busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self.busy = False
        if spec is None:
            return None
        origin = spec.origin if spec.origin not in (None, "built-in", "frozen") else None
        if origin is None and spec.submodule_search_locations:
            origin = next(iter(spec.submodule_search_locations), None)
        if origin is None:
            return None
        where = Path(origin).resolve()
        if _under(where, self.untrusted) and not _under(where, self.trusted):
            raise ImportRefused(f"--no-exec: not importing {fullname} from {where} (code next to the audited config)")
        return None


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


class refuse_local_imports:
    """Context manager: while it is active, modules under ``untrusted`` folders cannot be imported."""

    def __init__(self, untrusted):
        import sys

        import sysconfig

        trusted = [Path(__file__).resolve().parent]
        # installed packages and the standard library are the environment, not the audited code
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            with contextlib.suppress(KeyError, TypeError):
                trusted.append(Path(sysconfig.get_paths()[key]))
        try:
            from .registry import rule_packs

            for package, _, _ in rule_packs():
                module = sys.modules.get(package)
                if module is not None and getattr(module, "__file__", None):
                    trusted.append(Path(module.__file__).resolve().parent)
        except Exception:  # noqa: BLE001 - a broken pack is reported elsewhere
            pass
        self.guard = _ImportGuard([Path(u) for u in untrusted], trusted)

    def __enter__(self):
        import sys

        sys.meta_path.insert(0, self.guard)
        return self

    def __exit__(self, *exc):
        import sys

        if self.guard in sys.meta_path:
            sys.meta_path.remove(self.guard)
        return False


# ---------------------------------------------------------------------------- base chains
class CircularBaseError(Exception):
    """A config inherits from itself through its ``_base_`` files."""


def base_cycle(path: str | os.PathLike, display=str) -> str | None:
    """The ``_base_`` chain that loops back on itself, as 'a.py -> b.py -> a.py', or None.
    Reads only the ``_base_`` assignments (mmengine would recurse a thousand levels deep,
    writing a temporary file per level, before failing with RecursionError)."""

    def bases(p: Path) -> list[Path]:
        if p.suffix != ".py" or not p.is_file():
            return []
        try:
            tree = ast.parse(p.read_bytes())
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
            return []
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id == BASE_KEY:
                value = node.value
                items = [value] if isinstance(value, ast.Constant) else \
                    list(value.elts) if isinstance(value, (ast.List, ast.Tuple)) else []
                out = []
                for item in items:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        if "::" in item.value:
                            scope, rel = item.value.split("::", 1)
                            root = mmdet_config_root() if scope == "mmdet" else None
                            if root is not None:
                                out.append(Path(os.path.abspath(root / rel)))
                        else:
                            out.append(Path(os.path.abspath(p.parent / item.value)))
                return out
        return []

    done: set[Path] = set()

    def visit(p: Path, stack: tuple) -> str | None:
        if p in stack:
            chain = stack[stack.index(p):] + (p,)
            return " -> ".join(display(q) for q in chain)
        if p in done or len(stack) > MAX_BASE_DEPTH:
            return None
        for base in bases(p):
            found = visit(base, stack + (p,))
            if found:
                return found
        done.add(p)
        return None

    return visit(Path(os.path.abspath(path)), ())
