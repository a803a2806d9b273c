"""Where things are: installed packages and mmdet's configs (found without importing them),
and the one way the audit shows a path (relative to the directory the audit runs from)."""
from __future__ import annotations

import os
from pathlib import Path


def top_level_source(name: str) -> Path | None:
    """The folder of an installed top-level package, or the file of a top-level module, found
    without importing it (None for built-in modules and names that are not installed)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin) if spec.origin and spec.origin not in ("built-in", "frozen") else None


def package_root(package: str) -> Path | None:
    """The folder of an installed top-level package (a module's: the folder holding it)."""
    source = top_level_source(package)
    return source if source is None or source.is_dir() else source.parent


def mmdet_config_root() -> Path | None:
    """mmdet's own configs as pip installs them (``mmdet/.mim/configs``)."""
    root = package_root("mmdet")
    root = root / ".mim" / "configs" if root else None
    return root if root and root.is_dir() else None


def display_path(path: str | os.PathLike | None, base: str | os.PathLike) -> str:
    """``path`` as a report shows it: relative to ``base`` (the directory the audit runs
    from), or as given when no relative path exists (another drive)."""
    if path is None:
        return "<config>"
    try:
        return os.path.relpath(Path(base, path).resolve(), Path(base).resolve())
    except (ValueError, OSError):
        return str(path)


def config_ref(file: str | os.PathLike) -> str:
    """A config file as a ``_base_`` entry would name it: a file of an installed package's
    configs as ``mmdet::_base_/models/x.py``, any other file as given."""
    text = str(file).replace("\\", "/")
    head, marker, rest = text.partition("/.mim/configs/")
    if not marker:
        return str(file)
    return f"{head.rstrip('/').rsplit('/', 1)[-1]}::{rest}"
