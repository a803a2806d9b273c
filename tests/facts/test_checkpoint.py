"""The checkpoint view: reading load_from safely on the CPU, mmengine's key revision, coverage
per module, classes, and the reasons the fact is unavailable."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from audit_helpers import validate_report
from tiny_checkpoints import TINY_BASE

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"


@pytest.fixture(scope="module")
def tiny_model():
    from tiny_checkpoints import _build

    return _build()


def view_of(model, path):
    from detaudit.facts.checkpoint import build_view, read_checkpoint

    checkpoint, unsafe = read_checkpoint(str(path))
    return build_view(model, checkpoint, source=str(path), path=str(path), unsafe_globals=unsafe)


class Exploit:
    """Pickles as a call that writes a marker file: what a hostile checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def test_mmengine_checkpoint_loads_although_plain_torch_load_refuses_it(generated_files):
    import pickle

    import torch

    from detaudit.facts.checkpoint import read_checkpoint

    path = generated_files.path("tiny_full")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # what mmengine's loader does under torch >= 2.6
    checkpoint, unsafe = read_checkpoint(str(path))
    assert "mmengine.logging.history_buffer.HistoryBuffer" in unsafe
    assert checkpoint["meta"]["dataset_meta"]["classes"] == ("person",)
    assert checkpoint["meta"]["seed"] == 0  # numpy scalars are rebuilt for real
    assert isinstance(checkpoint["state_dict"]["backbone.conv1.weight"], torch.Tensor)


@pytest.mark.parametrize("force_unsafe_env", [False, True])
def test_pickled_code_is_never_executed(tmp_path, monkeypatch, force_unsafe_env):
    import torch

    from detaudit.facts.checkpoint import read_checkpoint

    marker = tmp_path / "marker.txt"
    path = tmp_path / "hostile.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "meta": {"payload": Exploit(marker)}}, path)
    if force_unsafe_env:  # the usual workaround for mmengine on torch 2.6+ must not switch it on
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    checkpoint, unsafe = read_checkpoint(str(path))
    assert not marker.exists()
    assert torch.equal(checkpoint["state_dict"]["w"], torch.ones(2))
    assert {"builtins.getattr", "pathlib.Path"} <= set(unsafe)  # reported, and mapped to inert stand-ins
    assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") == ("1" if force_unsafe_env else None)
    assert "TORCH_FORCE_WEIGHTS_ONLY_LOAD" not in os.environ


def test_full_checkpoint_covers_everything(tiny_model, generated_files):
    view = view_of(tiny_model, generated_files.path("tiny_full"))
    assert len(view.matched) == len(view.model_keys) == 150
    assert view.coverage == 1.0 and not view.missing and not view.unexpected and not view.mismatched
    assert view.classes == ("person",)
    assert view.meta["epoch"] == 12


def test_module_prefix_is_revised_like_mmengine(tiny_model, generated_files):
    view = view_of(tiny_model, generated_files.path("tiny_ddp_prefix"))
    assert view.revised == 150
    assert view.coverage == 1.0


def test_model_prefix_is_a_mismatch_with_a_suggested_rewrite(tiny_model, generated_files):
    view = view_of(tiny_model, generated_files.path("tiny_model_prefix"))
    assert view.revised == 0 and view.coverage == 0.0
    assert len(view.unexpected) == 150
    assert view.suggestion == {"rewrite": "strip", "prefix": "model.", "matched": 150}
    assert view.summary()["unexpected_prefixes"][0]["prefix"].startswith("model.")


def test_backbone_only_file_suggests_the_backbone_prefix(tiny_model, generated_files):
    view = view_of(tiny_model, generated_files.path("resnet18_backbone"))
    assert view.coverage == 0.0
    assert view.suggestion["rewrite"] == "add" and view.suggestion["prefix"] == "backbone."


def test_other_architecture_is_reported_per_module(tiny_model, generated_files):
    view = view_of(tiny_model, generated_files.path("tiny_neck32"))
    backbone, neck = view.module("backbone"), view.module("neck")
    assert backbone.covered == backbone.tensors == 120
    assert neck.covered == 0 and neck.mismatched == neck.in_checkpoint == 16
    assert not any(m.class_dependent for m in view.mismatched)
    assert view.coverage > 0.9  # the backbone dominates the element count: per-module coverage matters


def test_class_dependent_mismatches(tiny_model, generated_files):
    view = view_of(tiny_model, generated_files.path("tiny_3classes"))
    keys = {m.key: m for m in view.mismatched}
    assert set(keys) == {f"roi_head.bbox_head.{layer}.{p}" for layer in ("fc_cls", "fc_reg")
                         for p in ("weight", "bias")}
    assert all(m.class_dependent for m in view.mismatched)
    assert keys["roi_head.bbox_head.fc_cls.weight"].checkpoint_shape == (4, 128)
    assert keys["roi_head.bbox_head.fc_reg.weight"].model_shape == (4, 128)
    assert view.classes == ("person", "car", "dog")


def test_classes_of_reads_current_and_legacy_meta():
    from detaudit.facts.checkpoint import classes_of

    assert classes_of({"meta": {"dataset_meta": {"classes": ["a", "b"]}}}) == ("a", "b")
    assert classes_of({"meta": {"CLASSES": ("car",)}}) == ("car",)
    assert classes_of({"state_dict": {}}) is None


def _ctx(load_from, tmp_path=None):
    from detaudit.facts.context import AuditContext

    options = {} if load_from is None else {"load_from": load_from}
    return AuditContext(str(TINY_BASE), cfg_options=options, tier="build", base_dir=tmp_path)


@pytest.mark.parametrize("load_from,reason", [
    (None, "sets no load_from"),
    ("https://download.example.org/x/tiny_not_cached.pth", "remote and not in the local cache (DA205)"),
    ("no/such/epoch_12.pth", "does not exist here (DA201)"),
])
def test_fact_unavailable_with_the_reason(load_from, reason, tmp_path):
    from detaudit.errors import FactUnavailable

    ctx = _ctx(load_from, tmp_path)
    with pytest.raises(FactUnavailable, match=reason.replace("(", r"\(").replace(")", r"\)")):
        ctx.checkpoint
    assert "checkpoint" not in ctx.errors  # not a failure: another rule (or none) reports it


def test_unreadable_file_is_an_error(generated_files, tmp_path):
    from detaudit.errors import FactUnavailable

    ctx = _ctx(str(generated_files.path("not_a_checkpoint")), tmp_path)
    with pytest.raises(FactUnavailable, match="could not be read as a checkpoint"):
        ctx.checkpoint
    assert ctx.errors["checkpoint"].type


def test_remote_load_from_is_read_from_the_local_cache(generated_files, tmp_path):
    hub = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints"
    hub.mkdir(parents=True, exist_ok=True)
    cached = hub / "tiny_cached_copy.pth"
    shutil.copy(generated_files.path("tiny_full"), cached)
    try:
        view = _ctx("https://download.example.org/ckpt/tiny_cached_copy.pth", tmp_path).checkpoint
        assert view.path == str(cached) and view.coverage == 1.0
    finally:
        cached.unlink()


def test_checkpoint_findings_make_a_valid_json_report(generated_files, monkeypatch):
    from detaudit.faces.api import audit

    monkeypatch.chdir(FIXTURES / "DA203")
    report = audit(str(FIXTURES / "DA203" / "quiet.py"), select=["DA106", "DA203", "DA204", "DA206"],
                   cfg_options={"load_from": str(generated_files.path("tiny_3classes"))}, tier="build")
    data = json.loads(report.to_json())
    validate_report(data)
    audit_ = data["audits"][0]
    assert [f["code"] for f in audit_["findings"]] == ["DA204"]
    assert audit_["findings"][0]["severity"] == "info"
    assert audit_["skipped_rules"] == []  # DA206 ran: the class head does not load, DA204 tells it
    assert audit_["tiers"]["checkpoint"] == "ok"


def test_class_comparison_without_config_classes_is_skipped(generated_files, monkeypatch):
    from detaudit.faces.api import audit

    monkeypatch.chdir(FIXTURES / "DA206")
    report = audit(str(TINY_BASE), select=["DA206"], tier="build",
                   cfg_options={"load_from": str(generated_files.path("tiny_car"))})
    assert report.audits[0].skipped == [{"code": "DA206", "reason": "no dataloader of the config names its classes"}]


def test_unreadable_checkpoint_marks_the_tier_failed(generated_files, monkeypatch):
    from detaudit.faces.api import audit

    monkeypatch.chdir(FIXTURES / "DA203")
    report = audit(str(FIXTURES / "DA203" / "quiet.py"), select=["DA203", "DA204"], tier="build",
                   cfg_options={"load_from": str(generated_files.path("not_a_checkpoint"))})
    result = report.audits[0]
    assert [f.code for f in result.findings] == ["DA203"]
    assert [s["code"] for s in result.skipped] == ["DA204"]
    assert result.tiers["checkpoint"] == "failed" and result.status == "partial"


def test_training_load_refusal_matches_what_mmengine_really_does(tiny_model, generated_files, monkeypatch):
    """DA203's weights-only finding claims mmengine's own loader stops on the file: check the claim."""
    import pickle

    from mmengine.runner.checkpoint import _load_checkpoint

    runner_file, clean_file = generated_files.path("tiny_full"), generated_files.path("tiny_weights_only")
    monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", raising=False)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(runner_file), map_location="cpu")
    assert view_of(tiny_model, runner_file).training_load_refuses
    assert _load_checkpoint(str(clean_file), map_location="cpu")["meta"]["epoch"] == 12
    assert not view_of(tiny_model, clean_file).training_load_refuses
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # the run would load it: nothing to report
    assert not view_of(tiny_model, runner_file).training_load_refuses
