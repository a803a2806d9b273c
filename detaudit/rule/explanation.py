"""What a crash explanation is: the config key that explains a failure, in config words."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Explanation:
    key_path: str | None  # None: no config key explains the failure (the message says why)
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None


def short_type(t) -> str:
    """A config ``type`` (a name or a class) as its bare class name."""
    return str(getattr(t, "__name__", t)).split(".")[-1] if t is not None else ""
