"""Tables learnt from mmdet's zoo by the ``scripts/zoo_*.py`` scripts, read once per process."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def learnt_table(path: Path, section: str) -> dict:
    """One section of a learnt JSON table; empty when the file is missing or unreadable (the rule
    reading it then finds nothing to compare with)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get(section, {})
    except (OSError, ValueError):
        return {}
