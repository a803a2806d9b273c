"""The facts of a real training run (tier ``training``).

Two sources provide them through the same records: DetAuditHook, which watches the run from
inside (:mod:`detaudit.faces.hook`, through :mod:`.live_run`), and a finished run's work dir (:mod:`.workdir_run`, for
``detaudit logs``). A source has one method per fact (``frozen_state``, ``loss_log``,
``lr_log``, ``grad_coverage``), each given the audit's context and allowed to raise
:class:`FactUnavailable` with the reason it cannot tell.

What "frozen" covers is decided once, here, for both: the parameters each freeze intent
names, and the running statistics of the normalization layers under a module that is frozen
as a whole (``FrozenGroup``). Other buffers (queues, momentum copies, anchors) may change in a
frozen module by design and are not compared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

# Buffers of normalization layers that training moves when the layer is in train mode.
NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass
class FrozenGroup:
    """The tensors of one module that freeze intents say must not change."""

    module: str
    sources: list[str]       # every intent's source: "lr_mult=0", "frozen_stages=4", ...
    key_path: str | None     # the first intent's config key, for the finding's location
    params: list[str]
    buffers: list[str]
    note: str = ""           # what part of the module, when the intents cover only a part


def frozen_groups(intents, model) -> list[FrozenGroup]:
    """One group per module and set of tensors: intents that cover the same parameters of a
    module merge (``frozen_stages=4`` and a freeze hook on the backbone), intents covering
    different parts stay apart (``lr_mult=0`` on the backbone, ``frozen_stages=1`` on its
    stem and first stage). A group holds the parameters the intents cover and the running
    statistics of the normalization layers: all of them under a module frozen as a whole,
    else those of the norm layers whose own parameters are covered; an intent on the norm
    layers' parameters only (``norm_cfg.requires_grad=False``) covers no buffer."""
    groups: dict[tuple, FrozenGroup] = {}
    whole: set[tuple] = set()
    for intent in intents:
        if not intent.params:
            continue  # a module the model does not have: DA102 says so
        key = (intent.module, frozenset(intent.params), intent.scope == "norm")
        g = groups.get(key)
        if g is None:
            g = groups[key] = FrozenGroup(intent.module, [], intent.key_path, list(intent.params), [])
        if intent.source not in g.sources:
            g.sources.append(intent.source)
        if intent.scope == "all":
            whole.add(key)
        elif intent.scope == "stages" and intent.detail.endswith("only"):
            g.note = g.note or intent.detail
        elif intent.scope == "norm":
            g.note = "its normalization layers' parameters"
    norm_layers = _norm_layers_with_stats(model)
    for key, g in groups.items():
        if key[2]:
            continue
        owners = {p.rsplit(".", 1)[0] for p in g.params}
        prefix = g.module + "."
        for layer, buffers in norm_layers.items():
            if (key in whole and layer.startswith(prefix)) or layer in owners:
                g.buffers += [f"{layer}.{b}" for b in NORM_BUFFERS if f"{layer}.{b}" in buffers]
    return list(groups.values())


def _norm_layers_with_stats(model) -> dict[str, set[str]]:
    """Normalization layer name -> the names of its running-statistics buffers."""
    out: dict[str, set[str]] = {}
    for name, module in model.named_modules():
        own = {f"{name}.{b}" for b, t in module.named_buffers(recurse=False) if b in NORM_BUFFERS and t is not None}
        if own and name:
            out[name] = own
    return out


# ---------------------------------------------------------------------- frozen state
@dataclass
class ModuleState:
    """One frozen module's tensors, reference against now."""

    module: str
    sources: list[str]
    key_path: str | None
    params: int                   # parameters compared
    numel: int                    # their elements
    buffers: int                  # normalization buffers compared
    changed_params: list[str] = field(default_factory=list)
    changed_numel: int = 0
    changed_buffers: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)    # tensors one side does not have
    missing_params: int = 0
    missing_buffers: int = 0
    with_gradient: list[str] | None = None  # (DetAuditHook) its parameters that received a gradient
    lr_now: float | None = None             # (DetAuditHook) the largest lr of the groups holding them
    note: str = ""                          # the part of the module compared, when not all of it

    @property
    def label(self) -> str:
        return f"{self.module} ({self.note})" if self.note else self.module

    @property
    def changed(self) -> bool:
        return bool(self.changed_params or self.changed_buffers)


@dataclass
class FrozenState:
    reference: str     # "before_train" / "load_from ./work_dirs/stage1/latest.pth"
    current: str       # "after iteration 1" / "epoch_2.pth (iteration 4)"
    method: str        # how tensors were compared
    modules: list[ModuleState]


def compare(groups: list[FrozenGroup], before: Mapping, after: Mapping, numel: Mapping[str, int],
            same=None) -> list[ModuleState]:
    """Compare each group's tensors between two name -> value maps (digests, or tensors with
    ``same=torch.equal``). A name missing from either side is listed, not counted as changed."""
    same = same or (lambda a, b: a == b)
    out = []
    for g in groups:
        state = ModuleState(g.module, list(g.sources), g.key_path, params=len(g.params),
                            numel=sum(numel.get(p, 0) for p in g.params), buffers=len(g.buffers), note=g.note)
        for names, changed, kind in ((g.params, state.changed_params, "params"),
                                     (g.buffers, state.changed_buffers, "buffers")):
            for name in names:
                if name not in before or name not in after:
                    state.missing.append(name)
                    setattr(state, f"missing_{kind}", getattr(state, f"missing_{kind}") + 1)
                elif not same(before[name], after[name]):
                    changed.append(name)
        state.changed_numel = sum(numel.get(p, 0) for p in state.changed_params)
        out.append(state)
    return out


def tensor_digest(tensor) -> bytes:
    """A digest of a tensor's bytes (SHA-256, which CPUs with SHA extensions hash fastest):
    equal digests mean bitwise equal tensors for any practical purpose. Costs one pass over the
    tensor (about 1 GB/s on one core); a tensor on an accelerator is copied to the CPU first."""
    import hashlib

    import torch

    t = tensor.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous().reshape(-1)
    if t.numel() == 0:
        return hashlib.sha256(b"").digest()
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    # the bytes as integers: numpy has no bfloat16, and integers hash the same bits
    as_int = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}.get(t.element_size())
    if as_int is None:  # complex128 and other wide types
        return hashlib.sha256(t.numpy().tobytes()).digest()
    return hashlib.sha256(t.view(as_int).numpy()).digest()


def digests(model, names: Iterable[str]) -> dict[str, bytes]:
    """name -> digest for the named parameters and buffers of ``model``."""
    tensors = dict(model.named_parameters())
    tensors.update(model.named_buffers())
    return {n: tensor_digest(tensors[n]) for n in names if n in tensors and tensors[n] is not None}


# ---------------------------------------------------------------------- losses
@dataclass
class LossSeries:
    """One loss key over the run, summarized as it is logged (constant memory)."""

    key: str
    count: int = 0
    first_iter: int | None = None
    last_iter: int | None = None
    last_value: float | None = None
    nonfinite: int = 0
    first_nonfinite: tuple[int, float] | None = None
    tail_value: float | None = None   # the value of the latest run of identical values
    tail_start: int | None = None     # the iteration that run began at
    tail_len: int = 0

    def add(self, iteration: int, value: float) -> None:
        self.count += 1
        if self.first_iter is None:
            self.first_iter = iteration
        self.last_iter, self.last_value = iteration, value
        if not math.isfinite(value):
            self.nonfinite += 1
            if self.first_nonfinite is None:
                self.first_nonfinite = (iteration, value)
        if self.tail_len and _identical(value, self.tail_value):
            self.tail_len += 1
        else:
            self.tail_value, self.tail_start, self.tail_len = value, iteration, 1


def _identical(a: float, b: float | None) -> bool:
    return b is not None and (a == b or (math.isnan(a) and math.isnan(b)))


@dataclass
class LossLog:
    """The loss terms a run logged: per key a :class:`LossSeries`, and the keys expected."""

    source: str                        # where the values come from
    expected: list[str] = field(default_factory=list)
    expected_source: str = ""
    records: int = 0                   # logged training iterations
    first_iter: int | None = None
    last_iter: int | None = None
    series: dict[str, LossSeries] = field(default_factory=dict)

    def add(self, iteration: int, values: Mapping[str, float]) -> None:
        """One logged iteration: every key holding ``loss`` (mmengine sums exactly those)."""
        self.records += 1
        if self.first_iter is None:
            self.first_iter = iteration
            if not self.expected:
                self.expected = [k for k in values if is_loss_key(k)]
                self.expected_source = f"the loss keys logged at iteration {iteration}"
        self.last_iter = iteration
        for key, value in values.items():
            if is_loss_key(key):
                self.series.setdefault(key, LossSeries(key)).add(iteration, float(value))

    def expect(self, keys: Iterable[str], source: str) -> None:
        self.expected, self.expected_source = list(keys), source


def is_loss_key(key: str) -> bool:
    return "loss" in key


# ---------------------------------------------------------------------- learning rate, gradients
@dataclass
class LrLog:
    """The learning rate a run logged (mmengine logs the first parameter group's) next to what
    the configured ``param_scheduler`` gives at the same iteration."""

    source: str
    schedule: str                           # the schedulers replayed, as written
    initial_lr: float                       # the logged group's lr before any scheduler
    points: list[tuple[int, float, float]]  # (iteration, logged, expected)
    scale: float = 1.0                      # auto_scale_lr factor inferred from the first point
    note: str = ""


@dataclass
class GradientCoverage:
    """Trainable parameters that received no gradient in the iterations watched."""

    iterations: int
    trainable: int
    without_gradient: list[str]
    numel_without: int
