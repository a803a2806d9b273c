"""The facts a rule may read, by tier: the whole interface between rules and the engine.

A rule receives an object with this interface (:class:`AuditFacts`) and reads only what it
declares in ``@rule(needs=...)``; the engine computes a fact the first time a rule reads it,
at most once per config. Every getter is pure for the rule: reading a fact never changes
another, and a fact that cannot be computed raises :class:`~detaudit.errors.FactUnavailable`
(the rule is then reported as skipped with the reason). Besides the facts, a rule may always
read the audit's own options (``config_path``, ``display_path``, ``base_dir``, ``no_exec``,
``max_tier``, ``selected_codes``, ``known_codes``), ``errors`` (what failed so far, by phase)
and ``config_value()``.

Tiers, cheapest first: ``static`` (the config read), ``build`` (the model built on the CPU),
``checkpoint`` (``load_from`` read), ``optimizer`` (the config's ``optim_wrapper`` built),
``forward`` (predict and loss on a synthetic batch), ``train`` (one backward and optimizer
step), ``run`` (mmengine's real Runner on a private copy of the config: what training builds
around the model, run once). The last tier, ``training``, is not a depth of the config audit:
its facts describe a real training run, observed from inside by ``DetAuditHook`` or read afterwards
from its work dir by ``detaudit logs``; only those two audits compute them, and only they run its rules.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol

if TYPE_CHECKING:
    from ..errors import ErrorInfo

TIERS = ("static", "build", "checkpoint", "optimizer", "forward", "train", "run", "training")
# The tiers of a config audit (what a report's ``tiers`` lists); ``training`` is a real run's.
CONFIG_TIERS = TIERS[:-1]
TRAINING_TIER = "training"
# What ``--tier`` accepts, and the deepest internal tier each one includes.
CLI_TIERS = {"static": "static", "build": "optimizer", "forward": "forward", "train": "train", "run": "run"}


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)


def _fact(tier: str):
    """Marks a getter of the interface as a fact of ``tier``."""

    def mark(fn):
        fn.tier = tier
        return property(fn)

    return mark


class AuditFacts(Protocol):
    # ------------------------------------------------------------------ always readable
    config_path: Path | None     # the audited file (None for a Config object)
    display_path: str            # how reports show it
    base_dir: Path               # the directory training would be launched from
    no_exec: bool                # --no-exec: nothing of the config runs; only static facts exist
    max_tier: str                # the deepest tier requested
    selected_codes: frozenset    # the codes of every rule this audit runs
    known_codes: frozenset       # every code an installed rule pack registers
    errors: Mapping[str, ErrorInfo]  # failures so far by phase: load, build, checkpoint, optimizer,
    #                                  predict, loss, step

    def config_value(self, key_path: str, default: Any = None) -> Any:
        """The loaded config's value at a dotted key path (list indexes as numbers)."""

    # ------------------------------------------------------------------ static
    @_fact("static")
    def cfg(self):
        """The loaded mmengine ``Config`` (``_base_`` and ``read_base()`` styles, ``--cfg-options``
        applied); under ``--no-exec`` the config as read from its syntax trees."""

    @_fact("static")
    def load_error(self):
        """Why the config did not load (an ``ErrorInfo``), or None."""

    @_fact("static")
    def source_map(self):
        """``SourceMap``: key path -> file:line across bases (works when the config fails to load)."""

    @_fact("static")
    def static_issues(self):
        """Under ``--no-exec``: what the static reader could not evaluate; empty otherwise."""

    @_fact("static")
    def pretrained_sources(self):
        """Every ``load_from``, ``init_cfg`` ``Pretrained`` and ``pretrained=`` source, resolved locally."""

    @_fact("static")
    def suppressions(self):
        """The ``# detaudit: ignore[...]`` comments of the audited file, parsed (malformed ones too)."""

    @_fact("static")
    def key_history(self):
        """``KeyHistory``: key path -> every assignment that produced its value, oldest first (base
        files, the child, ``--cfg-options``), each with its file:line and status (set, merged,
        overridden, or discarded by ``_delete_``/a replaced list, for keys no longer in the
        config too); ``origins(path)`` says which file:line each key of a dict came from.
        Read from syntax trees: also under ``--no-exec``."""

    @_fact("static")
    def type_changes(self):
        """``TypeChange`` per dict whose ``type`` a later file changed (no ``_delete_``) while keys
        written for the earlier type stayed: key path, old and new type with their file:line,
        the kept keys with theirs. Also under ``--no-exec``."""

    @_fact("static")
    def replaced_lists(self):
        """``ListReplacement`` per list a later binding replaced whole (mmengine never merges
        lists): where, and each element's type and keys on both sides. Also under ``--no-exec``."""

    @_fact("static")
    def constructors(self):
        """``Constructors``: ``signature(type, key_path, dict)`` -> which keys the type accepts, read
        from its constructor where it resolves (the registry of that key path), ``**kwargs``
        followed to the parent class or to the inner type they build. Resolving imports
        library code: unavailable under ``--no-exec``."""

    @_fact("static")
    def custom_import_errors(self):
        """``custom_imports`` module -> why it does not import (``ErrorInfo``), or None when it does.
        Importing is executing: unavailable under ``--no-exec``."""

    # ------------------------------------------------------------------ build
    @_fact("build")
    def model(self):
        """The model as training runs it: built on the CPU, SyncBN reverted, ``init_weights()``
        with local pretrained sources only, freeze hooks applied, then ``model.train()``."""

    @_fact("build")
    def build_error(self):
        """Why the model did not build (an ``ErrorInfo``), or None."""

    @_fact("build")
    def crash_blame(self):
        """``Blame``: ``for_pass(name)`` (build, predict, loss, step) -> the smallest list of the config's
        own edits to its installed recipe (``Edit``: key path, its value, the recipe's) whose return to the
        recipe's values makes that failing pass succeed, or None (``reason[name]`` says why). Each trial
        audits an in-memory copy; computed only when a rule asks for a pass that failed."""

    @_fact("build")
    def build_report(self):
        """``BuildReport``: what building did besides the model: pretrained inits resolved or
        dropped, the ``init_weights()`` error, modules in eval mode after the build and after
        the freeze hooks, the freeze hooks applied, the counts capped for the synthetic input."""

    @_fact("build")
    def preprocessor_metainfo(self):
        """What the model's data preprocessor records on one sample packed as PackDetInputs packs
        it: ``{"type", "module", "recorded", "missing"}`` over ``batch_input_shape`` and
        ``pad_shape``, which mmdet's detectors read; None for a model that is no mmdet detector."""

    @_fact("build")
    def params(self):
        """``ParamInfo`` (name, numel, requires_grad, shape) of every parameter after ``train()``."""

    @_fact("build")
    def seed_independent_params(self):
        """Names of the frozen parameters no ``Pretrained`` init covers whose values after
        initialization do not depend on the random seed (a constant ``init_weights()`` writes
        on purpose), found by building the model a second time under another seed."""

    @_fact("build")
    def freeze_intents(self):
        """``FreezeIntent`` per module something says must not train, with the source that says so."""

    @_fact("build")
    def norm_layers(self):
        """Every normalization layer with running statistics -> whether it is in train mode."""

    @_fact("build")
    def data_checks(self):
        """``DataReport``: the whole-annotation checks of every dataset whose data is on this machine
        (``detaudit data`` without its contact sheet): ``findings`` (``DataFinding``: code, split,
        key path, message, evidence, fix) and per split what was read (``splits``). Needs no model."""

    # ------------------------------------------------------------------ checkpoint
    @_fact("checkpoint")
    def checkpoint(self):
        """``CheckpointView``: what ``load_from`` holds (read without running pickled code),
        matched against the model's state_dict."""

    # ------------------------------------------------------------------ optimizer
    @_fact("optimizer")
    def optim_wrapper(self):
        """The config's own ``optim_wrapper`` built over the model."""

    @_fact("optimizer")
    def param_lr(self):
        """Parameter name -> ``{"lr", "weight_decay", "groups"}`` as the optimizer holds them."""

    # ------------------------------------------------------------------ forward
    @_fact("forward")
    def input_size(self):
        """(H, W) of the synthetic input the passes ran at."""

    @_fact("forward")
    def predict_result(self):
        """Predict on the synthetic batch (complete metainfo, the model's own preprocessor)."""

    @_fact("forward")
    def loss_result(self):
        """``LossResult``: the loss dict, its total with the graph, the logged values, BN stats before."""

    @_fact("forward")
    def feature_sizes(self):
        """``FeatureSizes``: the (H, W) of the batch the backbone received in the loss pass, and per
        head with a prior generator (``heads``, by module name) the (h, w) of each feature map its
        ``forward`` received and the strides its prior generator holds; kept from a loss pass that
        failed after the heads ran."""

    @_fact("forward")
    def received_channels(self):
        """{module name: channels of each 4-D map it received}: for each component that keeps
        ``in_channels`` (a neck, a head, a backbone), its first call in the loss pass; kept from a loss
        pass that failed after the component was called."""

    @_fact("forward")
    def modules_called(self):
        """Names of the modules predict or the loss executed."""

    @_fact("forward")
    def params_read(self):
        """Names of the parameters predict or the loss read as tensors (passed to a torch
        function or read through ``.weight``), whether or not their module was called."""

    @_fact("forward")
    def pipeline_probe(self):
        """``PipelineProbe``: the config's own test pipeline run on a synthetic image."""

    @_fact("forward")
    def pipeline_predict(self):
        """``PredictOutcome``: predict on exactly what the test pipeline packed."""

    @_fact("forward")
    def tta_probe(self):
        """``PipelineProbe``: the config's ``tta_pipeline`` run on a synthetic image, its first view kept."""

    @_fact("forward")
    def tta_predict(self):
        """``PredictOutcome``: predict on the first view ``tta_pipeline`` packed."""

    # ------------------------------------------------------------------ train
    @_fact("train")
    def step_result(self):
        """``StepResult``: parameters without or with all-zero gradients after backward, and the
        BatchNorm running-statistics movement over one optimizer step."""

    # ------------------------------------------------------------------ run
    @_fact("run")
    def run_result(self):
        """``RunResult``: the dry run of mmengine's Runner on a private copy of the config (two
        training iterations, validation, test, checkpoint, resume): each component that failed,
        with the key to edit (``failures``), the metrics each evaluator produced, what the run
        changed to be small and private (``changes``), and the data it read (``data``)."""

    # ------------------------------------------------------------------ training (a real run)
    @_fact("training")
    def frozen_state(self):
        """``FrozenState``: for each module a freeze intent names, its parameters and norm-layer
        buffers compared tensor by tensor between a reference and now: since ``before_train``
        by digest (DetAuditHook), or between the ``load_from`` checkpoint (else the run's first
        checkpoint) and its last checkpoint (``detaudit logs``)."""

    @_fact("training")
    def loss_log(self):
        """``LossLog``: every loss term the run logged, per iteration, and the keys expected
        (``expect_losses``, else the loss keys of the first logged iteration)."""

    @_fact("training")
    def lr_log(self):
        """``LrLog``: the learning rate the run logged per iteration, next to the value the
        config's ``param_scheduler`` gives at that iteration (``detaudit logs``)."""

    @_fact("training")
    def grad_coverage(self):
        """``GradientCoverage``: trainable parameters that received no gradient during the
        iterations watched (DetAuditHook)."""


FACT_TIERS: dict[str, str] = {name: member.fget.tier for name, member in vars(AuditFacts).items()
                              if isinstance(member, property) and hasattr(member.fget, "tier")}
ALWAYS_READABLE = ("config_path", "display_path", "base_dir", "no_exec", "max_tier", "selected_codes", "known_codes",
                   "errors", "config_value")
