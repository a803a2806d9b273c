"""The key of a config that fails to load when the failure has no line of the config file: a name
the file uses but never defines, read from where the file uses it; bases that define the same keys,
read from the bases themselves (DA001)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from detaudit.rule.source_keys import key_at_line

UNDEFINED = re.compile(r"name '(\w+)' is not defined")
PACKAGES = ("mmdet", "mmengine", "mmpretrain", "mmseg", "mmyolo", "mmrotate", "mmpose")  # a scope names one of these
DUPLICATE = re.compile(r"Duplicate key is not allowed among bases\. Duplicate keys: \{(.*)\}", re.S)


def _tree(path):
    try:
        if not Path(path).is_file():  # a FIFO or a device would block the read
            return None
        return ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None


def undefined_name_key(path, message: str) -> str | None:
    """For ``NameError: name 'x' is not defined``: the key the first line reading ``x`` writes
    (``_base_.1`` for an f-string base built from a variable the base list cannot see)."""
    m = UNDEFINED.search(message or "")
    return first_use_key(path, m.group(1)) if m else None


def first_use_key(path, name: str) -> str | None:
    """The key the first line reading the variable ``name`` writes (where a variable whose own
    line fails to run ends up: ``model.data_preprocessor`` for ``data_preprocessor=pixel_stats``)."""
    tree = _tree(path)
    if tree is None:
        return None
    lines = sorted(n.lineno for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load))
    for line in lines:
        key = key_at_line(path, line)
        if key and key != name:
            return key
    return None


def _base_entries(tree) -> list[str] | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in stmt.targets):
            value = stmt.value
            items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
            return [i.value if isinstance(i, ast.Constant) and isinstance(i.value, str) else None for i in items]
    return None


def _base_keys(config_path, entry: str) -> set[str] | None:
    """The top-level keys one base entry defines (its own bases merged in), or None."""
    from mmengine import Config

    if "::" in entry:
        scope, rel = entry.split("::", 1)
        try:
            import importlib

            package = Path(importlib.import_module(scope).__file__).parent
        except Exception:  # noqa: BLE001 - a scope that does not import names no base
            return None
        base = package / ".mim" / "configs" / rel
    else:
        base = Path(config_path).parent / entry
    try:
        return set(Config.fromfile(str(base)).keys())
    except Exception:  # noqa: BLE001 - a base that fails on its own is another finding
        return None


def duplicate_base_key(path, message: str) -> tuple[str, str] | None:
    """For mmengine's "Duplicate key is not allowed among bases": (``_base_.i``, why) for the base
    whose keys another base already defines (the dataset base listed next to a config that
    inherits it), else None."""
    m = DUPLICATE.search(message or "")
    tree = _tree(path) if m else None
    entries = _base_entries(tree) if tree is not None else None
    if not entries or len(entries) < 2:
        return None
    dup = set(re.findall(r"'(\w+)'", m.group(1)))
    keys = [(_base_keys(path, e) if e else None) for e in entries]
    shares = [(len(k & dup) / len(k), i) for i, k in enumerate(keys) if k]
    if not shares:
        return None
    share, index = max(shares)  # the base most made of keys another one gives: the redundant one
    others = [entries[i] for i, k in enumerate(keys) if k and i != index and k & keys[index]]
    why = (f"{entries[index]!r} defines {len(keys[index] & dup)} of its {len(keys[index])} keys again, "
           f"which {', '.join(repr(o) for o in others) or 'another base'} already defines")
    return f"_base_.{index}", why


def unresolvable_base(path) -> tuple[str, str] | None:
    """(``_base_`` or ``_base_.i``, why) for the first base entry that cannot resolve: a
    ``scope::path`` whose scope is no installed package (``mmdetection::`` for ``mmdet::``) or
    whose file the package does not ship, a relative path to no file."""
    import importlib.util

    tree = _tree(path)
    entries = _base_entries(tree) if tree is not None else None
    for i, entry in enumerate(entries or []):
        if not entry:
            continue
        key = "_base_" if len(entries) == 1 else f"_base_.{i}"
        if "::" in entry:
            scope, rel = entry.split("::", 1)
            try:
                spec = importlib.util.find_spec(scope)
            except (ImportError, ValueError):
                spec = None
            if spec is None:
                # the package a repository's name stands for (mmdetection -> mmdet), installed or not:
                # the same words with or without the heavy packages importable
                hint = next((p for p in PACKAGES if p in scope.lower()), None)
                return key, (f"'{scope}' is not an installed package, so {entry!r} names no config"
                             + (f" ({hint}'s configs are '{hint}::{rel}')" if hint else ""))
            folder = Path(next(iter(spec.submodule_search_locations or []), "")) / ".mim" / "configs"
            if folder.is_dir() and not (folder / rel).is_file():
                return key, f"{scope} ships no config {rel!r} (under {folder})"
        elif not (Path(path).parent / entry).is_file():
            return key, f"no file {entry!r} next to the config"
    return None
