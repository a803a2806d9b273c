"""The table ``scripts/zoo_pretrained_sources.py`` learns from mmdet's zoo configs
(``zoo_pretrained_sources.json``), read by DA856 (``detector_words``) and DA857 (``normalizations``)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("zoo_pretrained_sources.json")


@lru_cache(maxsize=1)
def zoo_sources() -> dict:
    """``normalizations``: source family -> [{mean, std, bgr_to_rgb, configs, checkpoints, examples}];
    ``detector_words``: algorithm word of mmdet's detector names -> a zoo config named so."""
    try:
        return json.loads(TABLE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"normalizations": {}, "detector_words": {}}
