"""What the command line's commands share: argument types and parsers that exit with one clear
line (``UsageError``), the option groups every audit command has (:func:`add_judging_options`,
:func:`add_settings_and_output_options`) and their reading into one :class:`AuditOptions`
(:func:`audit_options`), config paths, ``--cfg-options``, output formats, and finishing a report
(baseline, then writing it with the exit code it stands for: 0 clean, 1 findings at or above
--fail-on, 2 misuse or internal error; ``--exit-zero`` turns 1 into 0, never 2)."""
from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

from ...atomic import write_atomic
from ...findings import WORST_FIRST

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2
        raise UsageError(message)


def jobs_arg(value: str) -> int:
    if value.strip().lower() == "auto":
        return max(1, os.cpu_count() or 1)
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of jobs or 'auto', got {value!r}")
    if not 1 <= n <= 256:
        raise argparse.ArgumentTypeError(f"--jobs {n} out of range (1..256)")
    return n


def seconds_arg(value: str) -> float:
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}")
    if not 0 <= t <= 7 * 24 * 3600:  # 0: no time bound at all
        raise argparse.ArgumentTypeError(f"--timeout {value} out of range")
    return t


def memory_arg(value: str) -> int:
    from ...options import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def codes_arg(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def modules_arg(value: str) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()]


def size_arg(value: str) -> tuple[int, int]:
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
    from ...load.discover import select_configs

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
    """mmengine's DictAction rules: ints, floats, booleans, None, lists and tuples (read
    without importing mmengine: --no-exec audits run without it)."""
    from ...load.data_config import parse_option_value

    try:
        return parse_option_value(value)
    except ValueError as exc:
        raise UsageError(f"--cfg-options: {exc}")


def outputs(args) -> list[tuple[str, str | None]]:
    from ...formats import NAMES

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


def severities(items: list[str]) -> dict[str, str]:
    severity = {}
    for item in items:
        code, _, level = item.partition("=")
        if level not in WORST_FIRST:
            raise UsageError(f"--severity expects CODE=error|warning|info, got {item!r}")
        severity[code.strip().upper()] = level
    return severity


def emit(report, outputs, *, exit_zero: bool, statistics: bool = False) -> int:
    """Print or write the report in every format asked for; the exit code."""
    from ...formats import render

    for a in report.audits:
        for msg in a.internal_errors:
            print(f"detaudit: {a.config}: {msg}", file=sys.stderr)
    for fmt, path in outputs:
        if statistics and fmt == "text" and path is None:
            text = statistics_text(report)
        else:
            text = render(fmt, report, color=(path is None and fmt == "text" and sys.stdout.isatty()))
        if path:
            write_atomic(path, text)
        else:
            sys.stdout.write(text)
    if any(a.internal_errors for a in report.audits):
        return EXIT_ERROR
    if report.failing() and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_OK


def statistics_text(report) -> str:
    from collections import Counter

    from ...registry import all_rules

    counts = Counter(f.code for f in report.findings)
    rules = all_rules()
    lines = [f"{n:>5}  {code}  {rules[code].name if code in rules else ''}" for code, n in counts.most_common()]
    return "\n".join(lines) + ("\n" if lines else "no findings\n")


def version_text() -> str:
    """``detaudit --version``: the version, and the stack it runs on (read from the installed
    packages' metadata: nothing heavy is imported)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from ..._version import __version__  # noqa: I001

    parts = []
    for name in ("torch", "mmengine", "mmcv", "mmdet"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return f"detaudit {__version__} (Python {platform.python_version()}; {', '.join(parts)})\n"


# ---------------------------------------------------------------------------- the shared options
def add_judging_options(p: argparse.ArgumentParser, *, expect_frozen_help: str) -> None:
    """Which rules run and how their findings are judged: the same flags on every audit command."""
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
                     help=expect_frozen_help)


def add_settings_and_output_options(p: argparse.ArgumentParser, *, debug_help: str) -> None:
    """[tool.detaudit], the baseline and the report's formats: the same flags on every audit command."""
    from ...formats import NAMES

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
    out.add_argument("--debug", action="store_true", help=debug_help)


def file_settings_of(args):
    """``[tool.detaudit]`` as ``--settings``/``--isolated`` say; a broken file or a missing
    baseline is misuse, said before anything is audited."""
    from ... import settings as project_settings

    try:
        file_settings = (project_settings.FileSettings() if args.isolated
                         else project_settings.load_settings(args.settings))
        project_settings.check_codes(file_settings)
    except project_settings.SettingsError as exc:
        raise UsageError(str(exc))
    if args.baseline:
        from ...report.baseline import BaselineError, load as load_baseline

        try:
            load_baseline(args.baseline)
        except BaselineError as exc:
            raise UsageError(str(exc))
    return file_settings


def audit_options(args, file_settings, **run):
    """The run's :class:`~detaudit.options.AuditOptions`: the judging flags over ``[tool.detaudit]``,
    and ``run`` (tier, data, no_exec, cfg_options, limits...) as the command parsed them."""
    from ... import settings as project_settings
    from ...registry import unknown_selectors

    severity = severities(args.severity)
    bad = unknown_selectors((args.select or []) + (args.ignore or []) + (args.extend_select or []) + list(severity))
    if bad:
        raise UsageError(f"unknown rule code or prefix: {', '.join(bad)} (see 'detaudit rules')")
    return project_settings.merge(file_settings, select=args.select, ignore=args.ignore,
                                  extend_select=args.extend_select, fail_on=args.fail_on, severity=severity,
                                  expect_frozen=args.expect_frozen, debug=args.debug, **run)


def finish(report, args, outputs) -> int:
    """--write-baseline, else --baseline, then --debug's tracebacks, then the report: the exit code."""
    if args.write_baseline:
        return write_baseline(args.write_baseline, report)
    if args.baseline:
        apply_baseline(args.baseline, report)
    if args.debug:
        print_tracebacks(report)
    return emit(report, outputs, exit_zero=args.exit_zero, statistics=args.statistics)


def print_tracebacks(report) -> None:
    """--debug: the traceback of each step that failed in the audited code (stderr; the report stays as it is)."""
    for a in report.audits:
        for phase, text in a.tracebacks.items():
            print(f"detaudit: {a.config}: traceback of the failed {phase} step:\n{text.rstrip()}\n", file=sys.stderr)


def write_baseline(path: str, report) -> int:
    from ...report import baseline

    for a in report.audits:
        for msg in a.internal_errors:
            print(f"detaudit: {a.config}: {msg}", file=sys.stderr)
    count = baseline.write(report, path)
    print(f"detaudit: wrote {count} finding(s) of {len(report.audits)} config(s) to baseline {path}", file=sys.stderr)
    return EXIT_ERROR if any(a.internal_errors for a in report.audits) else EXIT_OK


def apply_baseline(path: str, report) -> None:
    """Drop the findings the baseline accepts; warn (stderr) about entries that match nothing."""
    from ...report import baseline
    from ...report.complete import apply_baseline as complete_with_baseline

    try:
        outcome = complete_with_baseline(report, path)
    except baseline.BaselineError as exc:
        raise UsageError(str(exc))
    if outcome.accepted:
        print(f"detaudit: baseline {path} accepted {outcome.accepted} finding(s)", file=sys.stderr)
    for entry in outcome.stale:
        print(f"detaudit: warning: baseline {path}: stale entry {baseline.describe(entry)} is no longer "
              f"reported; run --write-baseline {path} to drop it", file=sys.stderr)
