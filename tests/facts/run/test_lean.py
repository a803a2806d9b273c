"""What the run tier frees: a still parameter's gradient before the Runner's optimizer steps (no
state for it, no write to it), each gradient once its parameter has moved (the same values as a
whole step), and the first Runner's cycles before the resume's."""
from __future__ import annotations

import pytest

from detaudit.facts.run.lean import between_runs, drop_still_grads, step_each_parameter

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


def _trained(optimizer_type, per_parameter_groups, hooked, **settings):
    """Parameters and optimizer state after three steps of a small model (the same data each time)."""
    import copy

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    params = ([{"params": [p], "lr": 0.01 * (i + 1)} for i, p in enumerate(model.parameters())]
              if per_parameter_groups else model.parameters())
    optimizer = optimizer_type(params, lr=0.01, **settings)
    if hooked:
        optimizer.register_step_pre_hook(step_each_parameter)
    left = []
    for i in range(3):
        model(torch.randn(5, 8, generator=torch.Generator().manual_seed(i))).pow(2).sum().backward()
        optimizer.step()
        left.append(sum(p.grad is not None for p in model.parameters()))
        optimizer.zero_grad()
    return [p.detach().clone() for p in model.parameters()], copy.deepcopy(optimizer.state_dict()), left


def _same_state(a, b):
    if a["param_groups"] != b["param_groups"] or a["state"].keys() != b["state"].keys():
        return False
    return all(torch.equal(torch.as_tensor(a["state"][k][n]), torch.as_tensor(b["state"][k][n]))
               for k in a["state"] for n in a["state"][k])


@pytest.mark.parametrize("optimizer_type,settings", [
    ("SGD", dict(momentum=0.9, weight_decay=1e-4)), ("SGD", dict(momentum=0.9, nesterov=True)),
    ("Adam", dict(weight_decay=1e-2)), ("AdamW", dict(amsgrad=True))])
@pytest.mark.parametrize("per_parameter_groups", [False, True])
def test_each_parameter_stepped_alone_moves_as_the_whole_step_and_holds_no_gradient(optimizer_type, settings,
                                                                                    per_parameter_groups):
    kind = getattr(torch.optim, optimizer_type)
    whole, whole_state, whole_left = _trained(kind, per_parameter_groups, hooked=False, **settings)
    alone, alone_state, alone_left = _trained(kind, per_parameter_groups, hooked=True, **settings)
    assert all(torch.equal(a, b) for a, b in zip(whole, alone))  # bit for bit
    assert _same_state(whole_state, alone_state)
    assert whole_left == [4, 4, 4] and alone_left == [0, 0, 0]


def test_other_optimizers_and_paths_step_as_before():
    class Scaled(torch.optim.SGD):  # a subclass may read more than one parameter
        pass

    for kind, settings in ((Scaled, {}), (torch.optim.SGD, dict(foreach=True)), (torch.optim.RMSprop, {})):
        _, _, left = _trained(kind, False, hooked=True, **settings)
        assert left == [4, 4, 4], kind


def test_a_step_given_a_closure_is_the_optimizers_own():
    def stepped(hooked):
        torch.manual_seed(0)
        layer = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
        if hooked:
            optimizer.register_step_pre_hook(step_each_parameter)
        layer(torch.ones(1, 4)).sum().backward()  # gradients there before the closure runs

        def closure():
            optimizer.zero_grad()
            loss = layer(torch.full((1, 4), 2.0)).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return [p.detach().clone() for p in layer.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(stepped(False), stepped(True)))
