"""Evaluating a config's statements as data, for the ``--no-exec`` reader.

A small interpreter that knows only data: literals, ``dict()`` / ``list()`` / ``tuple()``
calls, names assigned earlier, arithmetic and string concatenation on such values,
subscripts, ``{{_base_.x}}`` and ``_base_.x`` references, ``x.update(...)`` /
``x.append(...)`` on known values, simple comprehensions and a few pure builtins
(``range``, ``len``, ``min``...). Whatever falls outside raises :class:`Unreadable`, which
the reader turns into an issue for that statement; nothing is imported or called.
"""
from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bases import BASE_KEY, PLAIN, update_nested
from .nodes import as_load, assigned_names, dotted_name, source_text, target_name

if TYPE_CHECKING:
    from .static_reader import StaticReader

MAX_SEQUENCE = 100_000               # largest list/str a static expression may build
MAX_INT_BITS = 4096                  # largest integer a static expression may build
MAX_STEPS = 2_000_000                # expression nodes evaluated per file

_BASE_REF = re.compile(r"^\s*\{\{\s*_base_\.([\w.]+)\s*\}\}\s*$")
_PREDEFINED = re.compile(r"\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}")
_ENV_VAR = re.compile(r"\{\{['\"]?\s*\$(\w+)\s*:\s*(\S*?)\s*['\"]?\}\}")


class ImportedName(str):
    """A name a config imports (``from mmdet.models import RetinaNet``), kept as its dotted
    path: mmengine would hand it to the registry as a lazy object; here it stays a string."""


class Unreadable(Exception):
    """An expression outside the readable subset (caught per statement)."""

    def __init__(self, message: str, node: ast.AST | None = None):
        super().__init__(message)
        self.node = node


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


class Env:
    def __init__(self, reader: StaticReader, path: Path, *, lazy: bool):
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
            except Unreadable as exc:
                where = exc.node if exc.node is not None and hasattr(exc.node, "lineno") else node
                self.issue(where, exc.args[0], target_name(node))
            except (RecursionError, MemoryError, OverflowError, ZeroDivisionError, TypeError, ValueError,
                    KeyError, IndexError, AttributeError) as exc:
                self.issue(node, f"{type(exc).__name__} while reading statically: {exc}", target_name(node))

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
            current = self.expr(as_load(node.target))
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise Unreadable(f"operator {type(node.op).__name__} is not statically readable", node)
            self.assign(node.target, self._guard(op(current, self.expr(node.value)), node))
        elif isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                return  # a docstring or a bare literal
            if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
                    and node.value.func.attr in _MUTATORS:
                self.mutate(node.value)
                return
            raise Unreadable(f"expression statement `{source_text(node)}` is not statically readable "
                              "(it would run code)", node)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete(target)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    raise Unreadable(f"`from {node.module} import *` is not statically readable", node)
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
            raise Unreadable(f"definition of `{node.name}` is code, not data: not executed", node)
        else:
            kind = type(node).__name__.lower()
            assigned = sorted(assigned_names(node))
            for name in assigned:
                self.names.pop(name, None)
            what = f" (assigns {', '.join(assigned)})" if assigned else ""
            raise Unreadable(f"`{kind}` statement is not statically readable{what}", node)

    def assign(self, target: ast.AST, value) -> None:
        if isinstance(target, ast.Name):
            self.names[target.id] = value
            self.imported.discard(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(value)
            if len(items) != len(target.elts):
                raise Unreadable("unpacking with the wrong number of values", target)
            for t, v in zip(target.elts, items):
                self.assign(t, v)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            container = self.expr(target.value)
            if isinstance(target, ast.Attribute):
                if not isinstance(container, dict):
                    raise Unreadable(f"cannot set attribute `{target.attr}` on a {type(container).__name__}", target)
                container[target.attr] = value
            else:
                key = self.expr(target.slice)
                if not isinstance(container, (dict, list)):
                    raise Unreadable(f"cannot set an item on a {type(container).__name__}", target)
                container[key] = value
        else:
            raise Unreadable(f"assignment target `{source_text(target)}` is not statically readable", target)

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
        raise Unreadable(f"`del {source_text(target)}` is not statically readable", target)

    def mutate(self, call: ast.Call) -> None:
        target = self.expr(call.func.value)
        method = call.func.attr
        args = [self.expr(a) for a in call.args if not isinstance(a, ast.Starred)]
        kwargs = self._keywords(call)
        if any(isinstance(a, ast.Starred) for a in call.args):
            raise Unreadable("starred arguments are not statically readable", call)
        if isinstance(target, dict) and method in ("update", "pop", "setdefault", "clear"):
            if method == "update":
                other = dict(*args, **kwargs) if args or kwargs else {}
                if self.lazy:
                    update_nested(target, other, PLAIN)
                else:
                    target.update(other)
            else:
                getattr(target, method)(*args, **kwargs)
        elif isinstance(target, list) and method in ("append", "extend", "insert", "pop", "remove", "clear"):
            getattr(target, method)(*args, **kwargs)
            if len(target) > MAX_SEQUENCE:
                raise Unreadable("list grows beyond the static reading limit", call)
        else:
            raise Unreadable(f"`.{method}()` on a {type(target).__name__} is not statically readable", call)

    # ------------------------------------------------------------------ expressions
    def expr(self, node: ast.AST):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Unreadable("expression too costly to read statically", node)
        method = getattr(self, f"e_{type(node).__name__}", None)
        if method is None:
            raise Unreadable(f"`{source_text(node)}` ({type(node).__name__}) is not statically readable", node)
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
                    raise Unreadable("f-string of a non-data value", node)
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
            dotted = dotted_name(node.elts[0].elts[0])
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
                    raise Unreadable("** of a non-dict", v)
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
        raise Unreadable(f"name `{node.id}` is not defined by a statically readable assignment", node)

    def e_Attribute(self, node: ast.Attribute):
        dotted = dotted_name(node)
        if dotted and dotted.startswith(BASE_KEY + ".") and not self.lazy:
            return self._base_lookup(dotted[len(BASE_KEY) + 1:], node)
        value = self.expr(node.value)
        if isinstance(value, ImportedName):
            return ImportedName(f"{value}.{node.attr}")
        if isinstance(value, dict):
            if node.attr in value:
                return value[node.attr]
            raise Unreadable(f"key `{node.attr}` is not set", node)
        raise Unreadable(f"attribute `{node.attr}` of a {type(value).__name__} is not statically readable", node)

    def e_Subscript(self, node: ast.Subscript):
        value = self.expr(node.value)
        key = self.expr(node.slice)
        if not isinstance(value, (dict, list, tuple, str)):
            raise Unreadable(f"subscript of a {type(value).__name__} is not statically readable", node)
        return value[key]

    def e_Slice(self, node: ast.Slice):
        return slice(*(self.expr(p) if p is not None else None for p in (node.lower, node.upper, node.step)))

    def e_BinOp(self, node: ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise Unreadable(f"operator {type(node.op).__name__} is not statically readable", node)
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * max(1, abs(left).bit_length()) > MAX_INT_BITS:
                raise Unreadable("integer power too large to read statically", node)
        if isinstance(node.op, ast.Mult):
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple, bytes)) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
                    raise Unreadable("sequence repetition too large to read statically", node)
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            raise Unreadable("%-formatting is not statically readable", node)
        return self._guard(op(left, right), node)

    def e_UnaryOp(self, node: ast.UnaryOp):
        value = self.expr(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        if isinstance(node.op, ast.Not):
            return not value
        raise Unreadable("operator ~ is not statically readable", node)

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
            raise Unreadable(f"call to `{node.func.id}()`, code defined in the config, is not executed", node)
        func = self.expr(node.func) if not isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Attribute):
            raise Unreadable(f"call to `{source_text(node.func)}()` is not statically readable (it would run code)",
                              node)
        if isinstance(func, ImportedName):
            raise Unreadable(f"call to imported `{func}()` is not statically readable (it would run code)", node)
        if not any(func is b for b in _BUILTINS.values()):
            raise Unreadable(f"call to `{source_text(node.func)}()` is not statically readable", node)
        args = self._elements(node.args)
        kwargs = self._keywords(node)
        if func is range:
            r = range(*args)
            if len(r) > MAX_SEQUENCE:
                raise Unreadable("range too large to read statically", node)
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
                    raise Unreadable("** of a non-dict", kw.value)
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
            raise Unreadable("comprehension over a non-data iterable", gen.iter)
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
                            raise Unreadable("comprehension too large to read statically", gen.iter)
                        yield produce()
        finally:
            self.locals.pop()

    def _bind(self, target, value, scope: dict) -> None:
        if isinstance(target, ast.Name):
            scope[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(value)
            if len(items) != len(target.elts):
                raise Unreadable("unpacking with the wrong number of values", target)
            for t, v in zip(target.elts, items):
                self._bind(t, v, scope)
        else:
            raise Unreadable("comprehension target is not statically readable", target)

    # ------------------------------------------------------------------ helpers
    def _base_lookup(self, dotted: str, node):
        value = self.names.get(BASE_KEY, {})
        for part in dotted.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise Unreadable(f"_base_.{dotted} is not set by the base configs", node)
        return value  # a reference, as in mmengine: changing it changes the base

    def _guard(self, value, node):
        if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_SEQUENCE:
            raise Unreadable("value too large to read statically", node)
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
            raise Unreadable("integer too large to read statically", node)
        if isinstance(value, float) and math.isnan(value):
            return value
        return value
