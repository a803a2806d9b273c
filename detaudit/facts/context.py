"""AuditContext: the facts about one config, each computed on first use and at most once.

Every fact of :class:`~detaudit.rule.facts.AuditFacts` is a property here, declared with :func:`fact` and
computed by the module of its family (``build``, ``checkpoint``, ``optimizer``, ``forward``, ``step``,
``pipeline_probe``, ``imports``...). A fact that fails is remembered: asking again raises :class:`FactUnavailable`
with the same reason, and the failure itself is kept in ``errors`` by phase for the rules that report it.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..errors import ErrorInfo, FactUnavailable
from ..load.paths import display_path
from ..options import AuditOptions
from ..rule.facts import FACT_TIERS, tier_rank
from .blame import crash_blame as _crash_blame
from .feature_sizes import feature_sizes as _feature_sizes, received_channels as _received_channels
from .forward import loss_result as _loss_result, predict_result as _predict_result
from .inputs import AuditInputs, Built
from .memo import NO_EXEC_REASON, fact
from .run.lean import ModelLoan

class AuditContext:
    """One audit's facts, by role: :attr:`inputs` (what the audit was given, frozen), the memo (each fact
    computed once, failures and timings by phase) and per-tier state that is itself a fact (``forward_state``:
    what the forward passes settled on and saw). Fact modules read the context and return values; they record
    a failure through :meth:`record_error` and never set attributes on it."""

    def __init__(self, config, options: AuditOptions | None = None, *, base_dir: str | os.PathLike | None = None,
                 selected_codes=frozenset(), known_codes=frozenset(), training=None, tune_allocator: bool = True,
                 **option_values):
        from .forward import large_allocations_to_mmap

        options = (options or AuditOptions()).replace(**option_values) if option_values else (options or AuditOptions())
        self.inputs = AuditInputs(config=config, options=options,
                                  base_dir=Path(base_dir) if base_dir else Path.cwd(),
                                  selected_codes=frozenset(selected_codes), known_codes=frozenset(known_codes),
                                  training=training)
        self.refused: dict[str, str] = {}  # tier -> why none of its facts is computed in this audit
        self.timings: dict[str, float] = {}
        self.errors: dict[str, ErrorInfo] = {}
        self._facts: dict[str, Any] = {}
        self._failed: dict[str, str] = {}
        # Set when the audit was stopped (--timeout, :meth:`cancel`): every fact not yet computed is refused.
        self.cancelled: str | None = None
        self.interruption: dict | None = None
        self.model_loan = ModelLoan()  # offered once no check reads the model's values again (run/lean.py)
        if tune_allocator:  # not inside someone's training process (DetAuditHook): it is theirs
            large_allocations_to_mmap()
        self.display_path = self.display(self.config_path) if self.config_path else "<config>"

    # ------------------------------------------------------------------ the inputs (read-only)
    @property
    def options(self) -> AuditOptions:
        return self.inputs.options

    @property
    def config_arg(self):
        return self.inputs.config

    @property
    def config_path(self) -> Path | None:
        return self.inputs.config_path

    @property
    def base_dir(self) -> Path:
        return self.inputs.base_dir

    @property
    def no_exec(self) -> bool:
        return bool(self.inputs.options.no_exec)

    @property
    def cli_tier(self) -> str:
        return self.inputs.options.tier

    @property
    def max_tier(self) -> str:
        return self.inputs.max_tier

    @property
    def selected_codes(self) -> frozenset:
        return self.inputs.selected_codes

    @property
    def known_codes(self) -> frozenset:
        return self.inputs.known_codes  # every code a rule pack registers

    @property
    def training(self):
        """A real training run (DetAuditHook's observations, or a work dir for `detaudit logs`):
        the source of the facts of the ``training`` tier (see facts/training.py)."""
        return self.inputs.training

    # ------------------------------------------------------------------ the memo's own records
    def record_error(self, phase: str, info: ErrorInfo) -> ErrorInfo:
        """A step of the audit failed: kept by phase for the rules that report it."""
        self.errors[phase] = info
        return info

    def cancel(self, reason: str, interruption: dict | None = None) -> None:
        """Stop the audit: no fact that is not computed yet will be (static ones excepted)."""
        self.interruption = interruption
        self.cancelled = reason

    @property
    def input_unsupported(self) -> str | None:
        """Why the synthetic batch cannot stand for the model's input, when a pass found so."""
        return self._facts["forward_state"].input_unsupported if "forward_state" in self._facts else None

    @property
    def run_skipped(self) -> str | None:
        """Why the run tier did not run, if it was set up and did not."""
        result = self._facts.get("run_result")
        stage = result.stages.get("run", "") if result is not None else ""
        return stage[len("skipped: "):] if stage.startswith("skipped") else None

    @property
    def modules_as_built(self) -> frozenset[str]:
        """Every module name (aliases included) when this audit built the model; empty for a seeded model."""
        built = self._facts.get("built")
        return built.names if built is not None else frozenset()

    def has(self, name: str) -> bool:
        """Whether fact ``name`` was computed (without computing it)."""
        return name in self._facts

    def display(self, path) -> str:
        return display_path(path, self.base_dir)

    def seed(self, **facts) -> None:
        """Facts already computed elsewhere (the Runner's model and optimizer wrapper inside
        DetAuditHook): they are used as they are, never computed again."""
        unknown = [name for name in facts if name not in FACT_TIERS]
        if unknown:
            raise ValueError(f"not facts: {unknown}")
        for name, value in facts.items():
            self._facts[name] = value
            self._failed.pop(name, None)

    def refuse(self, tier_or_fact: str, reason: str) -> None:
        """No fact of this tier (or this one fact) is computed in this audit, for ``reason``
        (the rules that need one are reported as skipped with it)."""
        if tier_or_fact in FACT_TIERS:
            self._failed[tier_or_fact] = reason
        else:
            self.refused[tier_or_fact] = reason

    def refusal(self, tier: str) -> str | None:
        """Why no fact of ``tier`` may be computed any more, if so. Static facts (the config, the
        source map, pretrained sources) run no model code, so they stay available to report what
        was found before a stop."""
        if tier in self.refused:
            return self.refused[tier]
        if tier_rank(tier) <= tier_rank("static"):
            return None
        if self.cancelled:
            # facts read off a model already built (parameter table, norm layers) stay cheap
            if tier == "build" and "model" in self._facts:
                return None
            return self.cancelled
        if self.no_exec:
            return NO_EXEC_REASON
        return None

    def config_value(self, key_path: str, default=None):
        node = self.cfg
        for part in key_path.split("."):
            if hasattr(node, "keys") and part in node:  # dict, ConfigDict or Config
                node = node[part]
            elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return node

    # ------------------------------------------------------------------ static
    @fact("static")
    def cfg(self):
        from ..load.executed import LoadFailed, apply_cfg_options, load_executed
        from .sandbox import quiet

        try:
            if not isinstance(self.config_arg, (str, os.PathLike)):
                cfg = self.config_arg
            elif self.no_exec:
                cfg = self.static_load[0]
            else:
                with quiet():
                    cfg = load_executed(self.config_path, self.display, lambda: self.source_map.files)
        except LoadFailed as failed:
            self.record_error("load", failed.info)
            how = "could not be read without executing it" if self.no_exec else "failed to load"
            raise FactUnavailable("cfg", f"config {how} (DA001): {failed.info.short()}")
        if self.options.cfg_options:
            try:
                apply_cfg_options(cfg, self.options.cfg_options)
            except LoadFailed as failed:
                self.record_error("load", failed.info)
                raise FactUnavailable("cfg", f"--cfg-options could not be applied: {failed.info.message}")
        return cfg

    @fact("static")
    def static_load(self):
        """--no-exec: (the config read as data, what the static reader noted); LoadFailed propagates."""
        from ..load.executed import load_static

        return load_static(self.config_path, self.display)

    @fact("static")
    def load_error(self) -> ErrorInfo | None:
        with contextlib.suppress(FactUnavailable):
            self.cfg
        return self.errors.get("load")

    @fact("static")
    def static_issues(self) -> list:
        if not self.no_exec:
            return []
        self.cfg
        static_read = self._facts["static_load"][1] if "static_load" in self._facts else None
        return list(static_read.issues) if static_read is not None else []

    @fact("static")
    def source_map(self):
        from ..load.sourcemap import SourceMap

        sm = SourceMap() if self.config_path is None else SourceMap.from_file(self.config_path, display=self.display)
        sm.add_cfg_options(self.options.cfg_options)
        return sm

    @fact("static")
    def key_history(self):
        from .merge import key_history

        return key_history(self)

    @fact("static")
    def type_changes(self):
        from .merge import type_changes

        return type_changes(self)

    @fact("static")
    def replaced_lists(self):
        from .merge import replaced_lists

        return replaced_lists(self)

    @fact("static")
    def constructors(self):
        if self.no_exec:  # resolving a type imports the modules that register it
            raise FactUnavailable("constructors", NO_EXEC_REASON)
        from .signatures import Constructors

        return Constructors(self.cfg.get("default_scope", None))

    @fact("static")
    def pretrained_sources(self):
        from .pretrained import config_sources

        return config_sources(self.cfg, self.base_dir)

    @fact("static")
    def suppressions(self):
        from ..load.suppressions import parse_file

        return parse_file(self.config_path.resolve()) if self.config_path is not None else []

    @fact("static")
    def custom_import_errors(self):
        from .imports import custom_import_errors

        if self.no_exec:  # importing is executing
            raise FactUnavailable("custom_import_errors", NO_EXEC_REASON)
        from ..rule.packages import custom_imports

        return custom_import_errors(custom_imports(self)[0])

    # ------------------------------------------------------------------ build
    @fact("build")
    def built(self) -> Built:
        """The model this audit built, what the build recorded, and every module name at build."""
        cfg = self.cfg
        if cfg.get("model", None) is None:
            self.record_error("build", ErrorInfo("KeyError", "the config has no `model`"))
            raise FactUnavailable("model", "model failed to build (DA002): the config has no `model`")
        from .build import build_model
        from .sandbox import no_network, quiet

        try:
            with quiet(), no_network():
                model, report = build_model(cfg, self.base_dir)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            info = self.record_error("build", ErrorInfo.from_exception(exc))
            raise FactUnavailable("model", f"model failed to build (DA002): {info.short()}")
        return Built(model, report, frozenset(n for n, _ in model.named_modules(remove_duplicate=False)))

    @fact("build")
    def model(self):
        return self.built.model

    @fact("build")
    def build_error(self) -> ErrorInfo | None:
        """Why the model did not build, None if it did; FactUnavailable if the config never loaded."""
        try:
            self.model
        except FactUnavailable:
            if "build" not in self.errors:
                raise
        return self.errors.get("build")

    @fact("build")
    def build_report(self):
        return self.built.report

    crash_blame = fact("build")(_crash_blame)  # the config's own edits a failing pass comes from (blame.py)

    @fact("build")
    def preprocessor_metainfo(self):
        from .preprocessor import recorded_metainfo

        return recorded_metainfo(self.model)

    @fact("build")
    def module_names(self) -> dict[int, str]:
        return {id(m): n for n, m in self.model.named_modules()}

    @fact("build")
    def params(self):
        from .build import param_table

        return param_table(self.model)

    @fact("build")
    def seed_independent_params(self) -> frozenset[str]:
        from .build import seed_independent_params

        return seed_independent_params(self)

    @fact("build")
    def freeze_intents(self):
        from .intent import collect_intents

        return collect_intents(self)

    @fact("build")
    def norm_layers(self) -> dict[str, bool]:
        from .build import norm_layers

        return norm_layers(self.model)

    @fact("build")
    def data_checks(self):
        from .data_checks.fact import data_checks_fact

        return data_checks_fact(self)

    # ------------------------------------------------------------------ checkpoint
    @fact("checkpoint")
    def checkpoint(self):
        from .checkpoint import checkpoint_fact

        return checkpoint_fact(self)

    # ------------------------------------------------------------------ optimizer
    @fact("optimizer")
    def optim_wrapper(self):
        from .optimizer import optim_wrapper

        return optim_wrapper(self)

    @fact("optimizer")
    def param_lr(self) -> dict[str, dict]:
        from .optimizer import param_lr

        return param_lr(self)

    # ------------------------------------------------------------------ forward
    @fact("forward")
    def forward_state(self):
        """What the forward passes share: the size they settled on, retries, what each pass ran."""
        from .forward import ForwardState

        return ForwardState()

    @fact("forward")
    def input_sizes(self) -> list[tuple[int, int]]:
        from .forward import input_sizes

        return input_sizes(self)

    @property
    def input_size(self) -> tuple[int, int]:
        """The synthetic size the forward passes ran at (the first to try before they run):
        not memoized, it changes when a pass settles on a larger size."""
        return self.forward_state.size or self.input_sizes[0]

    predict_result = fact("forward")(_predict_result)
    loss_result = fact("forward")(_loss_result)
    feature_sizes = fact("forward")(_feature_sizes)  # what each prior-generating head received (feature_sizes.py)
    received_channels = fact("forward")(_received_channels)  # ... and each component declaring in_channels

    @fact("forward")
    def modules_called(self) -> set[str]:
        for name in ("predict_result", "loss_result"):
            with contextlib.suppress(FactUnavailable):
                getattr(self, name)
        return set().union(*self.forward_state.modules_called_by.values())

    @fact("forward")
    def params_read(self) -> set[str]:
        for name in ("predict_result", "loss_result"):
            with contextlib.suppress(FactUnavailable):
                getattr(self, name)
        return set().union(*self.forward_state.params_read_by.values())

    @fact("forward")
    def pipeline_probe(self):
        """The config's own test pipeline run on a synthetic image written to a temporary folder."""
        from .pipeline_probe import probe_fact

        return probe_fact(self, "pipeline_probe")

    @fact("forward")
    def pipeline_predict(self):
        """Predict on exactly what the test pipeline packed: success, or the exception."""
        from .pipeline_probe import predict_fact

        return predict_fact(self, self.pipeline_probe, "pipeline_predict")

    @fact("forward")
    def tta_probe(self):
        """``tta_pipeline`` (what ``--tta`` tests with) run on a synthetic image, its first view kept."""
        from .pipeline_probe import probe_fact

        return probe_fact(self, "tta_probe")

    @fact("forward")
    def tta_predict(self):
        """Predict on the first view ``tta_pipeline`` packed: success, or the exception."""
        from .pipeline_probe import predict_fact

        return predict_fact(self, self.tta_probe, "tta_predict")

    # ------------------------------------------------------------------ train
    @fact("train")
    def step_result(self):
        from .step import step_result

        return step_result(self)

    # ------------------------------------------------------------------ run
    @fact("run")
    def run_result(self):
        from .run.runner import dry_run

        self.model  # the run uses the model the build tier built
        try:
            result = dry_run(self)
        except Exception as exc:  # noqa: BLE001 - the run could not even be set up: DA700 reports it
            # (raised in the run's process, it comes back as its ErrorInfo)
            self.record_error("run", getattr(exc, "info", None) or ErrorInfo.from_exception(exc))
            raise FactUnavailable("run_result", f"the run could not be set up (DA700): {self.errors['run'].short()}")
        failed = [f for f in result.failures if not f.detail.get("weights_only")]  # the environment, not the run
        if failed:
            self.record_error("run", failed[0].error)
        return result

    # ------------------------------------------------------------------ training (a real run)
    def _training_run(self, name: str):
        if self.training is None:
            raise FactUnavailable(name, "no training run to read: DetAuditHook watches one from inside, "
                                        "`detaudit logs WORK_DIR` reads one afterwards")
        return self.training

    @fact("training")
    def frozen_state(self):
        return self._training_run("frozen_state").frozen_state(self)

    @fact("training")
    def loss_log(self):
        return self._training_run("loss_log").loss_log(self)

    @fact("training")
    def lr_log(self):
        return self._training_run("lr_log").lr_log(self)

    @fact("training")
    def grad_coverage(self):
        return self._training_run("grad_coverage").grad_coverage(self)

    def release(self) -> None:
        """Drop the model, graph and optimizer so that auditing many configs keeps memory flat."""
        self._facts.clear()
