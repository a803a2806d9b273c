"""What the run tier frees so that the audit and its run's child hold less memory together.

The run works in a child forked from the audit (:mod:`.child`): every page the audit holds
when it forks stays resident for as long as the run lasts, and the child adds its own Runner,
optimizer state, gradients and checkpoint on top. Two things the audit holds by then are of no
further use to anyone:

- the gradients the train tier's step left on the model (the step's findings were read off
  them when it ran: :mod:`..step` keeps what it needs in its ``StepResult``; the run's child
  would drop them anyway, since a first backward would add to them);
- the state (momentum, Adam's moments) the train tier's optimizer step created. No rule reads
  it; a step computed after the run starts from an empty state, as a first step does.

And in the child, the first Runner (its optimizer state, hooks, dataloaders) is garbage of
reference cycles once its training, validation and test are over: collected before the
resume's Runner builds its own and loads the checkpoint, it does not add to the run's peak.
"""
from __future__ import annotations


def drop_training_state(ctx) -> None:
    """In the audit, before the run's child is forked: the train tier's gradients and optimizer
    state are freed, and the freed heap pages handed back to the system."""
    from ..forward import release_memory

    if not ctx.has("step_result"):  # no step of the audit's own ran: nothing of it to free (the objects
        return                      # of a seeded context, DetAuditHook's, are the training's)
    if ctx.has("model"):
        for p in ctx.model.parameters():
            p.grad = None
    if ctx.has("optim_wrapper"):
        optimizer = getattr(ctx.optim_wrapper, "optimizer", None)
        state = getattr(optimizer, "state", None)
        if hasattr(state, "clear"):
            state.clear()
    release_memory()


def between_runs() -> None:
    """In the run, after the first Runner and before the resume's: its cycles collected, their
    pages handed back."""
    from ..forward import release_memory

    release_memory(after_error=True)  # a full collection, then the pages back to the system
