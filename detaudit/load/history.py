"""Every assignment behind every key: the source map's bindings read as a history.

A key's value is the last of a chain of bindings (:class:`~detaudit.load.nodes.Slot`): the
base files' values, the child's, ``--cfg-options``, each one merged over, replaced by or
thrown away by the next. This module turns the chains of a read config into

* :class:`Assignment` lists per key path, oldest first, including the values that a
  ``_delete_=True``, a replaced list or a replaced dict threw away (keys that are no longer in
  the config keep their history);
* :class:`TypeChange`: dicts whose ``type`` a later file changed while keys written for the
  earlier type stayed in the dict (mmengine merges dicts key by key, so only ``_delete_=True``
  starts the dict afresh);
* :class:`ListReplacement`: lists of dicts that a later file replaced whole (mmengine never
  merges lists), with the keys of the elements on both sides.

How values merge is decided once, in :mod:`detaudit.load.bases`; this module only reads
what the merge recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from .nodes import MAX_DEPTH, Node, Slot, SourceLocation, literal_value, type_of

# What a later binding did to an earlier one, as a status of the earlier one.
_STATUS = {"merge": "merged", "replace": "overridden", "delete": "discarded"}


@dataclass(frozen=True)
class Assignment:
    """One binding of one key path."""

    key_path: str
    file: str
    line: int
    column: int
    origin: str             # "config" or "cfg-options"
    kind: str               # "dict", "list" or "value"
    value: Any              # the value written, when the syntax tree gives it as literals
    literal: bool           # whether ``value`` is that literal (else see ``text``)
    text: str               # the value as shown: a literal's repr, or the source of the expression
    status: str             # "set" (the value the config ends with), "merged" (a later dict merged into
    #                         it: its keys live on), "overridden" (a later value took its place) or
    #                         "discarded" (thrown away with the dict or list that held it)
    by: SourceLocation | None = None   # the binding that merged over, overrode or discarded it
    reason: str | None = None          # why it was discarded: "_delete_=True", "list replaced", "replaced"
    stamp: int = 0                     # order of the statements that wrote the bindings

    @property
    def where(self) -> str:
        return self.file if self.origin == "cfg-options" else f"{self.file}:{self.line}"

    def to_dict(self) -> dict:
        out = {"file": self.file, "line": self.line or None, "column": self.column or None, "origin": self.origin,
               "kind": self.kind, "text": self.text, "status": self.status}
        if self.literal:
            out["value"] = self.value
        if self.by is not None:
            out["by"] = {"file": self.by.file, "line": self.by.line or None}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class TypeChange:
    """A dict whose ``type`` changed while keys written for the earlier type stayed in it."""

    key_path: str
    old_type: Any
    old_loc: SourceLocation          # where the earlier type was written
    new_type: Any
    new_loc: SourceLocation          # where the type was changed
    kept: dict[str, SourceLocation] = field(default_factory=dict)   # key -> where it was written
    kept_values: dict[str, str] = field(default_factory=dict)       # key -> its value as shown


@dataclass
class Element:
    """One dict of a list: its type, its keys, where it was written."""

    type: Any
    keys: list[str]
    loc: SourceLocation | None
    values: dict[str, Any] = field(default_factory=dict)  # key -> value, for the keys written as literals


@dataclass
class ListReplacement:
    """A list of dicts that a later binding replaced whole."""

    key_path: str
    loc: SourceLocation              # where the list was replaced
    old_loc: SourceLocation          # where the replaced list was written
    old: list[Element]
    new: list[Element]


# --------------------------------------------------------------------------- values as shown
def shown(node: Node, limit: int = 80) -> str:
    """A value as a reader would write it: the literal's repr, else the source of the expression."""
    try:
        text = repr(literal_value(node))
    except (ValueError, RecursionError):
        if node.kind == "dict":
            t = type_of(node)
            text = f"dict(type={t!r}, ...)" if t is not None else "dict(...)"
        elif node.kind == "list":
            text = f"[...{len(node.slots)} item(s)]"
        else:
            text = node.text or node.symbol or "<not a literal>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _literal(node: Node) -> tuple[Any, bool]:
    try:
        return literal_value(node), True
    except (ValueError, RecursionError):
        return None, False


def _assignment(path: str, slot: Slot, status: str, by: SourceLocation | None, reason: str | None) -> Assignment:
    node = slot.value
    value, literal = _literal(node)
    kind = {"dict": "dict", "list": "list"}.get(node.kind, "value")
    return Assignment(path, slot.loc.file, slot.loc.line, slot.loc.column, slot.loc.origin, kind, value, literal,
                      shown(node), status, by, reason, slot.stamp)


# --------------------------------------------------------------------------- histories
def top_level(root: Node) -> Iterator[tuple[str, Slot]]:
    """The config's own keys (not imported modules, functions or dunder names)."""
    for k, slot in root.slots.items():
        if not (slot.value.dropped or k.startswith("__")):
            yield k, slot


def histories(root: Node) -> dict[str, list[Assignment]]:
    """Key path -> its assignments, oldest first (the last one ``set`` when the key is in the
    config), including the keys of values that were thrown away."""
    out: dict[str, list[Assignment]] = {}
    active: set[int] = set()
    for k, slot in top_level(root):
        _key(k, slot, out, active, None, 1)
    for items in out.values():
        items.sort(key=lambda a: a.stamp)
    return out


def _key(path: str, slot: Slot, out: dict, active: set, discard, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    chain = slot.chain()
    for i, s in enumerate(chain):
        nxt = chain[i + 1] if i + 1 < len(chain) else None
        if nxt is None:
            status, by, reason = ("set", None, None) if discard is None else ("discarded", *discard)
        else:
            status, by = _STATUS.get(nxt.how, "overridden"), nxt.loc
            reason = "_delete_=True" if nxt.how == "delete" else None
        out.setdefault(path, []).append(_assignment(path, s, status, by, reason))
        if nxt is not None and nxt.how in ("replace", "delete") and s.value.kind in ("dict", "list"):
            why = "_delete_=True" if nxt.how == "delete" else (
                "list replaced" if s.value.kind == "list" else "replaced")
            _children(path, s.value, out, active, (nxt.loc, why), depth + 1)
    _children(path, slot.value, out, active, discard, depth + 1)


def _children(path: str, node: Node, out: dict, active: set, discard, depth: int) -> None:
    if id(node) in active or depth > MAX_DEPTH:
        return
    active.add(id(node))
    for k, slot in node.slots.items():
        _key(f"{path}.{k}", slot, out, active, discard, depth)
    active.discard(id(node))


# --------------------------------------------------------------------------- type changes
def _type_key(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).split(".")[-1]


def _type_value(slot: Slot) -> Any:
    v = slot.value
    if v.known:
        return v.const
    return v.symbol


def dict_nodes(root: Node) -> Iterator[tuple[str, Node]]:
    """(key path, dict node) of every dict the config ends with (each shared node once per path)."""
    stack = [(k, slot.value, 1) for k, slot in top_level(root)]
    while stack:
        path, node, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        if node.kind == "dict":
            yield path, node
        for k, slot in node.slots.items():
            stack.append((f"{path}.{k}", slot.value, depth + 1))


def type_changes(root: Node) -> list[TypeChange]:
    out = []
    for path, node in dict_nodes(root):
        slot = node.slots.get("type")
        if slot is None:
            continue
        chain = slot.chain()
        i = len(chain) - 1
        while i > 0 and _type_key(_type_value(chain[i - 1])) == _type_key(_type_value(chain[i])):
            i -= 1  # the same type written again: the change (if any) is further back
        if i == 0:
            continue
        new, old = chain[i], chain[i - 1]
        if _type_key(_type_value(old)) is None or _type_key(_type_value(new)) is None:
            continue
        kept = {k: s.loc for k, s in node.slots.items()
                if k not in ("type", "_scope_") and s.stamp < new.stamp}
        out.append(TypeChange(path, _type_value(old), old.loc, _type_value(new), new.loc, kept,
                              {k: shown(node.slots[k].value, 40) for k in kept}))
    return sorted(out, key=lambda c: c.key_path)


# --------------------------------------------------------------------------- replaced lists
def _element(node: Node, loc: SourceLocation | None) -> Element:
    if node.kind != "dict":
        return Element(None, [], loc)
    values = {}
    for k, slot in node.slots.items():
        value, literal = _literal(slot.value)
        if literal:
            values[k] = value
    return Element(type_of(node), list(node.slots), loc, values)


def replaced_lists(root: Node) -> list[ListReplacement]:
    out = []
    seen = set()
    stack = [(k, slot, 1) for k, slot in top_level(root)]
    while stack:
        path, slot, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        chain = slot.chain()
        if len(chain) >= 2 and chain[-1].how == "replace" and chain[-1].value.kind == "list" \
                and chain[-2].value.kind == "list" and path not in seen:
            seen.add(path)
            old, new = chain[-2], chain[-1]
            out.append(ListReplacement(
                path, new.loc, old.loc,
                [_element(s.value, s.loc) for s in old.value.slots.values()],
                [_element(s.value, s.loc) for s in new.value.slots.values()]))
        for k, sub in slot.value.slots.items():
            stack.append((f"{path}.{k}", sub, depth + 1))
    return sorted(out, key=lambda r: r.key_path)


class KeyHistory:
    """Key path -> its assignments, oldest first (the ``key_history`` fact and ``detaudit show``)."""

    def __init__(self, by_path: dict[str, list[Assignment]]):
        self._by_path = by_path

    def of(self, key_path: str) -> list[Assignment]:
        """Every assignment of this exact key path, oldest first (empty when none is known)."""
        return list(self._by_path.get(key_path, ()))

    def paths(self, under: str | None = None) -> list[str]:
        """Every key path with a history (``under`` and the paths below it, when given), in
        config order; keys that were discarded are included."""
        if not under:
            return list(self._by_path)
        prefix = under + "."
        return [p for p in self._by_path if p == under or p.startswith(prefix)]

    def final(self, key_path: str) -> Assignment | None:
        """The assignment that set the value the config ends with, or None."""
        items = self._by_path.get(key_path, ())
        return next((a for a in reversed(items) if a.status == "set"), None)

    def origins(self, key_path: str) -> dict[str, Assignment]:
        """Each key of the dict at ``key_path`` -> the assignment that set it (which base
        file:line each key of a merged dict comes from)."""
        prefix = key_path + "."
        out = {}
        for path in self.paths(key_path):
            rest = path[len(prefix):] if path.startswith(prefix) else ""
            if rest and "." not in rest:
                a = self.final(path)
                if a is not None:
                    out[rest] = a
        return out

    def __len__(self) -> int:
        return len(self._by_path)
