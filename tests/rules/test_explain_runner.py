"""What mmengine's Runner refuses before the first iteration, read back to the config key: the
explanation DA716 gives a run that fails where DA836 predicted it."""
from __future__ import annotations

from detaudit.errors import ErrorInfo
from detaudit.rule.explain import explain


def _runner_refusal(tmp_path, cfg: dict, message: str, kind: str = "ValueError") -> ErrorInfo:
    try:
        from mmengine.runner import Runner

        Runner(model=dict(type="NoSuchModel"), work_dir=str(tmp_path / "work_dir"), **cfg)
    except Exception as exc:  # noqa: BLE001 - the refusal under test
        err = ErrorInfo.from_exception(exc)
        assert err.type == kind and message in err.message, err.message
        return err
    raise AssertionError("the Runner took the config")


def test_the_runner_message_of_a_half_set_stage_is_traced_to_the_missing_key(tmp_path):
    cfg = {"val_dataloader": dict(batch_size=1), "val_evaluator": dict(type="CocoMetric")}
    err = _runner_refusal(tmp_path, cfg, "should be either all None or not None")
    found = explain(dict(cfg, val_cfg=None), err, "build")
    assert [e.key_path for e in found] == ["val_cfg"]
    assert found[0].evidence["set"] == ["val_dataloader", "val_evaluator"]


def test_a_scheduler_without_an_optimizer_is_traced_to_the_scheduler(tmp_path):
    cfg = {"param_scheduler": [dict(type="MultiStepLR", milestones=[8, 11])]}
    err = _runner_refusal(tmp_path, cfg, "param_scheduler should be None when optim_wrapper is None")
    assert [e.key_path for e in explain(cfg, err, "build")] == ["param_scheduler"]


def test_a_complete_config_is_not_blamed_for_the_same_words():
    cfg = {"val_dataloader": dict(batch_size=1), "val_cfg": dict(), "val_evaluator": dict(type="CocoMetric")}
    err = ErrorInfo(type="ValueError", message="val_dataloader, val_cfg, and val_evaluator should be either all "
                                               "None or not None, but got ...")
    assert explain(cfg, err, "build") == []
