"""``detaudit data``: the report, the sheets in --out only, bad input as findings or clear errors."""
from __future__ import annotations

import json
import os

from sheet_data import write_config, write_dataset


def _tree(root):
    return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns) for p in root.rglob("*"))


def _run(argv, capsys):
    from detaudit.cli import main

    code = main(["data", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_data_gives_a_sheet_per_split_and_writes_nothing_next_to_the_data(tmp_path, capsys):
    import cv2

    root = write_dataset(tmp_path / "data")
    cfg = write_config(tmp_path / "cfg.py", root)
    before = _tree(root)
    code, out, err = _run([str(cfg), "--out", str(tmp_path / "out")], capsys)
    assert code == 0, (out, err)
    assert "train (train_dataloader.dataset, CocoDataset): 3 images" in out
    assert "val/test (val_dataloader.dataset" in out and "0 finding(s)" in out
    sheets = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert sheets == ["cfg_train.png", "cfg_val.png"]
    assert cv2.imread(str(tmp_path / "out" / "cfg_train.png")).shape[1] == 3 * 320
    assert _tree(root) == before


def test_default_out_is_a_new_temporary_folder(tmp_path, capsys, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    root = write_dataset(tmp_path / "data")
    code, out, _ = _run([str(write_config(tmp_path / "cfg.py", root)), "--split", "train"], capsys)
    assert code == 0
    (folder,) = list((tmp_path / "tmp").glob("detaudit-data-*"))
    assert f"contact sheets in {folder}" in out and (folder / "cfg_train.png").is_file()


def test_out_inside_the_data_is_refused(tmp_path, capsys):
    root = write_dataset(tmp_path / "data")
    cfg = write_config(tmp_path / "cfg.py", root)
    before = _tree(root)
    code, _, err = _run([str(cfg), "--out", str(root / "sheets")], capsys)
    assert code == 2 and "lies inside the data" in err
    assert _tree(root) == before


def test_bad_annotation_files_are_findings(tmp_path, capsys):
    root = write_dataset(tmp_path / "data")
    ann = root / "annotations" / "train.json"
    ann.write_text(ann.read_text()[:100])
    (root / "annotations" / "dir.json").mkdir()
    cfg = write_config(tmp_path / "cfg.py", root)
    code, out, err = _run([str(cfg), "--split", "train", "--no-sheet", "--format", "json"], capsys)
    assert code == 1, err
    report = json.loads(out)
    (finding,) = report["findings"]
    assert finding["code"] == "DA612" and "truncated" in finding["message"]
    cfg.write_text(cfg.read_text().replace("annotations/train.json", "annotations/dir.json"))
    code, out, _ = _run([str(cfg), "--split", "train", "--no-sheet", "--format", "json"], capsys)
    assert code == 1 and "is a directory" in json.loads(out)["findings"][0]["message"]
    assert sorted(os.listdir(root / "annotations")) == ["dir.json", "train.json"]


def test_a_pipeline_that_fails_is_said_and_the_checks_stand(tmp_path, capsys):
    root = write_dataset(tmp_path / "data")
    cfg = write_config(tmp_path / "cfg.py", root, pipeline=[{"type": "NoSuchTransform"}])
    code, out, err = _run([str(cfg), "--split", "train", "--out", str(tmp_path / "o")], capsys)
    assert code == 0 and "contact sheet: not drawn: KeyError" in out and "Traceback" not in out + err


def test_missing_config_and_data_not_here(tmp_path, capsys):
    code, _, err = _run([str(tmp_path / "nope.py")], capsys)
    assert code == 2 and "no such config file" in err
    cfg = write_config(tmp_path / "cfg.py", tmp_path / "not-here")
    code, out, _ = _run([str(cfg), "--split", "train"], capsys)
    assert code == 0 and "not checked: its data is not on this machine" in out


def test_a_wrapper_with_its_own_pipeline_is_drawn_as_training_builds_it(tmp_path, capsys):
    """MultiImageMixDataset's Mosaic runs on the sheet: each tile holds the boxes of four images."""
    from sheet_data import dataset_cfg

    root = write_dataset(tmp_path / "data")
    inner = dataset_cfg(root, pipeline=[{"type": "LoadImageFromFile"}, {"type": "LoadAnnotations", "with_bbox": True}])
    wrapper = {"type": "MultiImageMixDataset", "dataset": inner,
               "pipeline": [{"type": "Mosaic", "img_scale": (160, 200), "prob": 1.0}, {"type": "PackDetInputs"}]}
    cfg = tmp_path / "mosaic.py"
    cfg.write_text(f"train_dataloader = dict(batch_size=1, dataset={wrapper!r})\n")
    code, out, err = _run([str(cfg), "--out", str(tmp_path / "out"), "--format", "json", "--samples", "3"], capsys)
    assert code == 0, err
    (split,) = json.loads(out)["splits"]
    assert split["key_path"] == "train_dataloader.dataset.dataset"
    assert "MultiImageMixDataset: Mosaic > PackDetInputs" in split["sheet"]["title"]
    assert max(split["sheet"]["boxes_per_tile"]) >= 2


def test_the_audit_leaves_large_annotation_files_to_detaudit_data(tmp_path):
    from detaudit.facts.data_checks.audit import check_config
    from sheet_data import dataset_cfg

    root = write_dataset(tmp_path / "data")
    report = check_config({"train_dataloader": {"dataset": dataset_cfg(root)}}, tmp_path, skip_larger_than=100)
    (split,) = report.splits
    assert split.data is None and "'detaudit data' checks it whole" in split.skipped and not report.findings


def test_an_unknown_dataset_type_is_skipped_with_the_reason(tmp_path):
    from detaudit.facts.data_checks.audit import check_config
    from sheet_data import dataset_cfg

    root = write_dataset(tmp_path / "data")
    report = check_config({"train_dataloader": {"dataset": dataset_cfg(root, type="NoSuchDataset")}}, tmp_path)
    (split,) = report.splits
    assert "'NoSuchDataset' is in no registry" in split.skipped and not report.findings
