"""The forward tier: predict and the loss on a synthetic batch, each at the smallest input
size that works.

Sizes are tried smallest first (:func:`input_sizes`): a model that cannot run that small
(SSD's extra layers, DETR-style query counts) fails with a size, shape or index error and is
retried larger. Any other failure (a missing package or GPU, memory, a blocked download, a
bug) stops the ladder at once; the first error is reported with every size tried, unless the
larger size got past it (see :func:`reported_failure`). Which modules ran, which parameters
were read, and the innermost module running when an exception escaped, are recorded for the
rules.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import ErrorInfo, FactUnavailable, is_size_error, not_the_models_fault
from .feature_sizes import FeatureSizes, recording
from .sandbox import NetworkBlocked, no_network, quiet
from .synthetic import DEFAULT_LONG_SIDE

MAX_BATCH = 2  # two samples catch per-image indexing bugs; more would only cost time


@dataclass
class ForwardState:
    """What the forward passes share (the ``forward_state`` fact): the size they settled on,
    the retries at larger sizes, why the synthetic batch cannot stand for the input (a video
    model), and per pass the modules it called and the parameters it read."""

    size: tuple[int, int] | None = None
    retries: list[dict] = field(default_factory=list)
    input_unsupported: str | None = None
    modules_called_by: dict[str, set[str]] = field(default_factory=dict)
    params_read_by: dict[str, set[str]] = field(default_factory=dict)
    feature_sizes: FeatureSizes = field(default_factory=FeatureSizes)  # the loss pass's last attempt


@dataclass
class LossResult:
    losses: dict[str, Any]
    total: Any                               # the summed loss tensor (graph kept for the step)
    values: dict[str, float]
    bn_before: dict[str, tuple]              # BN module -> (running_mean, running_var) before


def input_sizes(ctx) -> list[tuple[int, int]]:
    """Synthetic sizes to try, smallest first: the derived small size, then two, three and
    four times as large, for models that need a minimum input (DETR-style query counts
    larger than the number of feature tokens, deformable convolutions on the stride-128
    level), and last the exact size of a fixed-size test pipeline (SSD's extra layers).
    The steps are small because the cost grows with the area. ``--input-size`` pins one."""
    from .synthetic import derive_input_size, fixed_input_size

    if ctx.options.input_size:
        return [tuple(ctx.options.input_size)]
    model = ctx.model
    sizes = [derive_input_size(ctx.cfg, model, side)
             for side in (DEFAULT_LONG_SIDE, 2 * DEFAULT_LONG_SIDE, 3 * DEFAULT_LONG_SIDE, 4 * DEFAULT_LONG_SIDE)]
    fixed = fixed_input_size(ctx.cfg)
    if fixed is not None:
        sizes.append(fixed)
    return list(dict.fromkeys(sizes))


def batch_size(cfg, training: bool) -> int:
    """The batch size of the loader the pass stands for (``train_dataloader`` for the loss,
    ``test_dataloader`` or ``val_dataloader`` for predict), at most ``MAX_BATCH``: mmdet tests
    one image at a time, and some heads only support that at test time."""
    names = ("train_dataloader",) if training else ("test_dataloader", "val_dataloader")
    for name in names:
        loader = cfg.get(name)
        size = loader.get("batch_size") if hasattr(loader, "get") else None
        if isinstance(size, int) and not isinstance(size, bool) and size >= 1:
            return min(size, MAX_BATCH)
    return MAX_BATCH


def synthetic_batch(ctx, training: bool, size=None):
    """The synthetic batch for the loss (``training``) or predict, at ``size`` (default: the settled size)."""
    from .synthetic import make_batch

    return make_batch(ctx.cfg, ctx.model, size or ctx.input_size, batch_size(ctx.cfg, training), training=training)


def run_pass(ctx, kind: str, run):
    """``run(size)`` at the smallest size that works, starting from the size an earlier pass
    settled on. A larger size is tried only after an error a larger input can fix (a size,
    shape or index error); anything else (a missing package, memory, a missing GPU, a blocked
    download, a plain bug) is reported at once. When no size works the first error is
    reported, unless a larger size got past it or failed for a reason that is not the
    model's (memory, a GPU): see :func:`reported_failure`."""
    from .synthetic import unsupported_input

    state = ctx.forward_state
    state.input_unsupported = unsupported_input(ctx.model)
    if state.input_unsupported:  # not the model's fault: the rules that need the pass are skipped with it
        raise FactUnavailable(f"{kind}_result", state.input_unsupported)
    sizes = ctx.input_sizes
    start = sizes.index(state.size) if state.size in sizes else 0
    failures: list[ErrorInfo] = []
    completed: list[set[str]] = []  # per failed size: the modules whose forward finished
    for size in sizes[start:]:
        tracker = ModuleTracker(ctx.module_names)
        reads = ParameterReads(ctx.model)
        failed = climb = False
        try:
            with quiet(), no_network(), one_thread(), tracker, reads:
                value = run(size)
        except BaseException as exc:  # noqa: BLE001 - audited code may raise anything
            if isinstance(exc, KeyboardInterrupt):
                raise
            module = deepest_module_in_traceback(exc, ctx.module_names) or tracker.deepest
            info = ErrorInfo.from_exception(exc, module=module)
            info.extra["input_size"] = list(size)
            failures.append(info)
            completed.append(tracker.completed)
            failed = True
            climb = larger_input_may_fix(exc, info)
        finally:
            state.modules_called_by[kind] = tracker.called
            state.params_read_by[kind] = reads.names()
        if failed:
            release_memory(after_error=True)  # outside the except block: its traceback is gone
            if climb:
                continue
            break
        state.size = size
        if failures:
            first = failures[0]
            state.retries.append({"pass": kind, "failed_at": first.extra["input_size"],
                                        "ran_at": list(size), "error": first.short()})
        return value
    reported = reported_failure(failures, completed)
    ctx.record_error(kind, reported)
    what, code = {"predict": ("predict", "DA402"), "loss": ("loss forward", "DA403")}[kind]
    excuse = not_the_models_fault(reported)
    if excuse:  # the audit's limits or this machine: DA402/DA403 skip it too
        raise FactUnavailable(f"{kind}_result", f"the {what} could not run here: {excuse}")
    label = f"{what} failed"
    if code in ctx.selected_codes:
        label += f" ({code})"  # point at the finding only when the report has it
    raise FactUnavailable(f"{kind}_result", f"{label}: {reported.short()}")


def larger_input_may_fix(exc: BaseException, info: ErrorInfo) -> bool:
    """Whether to try the next, larger size after ``exc``: only for a size, shape or index
    error. Each size costs more memory than the last, so memory, a missing GPU or package and
    plain bugs stop the ladder."""
    if isinstance(exc, (ImportError, MemoryError, NetworkBlocked)) or not_the_models_fault(info):
        return False
    return is_size_error(info)


def reported_failure(failures: list[ErrorInfo], completed: list[set[str]] | None = None) -> ErrorInfo:
    """The error to report from the sizes tried: the first (smallest size), unless the larger
    size got past it (the module that failed at the smallest size ran through: the first error
    was the small input's, as SSD's extra layers' kernels at 160 px) or failed for a reason
    that is not the model's (its memory, a missing GPU): then the larger size's error. Either
    way it names every size tried and the other error."""
    first, last = failures[0], failures[-1]
    got_past = bool(completed) and first.module is not None and first.module in completed[-1]
    larger = last is not first and (got_past or not_the_models_fault(last))
    reported, other = (last, first) if larger else (first, last)
    reported.extra["sizes_tried"] = ["x".join(map(str, f.extra["input_size"])) for f in failures]
    if other is not reported and _signature(other) != _signature(reported):
        key = "first_error" if other is first else "larger_size_error"
        reported.extra[key] = {"input_size": other.extra["input_size"], "error": other.short()}
    return reported


def _signature(info: ErrorInfo) -> tuple[str, str]:
    """The same failure at another size: type and message, numbers aside."""
    import re

    return info.type, re.sub(r"\d+", "N", info.message.splitlines()[0] if info.message else "")


def predict_result(ctx):
    import torch

    model = ctx.model

    def run(size):
        data = synthetic_batch(ctx, training=False, size=size)
        model.eval()
        try:
            with torch.no_grad():
                return model(**data, mode="predict")
        finally:
            model.train()

    out = run_pass(ctx, "predict", run)
    release_memory()
    return out


def loss_result(ctx) -> LossResult:
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm

    model = ctx.model
    model.train()
    snapshot = {}

    def run(size):
        snapshot.clear()
        snapshot.update({n: (m.running_mean.detach().clone(), m.running_var.detach().clone())
                         for n, m in model.named_modules()
                         if isinstance(m, _BatchNorm) and m.track_running_stats and m.running_mean is not None})
        torch.manual_seed(0)
        data = synthetic_batch(ctx, training=True, size=size)
        ctx.forward_state.feature_sizes = FeatureSizes()
        with recording(model, ctx.module_names, ctx.forward_state.feature_sizes):
            losses = model(**data, mode="loss")
        total, log_vars = model.parse_losses(losses)
        return losses, total, log_vars

    losses, total, log_vars = run_pass(ctx, "loss", run)
    values = {k: float(v.detach() if hasattr(v, "detach") else v) for k, v in log_vars.items()}
    return LossResult(losses=losses, total=total, values=values, bn_before=dict(snapshot))


def deepest_module_in_traceback(exc: BaseException, names: dict[int, str]) -> str | None:
    """The innermost frame of the traceback that runs a method of one of the model's modules
    (a head's ``predict_by_feat`` runs outside any ``forward``, so hooks alone miss it)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        name = names.get(id(owner)) if owner is not None else None
        if name:
            found = name
        tb = tb.tb_next
    return found


class ModuleTracker:
    """Records which modules run, and the innermost module executing when an exception escapes."""

    def __init__(self, names: dict[int, str]):
        self.names = names
        self.stack: list[str] = []
        self.called: set[str] = set()
        self.completed: set[str] = set()
        self.deepest: str | None = None
        self._handles = []

    def __enter__(self):
        from torch.nn.modules import module as tm

        def pre(mod, args):
            name = self.names.get(id(mod))
            if name is not None:
                self.stack.append(name)
                self.called.add(name)

        def post(mod, args, out):
            name = self.names.get(id(mod))
            if name is not None:
                self.completed.add(name)
            if name is not None and self.stack and self.stack[-1] == name:
                self.stack.pop()

        self._handles = [tm.register_module_forward_pre_hook(pre), tm.register_module_forward_hook(post)]
        return self

    def __exit__(self, exc_type, exc, tb):
        for h in self._handles:
            h.remove()
        if exc is not None and self.stack:
            self.deepest = self.stack[-1] or "<model>"
        return False


class ParameterReads:
    """Records which of the model's parameters a pass reads as tensors: every parameter among
    the arguments of a torch function (``F.conv2d(x, self.weight)``, ``torch.bmm(q, emb.weight.t())``,
    ``emb.weight[idx]``). A weight read directly, without calling its module, is used too."""

    def __init__(self, model):
        self.by_id = {id(p): n for n, p in model.named_parameters()}
        self.seen: set[int] = set()
        self._mode = None

    def names(self) -> set[str]:
        return {self.by_id[i] for i in self.seen if i in self.by_id}

    def __enter__(self):
        self._mode = _reads_mode(self.seen)
        self._mode.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._mode.__exit__(exc_type, exc, tb)
        return False


def _reads_mode(seen: set[int]):
    import torch
    from torch.overrides import TorchFunctionMode

    parameter = torch.nn.Parameter

    class Reads(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            for value in (*args, *kwargs.values()):
                if isinstance(value, parameter):
                    seen.add(id(value))
                elif isinstance(value, (list, tuple)):
                    seen.update(id(v) for v in value if isinstance(v, parameter))
            return func(*args, **kwargs)

    return Reads()


def large_allocations_to_mmap() -> None:
    """Serve allocations of 1 MiB and more with mmap, so that a freed activation or gradient
    goes back to the OS at once instead of sitting in glibc's heap under the next peak."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD


@contextlib.contextmanager
def one_thread():
    """The synthetic passes on one torch thread: their tensors are small (a 160-pixel image), so
    a second thread mostly waits for the first, and other audits (``--jobs``, CI, the training
    around ``DetAuditHook``) need the cores. The caller's thread count comes back after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def release_memory(*, after_error: bool = False) -> None:
    """Hand freed heap pages back to the OS between forward passes: glibc keeps them otherwise,
    and the next pass's allocations would stack on top (peak memory is what users run out of).
    After an error the traceback's frames form cycles that still hold the pass's tensors, so
    only then is a full garbage collection worth its ~0.2 s."""
    import ctypes

    if after_error:
        import gc

        gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
