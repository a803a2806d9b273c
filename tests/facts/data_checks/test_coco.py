"""The COCO reader: what CocoDataset keeps, and bad files refused with a clear message."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from detaudit.facts.data_checks.coco import MAX_BYTES_ENV, read_coco
from detaudit.facts.data_checks.model import AnnotationError, SplitData


def _split(classes=("a", "b"), **kw) -> SplitData:
    return SplitData("train", "train_dataloader.dataset", "CocoDataset", tuple(classes), **kw)


def _doc(**kw):
    doc = {"images": [{"id": 1, "file_name": "1.png", "width": 100, "height": 80},
                      {"id": 2, "file_name": "2.png", "width": 100, "height": 80}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [10, 10, 20, 20], "area": 400},
                           {"id": 2, "image_id": 1, "category_id": 1, "bbox": [10, 10, 0.5, 20], "area": 10},
                           {"id": 3, "image_id": 2, "category_id": 1, "bbox": [5, 5, 30, 30], "area": 900,
                            "iscrowd": 1}],
           "categories": [{"id": 1, "name": "b"}, {"id": 2, "name": "a"}]}
    doc.update(kw)
    return doc


def test_labels_follow_the_files_category_order_and_drops_follow_coco_dataset(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(_doc()))
    s = read_coco(_split(), path, tmp_path)
    # 'b' is first in the file: CocoDataset gives it label 0 although metainfo lists 'a' first
    assert s.box_label.tolist() == [1, -1, -1]   # the 0.5 px box is dropped, the crowd box is not trained
    assert s.crowd.tolist() == [False, False, True]
    assert s.boxes[0].tolist() == [10, 10, 30, 30]
    assert s.name_counts == {"b": 2, "a": 1}
    assert s.image_files == [str(tmp_path / "1.png"), str(tmp_path / "2.png")]


def test_filter_empty_gt_counts_images_with_a_configured_category(tmp_path):
    doc = _doc()
    doc["images"].append({"id": 3, "file_name": "3.png", "width": 10, "height": 10})
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    assert read_coco(_split(filter_cfg={"filter_empty_gt": True}), path, tmp_path).kept_images == 2
    assert read_coco(_split(filter_cfg={"filter_empty_gt": False, "min_size": 50}), path, tmp_path).kept_images == 2
    assert read_coco(_split(filter_cfg={"filter_empty_gt": True}, test_mode=True), path, tmp_path).kept_images == 3


def test_a_truncated_file_says_so(tmp_path):
    path = tmp_path / "ann.json"
    text = json.dumps(_doc())
    path.write_text(text[: len(text) // 2])
    with pytest.raises(AnnotationError, match="truncated"):
        read_coco(_split(), path, tmp_path)


def test_invalid_json_in_the_middle_names_the_line(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text('{"images": [],\n "categories": [oops]}')
    with pytest.raises(AnnotationError, match="line 2 column") as info:
        read_coco(_split(), path, tmp_path)
    assert "truncated" not in str(info.value)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(AnnotationError, match="is a directory"):
        read_coco(_split(), tmp_path, tmp_path)


def test_a_2_gib_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A sparse 2 GiB file: refused from its size, at once, with the limit and how to raise it."""
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.write(b'{"images": [')
        fh.truncate(2 * 1024 ** 3)
    start = time.perf_counter()
    with pytest.raises(AnnotationError) as info:
        read_coco(_split(), path, tmp_path)
    assert time.perf_counter() - start < 1.0
    assert "2048 MiB" in str(info.value) and MAX_BYTES_ENV in str(info.value)
    assert "free memory" in info.value.fix


def test_not_a_coco_document(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text("[1, 2]")
    with pytest.raises(AnnotationError, match="not a COCO document"):
        read_coco(_split(), path, tmp_path)
    path.write_text('{"images": []}')
    with pytest.raises(AnnotationError, match="'categories'"):
        read_coco(_split(), path, tmp_path)


def test_malformed_entries_are_counted_not_fatal(tmp_path):
    doc = _doc()
    doc["annotations"] += [{"id": 9, "image_id": 7, "category_id": 5, "bbox": "x", "area": 1}, 3]
    del doc["annotations"][0]["area"]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    s = read_coco(_split(), path, tmp_path)
    assert s.malformed_count == 2 and s.unknown_image_refs == 1 and s.unknown_category_refs == 1
    assert s.missing_area == 1
    assert np.all(s.box_label[3:] == -1)


def test_env_limit_applies(tmp_path, monkeypatch):
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(_doc()))
    monkeypatch.setenv(MAX_BYTES_ENV, "10")
    with pytest.raises(AnnotationError, match="more than"):
        read_coco(_split(), path, tmp_path)
