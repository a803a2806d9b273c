"""Every dataset format the run tier writes synthetic data for, read through its own dataset class
(COCO from its file): a clean copy stays quiet, a planted defect is found. The data is written by
the run tier's writers (and the detector's make_synthetic_data for LLVIP/KAIST) into tmp_path."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest


import mmengine.utils.progressbar  # noqa: F401 - its ProgressBar binds sys.stdout when imported: not a capsys stream

from detaudit.facts.data_checks.audit import check_config


def _written(tmp_path: Path, ds: dict, **kw) -> dict:
    """The dataset dict pointed at a synthetic copy written in its own format."""
    from detaudit.facts.run.datasets import prepare, request_for

    request = request_for(ds, "train_dataloader.dataset", tmp_path / "data", tmp_path, num_images=6, **kw)
    prepared = prepare(request, "synthetic")
    return dict(ds, **prepared.overrides)


def _check(tmp_path, ds, **kw):
    report = check_config({"train_dataloader": {"dataset": ds}}, tmp_path, **kw)
    (split,) = report.splits
    assert split.data is not None, (split.skipped, split.error)
    return split, report.findings


PIPE = [{"type": "LoadImageFromFile"}, {"type": "LoadAnnotations", "with_bbox": True}, {"type": "PackDetInputs"}]


@pytest.mark.parametrize("ds", [
    {"type": "CocoDataset", "metainfo": {"classes": ("person", "car")}, "ann_file": "a.json",
     "data_prefix": {"img": "img/"}},
    {"type": "VOCDataset", "metainfo": {"classes": ("person", "car")}, "ann_file": "ImageSets/Main/train.txt",
     "data_prefix": {"sub_data_root": "VOC2007/"}},
    {"type": "CrowdHumanDataset", "ann_file": "annotation_train.odgt", "data_prefix": {"img": "Images/"}},
    {"type": "OpenImagesDataset", "ann_file": "ann.csv", "label_file": "classes.csv", "meta_file": "meta.pkl",
     "hierarchy_file": "hierarchy.json", "data_prefix": {"img": "i/"}},
    {"type": "CocoPanopticDataset", "metainfo": {"classes": ("person", "car"), "thing_classes": ("person", "car"),
                                                 "stuff_classes": ()},
     "ann_file": "panoptic.json", "data_prefix": {"img": "img/", "seg": "seg/"}},
], ids=lambda d: d["type"])
def test_a_clean_synthetic_copy_stays_quiet(tmp_path, ds):
    ds = _written(tmp_path, dict(ds, pipeline=PIPE, data_root="absent/"))
    split, findings = _check(tmp_path, ds)
    assert split.data.num_images >= 4 and split.data.num_boxes >= 4
    expected = "the annotation file" if ds["type"] == "CocoDataset" else "the dataset class"
    assert split.data.source.startswith(expected)
    if ds["type"] == "OpenImagesDataset":
        # mmdet 3.3's OpenImagesDataset reads an image with a single box, last in the csv, at the path of
        # the image before it: what training reads repeats a file under two ids, and the check says so
        (dup,) = [f for f in findings if f.code == "DA608"]
        assert "train_000004.jpg for 'train_000004', 'train_000005'" in dup.message
        findings = [f for f in findings if f is not dup]
    assert [f.message for f in findings if f.code != "DA609"] == []


def test_voc_near_miss_and_unknown_tag(tmp_path):
    ds = _written(tmp_path, {"type": "VOCDataset", "metainfo": {"classes": ("person", "car")}, "pipeline": PIPE,
                             "ann_file": "ImageSets/Main/train.txt", "data_prefix": {"sub_data_root": "VOC2007/"},
                             "data_root": "absent/"})
    xmls = sorted((tmp_path / "data").rglob("*.xml"))
    for path in xmls:
        text = path.read_text().replace("<name>car</name>", "<name>Car</name>")
        path.write_text(text.replace("</object>", "<occlusion_level>2</occlusion_level></object>", 1))
    _, findings = _check(tmp_path, ds)
    messages = {f.code: f.message for f in findings}
    assert "(the annotations write 'Car')" in messages["DA605"]
    assert "<occlusion_level>" in messages["DA612"]


def test_voc_broken_xml_is_a_finding(tmp_path):
    ds = _written(tmp_path, {"type": "VOCDataset", "metainfo": {"classes": ("person",)}, "pipeline": PIPE,
                             "ann_file": "ImageSets/Main/train.txt", "data_prefix": {"sub_data_root": "VOC2007/"},
                             "data_root": "absent/"})
    path = sorted((tmp_path / "data").rglob("*.xml"))[0]
    path.write_text(path.read_text()[:40])
    report = check_config({"train_dataloader": {"dataset": ds}}, tmp_path)
    assert report.splits[0].error and [f.code for f in report.findings] == ["DA612"]
    assert "could not read its annotations" in report.findings[0].message


def test_crowdhuman_box_outside_its_image(tmp_path):
    ds = _written(tmp_path, {"type": "CrowdHumanDataset", "pipeline": PIPE, "ann_file": "annotation_train.odgt",
                             "data_prefix": {"img": "Images/"}, "data_root": "absent/"})
    odgt = next((tmp_path / "data").rglob("*.odgt"))
    lines = [json.loads(line) for line in odgt.read_text().splitlines() if line.strip()]
    lines[0]["gtboxes"][0]["fbox"] = [5000, 5000, 20, 40]
    odgt.write_text("".join(json.dumps(line) + "\n" for line in lines))
    _, findings = _check(tmp_path, ds)
    assert any(f.code == "DA606" and "entirely outside" in f.message for f in findings), findings


@pytest.fixture(scope="module")
def kaist(tmp_path_factory):
    from detector.make_synthetic_data import make_kaist

    return Path(make_kaist(str(tmp_path_factory.mktemp("kaist")), splits={"train": 12, "val": 4}))


def _kaist_cfg(root: Path, **kw) -> dict:
    import detector  # noqa: F401 - registers the dataset classes and transforms

    ds = {"type": "KAISTDataset", "data_root": str(root), "split": "train", "return_modality_pair": True,
          "pipeline": [{"type": "LoadMultiSpectralImageFromFile"}, {"type": "LoadAnnotations", "with_bbox": True},
                       {"type": "Resize", "scale": (640, 512), "keep_ratio": True},
                       {"type": "PackMultiSpectralDetInputs"}]}
    ds.update(kw)
    return {"train_dataloader": {"dataset": ds}}


def test_kaist_synthetic_data_is_clean_and_a_renamed_class_is_found(kaist, tmp_path):
    report = check_config(_kaist_cfg(kaist), tmp_path)
    assert report.splits[0].data.source == "the dataset class KAISTDataset"
    assert [f.message for f in report.findings if f.code != "DA609"] == []
    copy = tmp_path / "KAIST"
    import shutil

    shutil.copytree(kaist, copy)
    for path in sorted((copy / "Annotations").glob("*.xml"))[:3]:
        path.write_text(re.sub(r"<name>person</name>", "<name>pedestrian</name>", path.read_text()))
    report = check_config(_kaist_cfg(copy), tmp_path)
    (finding,) = [f for f in report.findings if f.code == "DA605"]
    assert "'pedestrian'" in finding.message and "dropped" in finding.message


def test_openimages_degenerate_box(tmp_path):
    ds = _written(tmp_path, {"type": "OpenImagesDataset", "ann_file": "ann.csv", "label_file": "classes.csv",
                             "meta_file": "meta.pkl", "hierarchy_file": "hierarchy.json", "pipeline": PIPE,
                             "data_prefix": {"img": "i/"}, "data_root": "absent/"})
    csv = next((tmp_path / "data").rglob("ann.csv"))
    rows = csv.read_text().splitlines()
    cells = rows[1].split(",")
    cells[5] = cells[4]                      # XMax = XMin: a box of no width
    rows[1] = ",".join(cells)
    csv.write_text("\n".join(rows) + "\n")
    _, findings = _check(tmp_path, ds)
    assert any(f.code == "DA606" and "degenerate" in f.message for f in findings), findings


def test_panoptic_category_renamed(tmp_path):
    ds = _written(tmp_path, {"type": "CocoPanopticDataset", "pipeline": PIPE, "data_root": "absent/",
                             "metainfo": {"classes": ("person", "car"), "thing_classes": ("person", "car"),
                                          "stuff_classes": ()},
                             "ann_file": "panoptic.json", "data_prefix": {"img": "img/", "seg": "seg/"}})
    ann = next((tmp_path / "data").rglob("panoptic.json"))
    doc = json.loads(ann.read_text())
    for cat in doc["categories"]:
        if cat["name"] == "car":
            cat["name"] = "cars"
    ann.write_text(json.dumps(doc))
    report = check_config({"train_dataloader": {"dataset": ds}}, tmp_path)
    # the dataset class fails on it (a KeyError on the category id), and the class check says why
    assert "KeyError" in report.splits[0].error
    codes = {f.code: f.message for f in report.findings}
    assert "(the annotations write 'cars')" in codes["DA605"] and "KeyError" in codes["DA612"]


def test_crowdhuman_without_its_size_cache_writes_nothing_into_the_data(tmp_path):
    """Without id_hw_train.json the dataset class would decode every image and write that cache into
    data_root: the check reads the sizes from the image headers into a private file instead."""
    ds = _written(tmp_path, {"type": "CrowdHumanDataset", "pipeline": PIPE, "ann_file": "annotation_train.odgt",
                             "data_prefix": {"img": "Images/"}, "data_root": "absent/"})
    ds.pop("extra_ann_file", None)
    for cache in (tmp_path / "data").rglob("id_hw_*.json"):
        cache.unlink()
    before = sorted(p.name for p in (tmp_path / "data").rglob("*"))
    split, findings = _check(tmp_path, ds)
    assert split.data.num_images >= 4 and split.data.widths.min() > 0
    assert sorted(p.name for p in (tmp_path / "data").rglob("*")) == before


def test_llvip_synthetic_data_is_clean(tmp_path):
    import detector  # noqa: F401 - registers the dataset classes and transforms
    from detector.make_synthetic_data import make_llvip

    root = Path(make_llvip(str(tmp_path), splits={"train": 6, "test": 3}))
    pipeline = [{"type": "LoadMultiSpectralImageFromFile"}, {"type": "LoadAnnotations", "with_bbox": True},
                {"type": "PackMultiSpectralDetInputs"}]
    ds = {"type": "LLVIPDataset", "data_root": str(root), "return_modality_pair": True, "pipeline": pipeline}
    report = check_config({"train_dataloader": {"dataset": dict(ds, split="train")},
                           "val_dataloader": {"dataset": dict(ds, split="test", test_mode=True)}}, tmp_path)
    assert [(r.split, r.data.num_images) for r in report.splits] == [("train", 6), ("val", 3)]
    assert all(r.data.num_boxes >= 3 for r in report.splits)
    assert [f.message for f in report.findings if f.code != "DA609"] == []
