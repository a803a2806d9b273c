"""Fixes a rule attaches to what it saw: key-level edits of the merged config, with an applicability.

A rule says *what* the merged config should become (set key K to V, rename the last part of K,
delete K, start the dict at K afresh with ``_delete_=True``, drop codes from a suppression
comment); ``detaudit --fix`` (:mod:`detaudit.fix`) finds the file and the line that own each key
and edits the syntax tree there, keeping comments and formatting.

Applicability, as ruff's:

- ``safe``: afterwards the merged config differs only at the keys the edits name, and says what
  it should; ``detaudit --fix`` applies it;
- ``unsafe``: changes behaviour in a way the user must review (a value chosen for them, a base
  file other configs inherit); applied with ``--unsafe-fixes``;
- ``display-only``: a suggested edit that is printed, never applied.

Values are carried as Python source text (:func:`source`), so a fix crosses the worker's JSON
unchanged and a tuple stays a tuple.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any

SAFE, UNSAFE, DISPLAY_ONLY = "safe", "unsafe", "display-only"
APPLICABILITIES = (SAFE, UNSAFE, DISPLAY_ONLY)


@dataclass
class Autofix:
    applicability: str
    description: str
    edits: list[dict[str, Any]] = field(default_factory=list)
    also: list[str] = field(default_factory=list)   # keys that change with the edited ones (one dict under two keys)

    def __post_init__(self) -> None:
        if self.applicability not in APPLICABILITIES:
            raise ValueError(f"applicability {self.applicability!r} not in {APPLICABILITIES}")

    def to_dict(self) -> dict[str, Any]:
        return {"applicability": self.applicability, "description": self.description, "edits": list(self.edits),
                "also": list(self.also)}


class NotLiteral(ValueError):
    """A value that has no Python source form a config could hold (a class, a function)."""


def source(value: Any) -> str:
    """Python source of a config value: ``dict(a=1)`` for dicts whose keys are names, literals
    otherwise; a one-element tuple keeps its comma."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and value != value:
            raise NotLiteral("nan")
        return repr(value)
    if hasattr(value, "keys") and hasattr(value, "items"):
        items = list(value.items())
        if all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k, _ in items):
            return "dict(" + ", ".join(f"{k}={source(v)}" for k, v in items) + ")"
        return "{" + ", ".join(f"{source(k)}: {source(v)}" for k, v in items) + "}"
    if isinstance(value, tuple):
        inner = ", ".join(source(v) for v in value)
        return f"({inner}, )" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(source(v) for v in value) + "]"
    raise NotLiteral(type(value).__name__)


def set_key(key: str, value: Any) -> dict[str, Any]:
    """Set ``key`` of the merged config to ``value``."""
    return {"op": "set", "key": key, "value": source(value)}


def rename_key(key: str, to: str) -> dict[str, Any]:
    """Rename the last part of ``key`` to ``to``, keeping its value."""
    return {"op": "rename", "key": key, "to": to}


def delete_key(key: str) -> dict[str, Any]:
    return {"op": "delete", "key": key}


def reset_key(key: str, restate: dict[str, Any]) -> dict[str, Any]:
    """Give the dict at ``key`` ``_delete_=True`` and write ``restate``'s keys into it: the
    inherited keys not restated are dropped."""
    return {"op": "reset", "key": key, "restate": {k: source(v) for k, v in restate.items()}}


def drop_suppression(file: str, line: int, codes: list[str]) -> dict[str, Any]:
    """Remove ``codes`` from the ``# detaudit: ignore[...]`` comment on ``line`` (the whole
    comment when none is left)."""
    return {"op": "drop-suppression", "file": file, "line": line, "codes": list(codes)}


def edited_keys(edits: list[dict[str, Any]]) -> list[str]:
    """The merged-config keys the edits may change (a rename changes its old and new key)."""
    keys = []
    for e in edits:
        if "key" in e:
            keys.append(e["key"])
        if e.get("op") == "rename":
            keys.append(e["key"].rsplit(".", 1)[0] + "." + e["to"] if "." in e["key"] else e["to"])
    return keys
