"""The zoo's table of settings per component type (detaudit/rule/zoo_ranges.json) and DA823's
judgement of a value against it: keyed like a loaded config, and a value outside the range
fires even though every zoo value is inside the range it was built from."""
from __future__ import annotations

from detaudit.rule.zoo_ranges import OPTIMIZERS, ZOO_CONFIGS, setting_stats, settings, table
from rules.da823_setting_outside_zoo import MIN_CONFIGS, SCORE_KEYS, judge


def _judged():
    for owner, by_rel in table()["settings"].items():
        for rel, s in by_rel.items():
            if s["n"] >= MIN_CONFIGS and "min" in s and not s["ints"]:
                yield owner, rel, s


def test_the_table_covers_the_zoo_by_component_type():
    t = table()
    assert ZOO_CONFIGS == t["zoo_configs"] >= 800
    assert len(t["settings"]) > 300
    for owner, rel in [("FasterRCNN", "test_cfg.rcnn.score_thr"), ("FasterRCNN", "test_cfg.rpn.nms.iou_threshold"),
                       ("DetDataPreprocessor", "mean"), ("MaxIoUAssigner", "pos_iou_thr"),
                       ("EpochBasedTrainLoop", "max_epochs"), ("CheckpointHook", "interval"),
                       ("(config)", "train_dataloader.batch_size"), ("CrossEntropyLoss", "loss_weight")]:
        s = setting_stats(owner, rel)
        assert s is not None and s["n"] >= MIN_CONFIGS and s["min"] <= s["max"], (owner, rel)
        assert s["examples"] and s["min_config"].endswith(".py")
    assert setting_stats("FasterRCNN", "test_cfg.rcnn.score_thr")["max"] == 0.05
    assert setting_stats("DetDataPreprocessor", "bgr_to_rgb")["true"] > 100  # flags: counts
    assert OPTIMIZERS["SGD"]["configs"] > 600 and OPTIMIZERS["SGD"]["lr"]["max"] == 0.12  # DA811's view


def test_a_loaded_config_is_keyed_like_the_zoo():
    cfg = dict(model=dict(type="mmdet.CascadeRCNN",
                          roi_head=dict(type="CascadeRoIHead", bbox_head=[dict(type="Shared2FCBBoxHead", num_classes=3)]),
                          test_cfg=dict(rcnn=dict(score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5))),
                          data_preprocessor=dict(type="DetDataPreprocessor", mean=[1.0, 2.0])),
               train_dataloader=dict(batch_size=2))
    got = {(o, r, f): v for o, r, f, v in settings(cfg)}
    assert got[("CascadeRCNN", "test_cfg.rcnn.score_thr", "model.test_cfg.rcnn.score_thr")] == 0.05
    assert got[("CascadeRCNN", "test_cfg.rcnn.nms.iou_threshold", "model.test_cfg.rcnn.nms.iou_threshold")] == 0.5
    assert got[("Shared2FCBBoxHead", "num_classes", "model.roi_head.bbox_head.0.num_classes")] == 3
    assert got[("DetDataPreprocessor", "mean", "model.data_preprocessor.mean.1")] == 2.0
    assert got[("(config)", "train_dataloader.batch_size", "train_dataloader.batch_size")] == 2


def test_every_zoo_extreme_is_quiet_and_a_value_beyond_it_fires():
    judged = list(_judged())
    assert len(judged) > 200
    for owner, rel, s in judged:
        assert judge(rel, s["max"], s) is None, (owner, rel)
        if s.get("pos_min"):
            assert judge(rel, s["pos_min"], s) is None, (owner, rel)
        score = rel.rsplit(".", 1)[-1] in SCORE_KEYS  # judged on the high side only, from 0.1
        if s["max"] > 0:
            assert judge(rel, max(s["max"] * 100, 0.5 if score else 0), s) is not None, (owner, rel)
        if s["min"] >= 0 and not score:
            assert judge(rel, -0.5, s) is not None, (owner, rel)
        if s.get("pos_min") and not score and s["min"] > 0:
            assert judge(rel, s["pos_min"] / 100, s) is not None, (owner, rel)


def test_what_is_not_judged():
    s = setting_stats("FasterRCNN", "test_cfg.rcnn.score_thr")
    assert judge("test_cfg.rcnn.score_thr", 0.0001 / 100, s) is None      # a lower threshold keeps more
    assert judge("test_cfg.rcnn.score_thr", 0.09, s) is None              # below 0.1: not far
    assert judge("test_cfg.rcnn.score_thr", 0.15, s) is not None
    loss = setting_stats("CrossEntropyLoss", "loss_weight")
    assert judge("loss_weight", 0, loss) is None and judge("loss_weight", -1, loss) is None  # switches
    classes = setting_stats("Shared2FCBBoxHead", "num_classes")
    assert classes["ints"] and judge("num_classes", 100000, classes) is None   # sizes and counts
    few = dict(setting_stats("DetDataPreprocessor", "mean"), n=MIN_CONFIGS - 1)
    assert judge("mean", 0.5, few) is None                                       # too few configs
    assert judge("mean", 0.5, setting_stats("DetDataPreprocessor", "mean")) is not None
    eta_min = setting_stats("CosineAnnealingLR", "eta_min")
    assert eta_min["min"] == 0 and judge("eta_min", 1e-6, eta_min) is None   # between the zoo's 0 and its smallest


def test_the_script_writes_the_table_from_zoo_configs(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[2]
    out = tmp_path / "ranges.json"
    r = subprocess.run([sys.executable, str(root / "scripts" / "zoo_value_ranges.py"), "--limit", "3", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    t = json.loads(out.read_text())
    assert t["zoo_configs"] == 3 and t["settings"] and t["block_keys"]
    first = next(iter(next(iter(t["settings"].values())).values()))
    assert first["n"] >= 1 and ("min" in first or "true" in first or "false" in first)
