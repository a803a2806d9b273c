"""The source map's values: a config value as far as a syntax tree tells (a dict, a list or
a leaf), each binding with the file and line that wrote it; and the small syntax helpers
that both readers of config text (the source map's and ``--no-exec``'s) share."""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_UNKNOWN = object()
MAX_DEPTH = 64


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


# --------------------------------------------------------------------------- value model
class Node:
    """A config value as far as the syntax tree tells: a dict, a list or a leaf."""

    __slots__ = ("kind", "slots", "delete", "const", "symbol", "src", "configdict", "dropped", "text")

    def __init__(self, kind: str, src: Path | None = None, const: Any = _UNKNOWN, symbol: str | None = None,
                 text: str | None = None):
        self.kind = kind                      # "dict" | "list" | "leaf"
        self.slots: dict[str, Slot] = {}
        self.delete = False                   # dict(_delete_=True, ...)
        self.const = const                    # the literal value of a leaf, if it is one
        self.symbol = symbol                  # a name the leaf refers to (an imported class...)
        self.src = src                        # file the value was written in
        self.configdict = False               # came out of a loaded config (ConfigDict semantics)
        self.dropped = False                  # a module/function/import: not part of the config
        self.text = text                      # the source of a leaf that is not a literal, for display

    @property
    def known(self) -> bool:
        """Whether the leaf's literal value is known."""
        return self.const is not _UNKNOWN

    def copy(self, deep: bool = True) -> "Node":
        return copy_node(self, deep, {})


def copy_node(node: Node, deep: bool, memo: dict) -> Node:
    if id(node) in memo:
        return memo[id(node)]
    new = Node(node.kind, node.src, node.const, node.symbol, node.text)
    memo[id(node)] = new
    new.delete, new.configdict, new.dropped = node.delete, node.configdict, node.dropped
    for k, s in node.slots.items():
        new.slots[k] = s.rebound(copy_node(s.value, deep, memo) if deep else s.value)
    return new


class Slot:
    """A key bound to a value, where that binding was written, and what it took the place of.

    ``prior`` is the binding this one replaced or merged over (None for the first), ``how``
    says what became of the prior one: ``"merge"`` (a dict merged into it, its keys live on),
    ``"replace"`` (a new value took its place), ``"delete"`` (a dict with ``_delete_=True``
    threw it away). ``stamp`` orders bindings: every statement of every file gets the next
    number as the files are read (bases first), ``--cfg-options`` come last; bindings made
    by one statement share it."""

    __slots__ = ("loc", "value", "src", "prior", "how", "stamp")

    def __init__(self, loc: SourceLocation, value: Node, src: Path | None, stamp: int = 0,
                 prior: "Slot | None" = None, how: str | None = None):
        self.loc = loc
        self.value = value
        self.src = src
        self.stamp = stamp
        self.prior = prior
        self.how = how

    def rebound(self, value: Node) -> "Slot":
        """The same binding holding another value (a copy or a merged dict)."""
        return Slot(self.loc, value, self.src, self.stamp, self.prior, self.how)

    def over(self, old: "Slot", how: str) -> "Slot":
        """This binding, recorded as having taken the place of ``old`` (``how``: merge,
        replace, delete). A binding that already replaced another in its own file (a name
        assigned twice) keeps that, with ``old`` under the earliest one."""
        if self.prior is None:
            return Slot(self.loc, self.value, self.src, self.stamp, old, how)
        return Slot(self.loc, self.value, self.src, self.stamp, self.prior.over(old, how), self.how)

    def chain(self) -> list["Slot"]:
        """Every binding at this key, oldest first, this one last."""
        out, slot, seen = [], self, set()
        while slot is not None and id(slot) not in seen and len(out) < MAX_DEPTH:
            seen.add(id(slot))
            out.append(slot)
            slot = slot.prior
        return out[::-1]


def mark_configdict(node: Node, seen=None) -> None:
    seen = seen if seen is not None else set()
    if id(node) in seen:
        return
    seen.add(id(node))
    if node.kind == "dict":
        node.configdict = True
    for s in node.slots.values():
        mark_configdict(s.value, seen)


def type_of(node: Node) -> Any:
    slot = node.slots.get("type") if node.kind == "dict" else None
    if slot is None:
        return None
    v = slot.value
    if v.const is not _UNKNOWN:
        return v.const
    return v.symbol


def literal_value(node: Node, depth: int = 0):
    if depth > MAX_DEPTH:
        raise ValueError("too deep")
    if node.kind == "dict":
        return {k: literal_value(s.value, depth + 1) for k, s in node.slots.items()}
    if node.kind == "list":
        return [literal_value(s.value, depth + 1) for s in node.slots.values()]
    if node.const is _UNKNOWN:
        raise ValueError("not a literal")
    return node.const


class NodeModel:
    """How :mod:`detaudit.load.bases` looks into value trees: a dict holds slots (a value and
    where it was written); a merged dict keeps the location of the child's slot."""

    def is_dict(self, entry):
        return entry.value.kind == "dict"

    def items(self, d):
        return list(d.slots.items())

    def get(self, d, key):
        return d.slots.get(key)

    def put(self, d, key, entry):
        d.slots[key] = entry

    def copy(self, d):
        out = Node("dict", d.src)
        out.configdict = d.configdict
        out.slots = dict(d.slots)
        return out

    def clear(self, d):
        d.slots.clear()

    def take_delete(self, entry):
        if not entry.value.delete:
            return entry, False
        value = entry.value.copy(deep=False)
        value.delete = False
        return entry.rebound(value), True

    def dict_of(self, entry):
        return entry.value

    def with_dict(self, entry, d):
        d.src = entry.value.src
        return entry.rebound(d)

    def record(self, entry, old, how):
        return entry.over(old, how)

    def type_name(self, entry):
        return {"dict": "dict", "list": "list"}.get(entry.value.kind, type(entry.value.const).__name__
                                                    if entry.value.const is not _UNKNOWN else "value")


NODES = NodeModel()


# --------------------------------------------------------------------------- helpers
def child_of(node: Node | None, key) -> Node | None:
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




def const_key(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, int):
        return -node.operand.value
    return None


def key_of(node: ast.AST):
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return const_key(node.slice)
    return None


def truthy(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)




def dotted_name(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def set_base_ref(node: ast.Set) -> str | None:
    """``{{_base_.a.b}}`` parses as a set holding a set holding ``_base_.a.b``."""
    if len(node.elts) == 1 and isinstance(node.elts[0], ast.Set) and len(node.elts[0].elts) == 1:
        dotted = dotted_name(node.elts[0].elts[0])
        if dotted and dotted.startswith("_base_."):
            return dotted[len("_base_."):]
    return None


def target_path(node: ast.AST) -> str | None:
    keys = []
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        key = key_of(node)
        if key is None:
            return None
        keys.append(str(key))
        node = node.value
    if isinstance(node, ast.Name) and keys:
        if node.id == "_base_":
            return ".".join(keys[::-1])
        return ".".join([node.id] + keys[::-1])
    return None

def as_load(target: ast.AST) -> ast.AST:
    """An assignment target re-read as an expression (for ``x += ...``)."""
    node = copy.copy(target)
    node.ctx = ast.Load()
    return node




def target_name(node: ast.stmt) -> str | None:
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    for t in targets:
        if isinstance(t, ast.Name):
            return t.id
        dotted = dotted_name(t)
        if dotted:
            return dotted
    return None


def assigned_names(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
            names.add(sub.name)
    return names


def source_text(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - only used for messages
        return type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."
