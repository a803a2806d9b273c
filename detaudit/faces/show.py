"""``detaudit show CONFIG [KEY ...]``: where each value of a config comes from.

For each key (or every key of the config) it prints the value the config ends with and every
assignment that produced it, in order: the base files, the child, ``--cfg-options``,
including values that ``_delete_=True``, a replaced list or a replaced dict threw away. The
config is loaded as training loads it (``--no-exec``: read as data, nothing executed); no
model is built. Text, or ``--format json``.
"""
from __future__ import annotations

import json
import os
from typing import Any

from ..load.history import Assignment, KeyHistory
from ..load.paths import config_ref

SCHEMA = "detaudit-show/1"
VALUE_WIDTH = 100


def where(a: Assignment) -> str:
    if a.origin == "cfg-options":
        return "--cfg-options"
    return f"{config_ref(a.file)}:{a.line}" if a.line else config_ref(a.file)


def _plain(value: Any, depth: int = 0) -> Any:
    """A loaded config value as plain data (ConfigDicts as dicts, classes by name)."""
    if depth > 32:
        return "..."
    if hasattr(value, "items") and hasattr(value, "keys"):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    return f"<{getattr(value, '__module__', '')}.{name}>" if name else repr(value)


def _short(text: str, width: int = VALUE_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


class ShowResult:
    """What ``show`` found: per key, its loaded value and its assignments."""

    def __init__(self, config: str, history: KeyHistory, loaded, load_error: str | None):
        self.config = config
        self.history = history
        self.loaded = loaded           # the AuditContext when the config loaded, else None
        self.load_error = load_error
        self.missing: list[str] = []

    def value(self, key: str):
        """(present, value) in the loaded config."""
        if self.loaded is None:
            return False, None
        absent = object()
        value = self.loaded.config_value(key, absent)
        return (value is not absent), (None if value is absent else value)

    def paths(self, keys: list[str]) -> list[str]:
        """The key paths to show: each key and the values under it (or every key), leaves only
        below a requested key; keys nothing assigned are remembered as missing."""
        if not keys:
            return [p for p in self.history.paths() if self._leaf(p)]
        out = []
        for key in keys:
            under = self.history.paths(key)
            present, _ = self.value(key)
            if not under and not present:
                self.missing.append(key)
                continue
            out.append(key)
            out += [p for p in under if p != key and self._leaf(p)]
        return list(dict.fromkeys(out))

    def _leaf(self, path: str) -> bool:
        """Whether a path is shown on a line of its own: a scalar (not inside a list of scalars),
        a list of scalars, or an empty dict or list."""
        kind = self._kind(path)
        parent = path.rpartition(".")[0]
        if kind == "value":
            return not (parent and self._kind(parent) == "list" and self._scalar_list(parent))
        children = self._children(path)
        return not children or (kind == "list" and self._scalar_list(path))

    def _kind(self, path: str) -> str | None:
        items = self.history.of(path)
        return items[-1].kind if items else None

    def _children(self, path: str) -> list[str]:
        prefix = path + "."
        return [p for p in self.history.paths(path) if p.startswith(prefix) and "." not in p[len(prefix):]]

    def _scalar_list(self, path: str) -> bool:
        return all(self._kind(c) == "value" for c in self._children(path))


def show(config: str, keys: list[str], *, cfg_options: dict | None = None, no_exec: bool = False,
         base_dir: str | os.PathLike | None = None) -> ShowResult:
    from ..errors import FactUnavailable
    from ..facts.context import AuditContext

    ctx = AuditContext(config, cfg_options=cfg_options, tier="static", base_dir=base_dir, no_exec=no_exec)
    history = ctx.key_history
    try:
        ctx.cfg
        loaded, error = ctx, None
    except FactUnavailable as exc:
        loaded, error = None, exc.reason
    return ShowResult(ctx.display_path, history, loaded, error)


def render_text(result: ShowResult, keys: list[str]) -> str:
    lines = []
    if result.load_error:
        lines.append(f"# {result.config}: {result.load_error}; values below are as the files write them")
    for path in result.paths(keys):
        lines += _key_text(result, path)
    for key in result.missing:
        lines.append(f"{key}: no such key in {result.config} or in any file it inherits from")
    return "\n".join(lines) + ("\n" if lines else "")


def _key_text(result: ShowResult, path: str) -> list[str]:
    items = result.history.of(path)
    present, value = result.value(path)
    final = next((i for i in range(len(items) - 1, -1, -1) if items[i].status == "set"), None)
    shown = _short(repr(_plain(value))) if present else (items[final].text if final is not None else None)
    if final is None:
        head = f"{path}  (not in the config)"
        rest = items
    else:
        a = items[final]
        before = items[final - 1] if final > 0 else None
        if before is None:
            note = "overrides nothing"
        elif before.status == "merged":
            note = f"merged over {before.text} <- {where(before)}"
        elif before.status == "discarded":
            note = f"after {before.text} <- {where(before)} was discarded ({before.reason})"
        else:
            note = f"overrides {before.text} <- {where(before)}"
        head = f"{path} = {shown}  <- {where(a)} ({note})"
        rest = items[:max(final - 1, 0)] + items[final + 1:]
    out = [head]
    for a in rest:
        out.append(f"    {a.text}  <- {where(a)} ({_status(a)})")
    return out


def _status(a: Assignment) -> str:
    by = f" by {where_loc(a.by)}" if a.by is not None else ""
    if a.status == "discarded":
        return f"discarded{by}" + (f": {a.reason}" if a.reason else "")
    if a.status == "merged":
        return f"merged into{by}"
    if a.status == "overridden":
        return f"overridden{by}"
    return a.status


def where_loc(loc) -> str:
    if loc.origin == "cfg-options":
        return "--cfg-options"
    return f"{config_ref(loc.file)}:{loc.line}" if loc.line else config_ref(loc.file)


def render_json(result: ShowResult, keys: list[str]) -> str:
    out = []
    for path in result.paths(keys):
        present, value = result.value(path)
        items = result.history.of(path)
        entry = {"key": path, "present": present if result.loaded is not None else None,
                 "assignments": [dict(a.to_dict(), ref=where(a)) for a in items]}
        if present:
            entry["value"] = _plain(value)
        out.append(entry)
    data = {"schema": SCHEMA, "config": result.config, "loaded": result.loaded is not None,
            "load_error": result.load_error, "keys": out, "missing": result.missing}
    return json.dumps(data, indent=2, default=str) + "\n"
