"""Where a writer puts files: the config's own relative layout, re-rooted in the private folder.

A synthetic dataset keeps the relative paths the config writes (``annotations/instances_train2017.json``,
``data_prefix=dict(img='train2017/')``) so that the run exercises the config's own path composition;
only ``data_root`` moves to the private folder. A path that would leave that folder (absolute,
``..``, a URL) is replaced by a default relative one and said so in the notes. Keys the config does not
set are not added: a dataset missing a key it needs fails in the run exactly as it would in training.
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from .contract import DataRequest


def safe_relative(value: Any) -> str | None:
    """``value`` as a relative path inside the data root, or None when it is not one."""
    if not isinstance(value, str) or "://" in value or value.startswith(("/", "~", "\\")):
        return None
    if len(value) > 1 and value[1] == ":":   # a Windows drive
        return None
    normal = posixpath.normpath(value.replace("\\", "/")) if value else ""
    if normal in (".", ""):
        return ""
    if normal == ".." or normal.startswith("../"):
        return None
    return normal + ("/" if value.endswith("/") else "")


class Layout:
    """The files of one synthetic dataset under ``request.folder`` and the overrides that point at them."""

    def __init__(self, request: DataRequest):
        self.request = request
        self.root = Path(request.folder)
        self.overrides: dict[str, Any] = {"data_root": str(self.root)}
        self.notes: list[str] = []
        if request.cfg.get("backend_args") is not None:
            self.overrides["backend_args"] = None
            self.notes.append("backend_args set to None: the synthetic files are local")

    # ------------------------------------------------------------------ keys holding one path
    def file(self, key: str, default: str, *, always: bool = False) -> Path:
        """The path for the config's ``key`` (a file): its own relative value, else ``default``.
        The override is recorded when the config sets the key (or ``always``)."""
        given = self.request.cfg.get(key, None)
        rel = safe_relative(given) if given else None
        if rel is None or rel.endswith("/") or rel == "":
            if given and rel is None:
                self.notes.append(f"{key} {given!r} is not a path inside the data root: written as {default!r}")
            rel = default
        if given or always:
            self.overrides[key] = rel
        return self.root / rel

    # ------------------------------------------------------------------ data_prefix
    def prefixes(self, defaults: dict[str, str]) -> dict[str, Path]:
        """Folder of each ``data_prefix`` key: the config's own relative value, else the default;
        keys the config's ``data_prefix`` names are kept (re-rooted when unsafe), keys only in
        ``defaults`` are used for writing but not added to the overrides (the dataset's own default
        applies to them)."""
        given = self.request.cfg.get("data_prefix", None)
        given = dict(given) if isinstance(given, dict) else None
        out: dict[str, Path] = {k: self.root / v for k, v in defaults.items()}
        if given is None:
            return out
        fixed = {}
        for key, value in given.items():
            if value is None:
                fixed[key] = None
                continue
            rel = safe_relative(value)
            if rel is None:
                rel = defaults.get(key) or f"{key}/"
                self.notes.append(f"data_prefix.{key} {value!r} is not a path inside the data root: "
                                  f"written as {rel!r}")
            fixed[key] = rel
            out[key] = self.root / rel
        self.overrides["data_prefix"] = fixed
        return out

    def configured(self, key: str):
        """The config's own ``data_prefix[key]`` (None when unset or data_prefix is no dict)."""
        given = self.request.cfg.get("data_prefix", None)
        return given.get(key) if isinstance(given, dict) else None

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()
