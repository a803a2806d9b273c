"""Output formats. Each is ``render(report, *, color=False) -> str``."""
from __future__ import annotations

import importlib

NAMES = ("text", "json", "sarif", "github", "junit", "gitlab", "rdjson", "json-lines", "html")


def render(fmt: str, report, *, color: bool = False) -> str:
    if fmt not in NAMES:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(NAMES)}")
    try:
        module = importlib.import_module(f".{fmt.replace('-', '_')}", __name__)
    except ModuleNotFoundError as exc:
        raise ValueError(f"format {fmt!r} is not available in this version") from exc
    return module.render(report, color=color)
