"""``detaudit logs WORK_DIR ...``: audit training runs from what mmengine wrote into their work
dirs (rules DA9xx), with the same judging flags, settings and baseline as ``detaudit CONFIG``."""
from __future__ import annotations

import argparse

from .common import (Parser, UsageError, add_judging_options, add_settings_and_output_options, audit_options,
                     file_settings_of, finish, modules_arg, parse_cfg_options)
from .common import outputs as output_specs


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="detaudit logs", description="Audit a training run from what mmengine wrote into its work dir: "
               "the scalar logs, the config as it ran, the checkpoints (rules DA9xx).",
               epilog="Exit codes: 0 clean, 1 findings at or above --fail-on, 2 misuse or internal error.")
    p.add_argument("work_dirs", nargs="+", metavar="WORK_DIR", help="work dirs (or one launch folder inside one)")
    add_judging_options(p, expect_frozen_help="modules that must not have changed, besides those the config freezes")
    run = p.add_argument_group("the run")
    run.add_argument("--config", metavar="PATH", help="the run's config (default: the one mmengine saved with the run)")
    run.add_argument("--expect-losses", type=modules_arg, action="extend", default=[], metavar="KEY[,KEY]",
                     help="loss keys the run must log (default: those of the first logged iteration)")
    run.add_argument("--cfg-options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                     help="override keys of the run's config, e.g. load_from=PATH (put it last)")
    add_settings_and_output_options(p, debug_help="show tracebacks of internal errors")
    return p


def cmd_logs(argv: list[str]) -> int:
    from ... import settings as project_settings
    from ...driver import WorkDir, audit
    from ...load.workdir import WorkDirError
    from ...report.report import Report

    args = parser().parse_args(argv)
    outputs = output_specs(args)
    if args.config and len(args.work_dirs) > 1:
        raise UsageError("--config applies to one work dir")
    file_settings = file_settings_of(args)
    options = audit_options(args, file_settings, cfg_options=parse_cfg_options(args.cfg_options))
    report = Report(settings=options)
    for work_dir in args.work_dirs:
        source = WorkDir(work_dir, config=args.config, expect_losses=tuple(args.expect_losses))
        try:
            run_options, _ = project_settings.for_config(file_settings, options, source.config_path(),
                                                         cli_expect_frozen=bool(args.expect_frozen))
            report.audits.append(audit(source, run_options))
        except WorkDirError as exc:
            raise UsageError(str(exc))
    return finish(report, args, outputs)
