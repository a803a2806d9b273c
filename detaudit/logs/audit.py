"""One work dir through the stages: find its files -> the run's config -> plan (the training
tier's rules) -> facts (the work dir as the training source) -> check -> result."""
from __future__ import annotations

import os
from pathlib import Path

from ..check import run_rules
from ..facts.context import AuditContext
from ..facts.sandbox import process_state_kept
from ..facts.workdir_run import WorkDirRun
from ..load.workdir import WorkDir, WorkDirError, find_work_dir
from ..plan import make_plan
from ..registry import select_rules
from ..report.result import AuditResult
from ..settings import Settings

NOT_RUN = ("detaudit logs reads what a training wrote; the synthetic passes belong to the config audit "
           "(detaudit CONFIG)")


def audit_work_dir(path: str | os.PathLike, settings: Settings, *, config: str | os.PathLike | None = None,
                   cfg_options: dict | None = None, expect_losses=None, expect_frozen_source: str = "--expect-frozen",
                   debug: bool = False) -> AuditResult:
    """Raises :class:`WorkDirError` when ``path`` holds no run (or its config cannot be found)."""
    wd = find_work_dir(path)
    config_path = Path(config) if config else wd.config
    if config_path is None:
        raise WorkDirError(f"no config found in {path} (mmengine writes <launch>/vis_data/config.py); "
                           "give it with --config")
    if not config_path.is_file():
        raise WorkDirError(f"config not found: {config_path}")
    source = WorkDirRun(wd, expect_losses=expect_losses)
    rules = select_rules(settings.select, settings.ignore, settings.extend_select)
    ctx = AuditContext(str(config_path), cfg_options=cfg_options, expect_frozen=settings.expect_frozen,
                       expect_frozen_source=expect_frozen_source, training=source, tune_allocator=False,
                       selected_codes=[r.code for r in rules])
    for tier in ("forward", "train"):
        ctx.refuse(tier, NOT_RUN)
    plan = make_plan(rules, max_tier=ctx.max_tier, cli_tier=ctx.cli_tier, audit="training")
    try:
        with process_state_kept():
            result = run_rules(ctx, plan, severity_overrides=settings.severity, debug=debug)
        result.config = ctx.display(wd.path)
        for f in result.findings:
            f.config = result.config
        result.losses = logged_losses(ctx)
        return result
    finally:
        ctx.release()


def logged_losses(ctx) -> dict[str, float | None] | None:
    """The last logged value of every loss key (None when it is not finite)."""
    import math

    if not ctx.has("loss_log"):
        return None
    series = ctx.loss_log.series
    return {k: (s.last_value if s.last_value is not None and math.isfinite(s.last_value) else None)
            for k, s in series.items()}


__all__ = ["audit_work_dir", "WorkDir", "WorkDirError"]
