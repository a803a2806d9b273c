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

Every binding also remembers the one it merged over, replaced or threw away, so the map
holds each key's whole history (:meth:`SourceMap.history`, :mod:`.history`): base files,
the child, ``--cfg-options``, values that ``_delete_`` or a replaced list discarded included.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from . import history as _history
from .nodes import MAX_DEPTH, Node, Override, Slot, SourceLocation, literal_value
from .source_reader import SourceReader

__all__ = ["SourceMap", "SourceLocation", "Override"]

CFG_OPTIONS_STAMP = 1 << 40  # after every statement of every file


# --------------------------------------------------------------------------- the map
class SourceMap:
    def __init__(self) -> None:
        self._where: dict[str, SourceLocation] = {}
        self.files: list[Path] = []
        self.root: Node | None = None
        self.overrides: list[Override] = []
        self.lazy = False
        self.base_line: int | None = None  # the root file's `_base_ = ...` / `with read_base():` line
        self.unresolved: list[tuple[str, str, int]] = []  # (base or module, file, line)
        self._histories: dict[str, list] | None = None

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

    def outermost_key_at(self, file: str, line: int) -> str | None:
        """The outermost key set on this line of this file (shown form), for a stable fingerprint."""
        keys = [k for k, loc in self._where.items() if loc.file == file and loc.line == line]
        return min(keys, key=lambda k: (k.count("."), k)) if keys else None

    def set(self, key_path: str, loc: SourceLocation) -> None:
        self._where[key_path] = loc

    def add_cfg_options(self, options: dict) -> None:
        """``--cfg-options KEY=VALUE`` replaces the value at KEY (and everything under it);
        a dict value merges into a dict, as ``Config.merge_from_dict`` does."""
        loc = SourceLocation(file="<cfg-options>", line=0, origin="cfg-options")
        if self.root is not None:
            for n, (key, value) in enumerate(options.items()):
                _apply_option(self.root, key.split("."), value, loc, CFG_OPTIONS_STAMP + n)
            self._where.clear()
            _flatten(self.root, "", self._where, set(), 0)
            self._histories = None
            return
        for key, value in options.items():  # no tree (the config could not be read): locations only
            prefix = key + "."
            for k in [k for k in self._where if k.startswith(prefix)]:
                del self._where[k]
            self.set(key, loc)
            if isinstance(value, dict):
                for sub in _dict_paths(value, key):
                    self.set(sub, loc)

    # ------------------------------------------------------------------ histories
    def history(self, key_path: str) -> list:
        """Every :class:`~detaudit.load.history.Assignment` of this exact key path, oldest
        first: base files, the child, ``--cfg-options``, discarded values included (empty
        when the map does not know the key)."""
        return list(self.histories().get(key_path, ()))

    def histories(self) -> dict[str, list]:
        if self._histories is None:
            self._histories = _history.histories(self.root) if self.root is not None else {}
        return self._histories

    def type_changes(self) -> list:
        """:class:`~detaudit.load.history.TypeChange` of every dict whose type a later file changed."""
        return _history.type_changes(self.root) if self.root is not None else []

    def replaced_lists(self) -> list:
        """:class:`~detaudit.load.history.ListReplacement` of every list a later binding replaced."""
        return _history.replaced_lists(self.root) if self.root is not None else []

    def literal(self, key_path: str, default=None):
        """The value at ``key_path`` when the syntax tree gives it as literals (strings,
        numbers, dicts, lists); ``default`` otherwise. Works when the config cannot load."""
        node = self._node(key_path)
        if node is None:
            return default
        try:
            return literal_value(node)
        except (ValueError, RecursionError):
            return default

    def subkeys(self, key_path: str) -> list[str] | None:
        node = self._node(key_path)
        return list(node.slots) if node is not None and node.kind == "dict" else None

    def _node(self, key_path: str) -> Node | None:
        node = self.root
        for part in key_path.split("."):
            if node is None or part not in node.slots:
                return None
            node = node.slots[part].value
        return node

    @classmethod
    def from_file(cls, path: str | os.PathLike, display: Callable[[Path], str] = lambda p: str(p)) -> "SourceMap":
        sm = cls()
        reader = SourceReader(sm, display)
        path = Path(path).resolve()
        try:
            sm.root = reader.load(path, stack=())
            sm.lazy = reader.is_lazy.get(path, False)
            sm.base_line = reader.base_lines.get(path)
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


def _value_node(value, loc: SourceLocation, stamp: int) -> Node:
    if isinstance(value, dict):
        node = Node("dict")
        for k, v in value.items():
            node.slots[str(k)] = Slot(loc, _value_node(v, loc, stamp), None, stamp)
        return node
    if isinstance(value, (list, tuple)):
        node = Node("list")
        for i, v in enumerate(value):
            node.slots[str(i)] = Slot(loc, _value_node(v, loc, stamp), None, stamp)
        return node
    return Node("leaf", const=value)


def _apply_option(node: Node, parts: list[str], value, loc: SourceLocation, stamp: int) -> None:
    """One ``--cfg-options`` key over the tree: dicts on the way are entered (or created), list
    items by index; at the end a dict merges key by key and anything else replaces."""
    for depth, part in enumerate(parts[:-1]):
        slot = node.slots.get(part)
        if slot is None or slot.value.kind == "leaf":
            if node.kind != "dict" or depth > MAX_DEPTH:
                return
            new = Slot(loc, Node("dict"), None, stamp)
            node.slots[part] = new if slot is None else new.over(slot, "replace")
        else:  # the tree may share a value between keys (one metainfo dict in three loaders): edit a copy
            node.slots[part] = slot.rebound(slot.value.copy(deep=False))
        node = node.slots[part].value
    last = parts[-1]
    old = node.slots.get(last)
    if node.kind == "list" and old is None:
        return  # mmengine refuses an index past the end (the load reports it)
    if isinstance(value, dict) and old is not None and old.value.kind == "dict":
        node.slots[last] = old.rebound(old.value.copy(deep=False))
        for k, v in value.items():
            _apply_option(node.slots[last].value, [str(k)], v, loc, stamp)
        return
    new = Slot(loc, _value_node(value, loc, stamp), None, stamp)
    node.slots[last] = new if old is None else new.over(old, "replace")


def _dict_paths(d: dict, prefix: str):
    for k, v in d.items():
        yield f"{prefix}.{k}"
        if isinstance(v, dict):
            yield from _dict_paths(v, f"{prefix}.{k}")


def _flatten(node: Node, prefix: str, out: dict, active: set, depth: int) -> None:
    if depth > MAX_DEPTH or id(node) in active:
        return
    active.add(id(node))
    for k, slot in node.slots.items():
        if depth == 0 and (slot.value.dropped or k.startswith("__")):
            continue
        path = f"{prefix}.{k}" if prefix else k
        out[path] = slot.loc
        _flatten(slot.value, path, out, active, depth + 1)
    active.discard(id(node))
