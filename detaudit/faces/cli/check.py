"""``detaudit CONFIG ...``: audit configs (in this process, or in supervised workers with
--jobs/--timeout/--max-memory), with the result cache for unchanged configs."""
from __future__ import annotations

import argparse
import sys

from ...rule.facts import CLI_TIERS
from . import fix as fix_options
from . import scale as scale_options
from .common import (EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, Parser, add_judging_options, add_settings_and_output_options, audit_options, emit,
                     expand_configs, file_settings_of, finish, jobs_arg, memory_arg, parse_cfg_options, seconds_arg,
                     size_arg, version_text)
from .common import outputs as output_specs


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="detaudit", description="Audit MMDetection 3.x / mmengine configs before training.",
               epilog="Other commands: 'detaudit rule CODE|NAME' explains a rule; 'detaudit rules' lists them; "
                      "'detaudit cache clean' empties the result cache; "
                      "'detaudit show CONFIG [KEY ...]' shows where each value comes from; "
                      "'detaudit logs WORK_DIR' audits a training run from its work dir; "
                      "'detaudit dashboard REPORT.json... -o DIR' builds an HTML dashboard; "
                      "'detaudit data CONFIG' checks the annotations and draws a contact sheet; "
                      "'detaudit merge REPORT.json...' joins the reports of --shard runs; "
                      "'detaudit migrate PATH --out DIR' converts MMDetection 2.x configs to 3.x; "
                      "'detaudit --version' prints the version and the stack it runs on. "
                      "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 misuse or internal error, "
                      "130/143 interrupted (Ctrl-C/SIGTERM; the report of what finished is written).")
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="config files, folders or globs")
    p.add_argument("--version", action="version", version=version_text().rstrip(),
                   help="print the version and the stack it runs on (torch, mmengine, mmcv, mmdet), and exit")
    add_judging_options(p, expect_frozen_help="modules that must not train (e.g. backbone); repeat or separate "
                                              "with commas")
    run = p.add_argument_group("what to run")
    run.add_argument("--tier", choices=tuple(CLI_TIERS), default="run",
                     help="deepest tier to run (default run: the Runner's own loops, data, evaluators, hooks "
                          "and checkpoints too; train and below are the quick checks for pre-commit and CI)")
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
                       help="stop a config's audit after SECONDS (DA091; default: the tier's time bound, "
                            "0: none); a value runs audits in workers")
    scale.add_argument("--max-memory", type=memory_arg, metavar="SIZE",
                       help="memory one audit may add to its worker, e.g. 4G (DA092); runs audits in workers")
    scale.add_argument("--no-exec", action="store_true",
                       help="read configs without executing any of their code: static rules only (DA094)")
    scale.add_argument("--no-cache", action="store_true",
                       help="audit every config again: neither read nor write the result cache "
                            "(see 'detaudit cache clean')")
    scale_options.add_arguments(p)  # --shard, --durations, --executor, --ray-address
    fix_options.add_arguments(p)    # --fix, --unsafe-fixes, --diff
    add_settings_and_output_options(p, debug_help="show the tracebacks of the audited code's failures (stderr) "
                                                  "and of internal errors")
    return p


def cmd_check(argv: list[str], cache=None) -> int:
    """Audit configs. ``cache`` is the ResultCache (report/cache.py) set up before the audit
    moved the library caches, or None for no caching."""
    from ... import settings as project_settings
    from ...report.report import Report

    args = parser().parse_args(argv)
    outputs = output_specs(args)
    file_settings = file_settings_of(args)
    configs, shard = scale_options.apply_shard(args, expand_configs(args.configs))
    run = scale_options.runner(args)
    # The command line wins over [tool.detaudit]; per-file ignores and expect-frozen apply per config.
    options = audit_options(args, file_settings, tier=args.tier, data=args.data, no_exec=args.no_exec,
                            cfg_options=parse_cfg_options(args.cfg_options), input_size=args.input_size,
                            timeout=args.timeout, max_memory=args.max_memory)
    report = Report(settings=options)
    items = []
    for path in configs:
        config_options, _ = project_settings.for_config(file_settings, options, path,
                                                        cli_expect_frozen=bool(args.expect_frozen))
        items.append((str(path), config_options))
    # --jobs/--timeout/--max-memory: supervised workers (detaudit/workers); results stay in input order
    from ...workers.interrupt import RunInterrupted, stop_on_signals

    try:  # Ctrl-C / SIGTERM: the report of what finished, an "interrupted" entry per other config (exit 130/143)
        with stop_on_signals():
            report.audits.extend(_audit_with_cache(items, args.jobs, None if args.no_cache else cache, run))
    except RunInterrupted as stopped:
        report.audits.extend(stopped.results)
        scale_options.attach_shard(report, shard)
        code = emit(report, outputs, exit_zero=args.exit_zero, statistics=args.statistics)
        done = sum(1 for a in report.audits if a.status != "interrupted")
        print(f"detaudit: interrupted: {done} of {len(report.audits)} config(s) finished "
              f"(exit {stopped.exit_code})", file=sys.stderr)
        return stopped.exit_code if code != EXIT_ERROR else code
    scale_options.attach_shard(report, shard)
    if fix_options.requested(args):  # --fix / --unsafe-fixes / --diff, then the fixed configs audited again
        made = fix_options.apply_fixes(report, items, args, lambda again: _audit_with_cache(again, 1, None))
        if args.diff:  # the diff is the output (as ruff's --diff): 1 when there is something to fix
            return EXIT_FINDINGS if made else EXIT_OK
    return finish(report, args, outputs)


def _audit_with_cache(items: list, jobs: int, cache, run=None) -> list:
    """Results in input order: unchanged configs from the cache, the others audited (and stored)
    by ``run`` (default the local workers; ``--executor ray``: tasks of a Ray cluster)."""
    from ...workers.supervisor import run_audits

    run_audits = run or run_audits

    show_progress = sys.stderr.isatty()
    if cache is None:
        return run_audits(items, jobs=jobs, show_progress=show_progress)
    results: list = [None] * len(items)
    keys: dict[int, tuple[str, str]] = {}
    todo = []
    for i, (config, options) in enumerate(items):
        key = cache.key(config, options)
        hit = cache.get(*key) if key else None
        if hit is not None:
            results[i] = hit
            continue
        if key:
            keys[i] = key
        todo.append(i)
    from ...workers.interrupt import RunInterrupted

    stopped = None
    try:
        audited = run_audits([items[i] for i in todo], jobs=jobs, show_progress=show_progress) if todo else []
    except RunInterrupted as exc:
        stopped, audited = exc, exc.results
    for i, result in zip(todo, audited):
        results[i] = result
        if i in keys and result.status != "interrupted":
            cache.put(*keys[i], result)
    if stopped is not None:
        stopped.results = results
        raise stopped
    return results
