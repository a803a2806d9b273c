"""What the supervisor sends a worker: one config to audit, with its options and the parent's
working directory, environment and ``sys.path`` (the worker takes them on for the audit)."""
from __future__ import annotations

from dataclasses import dataclass

from ..options import AuditOptions


@dataclass
class Task:
    index: int
    config: object
    display: str                 # the config as reports show it
    options: AuditOptions
    cwd: str
    environ: dict
    sys_path: list
