"""What the run tier does to hold less memory without doing less: the audit's model handed to the
run's child (the audit keeps names, shapes and flags), still parameters left out of the backward,
checkpoints streamed into their file, and the same findings as without any of it."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from detaudit.facts.run import lean

torch = pytest.importorskip("torch")
TINY_RUN = Path(__file__).parents[2] / "fixtures" / "rules" / "_base_" / "tiny_run.py"


class _Ctx(SimpleNamespace):
    def has(self, name):
        return getattr(self, name, None) is not None


def _shared_model():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 4))
    model[2].weight = model[0].weight  # a shared parameter
    return model


def test_lend_model_keeps_names_shapes_and_flags_and_frees_the_values():
    model = _shared_model()
    model[2].bias.requires_grad_(False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ctx = _Ctx(model=model, optim_wrapper=SimpleNamespace(optimizer=optimizer), model_loan=lean.ModelLoan("offered"))
    old_weight, old_mean = model[0].weight, model[1].running_mean
    before = {n: (tuple(p.shape), p.requires_grad) for n, p in model.named_parameters()}
    lean.lend_model(ctx)
    assert ctx.model_loan.state == "taken"
    assert {n: (tuple(p.shape), p.requires_grad) for n, p in model.named_parameters()} == before
    assert all(p.device.type == "meta" for p in model.parameters())
    assert all(b.device.type == "meta" for b in model.buffers())
    assert model[2].weight is model[0].weight  # still one parameter
    assert old_weight.numel() == 0 and old_mean.numel() == 0  # held elsewhere, the memory went all the same
    grouped = [p for g in optimizer.param_groups for p in g["params"]]
    assert all(any(p is q for q in model.parameters()) for p in grouped)


def _still_and_moving():
    still, moving = torch.nn.Linear(8, 8), torch.nn.Linear(8, 4)
    model = torch.nn.Sequential(still, moving)
    optimizer = torch.optim.SGD([{"params": list(still.parameters()), "lr": 0.0, "initial_lr": 0.0},
                                 {"params": list(moving.parameters())}], lr=0.1)
    runner = SimpleNamespace(model=model, optim_wrapper=SimpleNamespace(optimizer=optimizer))
    return model, runner


def test_the_audits_objects_are_out_of_the_collectors_reach_while_the_child_lives():
    import gc

    gc.collect()
    assert gc.get_freeze_count() == 0
    with lean.fork_ready():
        assert gc.get_freeze_count() > 1000  # the modules, classes and functions imported so far
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), lean.fork_ready():
        raise RuntimeError("the run failed")
    assert gc.get_freeze_count() == 0  # unfrozen after a failure too


def test_still_parameters_are_left_out_of_the_backward_and_given_back():
    model, runner = _still_and_moving()
    hook = lean.still_params_hook(frozenset({"1.weight", "1.bias"}))
    hook.before_train(runner)
    assert [p.requires_grad for p in model[0].parameters()] == [False, False]
    model(torch.ones(2, 8)).sum().backward()
    assert all(p.grad is None for p in model[0].parameters())
    assert all(p.grad is not None for p in model[1].parameters())
    hook.after_train(runner)
    assert all(p.requires_grad for p in model.parameters())


def test_nothing_is_left_out_when_no_moving_parameter_was_trained():
    """The loss may then hang on still parameters alone: a backward without them would fail."""
    model, runner = _still_and_moving()
    hook = lean.still_params_hook(frozenset({"0.weight"}))
    hook.before_train(runner)
    assert all(p.requires_grad for p in model.parameters())


def test_streamed_checkpoints_write_what_mmengine_reads(tmp_path):
    import mmengine.runner.runner as runner_module
    from mmengine.runner.checkpoint import _load_checkpoint

    original = runner_module.save_checkpoint
    state = {"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "meta": {"epoch": 1}}
    target = tmp_path / "sub" / "epoch_1.pth"
    with lean.streamed_checkpoints():
        assert runner_module.save_checkpoint is not original
        runner_module.save_checkpoint(state, str(target))
    assert runner_module.save_checkpoint is original
    loaded = _load_checkpoint(str(target), map_location="cpu")
    assert torch.equal(loaded["state_dict"]["w"], state["state_dict"]["w"]) and loaded["meta"] == {"epoch": 1}


def test_a_remote_checkpoint_goes_the_way_mmengine_writes_it(monkeypatch):
    import mmengine.runner.runner as runner_module

    calls = []
    monkeypatch.setattr(runner_module, "save_checkpoint", lambda *a, **k: calls.append(a[1]))
    with lean.streamed_checkpoints():
        runner_module.save_checkpoint({}, "pavi://project/epoch_1.pth")
    assert calls == ["pavi://project/epoch_1.pth"]


def _findings(result):
    return sorted((f.code, f.key_path or "", f.message) for f in result.findings)


def test_the_run_takes_the_audits_model_and_finds_the_same(monkeypatch):
    from detaudit.driver import ConfigFile, audit
    from detaudit.facts.run import runner as run_module
    from detaudit.options import AuditOptions

    seen = []
    lent = audit(ConfigFile(str(TINY_RUN)), AuditOptions(tier="run"), on_context=seen.append)
    assert seen[0].model_loan.state == "taken"
    assert lent.tiers["run"] == "ok", lent.findings
    monkeypatch.setattr(run_module, "lend_model", lambda ctx: None)
    kept = audit(ConfigFile(str(TINY_RUN)), AuditOptions(tier="run"))
    assert _findings(lent) == _findings(kept)


def test_a_run_after_the_model_was_lent_builds_its_own(tmp_path):
    """A second attempt (a retry at a larger size) cannot fork the audit's model any more."""
    from mmengine.config import Config

    from detaudit.facts.context import AuditContext
    from detaudit.facts.run.runner import dry_run

    ctx = AuditContext(Config.fromfile(str(TINY_RUN)), tier="run", base_dir=str(tmp_path))
    ctx.model
    ctx.model_loan.offer()
    first = dry_run(ctx)
    assert ctx.model_loan.state == "taken" and first.stages.get("resume", "").startswith("ok"), first.stages
    again = dry_run(ctx)
    assert again.stages.get("resume", "").startswith("ok"), again.failures
    assert any(c.key_path == "model" and c.now == "a fresh build" for c in again.changes)
