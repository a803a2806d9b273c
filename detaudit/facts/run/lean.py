"""What the run tier frees so that the audit and its run's child hold less memory together.

The run works in a child forked from the audit (:mod:`.child`): every page the audit holds when
it forks stays resident for as long as the run lasts, and the child adds its own Runner,
optimizer state, gradients and checkpoint on top. Four things need not be held:

- heap pages the audit freed but glibc kept (the train tier's step already drops its gradients
  and optimizer state, :mod:`..step`): handed back before the fork;
- in the child, the first Runner (its optimizer state, hooks, dataloaders) is garbage of
  reference cycles once its training, validation and test are over: collected before the
  resume's Runner builds its own and loads the checkpoint, it does not add to the run's peak;
- a parameter whose group's learning rate is 0 before any scheduler (``lr_mult=0``, the way
  configs freeze through the optimizer) cannot move: its gradient only makes the Runner's
  optimizer allocate state for it (SGD's momentum, Adam's moments) and write it in place, which
  in a forked child copies its pages. The gradient is dropped before each step, as the train
  tier's step does (``_drop_grads_the_step_cannot_use``), and, when the loss has parameters that
  move, not computed at all; the parameter's value is the same.
- a gradient once its parameter has moved: a whole optimizer step holds every gradient until it
  ends while it allocates the state the parameters lack (every momentum of a group a scheduler
  has just given a learning rate, at the resume's step), so parameters, gradients and the whole
  state peak together. :func:`step_each_parameter` steps one parameter at a time with the
  optimizer's own update and drops each gradient as soon as it is used: the same values.

Three more make the run's peak smaller without changing what it does:

- Python's garbage collector: a full collection in the child writes to the header of every object
  it tracks, and with it copies every page of the audit's heap (modules, functions, the registries'
  classes) the two processes shared. :func:`fork_ready` moves the audit's objects out of the
  collector's reach for as long as the child lives (``gc.freeze``), so neither process copies them;

- the audit's own model: once the checks of every tier below the run are done, nothing reads its
  values again (the report and the run's rules read names, shapes and modes), yet the child that
  trains it, writes and resumes its checkpoint, copies every page of it that the audit also holds.
  :func:`lend_model` gives the audit's copy up as soon as the child is forked (each parameter and
  buffer becomes a ``meta`` tensor of the same shape), so the child's writes copy nothing; a later
  attempt of the run builds the model afresh;
- mmengine writes a checkpoint by serializing it into memory and copying that buffer to the file
  (twice the checkpoint's size on top of the model): :func:`streamed_checkpoints` writes a checkpoint
  meant for a local file straight into it, the same bytes.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


@dataclass
class ModelLoan:
    """Whether the run may take the audit's model (``AuditContext.model_loan``): ``kept`` until the
    check stage has run every rule below the run tier (:meth:`offer`), then ``offered``, and
    ``taken`` once a run's child holds it (:func:`lend_model`; a later run builds its own)."""

    state: str = "kept"

    def offer(self) -> None:
        if self.state == "kept":
            self.state = "offered"

    def take(self) -> None:
        self.state = "taken"


@contextlib.contextmanager
def fork_ready():
    """Around the run's child, in the audit: freed heap pages back to the system before the fork,
    and the audit's objects frozen out of the garbage collector's passes (in both processes) while
    the child lives; collectable again after."""
    import gc

    from ..forward import release_memory

    release_memory()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def between_runs() -> None:
    """In the run, after the first Runner and before the resume's: its cycles collected, their
    pages handed back."""
    from ..forward import release_memory

    release_memory(after_error=True)  # a full collection, then the pages back to the system


def still_params_hook(trained: frozenset[str] = frozenset()):
    """A Runner hook: from ``before_train`` on, each optimizer step of the Runner's optim wrapper
    (each wrapper of an ``OptimWrapperDict``) first drops the gradients of the parameter groups
    whose learning rate is 0 and was 0 before any scheduler, then steps each parameter on its own
    (:func:`step_each_parameter`), so that no gradient outlives its parameter's update. When
    ``trained`` (the parameters that got a gradient in the train tier's step) holds a parameter of
    a group that moves, the loss still has something to train without the still ones: they are also
    left out of the backward (``requires_grad`` off until the training ends), so no gradient is
    computed or held for them."""
    from mmengine.hooks import Hook

    class StillParams(Hook):
        priority = "VERY_LOW"

        def __init__(self):
            self.left_out = []

        def before_train(self, runner):
            wrapper = getattr(runner, "optim_wrapper", None)
            wrappers = getattr(wrapper, "optim_wrappers", None)
            optimizers = [getattr(ow, "optimizer", None)
                          for ow in (wrappers.values() if isinstance(wrappers, dict) else [wrapper])]
            for optimizer in optimizers:
                if hasattr(optimizer, "register_step_pre_hook"):
                    optimizer.register_step_pre_hook(drop_still_grads)
                    optimizer.register_step_pre_hook(step_each_parameter)  # after the still ones are dropped
            self.left_out = _leave_out(runner.model, optimizers, trained)

        def after_train(self, runner):
            self.give_back()

        def give_back(self):
            """The parameters left out of the backward trainable again (also after a failed run)."""
            for p in self.left_out:
                p.requires_grad_(True)
            self.left_out = []

    return StillParams()


def trained_in_step(ctx) -> frozenset[str]:
    """The parameters that got a gradient (not all zero) in the train tier's step; none when it did not run."""
    if not ctx.has("step_result"):
        return frozenset()
    step = ctx.step_result
    without = set(step.no_grad) | set(step.zero_grad)
    return frozenset(n for n, p in ctx.model.named_parameters() if p.requires_grad and n not in without)


def _leave_out(model, optimizers, trained: frozenset[str]) -> list:
    """The trainable parameters of still groups, ``requires_grad`` turned off, when a parameter of
    a moving group is among ``trained`` (else none: the loss may depend on still parameters only)."""
    names = {id(p): n.removeprefix("module.") for n, p in model.named_parameters()}
    groups = [g for o in optimizers for g in getattr(o, "param_groups", ())]
    still = [g for g in groups if _zero(g.get("lr")) and _zero(g.get("initial_lr", g.get("lr")))]
    still_ids = {id(g) for g in still}
    moving = [p for g in groups if id(g) not in still_ids for p in g["params"]]
    if not any(p.requires_grad and names.get(id(p)) in trained for p in moving):
        return []
    left_out = [p for g in still for p in g["params"] if p.requires_grad]
    for p in left_out:
        p.requires_grad_(False)
    return left_out


def drop_still_grads(optimizer, args=(), kwargs=None) -> None:
    """Gradients of groups that cannot move (learning rate 0 now and before any scheduler) set to None."""
    for group in optimizer.param_groups:
        if _zero(group.get("lr")) and _zero(group.get("initial_lr", group.get("lr"))):
            for p in group["params"]:
                p.grad = None


# torch's optimizers whose step updates each parameter from its own gradient and state alone
_PER_PARAMETER = ("SGD", "Adam", "AdamW")


def step_each_parameter(optimizer, args=(), kwargs=None) -> None:
    """A step pre-hook: the step done one parameter at a time, each parameter's gradient dropped as
    soon as it has moved; the step proper then finds no gradient and changes nothing.

    A whole step holds every gradient until it ends, while it allocates the state of the parameters
    that have none yet (SGD's momentum, Adam's moments, at the first step and at the first step a
    scheduler gives a group a learning rate): at that moment the process holds parameters,
    gradients and the whole state at once. One parameter at a time, each new state takes the place
    of a gradient already dropped. The values are the same: the optimizer's own update runs, on a
    group of one parameter with its group's settings, and for the optimizers of
    :data:`_PER_PARAMETER` (exactly those types, on their one-tensor-at-a-time path) a parameter's
    update reads nothing but its own gradient, state and group. Any other optimizer, and a step
    given a closure or arguments, steps as before; the optim wrapper clips gradients before the
    step, as before."""
    import torch

    update = getattr(type(optimizer).step, "__wrapped__", None)  # without the hooks, which run once, around
    given = [a for a in args if a is not optimizer]  # torch passes the optimizer itself among the arguments
    if update is None or given or kwargs or not _steps_each_parameter(optimizer, torch):
        return
    groups = optimizer.param_groups
    try:
        for group in groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                optimizer.param_groups = [{**group, "params": [p]}]
                update(optimizer)
                p.grad = None
    finally:
        optimizer.param_groups = groups


def _steps_each_parameter(optimizer, torch) -> bool:
    """Whether stepping one parameter at a time gives ``optimizer``'s own values: one of torch's
    per-parameter optimizers (not a subclass), on dense CPU gradients, without the multi-tensor,
    fused, capturable or differentiable paths."""
    if type(optimizer) not in tuple(getattr(torch.optim, name) for name in _PER_PARAMETER):
        return False
    paths = ("foreach", "fused", "capturable", "differentiable")
    for group in optimizer.param_groups:
        if any(group.get(path) for path in paths):
            return False
        for p in group["params"]:
            if p.grad is not None and (p.grad.is_sparse or p.device.type != "cpu"):
                return False
    return True


def _zero(lr) -> bool:
    try:
        return float(lr) == 0.0
    except (TypeError, ValueError):  # a scheduler object or None: assume it moves
        return False


def lend_model(ctx) -> None:
    """In the audit, once the run's child is forked: the model's parameters and buffers (and the
    audit's optimizer's references to them) replaced by ``meta`` tensors of the same shapes, types
    and flags, and their memory handed back. Shared parameters stay shared."""
    import torch

    from ..forward import release_memory

    model = ctx.model
    ctx.model_loan.take()  # from here on, a run builds its own model
    swapped: dict[int, torch.Tensor] = {}
    originals: list[torch.Tensor] = []

    def meta(t):
        if id(t) not in swapped:
            originals.append(t)
            empty = torch.empty_like(t, device="meta")
            swapped[id(t)] = torch.nn.Parameter(empty, t.requires_grad) if isinstance(t, torch.nn.Parameter) else empty
        return swapped[id(t)]

    with torch.no_grad():
        for module in model.modules():
            for store in (module._parameters, module._buffers):
                for name, t in list(store.items()):
                    if t is not None and t.device.type != "meta":
                        store[name] = meta(t)
        optimizer = getattr(ctx.optim_wrapper, "optimizer", None) if ctx.has("optim_wrapper") else None
        for group in getattr(optimizer, "param_groups", ()):
            group["params"] = [swapped.get(id(p), p) for p in group["params"]]
        # the old tensors may still be held elsewhere (the synthetic loss's graph holds its leaves):
        # their memory goes all the same
        for old in originals:
            old.data = torch.empty(0, dtype=old.dtype)
    swapped.clear()
    release_memory()


@contextlib.contextmanager
def streamed_checkpoints():
    """While the run runs: the Runner's checkpoints for local files written by ``torch.save``
    straight into the file (mmengine's own path serializes into a buffer, then copies it)."""
    import mmengine.runner.runner as runner_module

    original = runner_module.save_checkpoint

    def save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None):
        if file_client_args is None and _local(filename, backend_args):
            import torch
            from mmengine.utils import mkdir_or_exist

            mkdir_or_exist(os.path.dirname(os.path.abspath(filename)))
            torch.save(checkpoint, filename)
            return
        original(checkpoint, filename, file_client_args=file_client_args, backend_args=backend_args)

    runner_module.save_checkpoint = save_checkpoint
    try:
        yield
    finally:
        runner_module.save_checkpoint = original


def _local(filename, backend_args) -> bool:
    from mmengine.fileio import get_file_backend
    from mmengine.fileio.backends import LocalBackend

    try:
        return type(get_file_backend(str(filename), backend_args=backend_args)) is LocalBackend
    except Exception:  # noqa: BLE001 - mmengine's own path reports what is wrong with it
        return False
