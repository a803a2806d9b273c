"""What the run tier frees so that the audit and its run's child hold less memory together.

The run works in a child forked from the audit (:mod:`.child`): every page the audit holds when
it forks stays resident for as long as the run lasts, and the child adds its own Runner,
optimizer state, gradients and checkpoint on top. Three things need not be held:

- heap pages the audit freed but glibc kept (the train tier's step already drops its gradients
  and optimizer state, :mod:`..step`): handed back before the fork;
- in the child, the first Runner (its optimizer state, hooks, dataloaders) is garbage of
  reference cycles once its training, validation and test are over: collected before the
  resume's Runner builds its own and loads the checkpoint, it does not add to the run's peak;
- a parameter whose group's learning rate is 0 before any scheduler (``lr_mult=0``, the way
  configs freeze through the optimizer) cannot move: its gradient only makes the Runner's
  optimizer allocate state for it (SGD's momentum, Adam's moments) and write it in place, which
  in a forked child copies its pages. The gradient is dropped before each step, as the train
  tier's step does (``_drop_grads_the_step_cannot_use``); the parameter's value is the same.
"""
from __future__ import annotations


def before_fork() -> None:
    """In the audit, just before the run's child is forked: freed heap pages back to the system."""
    from ..forward import release_memory

    release_memory()


def between_runs() -> None:
    """In the run, after the first Runner and before the resume's: its cycles collected, their
    pages handed back."""
    from ..forward import release_memory

    release_memory(after_error=True)  # a full collection, then the pages back to the system


def still_params_hook():
    """A Runner hook: from ``before_train`` on, each optimizer step of the Runner's optim wrapper
    (each wrapper of an ``OptimWrapperDict``) first drops the gradients of the parameter groups
    whose learning rate is 0 and was 0 before any scheduler."""
    from mmengine.hooks import Hook

    class StillParams(Hook):
        priority = "VERY_LOW"

        def before_train(self, runner):
            wrapper = getattr(runner, "optim_wrapper", None)
            wrappers = getattr(wrapper, "optim_wrappers", None)
            for ow in (wrappers.values() if isinstance(wrappers, dict) else [wrapper]):
                optimizer = getattr(ow, "optimizer", None)
                if hasattr(optimizer, "register_step_pre_hook"):
                    optimizer.register_step_pre_hook(drop_still_grads)

    return StillParams()


def drop_still_grads(optimizer, args=(), kwargs=None) -> None:
    """Gradients of groups that cannot move (learning rate 0 now and before any scheduler) set to None."""
    for group in optimizer.param_groups:
        if _zero(group.get("lr")) and _zero(group.get("initial_lr", group.get("lr"))):
            for p in group["params"]:
                p.grad = None


def _zero(lr) -> bool:
    try:
        return float(lr) == 0.0
    except (TypeError, ValueError):  # a scheduler object or None: assume it moves
        return False
