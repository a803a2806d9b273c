"""What the run tier frees before it forks: the train step's gradients and optimizer state, and only
when the step was the audit's own."""
from __future__ import annotations

import pytest

from detaudit.facts.run.lean import between_runs, drop_training_state

torch = pytest.importorskip("torch")


class _Ctx:
    """The three facts drop_training_state looks at, as an AuditContext holds them."""

    def __init__(self, model, optim_wrapper, *, stepped: bool):
        self.model, self.optim_wrapper = model, optim_wrapper
        self._facts = {"model", "optim_wrapper"} | ({"step_result"} if stepped else set())

    def has(self, name: str) -> bool:
        return name in self._facts


class _Wrapper:
    def __init__(self, optimizer):
        self.optimizer = optimizer


def _stepped_model():
    model = torch.nn.Linear(8, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(2, 8)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_the_step_s_gradients_and_momentum_are_freed():
    model, optimizer = _stepped_model()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert all(p.grad is not None for p in model.parameters()) and len(optimizer.state) == 2
    drop_training_state(_Ctx(model, _Wrapper(optimizer), stepped=True))
    assert all(p.grad is None for p in model.parameters())
    assert len(optimizer.state) == 0
    # the weights themselves are the model's: untouched
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())
    # and the optimizer still steps, from an empty state, as a first step does
    model(torch.ones(2, 8)).sum().backward()
    optimizer.step()
    assert len(optimizer.state) == 2


def test_a_context_whose_step_was_not_the_audit_s_keeps_everything():
    """A seeded context (DetAuditHook's) holds the training's own model and optimizer."""
    model, optimizer = _stepped_model()
    drop_training_state(_Ctx(model, _Wrapper(optimizer), stepped=False))
    assert all(p.grad is not None for p in model.parameters()) and len(optimizer.state) == 2


def test_between_runs_collects_cycles():
    import gc
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.disable()
    try:
        del a, b
        assert gone() is not None
        between_runs()
        assert gone() is None
    finally:
        gc.enable()
