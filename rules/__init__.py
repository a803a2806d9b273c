"""detaudit's built-in rule pack: one module per rule, registered as ``rules:RULES``."""
from __future__ import annotations

import importlib
import pkgutil

from detaudit.rule import Rule


def _collect() -> list[Rule]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("da"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found += [v for v in vars(module).values() if isinstance(v, Rule)]
    return sorted(found, key=lambda r: r.code)


RULES = _collect()
__all__ = ["RULES"]
