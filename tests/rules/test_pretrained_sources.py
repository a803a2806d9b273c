"""What a pretrained source implies: a whole-model checkpoint on a backbone (DA856, by the file's
tensor names or its name) and the normalizations the zoo feeds each source (DA857, the table
``scripts/zoo_pretrained_sources.py`` learns)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from detaudit.rule.pretrained_inputs import (detector_word, normalization, pretrained_backbones, runner_checkpoint,
                                             same_normalization, source_key)

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
TABLE = json.loads((ROOT / "rules" / "zoo_pretrained_sources.json").read_text())


def _audit(tmp_path, monkeypatch, body: str, code: str):
    from detaudit.faces.api import audit

    cfg = tmp_path / "cfg.py"
    cfg.write_text(f"_base_ = [{str(BASE)!r}]\n{body}")
    monkeypatch.chdir(tmp_path)  # relative checkpoints resolve where training is launched
    result = audit(str(cfg), select=[code], tier="static").audits[0]
    assert code not in {s.get("code") for s in getattr(result, "skipped", []) or []}
    return [f for f in result.findings if f.code == code]


def _save(path: Path, state: dict, **extra):
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, **extra}, path)
    return path.name


def _whole(torch):
    return {"backbone.conv1.weight": torch.zeros(2, 3, 1, 1), "backbone.bn1.weight": torch.zeros(2),
            "neck.lateral_convs.0.conv.weight": torch.zeros(2, 2, 1, 1), "rpn_head.rpn_conv.weight": torch.zeros(1)}


@pytest.mark.parametrize("name,whole", [
    ("work_dirs/faster-rcnn_r50_fpn_1x_coco/epoch_12.pth", True), ("iter_90000.pth", True),
    ("best_coco_bbox_mAP_epoch_11.pth", True), ("latest.pth", True), ("epoch_12.pth.bak", False),
    ("resnet50_epoch_12.pth", False), ("checkpoints/resnet50-0676ba61.pth", False)])
def test_runner_checkpoint_names(name, whole):
    assert runner_checkpoint(name) is whole


@pytest.mark.parametrize("name,word", [
    ("checkpoints/mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth", "mask_rcnn"),
    ("cascade-mask-rcnn_r101_fpn_1x_coco.pth", "cascade_mask_rcnn"),
    ("auto_assign_r50_fpn_1x_coco_20210413_115540-5e17991f.pth", "auto_assign"),
    ("yolox_s_8x8_300e_coco_20211121_095711-4592a793.pth", "yolox"),
    ("resnet50_8xb256-rsb-a1-600e_in1k_20211228-20e21305.pth", None), ("hrnetv2_w32-dc9eeb4f.pth", None),
    ("swin_tiny_patch4_window7_224.pth", None), ("my_backbone.pth", None), ("coco_pretrained.pth", None)])
def test_detector_words_learnt_from_the_zoo(name, word):
    assert detector_word(name, TABLE["detector_words"]) == word


@pytest.mark.parametrize("checkpoint,key", [
    ("torchvision://resnet101", "torchvision://|ResNet"),
    ("open-mmlab://detectron2/resnet50_caffe", "open-mmlab://detectron2/|ResNet|caffe"),
    ("open-mmlab://msra/hrnetv2_w32", "open-mmlab://msra/|HRNet"),
    ("open-mmlab://regnetx_3.2gf", "open-mmlab://|RegNet"),
    ("https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224.pth",
     "github.com/SwinTransformer|Swin"),
    ("checkpoints/resnet50.pth", None), ("open-mmlab://unknown_thing", None)])
def test_source_keys(checkpoint, key):
    assert source_key(checkpoint) == key


def test_the_table_holds_what_the_zoo_feeds_its_main_sources():
    imagenet_rgb = {"mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375], "bgr_to_rgb": True}
    caffe = {"mean": [103.53, 116.28, 123.675], "std": [1.0, 1.0, 1.0], "bgr_to_rgb": False}
    norms = TABLE["normalizations"]
    assert any(same_normalization(imagenet_rgb, e) for e in norms["torchvision://|ResNet"])
    assert any(same_normalization(caffe, e) for e in norms["open-mmlab://detectron2/|ResNet|caffe"])
    assert not any(same_normalization(caffe, e) for e in norms["open-mmlab://msra/|HRNet"])
    assert all(e["examples"] and e["configs"] >= 1 for v in norms.values() for e in v)


def test_backbones_are_found_with_the_preprocessor_that_feeds_them():
    pre = dict(type='MultiBranchDataPreprocessor', data_preprocessor=dict(mean=[1, 2, 3], std=[4, 5, 6]))
    model = dict(type='SoftTeacher', data_preprocessor=pre, detector=dict(
        type='FasterRCNN', backbone=dict(init_cfg=[dict(type='Kaiming'), dict(type='Pretrained', checkpoint='a.pth')])))
    (bb_path, _bb, ck, _init, key, (pre_path, inner)), = pretrained_backbones(model)
    assert (bb_path, ck, key, pre_path) == ("model.detector.backbone", "a.pth", "init_cfg.1",
                                            "model.data_preprocessor.data_preprocessor")
    assert normalization(inner) == {"mean": [1.0, 2.0, 3.0], "std": [4.0, 5.0, 6.0], "bgr_to_rgb": False}
    assert normalization(dict(mean="dataset")) is None
    assert normalization(dict(mean=[128], std=[64]))["mean"] == [128.0] * 3
    assert normalization(dict(mean=[1, 2, 3, 4], std=[1, 1, 1, 1])) is None  # a fourth channel: not judged


def test_the_file_s_names_decide_over_its_name(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    _save(tmp_path / "weights" / "my_pretrain.pth", _whole(torch))
    found = _audit(tmp_path, monkeypatch, "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                   "checkpoint='weights/my_pretrain.pth')))\n", "DA856")
    assert [f.key_path for f in found] == ["model.backbone.init_cfg"]
    assert "2 of its 4 tensor names start with 'backbone.'" in found[0].message
    # a backbone's own weights under a detector's name: its names say it loads
    _save(tmp_path / "mask_rcnn_r18_fpn_1x_coco.pth", {"conv1.weight": torch.zeros(2, 3, 1, 1)})
    assert not _audit(tmp_path, monkeypatch, "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                      "checkpoint='mask_rcnn_r18_fpn_1x_coco.pth')))\n", "DA856")


def test_a_runner_checkpoint_is_read_without_running_its_pickles(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import numpy as np
    from mmengine.logging import HistoryBuffer

    buffer = HistoryBuffer()
    buffer.update(1.0)
    _save(tmp_path / "work" / "epoch_3.pth", _whole(torch), meta={"seed": np.int64(3)},
          message_hub={"log_scalars": {"loss": buffer}})
    found = _audit(tmp_path, monkeypatch, "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                   "checkpoint='work/epoch_3.pth')))\n", "DA856")
    assert found and found[0].evidence["decided_by"] == "keys"
    # a prefix no tensor name starts with loads nothing either
    found = _audit(tmp_path, monkeypatch, "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                   "prefix='model.backbone.', checkpoint='work/epoch_3.pth')))\n", "DA856")
    assert [f.key_path for f in found] == ["model.backbone.init_cfg.prefix"]
    assert not _audit(tmp_path, monkeypatch, "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                      "prefix='backbone.', checkpoint='work/epoch_3.pth')))\n", "DA856")


def test_an_unreadable_file_falls_back_to_its_name(tmp_path, monkeypatch):
    (tmp_path / "epoch_1.pth").write_bytes(b"not a checkpoint")
    found = _audit(tmp_path, monkeypatch, "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                   "checkpoint='epoch_1.pth')))\n", "DA856")
    assert found and found[0].evidence["decided_by"] == "name"


def test_normalization_is_judged_only_against_known_sources(tmp_path, monkeypatch):
    own = "model = dict(data_preprocessor=dict(mean=[128.0] * 3, std=[11.578] * 3), backbone=dict(init_cfg=" \
          "dict(type='Pretrained', checkpoint='torchvision://resnet18')))\n"
    found = _audit(tmp_path, monkeypatch, own, "DA857")
    assert [f.key_path for f in found] == ["model.data_preprocessor.mean"]
    assert "339 configs" in found[0].message or "configs, e.g." in found[0].message
    # the whole model starting from a local file of the user's: its training chose the normalization
    assert not _audit(tmp_path, monkeypatch, own + "load_from = 'work_dirs/run/epoch_12.pth'\n", "DA857")
    # what DA814 already says of torchvision's weights (unit std) is not said twice
    caffe = "model = dict(data_preprocessor=dict(mean=[103.53, 116.28, 123.675], std=[1.0] * 3, bgr_to_rgb=False)," \
            " backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')))\n"
    assert not _audit(tmp_path, monkeypatch, caffe, "DA857")


def test_the_script_learns_the_table_from_zoo_configs(tmp_path):
    out = tmp_path / "table.json"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_pretrained_sources.py"), "--limit", "4",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    table = json.loads(out.read_text())
    assert "4 loaded" in table["source"] or "3 loaded" in table["source"]
    assert table["normalizations"] and table["detector_words"]
