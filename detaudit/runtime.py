"""The audit inside a training run, on the objects mmengine's Runner built.

Before the first iteration, :func:`audit_runner` runs the config audit's rules over the
Runner's own model (after ``load_from`` and the freeze hooks), optimizer wrapper and config:
the facts are *seeded* into an :class:`AuditContext`, nothing is built a second time, and the
rules that need a synthetic pass are skipped with the reason. During training,
:class:`Watch` keeps what the checks need (a digest of every tensor a freeze intent covers,
the loss terms of every iteration, which trainable parameters receive a gradient), and
:func:`audit_watch` runs the ``training`` tier's rules over it. DetAuditHook
(:mod:`detaudit.hooks`) calls these, and handles processes, logging and the report.
"""
from __future__ import annotations

import math
import os
import time

from .check import run_rules
from .errors import FactUnavailable
from .facts.context import AuditContext
from .facts.training import (FrozenState, GradientCoverage, LossLog, compare, digests, frozen_groups,
                             is_loss_key)
from .plan import make_plan
from .registry import select_rules
from .report.result import AuditResult
from .rule import EVERY_FACT
from .settings import Settings

SYNTHETIC_NOT_RUN = ("inside training the audit reads the Runner's own objects and runs no synthetic pass "
                     "(`detaudit CONFIG` does)")
BUILD_NOT_OBSERVED = ("the Runner built the model: what the audit's own build records (pretrained inits resolved, "
                      "modes before the freeze hooks) is not observed inside training")


def _rules(settings: Settings):
    # DA091-DA093 watch a supervised audit process, which this is not (DA095's findings are added after)
    return [r for r in select_rules(settings.select, settings.ignore, settings.extend_select)
            if r.needs != EVERY_FACT]


def runner_context(cfg, model, *, settings: Settings, expect_frozen_source: str, training=None,
                   base_dir=None, tier: str = "train") -> AuditContext:
    """A context whose model and config are the Runner's: built, loaded and frozen already."""
    ctx = AuditContext(cfg, expect_frozen=settings.expect_frozen, expect_frozen_source=expect_frozen_source,
                       base_dir=base_dir or os.getcwd(), training=training, tune_allocator=False,
                       selected_codes=[r.code for r in _rules(settings)], tier=tier)
    ctx.seed(cfg=cfg, load_error=None, model=model, build_error=None)
    for tier in ("forward", "train"):
        ctx.refuse(tier, SYNTHETIC_NOT_RUN)
    ctx.refuse("build_report", BUILD_NOT_OBSERVED)
    return ctx


def audit_runner(cfg, model, optim_wrapper, settings: Settings, *, expect_frozen_source: str,
                 base_dir=None, datasets=()) -> tuple[AuditResult, AuditContext]:
    """The config audit's rules on the Runner's objects; the context is kept for the checks.
    ``datasets``: (key path, dataset) the Runner built, surveyed for the data rules (DA711-DA713)."""
    ctx = runner_context(cfg, model, settings=settings, expect_frozen_source=expect_frozen_source,
                         base_dir=base_dir, tier="run")
    ctx.seed(run_result=_surveyed(cfg, datasets, ctx.base_dir))
    if optim_wrapper is not None and not isinstance(optim_wrapper, dict):
        ctx.seed(optim_wrapper=optim_wrapper)
    else:  # the Runner builds it in train(); before that it is still a config
        ctx.refuse("optimizer", "the Runner has not built its optimizer wrapper yet")
    rules = _rules(settings)
    plan = make_plan(rules, max_tier=ctx.max_tier, cli_tier=ctx.cli_tier)
    return _bounded_rules(ctx, plan, settings), ctx


def _bounded_rules(ctx: AuditContext, plan, settings: Settings) -> AuditResult:
    """The rules inside the training's process, as a config audit runs them: blocking calls return at
    once (DA095), and the audit stops at the train tier's time bound (an AuditTimeout, which
    DetAuditHook logs; training goes on)."""
    from .facts.blocking import intercepted, model_attributor
    from .report.blocking import add_blocking_findings
    from .workers.deadline import bound_for, deadline

    with intercepted() as recorder:
        ctx.blocking = recorder
        with recorder.attributing(model_attributor(ctx)), \
                deadline(bound_for(None, "train"), ctx, explicit=False, tier="train"):
            result = run_rules(ctx, plan, severity_overrides=settings.severity)
    # what the audit intercepted (DA095), without computing every fact as a rule watching the audit would
    add_blocking_findings(ctx, result, select_rules(settings.select, settings.ignore, settings.extend_select),
                          settings.severity)
    return result


class Watch:
    """What the checks compare against, and the source of the ``training`` facts."""

    def __init__(self, model, intents, *, expect_losses=(), expect_losses_source: str = "", rank: int = 0):
        self.model = model
        self.groups = frozen_groups(intents, model)
        self.names = list(dict.fromkeys(n for g in self.groups for n in g.params + g.buffers))
        start = time.perf_counter()
        self.before = digests(model, self.names)
        self.digest_seconds = time.perf_counter() - start
        self.numel = {n: p.numel() for n, p in model.named_parameters()}
        self.losses = LossLog(source=f"the training's outputs (DetAuditHook, process {rank})")
        if expect_losses:
            self.losses.expect(expect_losses, expect_losses_source)
        self.trainable = [n for n, p in model.named_parameters() if p.requires_grad]
        self.with_gradient: set[str] = set()
        self.grad_iterations = 0
        self._handles = []
        self.frozen: FrozenState | None = None
        self.coverage: GradientCoverage | None = None
        self.coverage_named_at: int | None = None

    # ------------------------------------------------------------------ gradients
    def watch_gradients(self) -> None:
        """Note every trainable parameter whose gradient backward writes (a hook per
        parameter, removed by :meth:`stop_watching_gradients`)."""
        params = dict(self.model.named_parameters())
        for name in self.trainable:
            p = params[name]
            if hasattr(p, "register_post_accumulate_grad_hook"):
                self._handles.append(p.register_post_accumulate_grad_hook(self._seen(name)))

    def _seen(self, name: str):
        def hook(param):
            self.with_gradient.add(name)
        return hook

    def stop_watching_gradients(self, iterations: int) -> None:
        for h in self._handles:
            h.remove()
        if self._handles:
            missing = [n for n in self.trainable if n not in self.with_gradient]
            self.coverage = GradientCoverage(iterations=iterations, trainable=len(self.trainable),
                                             without_gradient=missing,
                                             numel_without=sum(self.numel.get(n, 0) for n in missing))
        self._handles = []

    # ------------------------------------------------------------------ losses
    def record_losses(self, iteration: int, outputs) -> None:
        """One iteration's logged outputs (a dict of scalar tensors or numbers)."""
        if not outputs or not hasattr(outputs, "items"):
            return
        values = {}
        for key, value in outputs.items():
            if is_loss_key(key):
                try:
                    values[key] = float(value.detach() if hasattr(value, "detach") else value)
                except (TypeError, ValueError, RuntimeError):
                    continue  # not a scalar: mmengine would not log it either
        self.losses.add(iteration, values)

    # ------------------------------------------------------------------ frozen modules
    def compare_now(self, iteration: int, lr_of=None) -> FrozenState:
        after = digests(self.model, self.names)
        states = compare(self.groups, self.before, after, self.numel)
        for group, state in zip(self.groups, states):
            if self._handles or self.coverage is not None:
                state.with_gradient = [p for p in group.params if p in self.with_gradient]
            if lr_of is not None:
                rates = [lr_of[p] for p in group.params if p in lr_of]
                state.lr_now = max(rates) if rates else None
        self.frozen = FrozenState(reference="before_train", current=f"after iteration {iteration}",
                                  method="SHA-256 digest per tensor", modules=states)
        return self.frozen

    # ------------------------------------------------------------------ the training source
    def frozen_state(self, ctx):
        if self.frozen is None:
            raise FactUnavailable("frozen_state", "no check has run yet")
        return self.frozen

    def loss_log(self, ctx):
        if not self.losses.records:
            raise FactUnavailable("loss_log", "no training iteration has been logged yet")
        return self.losses

    def lr_log(self, ctx):
        raise FactUnavailable("lr_log", "inside training the Runner's own schedulers set the lr; "
                                        "`detaudit logs WORK_DIR` compares the logged lr with the config")

    def grad_coverage(self, ctx):
        if self.coverage is None:
            raise FactUnavailable("grad_coverage", "gradients were not watched (torch without "
                                                   "register_post_accumulate_grad_hook)")
        if self.coverage_named_at is not None:
            raise FactUnavailable("grad_coverage", f"named once, after iteration {self.coverage_named_at}")
        return self.coverage


def audit_watch(cfg, model, intents, watch: Watch, settings: Settings, *, expect_frozen_source: str,
                base_dir=None, known: dict | None = None) -> AuditResult:
    """The ``training`` tier's rules over what ``watch`` holds now; ``known``: facts kept from the
    audit before the first iteration (the source map), not computed again at every check."""
    ctx = runner_context(cfg, model, settings=settings, expect_frozen_source=expect_frozen_source,
                         training=watch, base_dir=base_dir)
    ctx.seed(freeze_intents=intents, **(known or {}))
    plan = make_plan(_rules(settings), max_tier=ctx.max_tier, cli_tier=ctx.cli_tier, audit="training")
    try:
        return run_rules(ctx, plan, severity_overrides=settings.severity)
    finally:
        ctx.release()


def _surveyed(cfg, datasets, base_dir):
    """A run result holding only what the Runner's own datasets hold: the dry run itself is training."""
    from .facts.run.data import survey_built
    from .facts.run.runner import RunResult

    result = RunResult(stages={"run": "skipped: inside training the Runner itself runs; the dry run is "
                                      "`detaudit --tier run`"})
    for key, dataset in datasets:
        ds_cfg = cfg
        for part in key.split("."):
            ds_cfg = ds_cfg[int(part)] if isinstance(ds_cfg, (list, tuple)) else ds_cfg.get(part, None)
            if ds_cfg is None:
                break
        if hasattr(ds_cfg, "get"):
            try:
                result.surveys[key] = survey_built(dataset, ds_cfg, key, base_dir)
            except Exception:  # noqa: BLE001 - a dataset the survey cannot read: no data finding for it
                continue
    return result


def runner_datasets(runner) -> list[tuple[str, object]]:
    """(key path, dataset) of the real datasets behind the loaders the Runner has built by ``before_train``."""
    out = []
    for name in ("train", "val", "test"):
        loop = getattr(runner, f"_{name}_loop", None)
        loader = getattr(loop, "dataloader", None) if loop is not None and not isinstance(loop, dict) else None
        if loader is not None:
            out += _leaves(getattr(loader, "dataset", None), f"{name}_dataloader.dataset")
    return out


def _leaves(dataset, path: str, depth: int = 0) -> list[tuple[str, object]]:
    if dataset is None or depth > 8:
        return []
    if type(dataset).__name__ == "_SlicedDataset":
        return _leaves(getattr(dataset, "_dataset", None), path, depth + 1)
    inner = getattr(dataset, "datasets", None)
    if isinstance(inner, (list, tuple)):
        return [x for i, d in enumerate(inner) for x in _leaves(d, f"{path}.datasets.{i}", depth + 1)]
    if getattr(dataset, "dataset", None) is not None and hasattr(dataset.dataset, "get_data_info"):
        return _leaves(dataset.dataset, f"{path}.dataset", depth + 1)
    return [(path, dataset)] if hasattr(dataset, "get_data_info") else []


def lr_by_param(model, optim_wrapper) -> dict[str, float]:
    """Parameter name -> the lr of the optimizer group holding it now (the largest, if several)."""
    by_id = {id(p): n for n, p in model.named_parameters()}
    out: dict[str, float] = {}
    for optimizer in _optimizers(optim_wrapper):
        for group in optimizer.param_groups:
            lr = group.get("lr")
            if not isinstance(lr, (int, float)) or not math.isfinite(lr):
                continue
            for p in group["params"]:
                name = by_id.get(id(p))
                if name is not None:
                    out[name] = max(out.get(name, lr), lr)
    return out


def _optimizers(optim_wrapper) -> list:
    """The torch optimizers of an OptimWrapper or OptimWrapperDict (none of a config dict)."""
    if hasattr(optim_wrapper, "optimizer"):
        return [optim_wrapper.optimizer]
    if hasattr(optim_wrapper, "values"):  # OptimWrapperDict
        return [w.optimizer for w in optim_wrapper.values() if hasattr(w, "optimizer")]
    return []
