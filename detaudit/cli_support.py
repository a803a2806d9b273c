"""What the command line's commands share: argument types and parsers that exit with one clear
line (``UsageError``), config paths, ``--cfg-options``, output formats, and writing a report
with the exit code it stands for (0 clean, 1 findings at or above --fail-on, 2 misuse or
internal error; ``--exit-zero`` turns 1 into 0, never 2)."""
from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

from .atomic import write_atomic
from .findings import WORST_FIRST

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
    from .workers.options import parse_size

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
    """mmengine's DictAction rules: ints, floats, booleans, None, lists and tuples (read
    without importing mmengine: --no-exec audits run without it)."""
    from .load.data_config import parse_option_value

    try:
        return parse_option_value(value)
    except ValueError as exc:
        raise UsageError(f"--cfg-options: {exc}")


def outputs(args) -> list[tuple[str, str | None]]:
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
    from .formats import render

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

    from .registry import all_rules

    counts = Counter(f.code for f in report.findings)
    rules = all_rules()
    lines = [f"{n:>5}  {code}  {rules[code].name if code in rules else ''}" for code, n in counts.most_common()]
    return "\n".join(lines) + ("\n" if lines else "no findings\n")
