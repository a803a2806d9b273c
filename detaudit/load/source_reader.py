"""The source map's reading of config files: each file's statements executed over value
trees instead of real objects, so that every value keeps the file and line that wrote it.

Text-style files merge into their bases and pure-Python files import from theirs exactly as
mmengine does (:mod:`detaudit.load.bases` holds those rules; :class:`NodeModel` lets them
work on these trees). Nothing here runs a config's code.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .bases import (BASE_KEY, BaseError, MergeTypeError, base_entries, base_statement, is_pure_python, is_read_base,
                    merge_into, merge_nested, resolve_base, resolve_read_base_import, update_nested)

from .nodes import (NODES, Node, Override, Slot, SourceLocation, child_of, const_key, dotted_name, key_of,
                    mark_configdict, set_base_ref, source_text, target_path, truthy, type_of)

if TYPE_CHECKING:
    from .sourcemap import SourceMap

_BASE_REF = re.compile(r"^\{\{\s*_base_\.([\w.]+)\s*\}\}$")


class SourceReader:
    """Reads config files into value trees, one file at a time, bases first."""

    def __init__(self, sm: SourceMap, display: Callable[[Path], str]):
        self.sm = sm
        self.display = display
        self.cache: dict[Path, Node] = {}
        self.is_lazy: dict[Path, bool] = {}
        self.base_lines: dict[Path, int | None] = {}  # the line of each file's _base_ / read_base()
        self.overrides: list[Override] = []
        self._shown: dict[Path, str] = {}
        self.stamp = 0  # the statement being read, counted across files (Slot.stamp)

    def shown(self, path: Path) -> str:
        if path not in self._shown:
            try:
                self._shown[path] = self.display(path)
            except Exception:  # noqa: BLE001 - a display function must not break the map
                self._shown[path] = str(path)
        return self._shown[path]

    def load(self, path: Path, stack: tuple) -> Node | None:
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
            try:
                lazy = is_pure_python(tree)
            except BaseError:  # a `with` other than read_base(): mmengine refuses it (DA001)
                lazy = True
            self.is_lazy[path] = lazy
            self.base_lines[path] = base_line(tree)
            run = FileRun(self, path, tree, lazy, stack + (path,))
            root = run.execute()
            mark_configdict(root)
            self.cache[path] = root
        return self.cache[path].copy()


def base_line(tree: ast.Module) -> int | None:
    """The line that pulls in a file's bases (``_base_ = ...`` or ``with read_base():``), if any."""
    node = base_statement(tree)
    if node is not None:
        return node.lineno
    return next((n.lineno for n in tree.body if isinstance(n, ast.With) and is_read_base(n)), None)


class FileRun:
    """Executes one file's statements over value trees instead of real objects."""

    def __init__(self, reader: SourceReader, path: Path, tree: ast.Module, lazy: bool, stack: tuple):
        self.reader = reader
        self.path = path
        self.tree = tree
        self.lazy = lazy
        self.stack = stack
        self.file = reader.shown(path)
        self.env = Node("dict", path)
        self.base: Node | None = None
        self.imported: set[str] = set()

    # ---------------------------------------------------------------- driver
    def execute(self) -> Node:
        if not self.lazy:
            self.base = Node("dict", self.path)
            self.base.configdict = True
            statement = base_statement(self.tree)
            try:
                entries = base_entries(self.tree)
            except BaseError:
                entries = []
            for base in entries:
                try:
                    loaded = self.reader.load(resolve_base(base, self.path), self.stack)
                except (BaseError, ValueError, OSError):  # unknown scope, a name no file system accepts
                    loaded = None
                if loaded is None:
                    self.reader.sm.unresolved.append((base, self.file, statement.lineno))
                    continue
                self.base.slots.update(loaded.slots)
        self.block(self.tree.body)
        if self.lazy:
            return self.env
        child = Node("dict", self.path)
        for k, s in self.env.slots.items():
            if k == BASE_KEY or k.startswith("__") or s.value.dropped:
                continue
            child.slots[k] = s
        try:
            return merge_into(child, self.base, NODES)
        except MergeTypeError:  # mmengine refuses this config (DA001); keep the child's locations
            out = NODES.copy(self.base)
            out.slots.update(child.slots)
            return out

    def loc(self, node: ast.AST) -> SourceLocation:
        return SourceLocation(self.file, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)

    def slot(self, node: ast.AST, value: Node) -> Slot:
        return Slot(self.loc(node), value, self.path, self.reader.stamp)

    # ---------------------------------------------------------------- statements
    def block(self, stmts) -> None:
        for stmt in stmts:
            try:
                self.statement(stmt)
            except (RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError):
                continue

    def statement(self, stmt: ast.stmt) -> None:
        self.reader.stamp += 1
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
                self.assign(stmt.target, Node("leaf", self.path), stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self.method_call(stmt.value)
        elif isinstance(stmt, ast.With):
            if is_read_base(stmt):
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
                leaf = Node("leaf", self.path, symbol=alias.name)
                leaf.dropped = True
                self.env.slots[name] = self.slot(stmt, leaf)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            leaf = Node("leaf", self.path, symbol=stmt.name)
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
            loaded = self.reader.load(resolve_read_base_import(stmt.module, stmt.level, self.path), self.stack)
        except (BaseError, ValueError, OSError):
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

    def assign(self, target: ast.AST, value: Node, stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            self.bind(self.env, target.id, value, stmt, target.id)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            container = self.target_node(target.value)
            key = key_of(target)
            if container is None or key is None:
                return
            path = target_path(target)
            if container.kind == "dict":
                self.bind(container, str(key), value, target, path)
            elif container.kind == "list" and isinstance(key, int):
                idx = key if key >= 0 else len(container.slots) + key
                if 0 <= idx < len(container.slots):
                    container.slots[str(idx)] = self.slot(target, value).over(container.slots[str(idx)], "replace")
        elif isinstance(target, (ast.Tuple, ast.List)) and value.kind == "list" \
                and len(value.slots) == len(target.elts):
            for t, s in zip(target.elts, value.slots.values()):
                self.assign(t, s.value, stmt)

    def bind(self, container: Node, key: str, value: Node, where: ast.AST, path: str | None) -> None:
        old = container.slots.get(key)
        if self.lazy and path and old is not None:
            self.note_override(path, old, value, where)
        new = self.slot(where, value)
        container.slots[key] = new if old is None else new.over(old, "replace")

    def note_override(self, path: str, old: Slot, value: Node, where: ast.AST) -> None:
        prev = old.value
        if prev.kind != "dict" or value.kind != "dict" or prev is value:
            return
        if prev.src is None or prev.src == self.path:
            return  # replacing this file's own value is ordinary Python, not inheritance
        self.reader.overrides.append(Override(
            key_path=path, file=self.file, line=getattr(where, "lineno", 1),
            base_file=self.reader.shown(prev.src), base_keys=list(prev.slots), base_type=type_of(prev),
            new_keys=list(value.slots), new_type=type_of(value), explicit_delete=value.delete))

    def delete(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            container = self.target_node(target.value)
            key = key_of(target)
            if container is not None and key is not None and container.kind == "dict":
                container.slots.pop(str(key), None)
        elif isinstance(target, ast.Name):
            self.env.slots.pop(target.id, None)

    def target_node(self, expr: ast.AST) -> Node | None:
        """The existing node an assignment target refers to (no copy)."""
        if isinstance(expr, ast.Name):
            s = self.env.slots.get(expr.id)
            if s is None and expr.id == "_base_" and self.base is not None:
                return self.base
            return s.value if s else None
        if isinstance(expr, (ast.Attribute, ast.Subscript)):
            container = self.target_node(expr.value)
            key = key_of(expr)
            if container is None or key is None:
                return None
            return child_of(container, key)
        return None

    def dict_arguments(self, call: ast.Call) -> Node:
        """The dict that ``dict(...)``, ``.update(...)`` or ``.merge(...)`` is given: a positional
        mapping, then ``**mapping`` and keyword arguments in order; ``_delete_`` marks it."""
        out = Node("dict", self.path)
        for arg in call.args[:1]:
            v = self.expr(arg)
            if v.kind == "dict":
                out.slots.update(v.slots)
                out.delete = v.delete
        for kw in call.keywords:
            if kw.arg is None:
                v = self.expr(kw.value)
                if v.kind == "dict":
                    out.slots.update(v.slots)
            elif kw.arg == "_delete_":
                out.delete = truthy(kw.value)
            else:
                out.slots[kw.arg] = self.slot(kw, self.expr(kw.value))
        return out

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
                other = self.dict_arguments(call)
                if name == "merge":
                    if other.delete:
                        target.slots.clear()
                    target.slots = merge_nested(other, target, NODES).slots
                elif target.configdict:
                    update_nested(target, other, NODES)
                else:  # a plain dict's update replaces each key
                    for k, new in other.slots.items():
                        old = target.slots.get(k)
                        target.slots[k] = new if old is None else new.over(old, "replace")
            elif name == "pop" and call.args:
                key = const_key(call.args[0])
                if key is not None:
                    target.slots.pop(str(key), None)
            elif name == "setdefault" and call.args:
                key = const_key(call.args[0])
                if key is not None and str(key) not in target.slots:
                    value = self.expr(call.args[1]) if len(call.args) > 1 else Node("leaf", self.path, const=None)
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
                idx = const_key(call.args[0])
                if isinstance(idx, int):
                    items = list(target.slots.values())
                    items.insert(idx, self.slot(call.args[1], self.expr(call.args[1])))
                    target.slots = {str(i): s for i, s in enumerate(items)}
            elif name == "pop":
                items = list(target.slots.values())
                idx = const_key(call.args[0]) if call.args else -1
                if isinstance(idx, int) and items:
                    try:
                        items.pop(idx)
                    except IndexError:
                        return
                    target.slots = {str(i): s for i, s in enumerate(items)}

    # ---------------------------------------------------------------- expressions
    def expr(self, node: ast.AST) -> Node:
        value = self._expr(node)
        if value.kind == "leaf" and not value.known and value.text is None and value.symbol is None:
            value.text = source_text(node)  # shown where the value cannot be read as a literal
        return value

    def _expr(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                m = _BASE_REF.match(node.value)
                if m:
                    return self.base_ref(m.group(1))
            return Node("leaf", self.path, const=node.value)
        if isinstance(node, ast.Set):
            ref = set_base_ref(node)
            if ref:
                return self.base_ref(ref)
            return Node("leaf", self.path)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Dict):
            out = Node("dict", self.path)
            for k, v in zip(node.keys, node.values):
                if k is None:
                    sub = self.expr(v)
                    if sub.kind == "dict":
                        out.slots.update(sub.slots)
                    continue
                key = const_key(k)
                if key is None:
                    continue
                if key == "_delete_":
                    out.delete = truthy(v)
                    continue
                out.slots[str(key)] = self.slot(k, self.expr(v))
            return out
        if isinstance(node, (ast.List, ast.Tuple)):
            out = Node("list", self.path)
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
                return Node("leaf", self.path, const={"True": True, "False": False, "None": None}[node.id])
            return Node("leaf", self.path, symbol=node.id)
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            container = self.expr(node.value)
            key = key_of(node)
            if key is not None:
                child = child_of(container, key)
                if child is not None:
                    return child
            dotted = dotted_name(node)
            return Node("leaf", self.path, symbol=dotted)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.expr(node.left), self.expr(node.right)
            if left.kind == "list" and right.kind == "list":
                out = Node("list", self.path)
                for s in list(left.slots.values()) + list(right.slots.values()):
                    out.slots[str(len(out.slots))] = s
                return out
            if isinstance(left.const, (int, float, str)) and type(left.const) is type(right.const):
                return Node("leaf", self.path, const=left.const + right.const)
            return Node("leaf", self.path)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            left, right = self.expr(node.left), self.expr(node.right)
            seq, times = (left, right.const) if left.kind == "list" else (right, left.const)
            if seq.kind == "list" and isinstance(times, int) and not isinstance(times, bool) \
                    and 0 <= times * len(seq.slots) <= 10_000:
                out = Node("list", self.path)  # [dict(...)] * 3: one dict, bound three times
                for _ in range(times):
                    for s in seq.slots.values():
                        out.slots[str(len(out.slots))] = s
                return out
            return Node("leaf", self.path)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self.expr(node.operand)
            if isinstance(v.const, (int, float)) and not isinstance(v.const, bool):
                return Node("leaf", self.path, const=-v.const)
            return Node("leaf", self.path)
        if isinstance(node, ast.IfExp):
            return self.expr(node.body)
        return Node("leaf", self.path)

    def call(self, node: ast.Call) -> Node:
        fname = dotted_name(node.func)
        short = fname.split(".")[-1] if fname else None
        if short in ("dict", "ConfigDict") and fname in ("dict", "ConfigDict", "mmengine.ConfigDict",
                                                         "mmengine.config.ConfigDict"):
            return self.dict_arguments(node)
        if short == "deepcopy" and node.args:
            return self.expr(node.args[0]).copy(deep=True)
        if short == "copy" and isinstance(node.func, ast.Attribute) and not node.args:
            return self.expr(node.func.value).copy(deep=False)
        if fname in ("list", "tuple") and len(node.args) == 1:
            v = self.expr(node.args[0])
            if v.kind == "list":
                return v.copy(deep=False)
        return Node("leaf", self.path)

    def base_ref(self, dotted: str) -> Node:
        node = self.base
        for part in dotted.split("."):
            node = child_of(node, part) if node is not None else None
        return node.copy() if node is not None else Node("leaf", self.path)
