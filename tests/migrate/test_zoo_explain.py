"""The categories scripts/migrate_zoo_explain.py gives a difference between a migrated 2.x config and mmdet 3.3's
config of the same model: each from records of the shape the zoo comparison writes, and a 2.x file when the
category reads one."""
from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "migrate_zoo_explain", Path(__file__).resolve().parents[2] / "scripts" / "migrate_zoo_explain.py")
explain = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(explain)


def _roots(tmp_path, text):
    v2, migrated = tmp_path / "v2", tmp_path / "migrated"
    (v2 / "m").mkdir(parents=True)
    (migrated / "m").mkdir(parents=True)
    (v2 / "m" / "c.py").write_text(text)
    return v2, migrated, {"migrated": str(migrated / "m" / "c.py")}


def test_same_build_error_on_both_sides():
    err = "TypeError: CascadeRPNHead.__init__() missing 1 required positional argument: 'num_classes'"
    rec = {"migrated": "x/migrated/a.py", "migrated_build_error": err, "v3_build_error": err}
    assert explain.classify("model", rec) == "mmdet 3.3's own config does not build"
    rec["v3_build_error"] = "something else"
    assert explain.classify("model", rec) == "unexplained"


def test_deformable_detr_head_keys():
    rec = {"migrated": "a.py", "migrated_build_error": "AssertionError: ... `share_pred_layer`, `num_pred_layer` ..."}
    assert explain.classify("model", rec) == "2.x detector refactored in 3.x"


def test_unit_resize_in_test():
    test3 = [["LoadImageFromFile", {}], ["RandomCenterCropPad", {}], ["LoadAnnotations", {}], ["PackDetInputs", {}]]
    test2 = [["LoadImageFromFile", {}], ["Resize", {"scale_factor": 1.0}], ["LoadAnnotations", {}],
             ["RandomCenterCropPad", {}], ["PackDetInputs", {}]]
    rec = {"migrated": "a.py", "pipelines": {"migrated": {"train": [], "test": test2}, "v3": {"train": [], "test": test3}}}
    assert explain.classify("pipelines", rec) == "test resize by a factor of 1"
    test2[1] = ["Resize", {"scale_factor": 2.0}]
    assert explain.classify("pipelines", rec) == "unexplained"


def test_training_scales_of_the_2x_file(tmp_path):
    v2, migrated, rec = _roots(tmp_path, "train_pipeline = [dict(type='Resize', img_scale=[(1333, 640), (1333, 800)])]\n")
    mine = [["RandomResize", {"scale": [[1333, 640], [1333, 800]]}]]
    theirs = [["RandomResize", {"scale": [[1333, 480], [1333, 800]]}]]
    rec["pipelines"] = {"migrated": {"train": mine, "test": []}, "v3": {"train": theirs, "test": []}}
    assert explain.classify("pipelines", rec, v2, migrated) == "3.x config changed it"
    rec["pipelines"]["migrated"]["train"] = [["RandomResize", {"scale": [[1333, 600], [1333, 800]]}]]
    assert explain.classify("pipelines", rec, v2, migrated) == "unexplained"


def test_a_2x_two_stage_model_with_a_top_level_bbox_head(tmp_path):
    v2, migrated, rec = _roots(tmp_path, "model = dict(type='FasterRCNN', bbox_head=dict(num_classes=365))\n")
    rec["migrated_build_error"] = "TypeError: FasterRCNN.__init__() got an unexpected keyword argument 'bbox_head'"
    assert explain.classify("model", rec, v2, migrated) == "2.x config does not build"
    (v2 / "m" / "c.py").write_text("model = dict(type='RetinaNet', bbox_head=dict(num_classes=365))\n")
    assert explain.classify("model", rec, v2, migrated) == "unexplained"


def test_an_evaluator_where_the_2x_config_had_none(tmp_path):
    v2, migrated, rec = _roots(tmp_path, "model = dict(type='SingleStageDetector')\n")
    rec["evaluators"] = {"migrated": {"val_evaluator": [], "test_evaluator": []},
                         "v3": {"val_evaluator": [["VOCMetric", "mAP"]], "test_evaluator": [["VOCMetric", "mAP"]]}}
    assert explain.classify("evaluators", rec, v2, migrated) == "3.x config changed it"
    (v2 / "m" / "c.py").write_text("evaluation = dict(metric='mAP')\n")
    assert explain.classify("evaluators", rec, v2, migrated) == "unexplained"
