"""Where a config key is set: key path -> file:line, across ``_base_`` files and
``read_base()`` imports.

Built by reading the syntax trees of the config and of every file it inherits from,
without executing them, so it also works for configs that fail to load. The reading
follows the two ways mmengine assembles a config:

* text style (``_base_ = [...]``): each file's top-level names are merged into its bases
  (dicts recursively, ``_delete_=True`` replacing the base subtree, anything else
  replacing the base value); ``_base_.x`` and ``{{_base_.x}}`` read the merged bases and
  ``_base_.x.y = ...`` edits them in place;
* pure-Python style (``with read_base(): from .._base_.models.x import *``): imported
  names are ordinary Python values, so ``model = dict(...)`` *replaces* the base value
  while ``model.update(...)``, ``model.merge(...)`` and ``model['a']['b'] = ...`` edit it.

A key inherited unchanged points into the base file that set it; ``--cfg-options``
overrides point at ``<cfg-options>``. Replacements of an inherited dict in pure-Python
configs are recorded (:attr:`SourceMap.overrides`) for the rule that reports lost keys.
"""
from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

_UNKNOWN = object()
_BASE_REF = re.compile(r"^\{\{\s*_base_\.([\w.]+)\s*\}\}$")
_MAX_DEPTH = 64


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int = 1
    origin: str = "config"  # "config" or "cfg-options"


@dataclass
class Override:
    """A pure-Python config assigned a new dict over a dict it inherited from a base."""

    key_path: str
    file: str                 # where the assignment is (display form)
    line: int
    base_file: str            # where the replaced value was written (display form)
    base_keys: list[str]      # the keys the inherited dict had
    base_type: Any            # its ``type`` (a string or an imported class name), or None
    new_keys: list[str]       # the keys the assigned dict has
    new_type: Any
    explicit_delete: bool     # the new dict says ``_delete_=True``: replacing is deliberate
    final_keys: list[str] | None = None  # the keys at this path once the whole config is read

    @property
    def dropped(self) -> list[str]:
        final = self.final_keys if self.final_keys is not None else self.new_keys
        return [k for k in self.base_keys if k not in final]


# --------------------------------------------------------------------------- resolution
def package_root(package: str) -> Path | None:
    """The folder of an installed top-level package, found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    if spec.origin:
        return Path(spec.origin).parent
    return None


def mmdet_config_root() -> Path | None:
    root = package_root("mmdet")
    root = root / ".mim" / "configs" if root else None
    return root if root and root.is_dir() else None


def resolve_base(base: str, relative_to: Path) -> Path | None:
    """Resolve one ``_base_`` entry the way mmengine does for local and ``scope::`` paths."""
    if "::" in base:
        scope, rel = base.split("::", 1)
        root = package_root(scope)
        if root is None:
            return None
        for candidate in (root / ".mim" / "configs" / rel, root / "configs" / rel):
            if candidate.is_file():
                return candidate.resolve()
        return (root / ".mim" / "configs" / rel)
    return (relative_to.parent / base).resolve()


def resolve_lazy_module(module: str, level: int, relative_to: Path) -> Path | None:
    """The file a ``read_base()`` import names, as mmengine finds it: relative imports
    against the importing file's folder, absolute ones inside the installed package."""
    if level > 0:
        folder = relative_to.parent
        for _ in range(level - 1):
            folder = folder.parent
        if not module:
            return None
        return (folder / (module.replace(".", "/") + ".py")).resolve()
    parts = module.split(".")
    if len(parts) < 2:
        return None
    root = package_root(parts[0])
    if root is None:
        return None
    return root.joinpath(*parts[1:]).with_suffix(".py")


def is_lazy_config(tree: ast.Module) -> bool:
    """mmengine's rule: a ``_base_`` assignment makes a text-style config; ``read_base()``,
    a relative import or an import of a non-standard-library module a pure-Python one."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id == "_base_":
            return False
        if isinstance(node, ast.With):
            return True
        if isinstance(node, ast.ImportFrom):
            if node.level:
                return True
            if node.module and not _is_stdlib(node.module) and not node.module.startswith("mmengine.config"):
                return True
        if isinstance(node, ast.Import):
            if any(not _is_stdlib(a.name) for a in node.names):
                return True
    return False


def _is_stdlib(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ())


# --------------------------------------------------------------------------- value model
class _Node:
    """A config value as far as the syntax tree tells: a dict, a list or a leaf."""

    __slots__ = ("kind", "slots", "delete", "const", "symbol", "src", "configdict", "dropped")

    def __init__(self, kind: str, src: Path | None = None, const: Any = _UNKNOWN, symbol: str | None = None):
        self.kind = kind                      # "dict" | "list" | "leaf"
        self.slots: dict[str, _Slot] = {}
        self.delete = False                   # dict(_delete_=True, ...)
        self.const = const                    # the literal value of a leaf, if it is one
        self.symbol = symbol                  # a name the leaf refers to (an imported class...)
        self.src = src                        # file the value was written in
        self.configdict = False               # came out of a loaded config (ConfigDict semantics)
        self.dropped = False                  # a module/function/import: not part of the config

    def copy(self, deep: bool = True) -> "_Node":
        return _copy_node(self, deep, {})


def _copy_node(node: _Node, deep: bool, memo: dict) -> _Node:
    if id(node) in memo:
        return memo[id(node)]
    new = _Node(node.kind, node.src, node.const, node.symbol)
    memo[id(node)] = new
    new.delete, new.configdict, new.dropped = node.delete, node.configdict, node.dropped
    for k, s in node.slots.items():
        new.slots[k] = _Slot(s.loc, _copy_node(s.value, deep, memo) if deep else s.value, s.src)
    return new


class _Slot:
    """A key bound to a value, and where that binding was written."""

    __slots__ = ("loc", "value", "src")

    def __init__(self, loc: SourceLocation, value: _Node, src: Path | None):
        self.loc = loc
        self.value = value
        self.src = src


def _mark_configdict(node: _Node, seen=None) -> None:
    seen = seen if seen is not None else set()
    if id(node) in seen:
        return
    seen.add(id(node))
    if node.kind == "dict":
        node.configdict = True
    for s in node.slots.values():
        _mark_configdict(s.value, seen)


def _type_of(node: _Node) -> Any:
    slot = node.slots.get("type") if node.kind == "dict" else None
    if slot is None:
        return None
    v = slot.value
    if v.const is not _UNKNOWN:
        return v.const
    return v.symbol


def _literal(node: _Node, depth: int = 0):
    if depth > _MAX_DEPTH:
        raise ValueError("too deep")
    if node.kind == "dict":
        return {k: _literal(s.value, depth + 1) for k, s in node.slots.items()}
    if node.kind == "list":
        return [_literal(s.value, depth + 1) for s in node.slots.values()]
    if node.const is _UNKNOWN:
        raise ValueError("not a literal")
    return node.const


# --------------------------------------------------------------------------- the map
class SourceMap:
    def __init__(self) -> None:
        self._where: dict[str, SourceLocation] = {}
        self.files: list[Path] = []
        self.root: _Node | None = None
        self.overrides: list[Override] = []
        self.lazy = False
        self.unresolved: list[tuple[str, str, int]] = []  # (base or module, file, line)

    def locate(self, key_path: str | None) -> SourceLocation | None:
        """The location of the key, or of its nearest set ancestor."""
        if not key_path:
            return None
        parts = key_path.split(".")
        while parts:
            loc = self._where.get(".".join(parts))
            if loc is not None:
                return loc
            parts.pop()
        return None

    def keys(self):
        return self._where.keys()

    def set(self, key_path: str, loc: SourceLocation) -> None:
        self._where[key_path] = loc

    def add_cfg_options(self, options: dict) -> None:
        """``--cfg-options KEY=VALUE`` replaces the value at KEY (and everything under it)."""
        for key, value in options.items():
            prefix = key + "."
            for k in [k for k in self._where if k.startswith(prefix)]:
                del self._where[k]
            loc = SourceLocation(file="<cfg-options>", line=0, origin="cfg-options")
            self.set(key, loc)
            if isinstance(value, dict):
                for sub in _dict_paths(value, key):
                    self.set(sub, loc)

    def literal(self, key_path: str, default=None):
        """The value at ``key_path`` when the syntax tree gives it as literals (strings,
        numbers, dicts, lists); ``default`` otherwise. Works when the config cannot load."""
        node = self._node(key_path)
        if node is None:
            return default
        try:
            return _literal(node)
        except (ValueError, RecursionError):
            return default

    def subkeys(self, key_path: str) -> list[str] | None:
        node = self._node(key_path)
        return list(node.slots) if node is not None and node.kind == "dict" else None

    def _node(self, key_path: str) -> _Node | None:
        node = self.root
        for part in key_path.split("."):
            if node is None or part not in node.slots:
                return None
            node = node.slots[part].value
        return node

    @classmethod
    def from_file(cls, path: str | os.PathLike, display: Callable[[Path], str] = lambda p: str(p)) -> "SourceMap":
        sm = cls()
        reader = _Reader(sm, display)
        path = Path(path).resolve()
        try:
            sm.root = reader.load(path, stack=())
            sm.lazy = reader.is_lazy.get(path, False)
        except (RecursionError, MemoryError, ValueError, OSError):  # odd paths, absurd nesting: no map
            sm.root = None
        if sm.root is not None:
            _flatten(sm.root, "", sm._where, set(), 0)
            for ov in reader.overrides:
                node = sm._node(ov.key_path)
                if node is not None and node.kind == "dict":
                    ov.final_keys = list(node.slots)
                    sm.overrides.append(ov)
        return sm


def _dict_paths(d: dict, prefix: str):
    for k, v in d.items():
        yield f"{prefix}.{k}"
        if isinstance(v, dict):
            yield from _dict_paths(v, f"{prefix}.{k}")


def _flatten(node: _Node, prefix: str, out: dict, active: set, depth: int) -> None:
    if depth > _MAX_DEPTH or id(node) in active:
        return
    active.add(id(node))
    for k, slot in node.slots.items():
        if depth == 0 and (slot.value.dropped or k.startswith("__")):
            continue
        path = f"{prefix}.{k}" if prefix else k
        out[path] = slot.loc
        _flatten(slot.value, path, out, active, depth + 1)
    active.discard(id(node))


class _Reader:
    """Reads config files into value trees, one file at a time, bases first."""

    def __init__(self, sm: SourceMap, display: Callable[[Path], str]):
        self.sm = sm
        self.display = display
        self.cache: dict[Path, _Node] = {}
        self.is_lazy: dict[Path, bool] = {}
        self.overrides: list[Override] = []
        self._shown: dict[Path, str] = {}

    def shown(self, path: Path) -> str:
        if path not in self._shown:
            try:
                self._shown[path] = self.display(path)
            except Exception:  # noqa: BLE001 - a display function must not break the map
                self._shown[path] = str(path)
        return self._shown[path]

    def load(self, path: Path, stack: tuple) -> _Node | None:
        """The effective top-level namespace of one config file (a fresh copy)."""
        if path in stack or len(stack) > 32:
            return None
        if path not in self.cache:
            if not path.is_file():
                return None
            if path not in self.sm.files:
                self.sm.files.append(path)  # read, even if it does not parse (load errors point into it)
            try:
                tree = ast.parse(path.read_bytes(), filename=str(path))
            except (SyntaxError, ValueError, OSError):
                return None
            lazy = is_lazy_config(tree)
            self.is_lazy[path] = lazy
            run = _FileRun(self, path, tree, lazy, stack + (path,))
            root = run.execute()
            _mark_configdict(root)
            self.cache[path] = root
        return self.cache[path].copy()


class _FileRun:
    """Executes one file's statements over value trees instead of real objects."""

    def __init__(self, reader: _Reader, path: Path, tree: ast.Module, lazy: bool, stack: tuple):
        self.reader = reader
        self.path = path
        self.tree = tree
        self.lazy = lazy
        self.stack = stack
        self.file = reader.shown(path)
        self.env = _Node("dict", path)
        self.base: _Node | None = None
        self.imported: set[str] = set()

    # ---------------------------------------------------------------- driver
    def execute(self) -> _Node:
        if not self.lazy:
            self.base = _Node("dict", self.path)
            self.base.configdict = True
            for node in self.tree.body:
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_"
                                                        for t in node.targets):
                    for base in _string_list(node.value):
                        try:
                            resolved = resolve_base(base, self.path)
                            loaded = self.reader.load(resolved, self.stack) if resolved else None
                        except (ValueError, OSError):  # a base name no file system accepts
                            loaded = None
                        if loaded is None:
                            self.reader.sm.unresolved.append((base, self.file, node.lineno))
                            continue
                        self.base.slots.update(loaded.slots)
        self.block(self.tree.body)
        if self.lazy:
            return self.env
        child = _Node("dict", self.path)
        for k, s in self.env.slots.items():
            if k == "_base_" or k.startswith("__") or s.value.dropped:
                continue
            child.slots[k] = s
        return _merge_into(child, self.base)

    def loc(self, node: ast.AST) -> SourceLocation:
        return SourceLocation(self.file, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)

    def slot(self, node: ast.AST, value: _Node) -> _Slot:
        return _Slot(self.loc(node), value, self.path)

    # ---------------------------------------------------------------- statements
    def block(self, stmts) -> None:
        for stmt in stmts:
            try:
                self.statement(stmt)
            except (RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError):
                continue

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign):
            if not self.lazy and any(isinstance(t, ast.Name) and t.id == "_base_" for t in stmt.targets):
                return
            value = self.expr(stmt.value)
            for target in stmt.targets:
                self.assign(target, value, stmt)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.assign(stmt.target, self.expr(stmt.value), stmt)
        elif isinstance(stmt, ast.AugAssign):
            current = self.target_node(stmt.target)
            value = self.expr(stmt.value)
            if current is not None and current.kind == "list" and value.kind == "list" \
                    and isinstance(stmt.op, ast.Add):
                for s in value.slots.values():
                    current.slots[str(len(current.slots))] = s
            else:
                self.assign(stmt.target, _Node("leaf", self.path), stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self.method_call(stmt.value)
        elif isinstance(stmt, ast.With):
            if any(_is_read_base(item.context_expr) for item in stmt.items):
                for sub in stmt.body:
                    if isinstance(sub, ast.ImportFrom):
                        self.base_import(sub)
            else:
                self.block(stmt.body)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                if alias.name == "*":
                    continue
                name = alias.asname or alias.name.split(".")[0]
                leaf = _Node("leaf", self.path, symbol=alias.name)
                leaf.dropped = True
                self.env.slots[name] = self.slot(stmt, leaf)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            leaf = _Node("leaf", self.path, symbol=stmt.name)
            leaf.dropped = True
            self.env.slots[stmt.name] = self.slot(stmt, leaf)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self.delete(target)
        elif isinstance(stmt, ast.If):
            self.block(stmt.body)
        elif isinstance(stmt, ast.Try):
            self.block(stmt.body)

    def base_import(self, stmt: ast.ImportFrom) -> None:
        try:
            resolved = resolve_lazy_module(stmt.module or "", stmt.level, self.path)
            loaded = self.reader.load(resolved, self.stack) if resolved is not None else None
        except (ValueError, OSError):
            loaded = None
        if loaded is None:
            self.reader.sm.unresolved.append(("." * stmt.level + (stmt.module or ""), self.file, stmt.lineno))
            return
        for alias in stmt.names:
            if alias.name == "*":
                for k, s in loaded.slots.items():
                    if not k.startswith("__"):
                        self.env.slots[k] = s
                        self.imported.add(k)
            elif alias.name in loaded.slots:
                name = alias.asname or alias.name
                self.env.slots[name] = loaded.slots[alias.name]
                self.imported.add(name)

    def assign(self, target: ast.AST, value: _Node, stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            self.bind(self.env, target.id, value, stmt, target.id)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            container = self.target_node(target.value)
            key = _key_of(target)
            if container is None or key is None:
                return
            path = _target_path(target)
            if container.kind == "dict":
                self.bind(container, str(key), value, target, path)
            elif container.kind == "list" and isinstance(key, int):
                idx = key if key >= 0 else len(container.slots) + key
                if 0 <= idx < len(container.slots):
                    container.slots[str(idx)] = self.slot(target, value)
        elif isinstance(target, (ast.Tuple, ast.List)) and value.kind == "list" \
                and len(value.slots) == len(target.elts):
            for t, s in zip(target.elts, value.slots.values()):
                self.assign(t, s.value, stmt)

    def bind(self, container: _Node, key: str, value: _Node, where: ast.AST, path: str | None) -> None:
        old = container.slots.get(key)
        if self.lazy and path and old is not None:
            self.note_override(path, old, value, where)
        container.slots[key] = self.slot(where, value)

    def note_override(self, path: str, old: _Slot, value: _Node, where: ast.AST) -> None:
        prev = old.value
        if prev.kind != "dict" or value.kind != "dict" or prev is value:
            return
        if prev.src is None or prev.src == self.path:
            return  # replacing this file's own value is ordinary Python, not inheritance
        self.reader.overrides.append(Override(
            key_path=path, file=self.file, line=getattr(where, "lineno", 1),
            base_file=self.reader.shown(prev.src), base_keys=list(prev.slots), base_type=_type_of(prev),
            new_keys=list(value.slots), new_type=_type_of(value), explicit_delete=value.delete))

    def delete(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            container = self.target_node(target.value)
            key = _key_of(target)
            if container is not None and key is not None and container.kind == "dict":
                container.slots.pop(str(key), None)
        elif isinstance(target, ast.Name):
            self.env.slots.pop(target.id, None)

    def target_node(self, expr: ast.AST) -> _Node | None:
        """The existing node an assignment target refers to (no copy)."""
        if isinstance(expr, ast.Name):
            s = self.env.slots.get(expr.id)
            if s is None and expr.id == "_base_" and self.base is not None:
                return self.base
            return s.value if s else None
        if isinstance(expr, (ast.Attribute, ast.Subscript)):
            container = self.target_node(expr.value)
            key = _key_of(expr)
            if container is None or key is None:
                return None
            return _child(container, key)
        return None

    def method_call(self, call: ast.Call) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        target = self.target_node(func.value)
        if target is None:
            return
        name = func.attr
        if target.kind == "dict":
            if name in ("update", "merge"):
                other = _Node("dict", self.path)
                for arg in call.args[:1]:
                    v = self.expr(arg)
                    if v.kind == "dict":
                        other.slots.update(v.slots)
                        other.delete = v.delete
                for kw in call.keywords:
                    if kw.arg is None:
                        v = self.expr(kw.value)
                        if v.kind == "dict":
                            other.slots.update(v.slots)
                    elif kw.arg == "_delete_":
                        other.delete = _truthy(kw.value)
                    else:
                        other.slots[kw.arg] = self.slot(kw, self.expr(kw.value))
                if name == "merge":
                    merged = _merge_lazy(other, target, self.loc(call))
                    target.slots = merged.slots
                elif target.configdict:
                    _update_recursive(target, other, self.loc(call))
                else:
                    target.slots.update(other.slots)
            elif name == "pop" and call.args:
                key = _const_key(call.args[0])
                if key is not None:
                    target.slots.pop(str(key), None)
            elif name == "setdefault" and call.args:
                key = _const_key(call.args[0])
                if key is not None and str(key) not in target.slots:
                    value = self.expr(call.args[1]) if len(call.args) > 1 else _Node("leaf", self.path, const=None)
                    target.slots[str(key)] = self.slot(call, value)
            elif name == "clear":
                target.slots.clear()
        elif target.kind == "list":
            if name == "append" and call.args:
                target.slots[str(len(target.slots))] = self.slot(call.args[0], self.expr(call.args[0]))
            elif name == "extend" and call.args:
                v = self.expr(call.args[0])
                for s in v.slots.values():
                    target.slots[str(len(target.slots))] = s
            elif name == "insert" and len(call.args) == 2:
                idx = _const_key(call.args[0])
                if isinstance(idx, int):
                    items = list(target.slots.values())
                    items.insert(idx, self.slot(call.args[1], self.expr(call.args[1])))
                    target.slots = {str(i): s for i, s in enumerate(items)}
            elif name == "pop":
                items = list(target.slots.values())
                idx = _const_key(call.args[0]) if call.args else -1
                if isinstance(idx, int) and items:
                    try:
                        items.pop(idx)
                    except IndexError:
                        return
                    target.slots = {str(i): s for i, s in enumerate(items)}

    # ---------------------------------------------------------------- expressions
    def expr(self, node: ast.AST) -> _Node:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                m = _BASE_REF.match(node.value)
                if m:
                    return self.base_ref(m.group(1))
            return _Node("leaf", self.path, const=node.value)
        if isinstance(node, ast.Set):
            ref = _set_base_ref(node)
            if ref:
                return self.base_ref(ref)
            return _Node("leaf", self.path)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Dict):
            out = _Node("dict", self.path)
            for k, v in zip(node.keys, node.values):
                if k is None:
                    sub = self.expr(v)
                    if sub.kind == "dict":
                        out.slots.update(sub.slots)
                    continue
                key = _const_key(k)
                if key is None:
                    continue
                if key == "_delete_":
                    out.delete = _truthy(v)
                    continue
                out.slots[str(key)] = self.slot(k, self.expr(v))
            return out
        if isinstance(node, (ast.List, ast.Tuple)):
            out = _Node("list", self.path)
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    sub = self.expr(e.value)
                    for s in sub.slots.values() if sub.kind == "list" else ():
                        out.slots[str(len(out.slots))] = s
                    continue
                out.slots[str(len(out.slots))] = self.slot(e, self.expr(e))
            return out
        if isinstance(node, ast.Name):
            s = self.env.slots.get(node.id)
            if s is not None:
                return s.value
            if node.id == "_base_" and self.base is not None:
                return self.base
            if node.id in ("True", "False", "None"):
                return _Node("leaf", self.path, const={"True": True, "False": False, "None": None}[node.id])
            return _Node("leaf", self.path, symbol=node.id)
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            container = self.expr(node.value)
            key = _key_of(node)
            if key is not None:
                child = _child(container, key)
                if child is not None:
                    return child
            dotted = _dotted(node)
            return _Node("leaf", self.path, symbol=dotted)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.expr(node.left), self.expr(node.right)
            if left.kind == "list" and right.kind == "list":
                out = _Node("list", self.path)
                for s in list(left.slots.values()) + list(right.slots.values()):
                    out.slots[str(len(out.slots))] = s
                return out
            if isinstance(left.const, (int, float, str)) and type(left.const) is type(right.const):
                return _Node("leaf", self.path, const=left.const + right.const)
            return _Node("leaf", self.path)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self.expr(node.operand)
            if isinstance(v.const, (int, float)) and not isinstance(v.const, bool):
                return _Node("leaf", self.path, const=-v.const)
            return _Node("leaf", self.path)
        if isinstance(node, ast.IfExp):
            return self.expr(node.body)
        return _Node("leaf", self.path)

    def call(self, node: ast.Call) -> _Node:
        fname = _dotted(node.func)
        short = fname.split(".")[-1] if fname else None
        if short in ("dict", "ConfigDict") and fname in ("dict", "ConfigDict", "mmengine.ConfigDict",
                                                         "mmengine.config.ConfigDict"):
            out = _Node("dict", self.path)
            for arg in node.args[:1]:
                v = self.expr(arg)
                if v.kind == "dict":
                    out.slots.update(v.slots)
            for kw in node.keywords:
                if kw.arg is None:
                    v = self.expr(kw.value)
                    if v.kind == "dict":
                        out.slots.update(v.slots)
                elif kw.arg == "_delete_":
                    out.delete = _truthy(kw.value)
                else:
                    out.slots[kw.arg] = self.slot(kw, self.expr(kw.value))
            return out
        if short == "deepcopy" and node.args:
            return self.expr(node.args[0]).copy(deep=True)
        if short == "copy" and isinstance(node.func, ast.Attribute) and not node.args:
            return self.expr(node.func.value).copy(deep=False)
        if fname in ("list", "tuple") and len(node.args) == 1:
            v = self.expr(node.args[0])
            if v.kind == "list":
                return v.copy(deep=False)
        return _Node("leaf", self.path)

    def base_ref(self, dotted: str) -> _Node:
        node = self.base
        for part in dotted.split("."):
            node = _child(node, part) if node is not None else None
        return node.copy() if node is not None else _Node("leaf", self.path)


# --------------------------------------------------------------------------- merging
def _merge_into(a: _Node, b: _Node | None) -> _Node:
    """mmengine's ``Config._merge_a_into_b`` over value trees: returns a new tree."""
    if b is None or b.kind != "dict":
        return a
    out = _Node("dict", b.src)
    out.configdict = b.configdict
    out.slots = dict(b.slots)
    for k, s in a.slots.items():
        v = s.value
        base = out.slots.get(k)
        if v.kind == "dict" and base is not None and not v.delete and base.value.kind == "dict":
            merged = _merge_into(v, base.value)
            merged.src = v.src
            out.slots[k] = _Slot(s.loc, merged, s.src)
        else:
            if v.kind == "dict" and v.delete:
                v = v.copy(deep=False)
                v.delete = False
            out.slots[k] = s if v is s.value else _Slot(s.loc, v, s.src)
    return out


def _merge_lazy(a: _Node, b: _Node, loc: SourceLocation) -> _Node:
    """``ConfigDict.merge``: recursive, with ``_delete_`` clearing the base dict."""
    out = _Node("dict", b.src)
    out.configdict = b.configdict
    out.slots = {} if a.delete else dict(b.slots)
    for k, s in a.slots.items():
        base = out.slots.get(k)
        if s.value.kind == "dict" and base is not None and base.value.kind == "dict":
            out.slots[k] = _Slot(s.loc, _merge_lazy(s.value, base.value, s.loc), s.src)
        else:
            out.slots[k] = s
    return out


def _update_recursive(target: _Node, other: _Node, loc: SourceLocation) -> None:
    """``ConfigDict.update``: nested dicts are updated, anything else replaced."""
    for k, s in other.slots.items():
        cur = target.slots.get(k)
        if cur is not None and cur.value.kind == "dict" and s.value.kind == "dict":
            _update_recursive(cur.value, s.value, loc)
            cur.loc = s.loc
        else:
            target.slots[k] = s


# --------------------------------------------------------------------------- helpers
def _child(node: _Node | None, key) -> _Node | None:
    if node is None:
        return None
    if node.kind == "dict":
        s = node.slots.get(str(key))
        return s.value if s else None
    if node.kind == "list" and isinstance(key, int):
        idx = key if key >= 0 else len(node.slots) + key
        s = node.slots.get(str(idx))
        return s.value if s else None
    return None


def _string_list(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _const_key(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, int):
        return -node.operand.value
    return None


def _key_of(node: ast.AST):
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _const_key(node.slice)
    return None


def _truthy(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def _is_read_base(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Call) and _dotted(expr.func) in ("read_base", "mmengine.config.read_base",
                                                                 "mmengine.read_base")


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _set_base_ref(node: ast.Set) -> str | None:
    """``{{_base_.a.b}}`` parses as a set holding a set holding ``_base_.a.b``."""
    if len(node.elts) == 1 and isinstance(node.elts[0], ast.Set) and len(node.elts[0].elts) == 1:
        dotted = _dotted(node.elts[0].elts[0])
        if dotted and dotted.startswith("_base_."):
            return dotted[len("_base_."):]
    return None


def _target_path(node: ast.AST) -> str | None:
    keys = []
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        key = _key_of(node)
        if key is None:
            return None
        keys.append(str(key))
        node = node.value
    if isinstance(node, ast.Name) and keys:
        if node.id == "_base_":
            return ".".join(keys[::-1])
        return ".".join([node.id] + keys[::-1])
    return None
