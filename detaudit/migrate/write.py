"""Writing a converted config file: what it must say over its (converted) bases, as Python source.

:func:`override` finds the smallest dict that, merged over the bases the way mmengine merges
(dicts key by key, anything else replaced, ``_delete_=True`` to drop inherited keys), gives the
wanted config; :func:`render` prints values the way MMDetection's configs are written.
"""
from __future__ import annotations

import keyword

WIDTH = 100


def override(target: dict, base: dict) -> dict:
    """What a child must write over ``base`` for the merged result to equal ``target``."""
    out = {}
    for key, value in target.items():
        if key not in base:
            out[key] = value
            continue
        old = base[key]
        if isinstance(value, dict) and isinstance(old, (list, tuple)):
            out[key] = {"_delete_": True, **value}  # mmengine merges no dict into a list: it must replace it
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            if any(k not in value for k in old):  # inherited keys that must go
                out[key] = {"_delete_": True, **value}
            else:
                sub = override(value, old)
                if sub:
                    out[key] = sub
        elif not _same(value, old):
            if isinstance(old, dict) and not isinstance(value, dict):
                out[key] = value  # mmengine replaces a dict by a non-dict
            else:
                out[key] = value
    return out


def _same(a, b) -> bool:
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                       and not isinstance(a, bool) and not isinstance(b, bool)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _name_ok(k) -> bool:
    return isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k)


def render(value, indent: int = 0, column: int | None = None) -> str:
    """Python source for a config value, on one line when it fits (from ``column``), else one
    item a line, each nested level four spaces further in than the line it opens on."""
    flat = _flat(value)
    if len(flat) + (indent if column is None else column) <= WIDTH:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict) and value:
        if all(_name_ok(k) for k in value):
            items = [f"{pad}{k}={render(v, indent + 4, indent + 5 + len(k))}" for k, v in value.items()]
            return "dict(\n" + ",\n".join(items) + ")"
        items = [f"{pad}{_flat(k)}: {render(v, indent + 4, indent + 6 + len(_flat(k)))}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, (list, tuple)) and value:
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        items = [f"{pad}{render(v, indent + 4)}" for v in value]
        tail = "," if isinstance(value, tuple) and len(value) == 1 else ""
        return open_ + "\n" + ",\n".join(items) + tail + "\n" + " " * indent + close
    return flat


def _flat(value) -> str:
    if isinstance(value, dict):
        if all(_name_ok(k) for k in value):
            return "dict(" + ", ".join(f"{k}={_flat(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner}, )" if len(value) == 1 else f"({inner})"
    return repr(value)


def module_text(header: str, bases, body: dict, notes: dict[str, list[str]]) -> str:
    """A config file: its leading comments, ``_base_``, then each key (notes as comments above it)."""
    lines = [header.rstrip("\n")] if header.strip() else []
    if bases is not None:
        lines.append(f"_base_ = {render(bases, 0, 9)}")
    for key, value in body.items():
        for note in notes.get(key, []):
            lines.append(f"# detaudit migrate: {note}")
        lines.append(f"{key} = {render(value, 0, len(key) + 3)}")
    return "\n".join(lines) + "\n"
