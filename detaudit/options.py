"""Every option of an audit, in one object: :class:`AuditOptions`.

Each face (the command line, the API, the pytest plugin, DetAuditHook, ``detaudit logs``)
parses its own spelling of the options once into this object and passes it down unchanged:
the driver, the facts and the rules read the same names (``options.tier``, ``options.data``,
``options.no_exec``, ``options.cfg_options``, ``options.expect_frozen``, ``options.timeout``...)
that the command line's flags carry. ``[tool.detaudit]`` (:mod:`detaudit.settings`) fills
the defaults a face leaves open.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

DATA_MODES = ("auto", "synthetic", "real")


@dataclass
class AuditOptions:
    """What an audit checks, how it judges, what it runs and under which limits."""

    # which rules, and how their findings are judged
    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)   # per-rule severity, e.g. {"DA202": "info"}
    fail_on: str = "error"
    # the intent the user states
    expect_frozen: list[str] = field(default_factory=list)
    expect_frozen_source: str = "--expect-frozen"             # where expect_frozen came from, as findings say
    # what runs
    tier: str = "run"                                         # the deepest tier (--tier)
    data: str = "auto"                                        # the run tier's data: auto, synthetic or real
    no_exec: bool = False                                     # read the config as data, run none of its code
    cfg_options: dict = field(default_factory=dict)           # --cfg-options KEY=VALUE, parsed
    input_size: tuple | None = None                           # the synthetic input's (H, W), None: derived
    # limits, per config
    timeout: float | None = None                              # seconds
    max_memory: int | None = None                             # bytes one audit may add to its worker
    debug: bool = False                                       # tracebacks of the audited code's failures

    @property
    def needs_worker(self) -> bool:
        """A limit is asked for: the audit runs in a supervised worker process."""
        return bool(self.timeout or self.max_memory)

    def replace(self, **changes) -> "AuditOptions":
        """A copy with ``changes`` (lists and dicts copied, never shared)."""
        copy = replace(self, **changes)
        for name in ("select", "ignore", "extend_select", "expect_frozen"):
            setattr(copy, name, list(getattr(copy, name)))
        copy.severity = dict(copy.severity)
        copy.cfg_options = dict(copy.cfg_options)
        return copy

    def to_dict(self) -> dict[str, Any]:
        """The part a report shows as its settings."""
        return {"select": list(self.select), "ignore": list(self.ignore), "fail_on": self.fail_on,
                "tier": self.tier, "expect_frozen": list(self.expect_frozen)}

    def as_key(self) -> dict[str, Any]:
        """Every option, as plain data (the result cache's key)."""
        return asdict(self)


# ---------------------------------------------------------------------------- sizes
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
