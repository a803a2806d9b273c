"""What a run of audits is asked to do besides the rule settings: ``--cfg-options``, the
input size, ``--no-exec``, and the per-config limits (``--timeout``, ``--max-memory``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class RunOptions:
    """Per-config options that are not rule settings."""

    cfg_options: dict = field(default_factory=dict)
    input_size: tuple | None = None
    debug: bool = False
    no_exec: bool = False
    timeout: float | None = None        # seconds per config
    max_memory: int | None = None       # bytes one audit may add to its worker
    expect_frozen_source: str = "--expect-frozen"
    data: str = "auto"                  # the run tier's data: auto, synthetic or real

    @property
    def needs_worker(self) -> bool:
        return bool(self.timeout or self.max_memory)


@dataclass
class Task:
    index: int
    config: object
    display: str                 # the config as reports show it
    settings: object
    expect_frozen_source: str
    options: RunOptions
    cwd: str
    environ: dict
    sys_path: list


# ---------------------------------------------------------------------------- sizes
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2,
          "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3, "t": 1024 ** 4, "tb": 1000 ** 4, "tib": 1024 ** 4}


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2,
          "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3, "t": 1024 ** 4, "tb": 1000 ** 4, "tib": 1024 ** 4}


def parse_size(text: str) -> int:
    """'4G', '512M', '1.5GiB', '2000000000' -> bytes (K/M/G/T alone are binary units)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"expected a size like 4G or 512M, got {text!r}")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value < 64 * 1024 ** 2:
        raise ValueError(f"{text} is below the smallest useful limit (64M)")
    return value
