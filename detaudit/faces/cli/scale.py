"""The command line beyond one machine: ``--shard I/N`` and ``--durations`` (one job of a CI
matrix audits its share, workers/shard.py), ``--executor ray`` and ``--ray-address`` (each config
as a task of a Ray cluster, workers/ray_executor.py), and ``detaudit merge`` (shard reports joined
into the report of one run, report/merge.py)."""
from __future__ import annotations

import argparse
import sys

from ...findings import WORST_FIRST
from .common import Parser, UsageError, emit
from .common import outputs as output_specs

EXECUTORS = ("local", "ray")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("beyond one machine")
    group.add_argument("--shard", metavar="I/N",
                       help="audit shard I of N (counted from 1) of the configs, for one job of a CI matrix; "
                            "join the shards' JSON reports with 'detaudit merge'")
    group.add_argument("--durations", metavar="REPORT.json",
                       help="balance --shard by the per-config timings of an earlier JSON report")
    group.add_argument("--executor", choices=EXECUTORS, default="local",
                       help="where configs are audited: 'local' worker processes (default) or tasks of a Ray "
                            "cluster ('ray', needs pip install 'detaudit[ray]')")
    group.add_argument("--ray-address", metavar="ADDRESS",
                       help="the Ray cluster to use with --executor ray (as ray.init takes it, e.g. 'auto' or "
                            "HOST:6379); default: $RAY_ADDRESS, else a Ray instance on this machine only")


def apply_shard(args, configs: list) -> tuple[list, dict | None]:
    """The configs this run audits, and the split's description for the report (None without --shard)."""
    if args.durations and not args.shard:
        raise UsageError("--durations balances --shard: give --shard I/N too")
    if not args.shard:
        return configs, None
    from ...workers.shard import ShardError, parse_shard, select

    try:
        index, count = parse_shard(args.shard)
        positions, info = select(configs, index, count, args.durations)
    except ShardError as exc:
        raise UsageError(str(exc))
    print(f"detaudit: shard {index}/{count}: {len(positions)} of {len(configs)} config(s)"
          + (f" (balanced by {args.durations})" if args.durations else ""), file=sys.stderr)
    return [configs[i] for i in positions], info


def runner(args):
    """What audits the configs that the cache does not answer: None for the local workers, else a
    function taking ``(items, jobs=..., show_progress=...)`` like ``run_audits``."""
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if args.executor != "ray":
        return None
    from ...workers.ray_executor import RayUnavailable, check_available, run_on_ray

    try:
        check_available()
    except RayUnavailable as exc:
        raise UsageError(str(exc))

    def run(items, *, jobs=1, show_progress=False):
        try:
            return run_on_ray(items, address=args.ray_address, jobs=jobs, show_progress=show_progress)
        except RayUnavailable as exc:
            raise UsageError(str(exc))

    return run


def attach_shard(report, info: dict | None) -> None:
    if info is not None:
        from ...report.merge import shard_block

        report.shard = shard_block(info, report.audits)


# ---------------------------------------------------------------------------- detaudit merge
def _merge_parser() -> argparse.ArgumentParser:
    from ...formats import NAMES

    p = Parser(prog="detaudit merge",
               description="Join the JSON reports of the shards of one run (--shard I/N) into the report a "
                           "single run gives.")
    p.add_argument("reports", nargs="+", metavar="REPORT.json", help="the shards' reports (--format json:PATH)")
    p.add_argument("--format", action="append", default=[], metavar="FORMAT[:PATH]",
                   help=f"one of {', '.join(NAMES)} (default json); repeat for several, FORMAT:PATH writes to a file")
    p.add_argument("-o", "--output", metavar="PATH", help="write the (single) merged report to PATH")
    p.add_argument("--fail-on", choices=WORST_FIRST, default=None,
                   help="lowest severity that makes the exit code 1 (default: the shards' setting)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    p.add_argument("--statistics", action="store_true", help="print counts per rule instead of findings")
    return p


def cmd_merge(argv: list[str]) -> int:
    """Exit codes as for a run: 0 clean, 1 findings at or above --fail-on, 2 a bad report or an
    internal error recorded by a shard."""
    from ...report.merge import MergeError, merge

    args = _merge_parser().parse_args(argv)
    if not args.format:
        args.format = ["json"]
    outputs = output_specs(args)
    try:
        report = merge(args.reports)
    except MergeError as exc:
        raise UsageError(f"merge: {exc}")
    if args.fail_on:
        report.settings.fail_on = args.fail_on
    print(f"detaudit: merged {len(args.reports)} report(s): {len(report.audits)} config(s)", file=sys.stderr)
    return emit(report, outputs, exit_zero=args.exit_zero, statistics=args.statistics)
