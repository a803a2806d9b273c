"""One config through the stages: load -> plan -> facts -> check -> report.

:func:`audit_one` is what every face runs per config: the API and the pytest plugin in this
process, the command line in this process or in a worker (:mod:`detaudit.workers`). The
facts are computed inside the sandbox that keeps audited code from changing the process, and
dropped when the result is made, so that auditing many configs keeps memory flat.
"""
from __future__ import annotations

import contextlib
from typing import Callable

from .check import run_rules
from .facts.blocking import intercepted, model_attributor
from .facts.context import AuditContext
from .facts.isolation import fresh_imports
from .facts.sandbox import process_state_kept, refuse_local_imports
from .plan import make_plan
from .registry import all_rules, select_rules
from .report import suppress
from .report.blocking import add_blocking_findings
from .report.result import AuditResult
from .report.supervision import add_supervision_findings
from .settings import Settings
from .workers.deadline import bound_for, deadline
from .workers.options import RunOptions


def audit_one(config, settings: Settings, options: RunOptions | None = None, *,
              expect_frozen_source: str = "--expect-frozen",
              on_context: Callable[[AuditContext], None] | None = None) -> AuditResult:
    options = options or RunOptions()
    rules = select_rules(settings.select, settings.ignore, settings.extend_select)
    ctx = AuditContext(config, cfg_options=options.cfg_options, expect_frozen=settings.expect_frozen,
                       expect_frozen_source=expect_frozen_source, input_size=options.input_size, tier=settings.tier,
                       no_exec=options.no_exec, selected_codes=[r.code for r in rules],
                       known_codes=all_rules().keys(), data_mode=options.data)
    plan = make_plan(rules, max_tier=ctx.max_tier, cli_tier=ctx.cli_tier)
    if on_context is not None:
        on_context(ctx)  # a caller that watches the audit (the time bound is kept below)
    # the registries and modules of a fresh process, for this config and the next
    # every tier has a time bound (workers/deadline.py); blocking calls return at once (facts/blocking.py)
    bound = bound_for(options.timeout, settings.tier)
    with fresh_imports():
        try:
            with process_state_kept(), _import_guard(ctx), intercepted() as recorder:
                ctx.blocking = recorder
                with recorder.attributing(model_attributor(ctx)):
                    result = _bounded(ctx, plan, settings, options, bound)
            add_supervision_findings(ctx, result, rules, settings.severity, options.max_memory)
            add_blocking_findings(ctx, result, rules, settings.severity)
            # Inline "# detaudit: ignore[...]" comments, honoured by every face.
            suppress.apply(ctx, result, rules, settings.severity)
            if options.debug:  # what DA001/DA002/DA40x point at, in full
                result.tracebacks = {phase: info.traceback for phase, info in ctx.errors.items() if info.traceback}
            return result
        finally:
            ctx.release()


def _bounded(ctx: AuditContext, plan, settings: Settings, options: RunOptions, bound: float | None) -> AuditResult:
    """The rules within the config's time bound. A stop inside a step keeps the steps before it
    (DA091 names the step); a stop anywhere else leaves only DA091."""
    from .errors import AuditTimeout
    from .report.supervision import TIMEOUT_CODE, failure_result, timeout_message

    try:
        with deadline(bound, ctx, explicit=options.timeout is not None, tier=settings.tier):
            return run_rules(ctx, plan, severity_overrides=settings.severity, debug=options.debug)
    except AuditTimeout as exc:
        interruption = exc.interruption or ctx.interruption or {"timeout": bound}
        ctx.interruption = None  # reported here: the result is the stop alone
        message, evidence = timeout_message(interruption, "running the rules")
        return failure_result(ctx.display_path, settings, TIMEOUT_CODE, message, evidence,
                              "look for a loop or a blocking call in the config's code or custom modules, "
                              "or raise --timeout")


def _import_guard(ctx: AuditContext):
    """--no-exec: no module next to the audited config (or in the working directory) may be
    imported while its rules run, whatever a rule does."""
    if not ctx.no_exec:
        return contextlib.nullcontext()
    import os

    folders = [os.getcwd()] + ([str(ctx.config_path.resolve().parent)] if ctx.config_path else [])
    return refuse_local_imports(folders)
