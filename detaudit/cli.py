"""The ``detaudit`` command line. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 misuse or internal error (``--exit-zero`` turns 1 into 0, never 2)."""
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import sys
from pathlib import Path

from .findings import WORST_FIRST
from .atomic import write_atomic
from .rule.facts import CLI_TIERS

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2
        raise UsageError(message)


def _check_parser() -> argparse.ArgumentParser:
    from .formats import NAMES

    p = _Parser(prog="detaudit", description="Audit MMDetection 3.x / mmengine configs before training.",
                epilog="Other commands: 'detaudit rule CODE|NAME' explains a rule; 'detaudit rules' lists them. "
                       "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 misuse or internal error.")
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="config files, folders or globs")
    sel = p.add_argument_group("rule selection")
    sel.add_argument("--select", type=_codes, help="codes or prefixes to run (default ALL)")
    sel.add_argument("--ignore", type=_codes, help="codes or prefixes to skip")
    sel.add_argument("--extend-select", type=_codes, help="codes or prefixes added to --select")
    sel.add_argument("--severity", action="append", default=[], metavar="CODE=LEVEL",
                     help="change a rule's severity (error, warning, info)")
    sel.add_argument("--fail-on", choices=WORST_FIRST, default=None,
                     help="lowest severity that makes the exit code 1 (default error)")
    sel.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    sel.add_argument("--expect-frozen", type=_modules, action="extend", default=[], metavar="MODULE[,MODULE]",
                     help="modules that must not train (e.g. backbone); repeat or separate with commas")
    run = p.add_argument_group("what to run")
    run.add_argument("--tier", choices=tuple(CLI_TIERS), default="train",
                     help="deepest tier to run (default train)")
    run.add_argument("--cfg-options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                     help="override config keys, as mmengine tools do")
    run.add_argument("--input-size", type=_size, metavar="HxW", help="synthetic image size (default: derived)")
    scale = p.add_argument_group("many and untrusted configs")
    scale.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                       help="audit configs in N worker processes ('auto': one per CPU; default 1, in-process)")
    scale.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                       help="stop a config's audit after SECONDS (DA091); runs audits in workers")
    scale.add_argument("--max-memory", type=_memory, metavar="SIZE",
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
    return p


def _jobs(value: str) -> int:
    if value.strip().lower() == "auto":
        return max(1, os.cpu_count() or 1)
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of jobs or 'auto', got {value!r}")
    if not 1 <= n <= 256:
        raise argparse.ArgumentTypeError(f"--jobs {n} out of range (1..256)")
    return n


def _seconds(value: str) -> float:
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}")
    if not 0 < t <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"--timeout {value} out of range")
    return t


def _memory(value: str) -> int:
    from .workers.options import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def _modules(value: str) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()]


def _size(value: str) -> tuple[int, int]:
    try:
        h, w = (int(x) for x in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW like 128x160, got {value!r}")
    if not (16 <= h <= 4096 and 16 <= w <= 4096):
        raise argparse.ArgumentTypeError(f"input size {value} out of range (16..4096 per side)")
    return h, w


def expand_configs(items: list[str]) -> list[Path]:
    """Files as given; folders to their *.py configs (skipping _base_ folders); globs expanded.
    What a folder or glob expands to is filtered to configs (``load/discover.py``): model code,
    scripts and partial configs another one inherits are skipped with a note on stderr."""
    from .load.discover import select_configs

    found: list[Path] = []
    for item in items:
        if any(ch in item for ch in "*?["):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise UsageError(f"no config matches {item!r}")
            found += _configs_only([Path(m) for m in matches if Path(m).is_file()], select_configs)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(q for q in path.rglob("*.py")
                           if "_base_" not in q.relative_to(path).parts and q.name != "__init__.py")
            configs = _configs_only(files, select_configs)
            if not configs:
                more = f" ({len(files)} .py file(s), none of them a config)" if files else ""
                raise UsageError(f"no config files (*.py) under folder {item}{more}")
            found += configs
        elif path.exists():
            found.append(path)
        else:
            raise UsageError(f"config not found: {item}")
    return found


def _configs_only(files: list[Path], select_configs) -> list[Path]:
    configs, skipped = select_configs(files)
    for path, why in skipped:
        print(f"detaudit: skipped {path}: {why}", file=sys.stderr)
    return configs


def parse_cfg_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--cfg-options expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        options[key] = _parse_value(value)
    return options


def _parse_value(value: str):
    """mmengine's DictAction rules: ints, floats, booleans, None, lists and tuples."""
    from mmengine.config import DictAction

    return DictAction._parse_iterable(value)


def _outputs(args) -> list[tuple[str, str | None]]:
    from .formats import NAMES

    specs = args.format or ["text"]
    outs = []
    for spec in specs:
        fmt, _, path = spec.partition(":")
        if fmt not in NAMES:
            raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(NAMES)})")
        outs.append((fmt, path or None))
    if args.output:
        if len(outs) != 1 or outs[0][1]:
            raise UsageError("-o/--output takes one format; use FORMAT:PATH for several")
        outs = [(outs[0][0], args.output)]
    return outs


def cmd_check(argv: list[str]) -> int:
    from .formats import render
    from .registry import unknown_selectors
    from .report.report import Report

    args = _check_parser().parse_args(argv)
    outputs = _outputs(args)
    severity = {}
    for item in args.severity:
        code, _, level = item.partition("=")
        if level not in WORST_FIRST:
            raise UsageError(f"--severity expects CODE=error|warning|info, got {item!r}")
        severity[code.strip().upper()] = level
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
    from .workers.supervisor import run_audits

    report = Report(settings=settings)
    items = []
    for path in configs:
        config_settings, frozen_source = project_settings.for_config(file_settings, settings, path,
                                                                     cli_expect_frozen=bool(args.expect_frozen))
        items.append((str(path), config_settings, frozen_source))
    # --jobs/--timeout/--max-memory: supervised workers (detaudit/workers); results stay in input order
    options = RunOptions(cfg_options=cfg_options, input_size=args.input_size, debug=args.debug,
                         no_exec=args.no_exec, timeout=args.timeout, max_memory=args.max_memory)
    report.audits.extend(run_audits(items, options, jobs=args.jobs, show_progress=sys.stderr.isatty()))
    if args.write_baseline:
        return _write_baseline(args.write_baseline, report)
    if args.baseline:
        _apply_baseline(args.baseline, report)
    for a in report.audits:
        for msg in a.internal_errors:
            print(f"detaudit: {a.config}: {msg}", file=sys.stderr)
    if args.debug:
        _print_tracebacks(report)
    for fmt, path in outputs:
        if args.statistics and fmt == "text" and path is None:
            text = _statistics(report)
        else:
            text = render(fmt, report, color=(path is None and fmt == "text" and sys.stdout.isatty()))
        if path:
            write_atomic(path, text)
        else:
            sys.stdout.write(text)
    if any(a.internal_errors for a in report.audits):
        return EXIT_ERROR
    if report.failing() and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_OK


def _print_tracebacks(report) -> None:
    """--debug: the traceback of each step that failed in the audited code (stderr; the report stays as it is)."""
    for a in report.audits:
        for phase, text in a.tracebacks.items():
            print(f"detaudit: {a.config}: traceback of the failed {phase} step:\n{text.rstrip()}\n", file=sys.stderr)


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


def _statistics(report) -> str:
    from collections import Counter

    from .registry import all_rules

    counts = Counter(f.code for f in report.findings)
    rules = all_rules()
    lines = [f"{n:>5}  {code}  {rules[code].name if code in rules else ''}" for code, n in counts.most_common()]
    return "\n".join(lines) + ("\n" if lines else "no findings\n")


def cmd_rule(argv: list[str]) -> int:
    import json

    from .registry import find_rule

    p = _Parser(prog="detaudit rule", description="Explain one rule.")
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

    p = _Parser(prog="detaudit rules", description="List every rule.")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    rules = all_rules().values()
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in rules], indent=2))
    else:
        print(tabulate([[r.code, r.name, r.severity, r.tier, r.origin, r.summary] for r in rules],
                       headers=["code", "name", "severity", "tier", "origin", "summary"], tablefmt="simple"))
    return EXIT_OK


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
        if argv and argv[0] == "rule":
            return cmd_rule(argv[1:])
        if argv and argv[0] == "rules":
            return cmd_rules(argv[1:])
        from .facts.sandbox import private_library_caches

        with private_library_caches():  # yapf/matplotlib caches must not land in the user's home
            return cmd_check(argv)
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
