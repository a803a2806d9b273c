"""DetAuditHook in a real mmengine Runner, on the tiny training of tests/tiny_run.py (about a
second per run): registration, the audit before the first iteration on the Runner's own
objects, the checks after iterations, the report in the work dir, ``fail_on``, and a training
that goes on when the audit itself fails."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from audit_helpers import validate_report

pytest.importorskip("mmengine")
TINY_RUN = Path(__file__).parents[1] / "fixtures" / "rules" / "_base_" / "tiny_training.py"


def _runner(tmp_path, name="run", **overrides):
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(str(TINY_RUN))
    cfg.merge_from_dict(overrides)
    cfg.work_dir = str(tmp_path / name)
    cfg.experiment_name = f"{name}-{tmp_path.name}"
    cfg.log_level = "INFO"
    return Runner.from_cfg(cfg)


def _hook(runner):
    return next(h for h in runner._hooks if type(h).__name__ == "DetAuditHook")


def _log_text(runner) -> str:
    logs = list(Path(runner.log_dir).glob("*.log"))
    assert len(logs) == 1, logs
    return logs[0].read_text()


def test_the_hook_is_registered_with_mmengine_and_found_from_mmdet_configs():
    import detaudit.hooks  # noqa: F401
    from mmengine.registry import HOOKS, DefaultScope

    assert HOOKS.get("DetAuditHook").__name__ == "DetAuditHook"
    pytest.importorskip("mmdet")
    from mmdet.registry import HOOKS as MMDET_HOOKS

    with DefaultScope.overwrite_default_scope("mmdet"):
        hook = MMDET_HOOKS.build(dict(type="DetAuditHook", check_iter=2, expect_losses=["loss_macl"]))
    assert hook.check_iter == 2 and hook.expect_losses == ["loss_macl"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(check_iter=0), "check_iter"), (dict(interval=0), "interval"), (dict(fail_on="fatal"), "fail_on")])
def test_bad_arguments_are_refused_with_the_argument_named(kwargs, message):
    from detaudit.hooks import DetAuditHook

    with pytest.raises(ValueError, match=message):
        DetAuditHook(**kwargs)


def test_before_the_first_iteration_the_rules_read_the_runners_own_objects(tmp_path, monkeypatch):
    """lr_mult=0 on a trainable backbone: DA101 and DA102 from the Runner's model and optimizer
    (no second build), logged through the runner's logger and written to the work dir."""
    from detaudit.facts import build

    def no_second_build(*args, **kwargs):
        raise AssertionError("the hook built a model")

    monkeypatch.setattr(build, "build_model", no_second_build)
    monkeypatch.chdir(tmp_path)
    runner = _runner(tmp_path, optim_wrapper=dict(paramwise_cfg=dict(custom_keys={"backbone": dict(lr_mult=0.0)})))
    runner.train()
    text = _log_text(runner)
    assert re.search(r"DetAuditHook before the first iteration: DA102 \[error\] backbone: 56 of 56 parameters are "
                     r"trainable although lr_mult=0 says it is frozen", text), text[-3000:]
    assert "DetAuditHook before the first iteration: DA101 [error] backbone" in text
    # the rules that need a synthetic pass are skipped with the reason, not passed
    report = json.loads((Path(runner.work_dir) / "detaudit.json").read_text())
    validate_report(report)
    audit = report["audits"][0]
    reasons = {s["code"]: s["reason"] for s in audit["skipped_rules"]}
    assert "runs no synthetic pass" in reasons["DA501"] and "DA101" not in reasons
    assert audit["tiers"]["forward"] == audit["tiers"]["train"] == "skipped"
    assert audit["optimizer"]["groups"] and audit["model"]["total_params"] > 0
    # the checks after iteration 1 are in the same report: the BatchNorm statistics moved
    da901 = [f for f in audit["findings"] if f["code"] == "DA901"]
    assert da901 and da901[0]["evidence"]["buffers_changed"] == 3
    assert set(audit["losses"]) == {"loss", "loss_reg", "loss_aux"}


def test_fail_on_error_stops_before_the_first_iteration_with_one_message(tmp_path, monkeypatch):
    from detaudit.hooks import DetAuditStop

    monkeypatch.chdir(tmp_path)
    runner = _runner(tmp_path, optim_wrapper=dict(paramwise_cfg=dict(custom_keys={"backbone": dict(lr_mult=0.0)})),
                     custom_hooks=[dict(type="DetAuditHook", fail_on="error")])
    with pytest.raises(DetAuditStop) as stop:
        runner.train()
    message = str(stop.value)
    assert message.startswith("DetAuditHook(fail_on='error') stopped training before the first iteration: "
                              "2 finding(s) at or above error: DA101 backbone")
    assert "DA102 backbone: 56 of 56 parameters are trainable" in message
    assert f"Report: {Path(runner.work_dir) / 'detaudit.json'}" in message
    assert runner.iter == 0 and not list(Path(runner.work_dir).glob("*.pth"))


def test_checks_run_after_check_iter_and_every_interval_and_name_missing_gradients_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = _runner(tmp_path, model=dict(frozen_backbone=True, unused_head=True),
                     custom_hooks=[dict(type="DetAuditHook", check_iter=2, interval=1, expect_frozen=["backbone"])])
    runner.train()
    text = _log_text(runner)
    checked = [int(m) for m in re.findall(r"DetAuditHook after iteration (\d+): DA902", text)]
    assert checked == [2, 3, 4]
    assert text.count("DA907 [warning] unused: 2 trainable parameter(s) received no gradient in the first 2") == 1
    assert "backbone: all 4 parameters and 3 BatchNorm buffers are bitwise identical between before_train and " \
           "after iteration 4" in text
    assert "expected losses present and finite in every logged iteration so far: loss=" in text
    report = json.loads((Path(runner.work_dir) / "detaudit.json").read_text())
    validate_report(report)
    codes = [f["code"] for f in report["audits"][0]["findings"]]
    assert codes.count("DA907") == 1 and codes.count("DA902") == 1  # the latest check replaces the earlier ones
    assert report["audits"][0]["timings_s"]["hook_checks"] >= 0


def test_gradients_are_watched_only_until_the_first_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = _runner(tmp_path)
    runner.train()
    watch = _hook(runner)._watch
    assert watch._handles == [] and watch.coverage.iterations == 1
    assert not any(p._post_accumulate_grad_hooks for p in runner.model.parameters()
                   if getattr(p, "_post_accumulate_grad_hooks", None))


def test_a_failing_audit_does_not_stop_the_training(tmp_path, monkeypatch):
    from detaudit import driver

    def broken(*args, **kwargs):
        raise RuntimeError("audit exploded")

    monkeypatch.setattr(driver, "audit_keeping", broken)
    monkeypatch.chdir(tmp_path)
    runner = _runner(tmp_path)
    runner.train()
    assert runner.iter == 4
    assert "DetAuditHook: the audit before training failed (RuntimeError: audit exploded); training goes on " \
           "without it" in _log_text(runner)


def test_a_failing_check_does_not_stop_the_training(tmp_path, monkeypatch):
    from detaudit import driver

    def broken(*args, **kwargs):
        raise RuntimeError("check exploded")

    monkeypatch.setattr(driver, "audit", broken)
    monkeypatch.chdir(tmp_path)
    runner = _runner(tmp_path, custom_hooks=[dict(type="DetAuditHook", interval=1)])
    runner.train()
    assert runner.iter == 4
    assert _log_text(runner).count("DetAuditHook: the check after iteration") == 4


def test_the_audit_leaves_the_runners_logger_as_it_found_it(tmp_path, monkeypatch):
    """The audit silences mmengine's logger while it reads the load_from checkpoint; the run's
    own INFO lines must still reach its log afterwards."""
    monkeypatch.chdir(tmp_path)
    first = _runner(tmp_path, name="first")
    first.train()
    # mmengine's own load of a Runner checkpoint needs the unrestricted unpickler on torch >= 2.6
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    runner = _runner(tmp_path, load_from=str(Path(first.work_dir) / "iter_4.pth"))
    levels = [h.level for h in runner.logger.handlers]
    runner.train()
    report = json.loads((Path(runner.work_dir) / "detaudit.json").read_text())
    assert report["audits"][0]["tiers"]["checkpoint"] == "ok" and "checkpoint" in report["audits"][0]["timings_s"]
    assert [h.level for h in runner.logger.handlers] == levels
    assert "Saving checkpoint at 4 iterations" in _log_text(runner)  # an INFO line after the audit


def test_before_train_surveys_the_runners_own_datasets(tmp_path, monkeypatch):
    """The Runner's real datasets, read before the first iteration: annotations that never name the
    configured class (DA711) stop a fail_on='error' training with that finding."""
    import detaudit.hooks  # noqa: F401 - what custom_imports=['detaudit.hooks'] does at load time
    from mmengine.config import Config
    from mmengine.runner import Runner

    rules = Path(__file__).parents[1] / "fixtures" / "rules"
    monkeypatch.chdir(rules / "DA711")  # the real data's relative data_root resolves from here
    cfg = Config.fromfile(str(rules / "DA711" / "fires_other_name.py"))
    cfg.custom_hooks = [dict(type="DetAuditHook", fail_on="error", select=["DA711"])]
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[name].num_workers, cfg[name].persistent_workers = 0, False
    # images without a box of the configured class stay, so the Runner builds the loaders and trains
    cfg.train_dataloader.dataset.filter_cfg = dict(filter_empty_gt=False)
    cfg.work_dir, cfg.experiment_name, cfg.log_level = str(tmp_path / "w"), f"survey-{tmp_path.name}", "INFO"
    runner = Runner.from_cfg(cfg)
    with pytest.raises(RuntimeError, match="DA711"):
        runner.train()
    report = json.loads((tmp_path / "w" / "detaudit.json").read_text())
    validate_report(report)
    hits = [f for f in report["audits"][0]["findings"] if f["code"] == "DA711"]
    assert hits and "'pedestrian'" in hits[0]["message"]
