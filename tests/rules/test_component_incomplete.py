"""DA843 component-incomplete beyond its fixtures: one finding per dict (a model without type is not
reported again through its parts), the ``_delete_`` that dropped the keys named with its line, a
dict shared by two stages reported once, arguments the building part injects left alone, and the
zoo table the rule reads (and the script that writes it)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from detaudit.faces.api import audit

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "rules"


def _audit(tmp_path, monkeypatch, text: str, name: str = "cfg.py"):
    cfg = tmp_path / name
    cfg.write_text(text)
    monkeypatch.chdir(tmp_path)
    return audit(str(cfg), select=["DA843"], tier="static").audits[0]


def test_a_model_without_type_is_one_finding_naming_the_delete_and_the_dropped_keys(monkeypatch):
    path = FIXTURES / "DA843" / "fires_model_delete.py"
    monkeypatch.chdir(path.parent)
    result = audit(str(path), select=["DA843"], tier="static").audits[0]
    assert "DA843" in result.ran
    (finding,) = result.findings  # not the heads and losses under the untyped model again
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("model = dict("))
    assert finding.key_path == "model"
    assert (finding.location.file, finding.location.line) == ("fires_model_delete.py", line)
    assert finding.evidence["delete_at"] == f"fires_model_delete.py:{line}"
    assert {"type", "backbone", "neck", "rpn_head", "train_cfg", "test_cfg"} <= set(finding.evidence["dropped_keys"])
    assert "roi_head" not in finding.evidence["dropped_keys"]  # the override gave it again
    assert finding.severity == "error" and "remove _delete_=True from model" in finding.fix


def test_missing_arguments_are_listed_in_one_finding_at_the_first_one(tmp_path, monkeypatch):
    base = FIXTURES / "_base_" / "tiny_frcnn.py"
    result = _audit(tmp_path, monkeypatch, f"_base_ = [{str(base)!r}]\n"
                    "model = dict(neck=dict(_delete_=True, type='FPN'))\n")
    (finding,) = result.findings
    assert finding.evidence["missing"] == ["in_channels", "out_channels", "num_outs"]
    assert finding.key_path == "model.neck.in_channels"
    assert finding.evidence["dropped_keys"] == ["in_channels", "out_channels", "num_outs"]


def test_a_dict_written_from_scratch_has_no_delete_in_its_message(tmp_path, monkeypatch):
    result = _audit(tmp_path, monkeypatch,
                    "default_scope = 'mmdet'\n"
                    "train_pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomCrop'),\n"
                    "                  dict(type='PackDetInputs')]\n"
                    "train_dataloader = dict(batch_size=2, sampler=dict(type='DefaultSampler', shuffle=True),\n"
                    "    dataset=dict(type='CocoDataset', ann_file='a.json', pipeline=train_pipeline))\n")
    (finding,) = result.findings
    assert finding.key_path == "train_dataloader.dataset.pipeline.1.crop_size"
    assert "_delete_" not in finding.message and "delete_at" not in finding.evidence


def test_a_dataloader_shared_by_validation_and_test_is_reported_once(tmp_path, monkeypatch):
    base = FIXTURES / "_base_" / "tiny_run.py"
    result = _audit(tmp_path, monkeypatch, f"_base_ = [{str(base)!r}]\n"
                    "val_dataloader = dict(sampler=dict(_delete_=True, shuffle=False))\n"
                    "test_dataloader = val_dataloader\n")
    assert [f.key_path for f in result.findings] == ["val_dataloader.sampler"]


def test_arguments_the_building_part_injects_are_never_required():
    from rules._required_args import always_given, zoo_table

    required = zoo_table()["required"]
    injected = [("mmengine.dataset.sampler.DefaultSampler", "dataset"),
                ("mmengine.runner.loops.EpochBasedTrainLoop", "runner"),
                ("mmengine.runner.loops.ValLoop", "evaluator"),
                ("mmengine.optim.scheduler.lr_scheduler.LinearLR", "optimizer"),
                ("mmdet.models.dense_heads.cascade_rpn_head.CascadeRPNHead", "train_cfg")]
    for cls, arg in injected:
        assert cls in required and arg in required[cls], (cls, arg)
        assert not always_given(cls, arg), (cls, arg)
    assert always_given("mmdet.models.necks.fpn.FPN", "in_channels")
    assert always_given("mmengine.dataset.dataset_wrapper.RepeatDataset", "times")
    typed = zoo_table()["typed"]
    assert typed["(config)|model"] > 700 and "(config)|train_dataloader.sampler" in typed
    assert not any(k.startswith("Mask2FormerHead|transformer_decoder") for k in typed)  # written without type


def test_required_args_reads_the_constructor_the_registry_calls():
    from rules._required_args import required_args

    class Base:
        def __init__(self, depth, width=1):
            pass

    class Child(Base):
        def __init__(self, name, *args, flag=False, **kwargs):
            super().__init__(*args, **kwargs)

    def transform(results, scale):
        return results

    assert required_args(Base) == ["depth"]
    assert required_args(Child) == ["name"]  # what **kwargs passes on is the child's caller's business
    assert required_args(transform) == ["results", "scale"]
    assert required_args(object) == []


def test_the_script_walks_zoo_configs_into_the_table(tmp_path):
    out = tmp_path / "table.json"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_required_args.py"), "--limit", "3", "--out",
                        str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    table = json.loads(out.read_text())
    assert "3 loaded" in table["source"] or "2 loaded" in table["source"]
    assert table["typed"]["(config)|model"] >= 2
    sampler = table["required"]["mmengine.dataset.sampler.DefaultSampler"]["dataset"]
    assert sampler[0] == 0 and sampler[1] >= 2  # never given: the Runner injects it


def test_an_untyped_element_of_a_replaced_list_is_da802s(tmp_path, monkeypatch):
    base = FIXTURES / "_base_" / "tiny_run.py"
    cfg = tmp_path / "cfg.py"
    cfg.write_text(f"_base_ = [{str(base)!r}]\n"
                   "param_scheduler = [dict(begin=0, end=500, start_factor=0.01), dict(type='MultiStepLR', end=12,\n"
                   "                   milestones=[8, 11], by_epoch=True, begin=0, gamma=0.1)]\n"
                   "custom_hooks = [dict(momentum=0.001)]\n")
    monkeypatch.chdir(tmp_path)
    result = audit(str(cfg), select=["DA802", "DA843"], tier="static").audits[0]
    assert sorted((f.code, f.key_path) for f in result.findings) == [("DA802", "param_scheduler.0"),
                                                                    ("DA843", "custom_hooks.0")]


def test_without_exec_the_types_are_checked_and_constructors_are_not_read(monkeypatch):
    for name, fires in (("fires_model_delete.py", True), ("fires_transform_without_argument.py", False)):
        path = FIXTURES / "DA843" / name
        monkeypatch.chdir(path.parent)
        result = audit(str(path), select=["DA843"], tier="static", no_exec=True).audits[0]
        assert "DA843" in result.ran and bool(result.findings) is fires, name
