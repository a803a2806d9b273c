"""What the run tier frees: a still parameter's gradient before the Runner's optimizer steps (no
state for it, no write to it), and the first Runner's cycles before the resume's."""
from __future__ import annotations

import pytest

from detaudit.facts.run.lean import between_runs, drop_still_grads

torch = pytest.importorskip("torch")


def _two_groups(lr_still=0.0, initial=None):
    """A model of two layers, the first in a group of learning rate ``lr_still`` (lr_mult=0's)."""
    still, moving = torch.nn.Linear(8, 8), torch.nn.Linear(8, 4)
    group = {"params": list(still.parameters()), "lr": lr_still}
    optimizer = torch.optim.SGD([group, {"params": list(moving.parameters())}], lr=0.1, momentum=0.9,
                                weight_decay=1e-4)
    if initial is not None:
        optimizer.param_groups[0]["initial_lr"] = initial
    optimizer.register_step_pre_hook(drop_still_grads)
    moving(still(torch.ones(2, 8))).sum().backward()
    return still, moving, optimizer


def test_a_still_group_gets_no_state_and_no_write():
    still, moving, optimizer = _two_groups()
    before = [p.detach().clone() for p in still.parameters()]
    moved = [p.detach().clone() for p in moving.parameters()]
    optimizer.step()
    assert all(p.grad is None for p in still.parameters())
    assert set(optimizer.state) == set(moving.parameters())  # momentum for the moving layer only
    assert all(torch.equal(b, p) for b, p in zip(before, still.parameters()))
    assert not any(torch.equal(b, p) for b, p in zip(moved, moving.parameters()))


def test_a_group_a_scheduler_holds_at_zero_for_now_keeps_its_gradients():
    """Warm-up from 0 (initial_lr above 0): the group moves later, so its step is as configured."""
    still, _, optimizer = _two_groups(lr_still=0.0, initial=0.01)
    optimizer.step()
    assert all(p.grad is not None for p in still.parameters())
    assert set(still.parameters()) <= set(optimizer.state)


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
