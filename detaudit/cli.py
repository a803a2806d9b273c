"""The ``detaudit`` command line. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 misuse or internal error (``--exit-zero`` turns 1 into 0, never 2)."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys

from .cli_support import (EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, Parser, UsageError, codes_arg, emit, expand_configs,
                          jobs_arg, memory_arg, modules_arg, parse_cfg_options, seconds_arg, severities, size_arg)
from .cli_support import outputs as output_specs
from .findings import WORST_FIRST
from .rule.facts import CLI_TIERS


def _check_parser() -> argparse.ArgumentParser:
    from .formats import NAMES

    p = Parser(prog="detaudit", description="Audit MMDetection 3.x / mmengine configs before training.",
                epilog="Other commands: 'detaudit rule CODE|NAME' explains a rule; 'detaudit rules' lists them; "
                       "'detaudit cache clean' empties the result cache; "
                       "'detaudit show CONFIG [KEY ...]' shows where each value comes from; "
                       "'detaudit logs WORK_DIR' audits a training run from its work dir; "
                       "'detaudit migrate PATH --out DIR' converts MMDetection 2.x configs to 3.x. "
                       "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 misuse or internal error.")
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="config files, folders or globs")
    sel = p.add_argument_group("rule selection")
    sel.add_argument("--select", type=codes_arg, help="codes or prefixes to run (default ALL)")
    sel.add_argument("--ignore", type=codes_arg, help="codes or prefixes to skip")
    sel.add_argument("--extend-select", type=codes_arg, help="codes or prefixes added to --select")
    sel.add_argument("--severity", action="append", default=[], metavar="CODE=LEVEL",
                     help="change a rule's severity (error, warning, info)")
    sel.add_argument("--fail-on", choices=WORST_FIRST, default=None,
                     help="lowest severity that makes the exit code 1 (default error)")
    sel.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    sel.add_argument("--expect-frozen", type=modules_arg, action="extend", default=[], metavar="MODULE[,MODULE]",
                     help="modules that must not train (e.g. backbone); repeat or separate with commas")
    run = p.add_argument_group("what to run")
    run.add_argument("--tier", choices=tuple(CLI_TIERS), default="train",
                     help="deepest tier to run (default train)")
    run.add_argument("--cfg-options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                     help="override config keys, as mmengine tools do")
    run.add_argument("--input-size", type=size_arg, metavar="HxW", help="synthetic image size (default: derived)")
    run.add_argument("--data", choices=("auto", "synthetic", "real"), default="auto",
                     help="the run tier's data: the configured data when it is on this machine (auto), a tiny "
                          "synthetic copy in the dataset's own format (synthetic), or only the configured data (real)")
    scale = p.add_argument_group("many and untrusted configs")
    scale.add_argument("--jobs", "-j", type=jobs_arg, default=1, metavar="N",
                       help="audit configs in N worker processes ('auto': one per CPU; default 1, in-process)")
    scale.add_argument("--timeout", type=seconds_arg, metavar="SECONDS",
                       help="stop a config's audit after SECONDS (DA091); runs audits in workers")
    scale.add_argument("--max-memory", type=memory_arg, metavar="SIZE",
                       help="memory one audit may add to its worker, e.g. 4G (DA092); runs audits in workers")
    scale.add_argument("--no-exec", action="store_true",
                       help="read configs without executing any of their code: static rules only (DA094)")
    proj = p.add_argument_group("settings and baseline")
    proj.add_argument("--settings", metavar="PYPROJECT",
                      help="read [tool.detaudit] from this file instead of the nearest pyproject.toml")
    proj.add_argument("--isolated", action="store_true", help="ignore every settings file")
    proj.add_argument("--baseline", metavar="FILE", help="accept the findings recorded in FILE; report stale entries")
    proj.add_argument("--write-baseline", metavar="FILE", help="record every current finding in FILE and exit 0")
    out = p.add_argument_group("output")
    out.add_argument("--format", action="append", default=[], metavar="FORMAT[:PATH]",
                     help=f"one of {', '.join(NAMES)}; repeat for several, FORMAT:PATH writes to a file")
    out.add_argument("-o", "--output", metavar="PATH", help="write the (single) report to PATH")
    out.add_argument("--statistics", action="store_true", help="print counts per rule instead of findings")
    out.add_argument("--debug", action="store_true",
                     help="show the tracebacks of the audited code's failures (stderr) and of internal errors")
    out.add_argument("--no-cache", action="store_true",
                     help="audit every config again: neither read nor write the result cache "
                          "(see 'detaudit cache clean')")
    from .fix.cli import add_arguments as add_fix_arguments

    add_fix_arguments(p)
    return p


def cmd_check(argv: list[str], cache=None) -> int:
    """Audit configs. ``cache`` is the ResultCache (report/cache.py) set up before the audit
    moved the library caches, or None for no caching."""
    from .registry import unknown_selectors
    from .report.report import Report

    args = _check_parser().parse_args(argv)
    outputs = output_specs(args)
    severity = severities(args.severity)
    bad = unknown_selectors((args.select or []) + (args.ignore or []) + (args.extend_select or []) + list(severity))
    if bad:
        raise UsageError(f"unknown rule code or prefix: {', '.join(bad)} (see 'detaudit rules')")
    from . import settings as project_settings

    try:
        file_settings = (project_settings.FileSettings() if args.isolated
                         else project_settings.load_settings(args.settings))
        project_settings.check_codes(file_settings)
    except project_settings.SettingsError as exc:
        raise UsageError(str(exc))
    if args.baseline:  # a missing or broken baseline is misuse: say so before auditing anything
        from .report.baseline import BaselineError, load as load_baseline

        try:
            load_baseline(args.baseline)
        except BaselineError as exc:
            raise UsageError(str(exc))
    configs = expand_configs(args.configs)
    cfg_options = parse_cfg_options(args.cfg_options)
    # The command line wins over [tool.detaudit]; per-file ignores and expect-frozen apply per config.
    settings = project_settings.merge(file_settings, select=args.select, ignore=args.ignore,
                                      extend_select=args.extend_select, fail_on=args.fail_on, severity=severity,
                                      expect_frozen=args.expect_frozen, tier=args.tier)
    from .workers.options import RunOptions

    report = Report(settings=settings)
    items = []
    for path in configs:
        config_settings, frozen_source = project_settings.for_config(file_settings, settings, path,
                                                                     cli_expect_frozen=bool(args.expect_frozen))
        items.append((str(path), config_settings, frozen_source))
    # --jobs/--timeout/--max-memory: supervised workers (detaudit/workers); results stay in input order
    options = RunOptions(cfg_options=cfg_options, input_size=args.input_size, debug=args.debug, data=args.data,
                         no_exec=args.no_exec, timeout=args.timeout, max_memory=args.max_memory)
    if args.no_cache:
        cache = None
    report.audits.extend(_audit_with_cache(items, options, args.jobs, cache))
    from .fix import cli as fix_cli

    if fix_cli.requested(args):  # --fix / --unsafe-fixes / --diff, then the fixed configs audited again
        made = fix_cli.apply_fixes(report, items, options, args, lambda again: _audit_with_cache(again, options, 1, None))
        if args.diff:  # the diff is the output (as ruff's --diff): 1 when there is something to fix
            return EXIT_FINDINGS if made else EXIT_OK
    if args.write_baseline:
        return _write_baseline(args.write_baseline, report)
    if args.baseline:
        _apply_baseline(args.baseline, report)
    if args.debug:
        _print_tracebacks(report)
    return emit(report, outputs, exit_zero=args.exit_zero, statistics=args.statistics)


def _print_tracebacks(report) -> None:
    """--debug: the traceback of each step that failed in the audited code (stderr; the report stays as it is)."""
    for a in report.audits:
        for phase, text in a.tracebacks.items():
            print(f"detaudit: {a.config}: traceback of the failed {phase} step:\n{text.rstrip()}\n", file=sys.stderr)


def _audit_with_cache(items: list, options, jobs: int, cache) -> list:
    """Results in input order: unchanged configs from the cache, the others audited (and stored)."""
    from .workers.supervisor import run_audits

    show_progress = sys.stderr.isatty()
    if cache is None:
        return run_audits(items, options, jobs=jobs, show_progress=show_progress)
    results: list = [None] * len(items)
    keys: dict[int, tuple[str, str]] = {}
    todo = []
    for i, (config, settings, source) in enumerate(items):
        key = cache.key(config, settings, source, options)
        hit = cache.get(*key) if key else None
        if hit is not None:
            results[i] = hit
            continue
        if key:
            keys[i] = key
        todo.append(i)
    audited = run_audits([items[i] for i in todo], options, jobs=jobs, show_progress=show_progress) if todo else []
    for i, result in zip(todo, audited):
        results[i] = result
        if i in keys:
            cache.put(*keys[i], result)
    return results


def _write_baseline(path: str, report) -> int:
    from .report import baseline

    for a in report.audits:
        for msg in a.internal_errors:
            print(f"detaudit: {a.config}: {msg}", file=sys.stderr)
    count = baseline.write(report, path)
    print(f"detaudit: wrote {count} finding(s) of {len(report.audits)} config(s) to baseline {path}", file=sys.stderr)
    return EXIT_ERROR if any(a.internal_errors for a in report.audits) else EXIT_OK


def _apply_baseline(path: str, report) -> None:
    """Drop the findings the baseline accepts; warn (stderr) about entries that match nothing."""
    from .report import baseline

    try:
        outcome = baseline.apply(report, path)
    except baseline.BaselineError as exc:
        raise UsageError(str(exc))
    if outcome.accepted:
        print(f"detaudit: baseline {path} accepted {outcome.accepted} finding(s)", file=sys.stderr)
    for entry in outcome.stale:
        print(f"detaudit: warning: baseline {path}: stale entry {baseline.describe(entry)} is no longer "
              f"reported; run --write-baseline {path} to drop it", file=sys.stderr)


def _exit_now(code: int) -> None:
    """End the process once the report is out, without the interpreter's teardown: unloading
    torch and mmdet module by module costs about a second, and audited code may have started
    threads that never end, which a normal exit would wait for."""
    import threading

    left = [t for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if left:
        print(f"detaudit: audited code left {len(left)} thread(s) running; exiting without waiting for them",
              file=sys.stderr)
    with contextlib.suppress(OSError):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the real command line (tests pass argv and keep their process)
        _exit_now(main(list(sys.argv[1:])))
    argv = list(argv)
    debug = "--debug" in argv
    try:
        from . import commands

        if argv and argv[0] == "rule":
            return commands.cmd_rule(argv[1:])
        if argv and argv[0] == "rules":
            return commands.cmd_rules(argv[1:])
        from .report.cache import ResultCache, default_dir, disabled_by_environment

        cache_dir = default_dir()  # before the audit points XDG_CACHE_HOME at a private folder
        if argv and argv[0] == "cache":
            return commands.cmd_cache(argv[1:], cache_dir)
        cache = None if disabled_by_environment() else ResultCache(cache_dir)
        from .facts.sandbox import private_library_caches

        with private_library_caches():  # yapf/matplotlib caches must not land in the user's home
            if argv and argv[0] == "show":
                return commands.cmd_show(argv[1:])
            if argv and argv[0] == "logs":
                return commands.cmd_logs(argv[1:])
            if argv and argv[0] == "migrate":
                from .migrate.cli import cmd_migrate

                return cmd_migrate(argv[1:])
            return cmd_check(argv, cache)
    except UsageError as exc:
        print(f"detaudit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("detaudit: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `detaudit rules | head`: the reader left, nothing is wrong
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except SystemExit as exc:  # --help / --version from argparse
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:  # noqa: BLE001
        if debug:
            raise
        print(f"detaudit: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
