"""The facts of a training run: what a freeze intent covers, tensor digests, loss summaries,
the learning-rate replay, and the rules' plan for each kind of audit."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")


def _intent(module, source, params, scope="all", detail=""):
    from detaudit.facts.intent import FreezeIntent

    return FreezeIntent(module, source, None, list(params), scope=scope, detail=detail)


def _model():
    from torch import nn

    model = nn.Module()
    model.backbone = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
    model.head = nn.Linear(4, 1)
    return model


def test_intents_on_the_same_tensors_merge_and_partial_ones_stay_apart():
    from detaudit.facts.training import frozen_groups

    model = _model()
    every = [n for n, _ in model.named_parameters() if n.startswith("backbone.")]
    first = [n for n in every if n.startswith(("backbone.0.", "backbone.1."))]
    groups = frozen_groups([
        _intent("backbone", "frozen_stages=4", every, scope="stages", detail="frozen_stages=4"),
        _intent("backbone", "FreezeModulesHook", every),
        _intent("backbone", "frozen_stages=1", first, scope="stages", detail="frozen_stages=1 freezes stem only"),
        _intent("backbone", "norm_cfg.requires_grad=False", ["backbone.1.weight", "backbone.1.bias"], scope="norm"),
        _intent("neck", "--expect-frozen", []),   # no such module: DA102's business
    ], model)
    by_sources = {tuple(g.sources): g for g in groups}
    assert set(by_sources) == {("frozen_stages=4", "FreezeModulesHook"), ("frozen_stages=1",),
                               ("norm_cfg.requires_grad=False",)}
    whole = by_sources[("frozen_stages=4", "FreezeModulesHook")]
    assert whole.note == "" and len(whole.params) == 8
    assert whole.buffers == [f"backbone.{i}.{b}" for i in (1, 3) for b in ("running_mean", "running_var",
                                                                             "num_batches_tracked")]
    part = by_sources[("frozen_stages=1",)]
    assert part.note == "frozen_stages=1 freezes stem only" and part.buffers == [
        "backbone.1.running_mean", "backbone.1.running_var", "backbone.1.num_batches_tracked"]
    assert by_sources[("norm_cfg.requires_grad=False",)].buffers == []  # affine only, statistics may move


def test_a_digest_changes_with_one_bit_and_covers_every_dtype():
    from detaudit.facts.training import tensor_digest

    t = torch.randn(1000)
    flipped = t.clone()
    flipped.view(torch.int32)[500] ^= 1  # the lowest mantissa bit of one element
    assert tensor_digest(t) == tensor_digest(t.clone()) != tensor_digest(flipped)
    assert tensor_digest(torch.tensor(0.0)) != tensor_digest(torch.tensor(-0.0))  # bitwise, not numeric
    for dtype in (torch.bfloat16, torch.float16, torch.float64, torch.int64, torch.bool, torch.uint8):
        x = torch.ones(7, dtype=dtype)
        assert tensor_digest(x) == tensor_digest(x.clone())
    strided = torch.arange(12.0).reshape(3, 4).t()
    assert tensor_digest(strided) == tensor_digest(strided.contiguous())
    assert tensor_digest(torch.empty(0)) == tensor_digest(torch.empty(0, 3))


def test_compare_counts_changed_and_missing_tensors():
    from detaudit.facts.training import FrozenGroup, compare

    g = FrozenGroup("backbone", ["lr_mult=0"], None, ["a", "b", "c"], ["bn.running_mean"])
    [state] = compare([g], {"a": 1, "b": 2, "bn.running_mean": 5}, {"a": 1, "b": 3, "c": 4, "bn.running_mean": 6},
                      {"a": 10, "b": 20, "c": 30})
    assert state.changed_params == ["b"] and state.changed_numel == 20 and state.numel == 60
    assert state.changed_buffers == ["bn.running_mean"] and state.missing == ["c"] and state.missing_params == 1


def test_loss_series_keeps_what_the_rules_need_in_constant_memory():
    from detaudit.facts.training import LossLog

    log = LossLog(source="test")
    for i, (macl, cls) in enumerate([(3.0, 1.0), (2.5, 0.9), (0.0, 0.8), (0.0, float("nan")), (0.0, 0.7)], start=1):
        values = {"loss_macl": macl, "loss_cls": cls, "acc": 50.0}
        if i == 5:
            values.pop("loss_macl")
        log.add(i, values)
    assert log.expected == ["loss_macl", "loss_cls"] and "iteration 1" in log.expected_source
    macl, cls = log.series["loss_macl"], log.series["loss_cls"]
    assert (macl.tail_value, macl.tail_start, macl.tail_len, macl.last_iter) == (0.0, 3, 2, 4)
    assert log.last_iter == 5 and "acc" not in log.series
    assert cls.nonfinite == 1 and cls.first_nonfinite[0] == 4 and math.isnan(cls.first_nonfinite[1])
    assert cls.tail_len == 1


def _replay(cfg_text, tmp_path, **kwargs):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from detaudit.facts.lr_replay import replay

    path = tmp_path / "c.py"
    path.write_text(cfg_text)
    init_default_scope("mmengine")
    return replay(Config.fromfile(str(path)), **kwargs)


def test_replay_steps_epoch_schedulers_at_epoch_ends_and_iteration_ones_after_each_iteration(tmp_path):
    lrs = _replay("param_scheduler = [\n"
                  "  dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=3),\n"
                  "  dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.1)]\n",
                  tmp_path, initial_lr=0.1, last_iter=6, epoch_length=3, by_epoch_loop=True)
    assert [round(lrs[i], 10) for i in range(1, 7)] == [0.05, 0.075, 0.1, 0.01, 0.01, 0.01]


def test_replay_of_a_converted_epoch_scheduler_and_of_no_scheduler(tmp_path):
    lrs = _replay("param_scheduler = dict(type='CosineAnnealingLR', T_max=2, by_epoch=True, eta_min=0.0, "
                  "convert_to_iter_based=True)\n", tmp_path, initial_lr=1.0, last_iter=5, epoch_length=2,
                  by_epoch_loop=True)
    expected = [0.5 * (1 + math.cos(math.pi * (i - 1) / 4)) for i in range(1, 5)]
    assert [lrs[i] for i in range(1, 5)] == pytest.approx(expected)
    assert set(_replay("x = 1\n", tmp_path, initial_lr=0.3, last_iter=3, epoch_length=None,
                       by_epoch_loop=True).values()) == {0.3}


def test_replay_needs_the_epoch_length_only_for_epoch_schedulers(tmp_path):
    from detaudit.errors import FactUnavailable

    with pytest.raises(FactUnavailable, match="iterations per epoch"):
        _replay("param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1])]\n", tmp_path,
                initial_lr=0.1, last_iter=4, epoch_length=None, by_epoch_loop=True)


def test_a_config_audit_leaves_the_training_rules_out_and_a_training_audit_keeps_the_load_and_build_ones():
    from detaudit.plan import make_plan
    from detaudit.registry import select_rules

    rules = select_rules()
    config = make_plan(rules, max_tier="train", cli_tier="train")
    assert not [c for c in config.order if c.startswith("DA9")]
    assert not [s for s in config.skipped if s["code"].startswith("DA9")]
    training = make_plan(rules, max_tier="training", cli_tier="train", audit="training")
    assert {"DA901", "DA907", "DA001", "DA002", "DA005", "DA006"} <= set(training.order)
    assert not {"DA101", "DA102", "DA091", "DA604"} & set(training.order)
