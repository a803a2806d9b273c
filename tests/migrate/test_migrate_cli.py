"""``detaudit migrate`` on a small 2.x tree (tests/fixtures/migrate/v2), and on bad input."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from detaudit.cli import main
from detaudit.load.static_reader import read_static
from detaudit.migrate.convert import convert

V2 = Path(__file__).parents[1] / "fixtures" / "migrate" / "v2"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    shutil.copytree(V2, tmp_path / "v2")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DETAUDIT_CACHE_DIR", str(tmp_path / ".cache"))
    return tmp_path / "v2"


def _files(root: Path) -> dict[Path, str]:
    return {p: p.read_text() for p in sorted(root.rglob("*.py"))}


def test_tree_migrated_with_inheritance_kept(tree, tmp_path, capsys):
    before = _files(tree)
    assert main(["migrate", str(tree), "--out", str(tmp_path / "out")]) == 0
    assert _files(tree) == before  # --out leaves the input alone
    out = tmp_path / "out"
    child = (out / "det" / "frcnn_r18_caffe_fpn_2x.py").read_text()
    assert child.startswith("# Caffe-style normalization")  # the file's leading comments stay
    assert "_base_ = './frcnn_r18_fpn_1x.py'" in child  # inheritance kept: the child says only its changes
    assert "dataset_type" not in child and "val_dataloader" not in child
    cfg = read_static(out / "det" / "frcnn_r18_caffe_fpn_2x.py").cfg
    assert cfg["model"]["data_preprocessor"] == {"type": "DetDataPreprocessor", "mean": [103.53, 116.28, 123.675],
                                                 "std": [1.0, 1.0, 1.0], "bgr_to_rgb": False, "pad_size_divisor": 32}
    assert cfg["train_dataloader"]["batch_size"] == 4
    assert [t["type"] for t in cfg["train_dataloader"]["dataset"]["pipeline"]] == [
        "LoadImageFromFile", "LoadAnnotations", "RandomChoiceResize", "RandomFlip", "PackDetInputs"]
    assert [t["type"] for t in cfg["test_dataloader"]["dataset"]["pipeline"]] == [
        "LoadImageFromFile", "Resize", "LoadAnnotations", "PackDetInputs"]
    assert cfg["train_dataloader"]["dataset"]["metainfo"] == {"classes": ("cat", "dog", "bird")}
    assert cfg["train_dataloader"]["dataset"]["data_prefix"] == {"img": "train/"}
    assert cfg["optim_wrapper"] == {"type": "OptimWrapper", "clip_grad": {"max_norm": 35, "norm_type": 2},
                                    "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001}}
    assert cfg["train_cfg"] == {"type": "EpochBasedTrainLoop", "max_epochs": 24, "val_interval": 2}
    assert cfg["param_scheduler"][1]["milestones"] == [16, 22] and cfg["param_scheduler"][1]["end"] == 24
    assert cfg["val_evaluator"] == {"type": "CocoMetric", "ann_file": "data/coco/annotations/val.json",
                                    "metric": "bbox", "format_only": False}
    assert cfg["default_hooks"]["checkpoint"] == {"type": "CheckpointHook", "interval": 1, "save_best": "auto"}
    assert {"type": "TensorboardVisBackend"} in cfg["visualizer"]["vis_backends"]
    for legacy in ("data", "optimizer", "optimizer_config", "lr_config", "runner", "evaluation", "log_config",
                   "checkpoint_config", "workflow", "dist_params", "resume_from", "img_norm_cfg"):
        assert legacy not in cfg
    # the written files merge to what the conversion of the 2.x config says
    assert cfg == convert(read_static(tree / "det" / "frcnn_r18_caffe_fpn_2x.py").cfg)[0]


def test_output_has_no_legacy_keys_and_builds(tree, tmp_path, capsys):
    assert main(["migrate", str(tree), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    code = main([str(tmp_path / "out" / "det"), "--tier", "static", "--no-exec", "--select", "DA003", "--no-cache"])
    assert code == 0, capsys.readouterr().out
    code = main([str(tmp_path / "out" / "det" / "frcnn_r18_caffe_fpn_2x.py"), "--tier", "build",
                 "--select", "DA002,DA003,DA801", "--no-cache"])
    assert code == 0, capsys.readouterr().out


def test_diff_writes_nothing_and_in_place_rewrites(tree, capsys):
    before = _files(tree)
    assert main(["migrate", str(tree), "--diff"]) == 0
    out = capsys.readouterr().out
    assert "-runner = dict(max_epochs=24)" in out and "+train_cfg = dict(max_epochs=24, val_interval=2)" in out
    assert _files(tree) == before
    assert main(["migrate", str(tree), "--in-place"]) == 0
    assert "train_cfg" in (tree / "det" / "frcnn_r18_caffe_fpn_2x.py").read_text()
    assert main(["migrate", str(tree), "--in-place"]) == 0  # now 3.x: left as it is
    assert "already an MMDetection 3.x config" in capsys.readouterr().err


def test_already_3x_is_left_alone(tmp_path, capsys):
    cfg = tmp_path / "c.py"
    cfg.write_text("train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)\n"
                   "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n")
    assert main(["migrate", str(cfg), "--out", str(tmp_path / "o")]) == 0
    assert "already an MMDetection 3.x config: left as it is" in capsys.readouterr().err


@pytest.mark.parametrize("text,message", [
    ("data = dict(\n", "does not parse"),
    ("_base_ = 'mmdet::faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py'\nrunner = dict(max_epochs=2)\n",
     "outside the given tree"),
    ("_base_ = './missing.py'\n", "does not exist"),
])
def test_bad_input_writes_nothing(tmp_path, capsys, text, message):
    cfg = tmp_path / "in" / "c.py"
    cfg.parent.mkdir()
    cfg.write_text(text)
    assert main(["migrate", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    assert cfg.read_text() == text


def test_read_only_in_place_writes_nothing(tree, capsys, monkeypatch):
    before = _files(tree)
    target = tree / "_base_" / "schedule.py"
    real = os.access
    monkeypatch.setattr("detaudit.migrate.tree.os.access",
                        lambda p, mode: False if Path(p) == target and mode == os.W_OK else real(p, mode))
    assert main(["migrate", str(tree), "--in-place"]) == 2
    assert "read-only: nothing written" in capsys.readouterr().err
    assert _files(tree) == before


def test_misuse(capsys):
    assert main(["migrate", "nowhere.py", "--out", "o"]) == 2
    assert main(["migrate", str(V2)]) == 2  # no mode
    assert "error" in capsys.readouterr().err
