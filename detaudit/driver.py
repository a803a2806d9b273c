"""The one driver: :func:`audit` takes a *source* and the run's :class:`AuditOptions` and goes
through the stages, the same for every face (command line, API, pytest plugin, DetAuditHook,
``detaudit logs``, the workers):

    select rules -> seed the facts the source has -> plan -> check (stage 4) -> complete (stage 5)

Sources:

- :class:`ConfigFile`: a config file (or an mmengine ``Config``); every fact is computed by the
  audit, inside the sandbox that keeps audited code from changing the process, with the
  registries and modules of a fresh process;
- :class:`RunnerObjects`: the objects mmengine's Runner built (DetAuditHook): the model, the
  optimizer wrapper and the config are seeded, nothing is built a second time, the synthetic
  passes are refused with the reason; with ``watch`` set, the ``training`` tier's rules run over
  what the hook observed during training;
- :class:`WorkDir`: a finished run's work dir (``detaudit logs``): the run's config, and the
  logs and checkpoints as the ``training`` source.

Completion (severities, suppressions and DA007, supervision DA091/DA092, tracebacks) happens
once, in :func:`detaudit.report.complete.complete`, for every source. The facts are dropped when
the result is made, so that auditing many configs keeps memory flat.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .check import check_rules
from .facts import dynamo
from .facts.context import AuditContext
from .options import AuditOptions
from .plan import make_plan
from .registry import all_rules, select_rules
from .report.complete import complete
from .report.result import AuditResult
from .rule import EVERY_FACT

SYNTHETIC_NOT_RUN = ("inside training the audit reads the Runner's own objects and runs no synthetic pass "
                     "(`detaudit CONFIG` does)")
BUILD_NOT_OBSERVED = ("the Runner built the model: what the audit's own build records (pretrained inits resolved, "
                      "modes before the freeze hooks) is not observed inside training")
LOGS_NOT_RUN = ("detaudit logs reads what a training wrote; the synthetic passes belong to the config audit "
                "(detaudit CONFIG)")


# ---------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class ConfigFile:
    """A config to audit: a path, or an mmengine ``Config``."""

    config: Any
    kind = "config"

    def rules(self, options: AuditOptions) -> list:
        return select_rules(options.select, options.ignore, options.extend_select)

    def context(self, options: AuditOptions, rules: list) -> AuditContext:
        return AuditContext(self.config, options, selected_codes=[r.code for r in rules],
                            known_codes=all_rules().keys())

    def isolated(self, ctx: AuditContext):
        from .facts.isolation import fresh_imports

        return fresh_imports()  # the registries and modules of a fresh process, for this config and the next

    def checking(self, ctx: AuditContext):
        from .facts.sandbox import process_state_kept

        stack = contextlib.ExitStack()
        stack.enter_context(process_state_kept())
        stack.enter_context(_import_guard(ctx))
        return stack

    def finish(self, ctx: AuditContext, result: AuditResult) -> None:
        pass


@dataclass(frozen=True)
class RunnerObjects:
    """The objects a Runner built. ``datasets``: (key path, dataset) of its loaders, surveyed for
    the data rules; ``watch``: the training source (a :class:`~detaudit.facts.live_run.Watch`)
    for the checks during training, with the freeze ``intents`` and the facts ``known`` from the
    audit before the first iteration."""

    cfg: Any
    model: Any
    optim_wrapper: Any = None
    datasets: tuple = ()
    watch: Any = None
    intents: Any = None
    known: Any = None
    base_dir: Any = None

    @property
    def kind(self) -> str:
        return "config" if self.watch is None else "training"

    def rules(self, options: AuditOptions) -> list:
        # DA091-DA093 watch a supervised audit process, which this is not
        return [r for r in select_rules(options.select, options.ignore, options.extend_select)
                if r.needs != EVERY_FACT]

    def context(self, options: AuditOptions, rules: list) -> AuditContext:
        tier = "run" if self.watch is None else "train"
        ctx = AuditContext(self.cfg, options.replace(tier=tier), base_dir=self.base_dir or os.getcwd(),
                           training=self.watch, tune_allocator=False, selected_codes=[r.code for r in rules],
                           known_codes=all_rules().keys())
        ctx.seed(cfg=self.cfg, load_error=None, model=self.model, build_error=None)
        for tier in ("forward", "train"):
            ctx.refuse(tier, SYNTHETIC_NOT_RUN)
        ctx.refuse("build_report", BUILD_NOT_OBSERVED)
        if self.watch is not None:
            ctx.seed(freeze_intents=self.intents, **(self.known or {}))
            return ctx
        from .facts.live_run import surveyed_run_result

        ctx.seed(run_result=surveyed_run_result(self.cfg, self.datasets, ctx.base_dir))
        if self.optim_wrapper is not None and not isinstance(self.optim_wrapper, dict):
            ctx.seed(optim_wrapper=self.optim_wrapper)
        else:  # the Runner builds it in train(); before that it is still a config
            ctx.refuse("optimizer", "the Runner has not built its optimizer wrapper yet")
        return ctx

    def isolated(self, ctx: AuditContext):
        return contextlib.nullcontext()  # the training's own process: nothing is imported or reset

    def checking(self, ctx: AuditContext):
        return contextlib.nullcontext()

    def finish(self, ctx: AuditContext, result: AuditResult) -> None:
        pass


@dataclass(frozen=True)
class WorkDir:
    """A training run's work dir (or a launch folder inside one); ``config``: the run's config
    when not the one mmengine saved; ``expect_losses``: loss keys every iteration must log."""

    path: Any
    config: Any = None
    expect_losses: tuple = ()
    kind = "training"

    def found(self):
        """(the work dir, its config path); raises WorkDirError when there is no run or no config."""
        from .load.workdir import WorkDirError, find_work_dir

        wd = find_work_dir(self.path)
        config_path = Path(self.config) if self.config else wd.config
        if config_path is None:
            raise WorkDirError(f"no config found in {self.path} (mmengine writes <launch>/vis_data/config.py); "
                               "give it with --config")
        if not config_path.is_file():
            raise WorkDirError(f"config not found: {config_path}")
        return wd, config_path

    def config_path(self) -> Path:
        return self.found()[1]

    def rules(self, options: AuditOptions) -> list:
        return select_rules(options.select, options.ignore, options.extend_select)

    def context(self, options: AuditOptions, rules: list) -> AuditContext:
        from .facts.workdir_run import WorkDirRun

        wd, config_path = self.found()
        source = WorkDirRun(wd, expect_losses=list(self.expect_losses) or None)
        ctx = AuditContext(str(config_path), options, training=source, tune_allocator=False,
                           selected_codes=[r.code for r in rules], known_codes=all_rules().keys())
        for tier in ("forward", "train"):
            ctx.refuse(tier, LOGS_NOT_RUN)
        return ctx

    def isolated(self, ctx: AuditContext):
        return contextlib.nullcontext()

    def checking(self, ctx: AuditContext):
        from .facts.sandbox import process_state_kept

        return process_state_kept()

    def finish(self, ctx: AuditContext, result: AuditResult) -> None:
        result.config = ctx.display(ctx.training.wd.path)
        for f in result.findings + result.suppressed:
            f.config = result.config
        result.losses = logged_losses(ctx)


Source = ConfigFile | RunnerObjects | WorkDir


# ---------------------------------------------------------------------------- the driver
def audit(source: Source, options: AuditOptions | None = None, *,
          on_context: Callable[[AuditContext], None] | None = None) -> AuditResult:
    """Audit ``source`` under ``options``: one completed :class:`AuditResult`."""
    return audit_keeping(source, options, on_context=on_context)[0]


def audit_keeping(source: Source, options: AuditOptions | None = None, *, keep=(),
                  on_context: Callable[[AuditContext], None] | None = None) -> tuple[AuditResult, dict]:
    """:func:`audit`, and the facts named in ``keep`` that were computed (DetAuditHook keeps the
    freeze intents and the source map for its checks during training)."""
    options = options or AuditOptions()
    if not isinstance(source, (ConfigFile, RunnerObjects, WorkDir)):
        source = ConfigFile(source)
    rules = source.rules(options)
    ctx = source.context(options, rules)
    plan = make_plan(rules, max_tier=ctx.max_tier, cli_tier=ctx.cli_tier, audit=source.kind)
    if on_context is not None:
        on_context(ctx)  # the worker keeps it to stop the audit at --timeout
    with source.isolated(ctx):
        try:
            with source.checking(ctx), _intercepting(ctx) as recorder, dynamo.deferred():
                checked = _check_within_bound(ctx, plan, options, source)
            if isinstance(checked, AuditResult):  # stopped outside any step: the stop alone
                result = checked
            else:
                result = complete(ctx, checked, rules, options, blocking_calls=recorder.calls)
            source.finish(ctx, result)
            kept = {}
            for name in keep:
                try:
                    kept[name] = getattr(ctx, name)
                except Exception:  # noqa: BLE001 - a fact that cannot be had is not kept
                    continue
            return result, kept
        finally:
            ctx.release()


@contextlib.contextmanager
def _intercepting(ctx: AuditContext):
    """Blocking calls of the audited code return at once and are recorded (DA095, facts/blocking.py)."""
    from .facts.blocking import intercepted, model_attributor

    with intercepted() as recorder, recorder.attributing(model_attributor(ctx)):
        yield recorder


def _check_within_bound(ctx: AuditContext, plan, options: AuditOptions, source: Source):
    """The rules within the config's time bound (facts/deadline.py): what the rules saw, or, when
    the bound hit outside any step, a result holding DA091 alone. A stop inside a step keeps the
    steps before it (DA091 names the step). Inside training the bound is the train tier's."""
    from .errors import AuditTimeout
    from .report.complete import stopped
    from .facts.deadline import bound_for, deadline

    tier = "train" if isinstance(source, RunnerObjects) else options.tier
    explicit = options.timeout is not None and not isinstance(source, RunnerObjects)
    bound = bound_for(options.timeout if explicit else None, tier)
    try:
        with deadline(bound, ctx, explicit=explicit, tier=tier):
            return check_rules(ctx, plan, debug=options.debug)
    except AuditTimeout as exc:
        return stopped(ctx, options, exc.interruption or ctx.interruption or {"timeout": bound})


def _import_guard(ctx: AuditContext):
    """--no-exec: no module next to the audited config (or in the working directory) may be
    imported while its rules run, whatever a rule does."""
    if not ctx.no_exec:
        return contextlib.nullcontext()
    from .facts.sandbox import refuse_local_imports

    folders = [os.getcwd()] + ([str(ctx.config_path.resolve().parent)] if ctx.config_path else [])
    return refuse_local_imports(folders)


def logged_losses(ctx) -> dict[str, float | None] | None:
    """The last logged value of every loss key (None when it is not finite)."""
    import math

    if not ctx.has("loss_log"):
        return None
    series = ctx.loss_log.series
    return {k: (s.last_value if s.last_value is not None and math.isfinite(s.last_value) else None)
            for k, s in series.items()}


__all__ = ["audit", "audit_keeping", "ConfigFile", "RunnerObjects", "WorkDir", "Source"]
