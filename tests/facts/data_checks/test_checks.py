"""The checks on a split's arrays: each defect planted once, and a clean split that stays quiet."""
from __future__ import annotations

import json
from pathlib import Path

from detaudit.facts.data_checks.checks import near_miss, run_checks
from detaudit.facts.data_checks.coco import read_coco
from detaudit.facts.data_checks.model import SplitData
from detaudit.facts.data_checks.synthetic_coco import coco_document

CLASSES = tuple(f"class_{i}" for i in range(10))


def _read(tmp_path: Path, doc: dict, classes=CLASSES, **kw) -> SplitData:
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    return read_coco(SplitData("train", "train_dataloader.dataset", "CocoDataset", tuple(classes), **kw), path,
                     tmp_path)


def _codes(split):
    return sorted({f.code for f in run_checks(split)})


def test_a_clean_file_stays_quiet(tmp_path):
    doc = coco_document(2000, num_images=200)
    assert run_checks(_read(tmp_path, doc)) == []


def test_near_miss_by_case_spacing_and_typo():
    assert near_miss("Person", ["car", "person"]) == "person"
    assert near_miss("traffic light", ["traffic_light"]) == "traffic_light"
    assert near_miss("pedestrain", ["pedestrian", "car"]) == "pedestrian"
    assert near_miss("dog", ["car", "truck"]) is None


def test_missing_extra_and_shifted_classes(tmp_path):
    doc = coco_document(500, num_images=50, num_classes=3)   # class_0, class_1, class_2
    doc["categories"][2]["name"] = "Class_2"                  # near miss of class_2
    found = run_checks(_read(tmp_path, doc, classes=("class_1", "class_0", "class_2")))
    messages = [f.message for f in found if f.code == "DA605"]
    assert any("'class_2' (the annotations write 'Class_2')" in m for m in messages), messages
    assert any("labels shift" in m and "boxes of 'class_0' train as label 0, which metainfo.classes names "
               "'class_1'" in m for m in messages), messages
    doc["categories"].append({"id": 9, "name": "bus"})
    doc["annotations"].append({"id": 99999, "image_id": 0, "category_id": 9, "bbox": [1, 1, 5, 5], "area": 25})
    found = run_checks(_read(tmp_path, doc, classes=("class_0", "class_1", "Class_2")))
    assert [f.message for f in found if f.code == "DA605"] == \
        ["train: 1 annotation of 1 category that are not configured classes are dropped: 'bus' (1)"]


def test_xyxy_written_where_xywh_is_read(tmp_path):
    doc = coco_document(300, num_images=30)
    for a in doc["annotations"]:
        x, y, w, h = a["bbox"]
        a["bbox"] = [x, y, x + w, y + h]
    found = [f for f in run_checks(_read(tmp_path, doc)) if f.code == "DA606"]
    assert len(found) == 1 and "look like [x1, y1, x2, y2]" in found[0].message


def test_degenerate_outside_and_past_the_edge(tmp_path):
    doc = coco_document(100, num_images=10)
    im = doc["images"][0]
    doc["annotations"] += [
        {"id": 1001, "image_id": 0, "category_id": 1, "bbox": [5, 5, 0, 10], "area": 1},
        {"id": 1002, "image_id": 0, "category_id": 1, "bbox": [im["width"] + 5, 5, 10, 10], "area": 100},
        {"id": 1003, "image_id": 0, "category_id": 1, "bbox": [im["width"] - 5, 5, 30, 10], "area": 300}]
    messages = [f.message for f in run_checks(_read(tmp_path, doc)) if f.code == "DA606"]
    assert any("1 of 103 boxes are degenerate" in m for m in messages), messages
    assert any("1 of 103 boxes lie entirely outside" in m for m in messages), messages
    assert any("1 of 103 boxes reach past the edge" in m for m in messages), messages


def test_masks_duplicates_and_empty_images(tmp_path):
    doc = coco_document(50, num_images=10)
    doc["annotations"][0]["segmentation"] = [[1, 2, 3]]
    doc["annotations"][1]["segmentation"] = {"counts": "abc", "size": [1, 1]}
    doc["annotations"].append(dict(doc["annotations"][5], id=5000))
    doc["annotations"].append(dict(doc["annotations"][6]))              # same id too
    doc["images"].append({"id": 77, "file_name": "empty.jpg", "width": 640, "height": 480})
    doc["images"].append(dict(doc["images"][0]))
    split = _read(tmp_path, doc, filter_cfg={"filter_empty_gt": True, "min_size": 32})
    found = run_checks(split)
    masks = [f.message for f in found if f.code == "DA607"]
    assert masks and "2 of 2 masks do not parse" in masks[0] and "RLE of size [1, 1]" in masks[0]
    dups = " / ".join(f.message for f in found if f.code == "DA608")
    assert "1 duplicate image id(s), 1 image file(s) listed more than once" in dups
    assert "1 annotation id(s) are used more than once" in dups and "2 of 52 annotations repeat" in dups
    empty = [f for f in found if f.code == "DA609"]
    assert empty and empty[0].evidence["dropped_by_filter"] >= 1 and "drops" in empty[0].message


def test_crowd_only_class(tmp_path):
    doc = coco_document(60, num_images=10, num_classes=2)
    for a in doc["annotations"]:
        a["iscrowd"] = int(a["category_id"] == 2)
    found = [f for f in run_checks(_read(tmp_path, doc, classes=("class_0", "class_1"))) if f.code == "DA609"]
    assert len(found) == 1 and "every box of 'class_1' is" in found[0].message
    assert found[0].evidence["classes_all_flagged"] == ["class_1"]


def test_a_mask_pipeline_over_annotations_without_masks(tmp_path):
    doc = coco_document(40, num_images=8)
    for a in doc["annotations"][:10]:
        a["segmentation"] = [[1, 1, 5, 1, 5, 5]]
    found = [f for f in run_checks(_read(tmp_path, doc, with_mask=True)) if f.code == "DA607"]
    assert len(found) == 1 and "but 30 of 40 annotations have none" in found[0].message
    assert found[0].key_path == "train_dataloader.dataset.pipeline"
    assert not [f for f in run_checks(_read(tmp_path, doc, with_mask=False)) if f.code == "DA607"]


def test_plurals():
    from detaudit.facts.data_checks.checks import _plural

    assert [_plural(1, "class"), _plural(2, "class"), _plural(2, "category"), _plural(3, "box")] == \
        ["1 class", "2 classes", "2 categories", "3 boxes"]
