"""The hook-contract table against the installed hooks, read by scripts/mine_hook_contracts.py."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from detaudit.facts.hook_contracts import CONTRACTS, DRAWING_HOOKS

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mmdet") is None, reason="mmdet is not installed")
SCRIPT = Path(__file__).parents[2] / "scripts" / "mine_hook_contracts.py"


@pytest.fixture(scope="module")
def mined():
    spec = importlib.util.spec_from_file_location("mine_hook_contracts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {h["hook"]: h for h in module.mine()}, module


def test_every_contract_names_an_installed_hook_and_its_arguments(mined):
    hooks, _ = mined
    for name, contract in CONTRACTS.items():
        assert name in hooks, name
        assert hooks[name]["module"] == contract.module
        written = contract.intervals + ((contract.switch,) if contract.switch else ())
        for part in written:
            assert part.argument in hooks[name]["arguments"], (name, part.argument)
    for name in DRAWING_HOOKS:
        assert name in hooks


def test_the_miner_follows_locals_and_wrappers(mined):
    hooks, _ = mined
    switch = hooks["PipelineSwitchHook"]["stages"]["before_train_epoch"]
    assert "runner.train_dataloader.dataset.pipeline" in switch["writes"]
    assert "switch_epoch" in switch["arguments_read"]
    teacher = hooks["MeanTeacherHook"]["stages"]["before_train"]
    assert "runner.model.module.teacher" in teacher["hasattr"]
    yolox = hooks["YOLOXModeSwitchHook"]["stages"]["before_train_epoch"]
    assert "runner.train_dataloader.dataset.update_skip_type_keys" in yolox["reads"]
    ema = hooks["EMAHook"]["stages"]["before_train"]
    assert any("runner.max_epochs" in a for a in ema["asserts"])


def test_markdown_output(mined):
    hooks, module = mined
    table = module.markdown(list(hooks.values()))
    assert table.splitlines()[0].startswith("| hook | arguments | stage")
    assert "| SetEpochInfoHook |" in table
