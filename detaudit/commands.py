"""The command line's other commands: ``rule``, ``rules``, ``show``, ``logs`` and ``cache``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .atomic import write_atomic
from .cli_support import (EXIT_FINDINGS, EXIT_OK, Parser, UsageError, codes_arg, emit, modules_arg,
                          parse_cfg_options, severities)
from .cli_support import outputs as output_specs
from .findings import WORST_FIRST


def _logs_parser() -> argparse.ArgumentParser:
    from .formats import NAMES

    p = Parser(prog="detaudit logs", description="Audit a training run from what mmengine wrote into its work dir: "
                "the scalar logs, the config as it ran, the checkpoints (rules DA9xx).",
                epilog="Exit codes: 0 clean, 1 findings at or above --fail-on, 2 misuse or internal error.")
    p.add_argument("work_dirs", nargs="+", metavar="WORK_DIR", help="work dirs (or one launch folder inside one)")
    p.add_argument("--config", metavar="PATH", help="the run's config (default: the one mmengine saved with the run)")
    p.add_argument("--expect-losses", type=modules_arg, action="extend", default=[], metavar="KEY[,KEY]",
                   help="loss keys the run must log (default: those of the first logged iteration)")
    p.add_argument("--expect-frozen", type=modules_arg, action="extend", default=[], metavar="MODULE[,MODULE]",
                   help="modules that must not have changed, besides those the config freezes")
    p.add_argument("--cfg-options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="override keys of the run's config, e.g. load_from=PATH (put it last)")
    p.add_argument("--select", type=codes_arg, help="codes or prefixes to run (default ALL)")
    p.add_argument("--ignore", type=codes_arg, help="codes or prefixes to skip")
    p.add_argument("--severity", action="append", default=[], metavar="CODE=LEVEL",
                   help="change a rule's severity (error, warning, info)")
    p.add_argument("--fail-on", choices=WORST_FIRST, default="error",
                   help="lowest severity that makes the exit code 1 (default error)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    p.add_argument("--format", action="append", default=[], metavar="FORMAT[:PATH]",
                   help=f"one of {', '.join(NAMES)}; repeat for several, FORMAT:PATH writes to a file")
    p.add_argument("-o", "--output", metavar="PATH", help="write the (single) report to PATH")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    return p


def cmd_logs(argv: list[str]) -> int:
    from .logs.audit import WorkDirError, audit_work_dir
    from .registry import unknown_selectors
    from .report.report import Report
    from .settings import Settings

    args = _logs_parser().parse_args(argv)
    outputs = output_specs(args)
    severity = severities(args.severity)
    bad = unknown_selectors((args.select or []) + (args.ignore or []) + list(severity))
    if bad:
        raise UsageError(f"unknown rule code or prefix: {', '.join(bad)} (see 'detaudit rules')")
    if args.config and len(args.work_dirs) > 1:
        raise UsageError("--config applies to one work dir")
    settings = Settings(select=args.select or ["ALL"], ignore=args.ignore or [], fail_on=args.fail_on,
                        expect_frozen=args.expect_frozen, severity=severity)
    report = Report(settings=settings)
    for work_dir in args.work_dirs:
        try:
            report.audits.append(audit_work_dir(work_dir, settings, config=args.config,
                                                cfg_options=parse_cfg_options(args.cfg_options),
                                                expect_losses=args.expect_losses, debug=args.debug))
        except WorkDirError as exc:
            raise UsageError(str(exc))
    return emit(report, outputs, exit_zero=args.exit_zero)


def cmd_cache(argv: list[str], cache_dir) -> int:
    p = Parser(prog="detaudit cache", description="Manage the result cache (unchanged configs are answered "
                                                 "from it; --no-cache bypasses it).")
    p.add_argument("action", choices=("clean", "dir"), help="clean: remove every stored result; dir: print where "
                                                            "results are stored")
    args = p.parse_args(argv)
    if args.action == "dir":
        print(cache_dir)
        return EXIT_OK
    from .report.cache import ResultCache

    count = ResultCache(cache_dir).clean()
    print(f"detaudit: removed {count} cached result(s) from {cache_dir}", file=sys.stderr)
    return EXIT_OK


def cmd_rule(argv: list[str]) -> int:
    import json

    from .registry import find_rule

    p = Parser(prog="detaudit rule", description="Explain one rule.")
    p.add_argument("code", metavar="CODE|NAME")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    r = find_rule(args.code)
    if r is None:
        raise UsageError(f"no rule {args.code!r} (see 'detaudit rules')")
    if args.format == "json":
        print(json.dumps(dict(r.to_dict(), doc=r.doc), indent=2))
    else:
        print(f"{r.code} {r.name} [{r.severity}, tier {r.tier}, from {r.origin}]\n\n{r.doc}")
    return EXIT_OK


def cmd_rules(argv: list[str]) -> int:
    import json

    from tabulate import tabulate

    from .registry import all_rules

    p = Parser(prog="detaudit rules", description="List every rule.")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    rules = all_rules().values()
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in rules], indent=2))
    else:
        print(tabulate([[r.code, r.name, r.severity, r.tier, r.origin, r.summary] for r in rules],
                       headers=["code", "name", "severity", "tier", "origin", "summary"], tablefmt="simple"))
    return EXIT_OK


def cmd_show(argv: list[str]) -> int:
    from .show import render_json, render_text, show

    p = Parser(prog="detaudit show",
                description="Show the value of config keys and the file:line of every assignment that produced it "
                            "(base files, the child, --cfg-options), discarded values included. Builds no model.")
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("keys", nargs="*", metavar="KEY", help="dotted key paths (default: every key)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-o", "--output", metavar="PATH", help="write to PATH instead of stdout")
    p.add_argument("--no-exec", action="store_true", help="read the config without executing any of its code")
    p.add_argument("--cfg-options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="override config keys, as mmengine tools do (put it last)")
    args = p.parse_args(argv)
    path = Path(args.config)
    if not path.is_file():
        raise UsageError(f"config not found: {args.config}")
    result = show(str(path), args.keys, cfg_options=parse_cfg_options(args.cfg_options), no_exec=args.no_exec)
    text = (render_json if args.format == "json" else render_text)(result, args.keys)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_FINDINGS if result.missing or result.load_error else EXIT_OK
