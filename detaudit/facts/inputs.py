"""What one audit is given, frozen (:class:`AuditInputs`), and the record the build leaves
(:class:`Built`). The context (:mod:`.context`) holds these beside its memo of facts."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..options import AuditOptions
from ..rule.facts import CLI_TIERS, TRAINING_TIER


@dataclass(frozen=True)
class AuditInputs:
    config: Any                   # a path, or an mmengine Config (the Runner's, a test's)
    options: AuditOptions
    base_dir: Path                # the directory training is launched from
    selected_codes: frozenset
    known_codes: frozenset        # every code a rule pack registers
    training: Any = None          # the source of the ``training`` facts (a live run or a work dir)

    @property
    def config_path(self) -> Path | None:
        if isinstance(self.config, (str, os.PathLike)):
            return Path(self.config)
        filename = getattr(self.config, "filename", None)
        return Path(filename) if filename else None

    @property
    def max_tier(self) -> str:
        """The deepest fact tier this audit may compute."""
        return TRAINING_TIER if self.training is not None else CLI_TIERS[self.options.tier]


@dataclass(frozen=True)
class Built:
    """The model as this audit built it."""

    model: Any
    report: Any                   # what the build recorded (facts/build.py)
    names: frozenset              # every module name, aliases included, at build
