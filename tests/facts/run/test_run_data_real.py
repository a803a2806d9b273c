"""Real data for the run tier: ``auto`` reads the configured data when it is on this machine (the
first few samples, in place, nothing written there) and writes a synthetic copy when it is not;
the survey says what the real samples hold."""
from __future__ import annotations

import json

import pytest

from run_data_helpers import build, load_every_sample, make_request, snapshot

pytestmark = pytest.mark.usefixtures("mmdet_ready")

COCO = dict(type="CocoDataset", data_root="data/coco/", ann_file="annotations/instances_train.json",
            data_prefix=dict(img="train/"), filter_cfg=dict(filter_empty_gt=True, min_size=32),
            metainfo=dict(classes=("cat", "dog", "bird")))


def _user_tree(tmp_path, ds, n=6):
    """A user's dataset at ``<launch>/<data_root>``, written once by the synthetic writer."""
    from detaudit.facts.run.datasets import prepare

    launch = tmp_path / "launch"
    writer_request = make_request(dict(ds), "train_dataloader.dataset", tmp_path, folder=launch / ds["data_root"],
                                  base_dir=tmp_path / "elsewhere", num_images=n)
    prepare(writer_request, "synthetic")
    return launch


def test_auto_reads_the_first_real_samples_in_place_and_writes_nothing_there(tmp_path):
    from detaudit.facts.run.datasets import prepare

    launch = _user_tree(tmp_path, COCO)
    before = snapshot(launch)
    request = make_request(dict(COCO), "train_dataloader.dataset", tmp_path, base_dir=launch, num_images=2)
    out = prepare(request, "auto")
    assert out.kind == "real" and out.samples == 2 and out.missing == []
    assert out.overrides == {"data_root": str((launch / "data/coco").resolve()), "indices": 2}
    assert any("ann_file='annotations/instances_train.json': exists" in n for n in out.notes)
    dataset = build(request, out)
    assert len(dataset) == 2
    assert dataset.get_data_info(0)["img_path"].startswith(str(launch.resolve()))
    load_every_sample(dataset)
    assert snapshot(launch) == before
    assert not request.folder.exists()        # real data needs no private copy


def test_auto_writes_a_synthetic_copy_when_the_configured_data_is_missing(tmp_path):
    from detaudit.facts.run.datasets import prepare

    request = make_request(dict(COCO), "train_dataloader.dataset", tmp_path)
    out = prepare(request, "auto")
    assert out.kind == "synthetic" and out.writer == "CocoDataset"
    assert out.notes[0].startswith("configured data not found on this machine (data_root='data/coco/'")
    assert len(build(request, out)) == 4


def test_partial_data_is_not_taken_for_real_data_but_real_mode_names_what_is_missing(tmp_path):
    from detaudit.facts.run.datasets import data_exists, prepare

    launch = _user_tree(tmp_path, COCO)
    (launch / "data/coco/annotations/instances_train.json").unlink()
    request = make_request(dict(COCO), "train_dataloader.dataset", tmp_path, base_dir=launch)
    assert not data_exists(request)
    assert prepare(request, "auto").kind == "synthetic"
    out = prepare(request, "real")
    assert out.kind == "real"
    assert out.missing == [str(launch / "data/coco/annotations/instances_train.json")]
    assert any("instances_train.json'" in n and "missing" in n for n in out.notes)


def test_a_config_without_data_root_resolves_against_the_launch_directory(tmp_path):
    from detaudit.facts.run.datasets import prepare

    ds = dict(COCO, data_root=None, ann_file="data/coco/annotations/instances_train.json",
              data_prefix=dict(img="data/coco/train/"))
    launch = _user_tree(tmp_path, dict(COCO, data_root="."))
    request = make_request(ds, "train_dataloader.dataset", tmp_path, base_dir=launch, num_images=3)
    (launch / "data/coco").mkdir(parents=True)
    for sub in ("annotations", "train"):
        (launch / sub).rename(launch / "data/coco" / sub)
    out = prepare(request, "auto")
    assert out.kind == "real" and out.overrides["data_root"] == str(launch.resolve())
    assert len(build(request, out)) == 3


def test_the_configs_own_indices_are_capped_not_replaced(tmp_path):
    from detaudit.facts.run.datasets import prepare

    launch = _user_tree(tmp_path, COCO)
    for given, expected in ((1, 1), (10, 2), ([3, 0, 1], [3, 0])):
        request = make_request(dict(COCO, indices=given), "train_dataloader.dataset", tmp_path, base_dir=launch,
                               num_images=2)
        assert prepare(request, "real").overrides["indices"] == expected


def test_the_synthetic_folder_may_not_lie_inside_the_users_data(tmp_path):
    from detaudit.facts.run.datasets import prepare

    launch = _user_tree(tmp_path, COCO)
    (launch / "data/coco/annotations/instances_train.json").unlink()     # so that auto writes
    request = make_request(dict(COCO), "train_dataloader.dataset", tmp_path, base_dir=launch,
                           folder=launch / "data/coco/tmp")
    with pytest.raises(ValueError, match="nothing is ever written into the user's data"):
        prepare(request, "auto")
    with pytest.raises(ValueError, match="nothing is ever written into the user's data"):
        prepare(request, "real")


def test_real_crowdhuman_without_its_size_cache_writes_nothing_next_to_the_data(tmp_path):
    from detaudit.facts.run.datasets import prepare

    ds = dict(type="CrowdHumanDataset", data_root="data/CrowdHuman/", ann_file="annotation_train.odgt",
              data_prefix=dict(img="Images/"), metainfo=dict(classes=("person", )))
    launch = _user_tree(tmp_path, ds)
    (launch / "data/CrowdHuman/id_hw_train.json").unlink()     # the writer's own cache: a user may have none
    for extra in (launch / "data/CrowdHuman").glob("id_hw_*.json"):
        extra.unlink()
    before = snapshot(launch)
    request = make_request(ds, "train_dataloader.dataset", tmp_path, base_dir=launch, num_images=3)
    out = prepare(request, "auto")
    assert out.kind == "real" and out.overrides["extra_ann_file"].startswith(str(request.folder))
    assert any("image-size cache" in n for n in out.notes)
    dataset = build(request, out)
    assert len(dataset) == 3 and dataset.get_data_info(0)["height"] == 96
    load_every_sample(dataset)
    assert snapshot(launch) == before


def test_the_survey_counts_boxes_per_class_and_names_the_classes_the_annotations_lack(tmp_path):
    from detaudit.facts.run.datasets import prepare, survey

    launch = _user_tree(tmp_path, COCO)
    ann = launch / "data/coco/annotations/instances_train.json"
    data = json.loads(ann.read_text())
    data["categories"][2]["name"] = "parrot"                     # the config says bird
    ann.write_text(json.dumps(data))
    before = snapshot(launch)
    request = make_request(dict(COCO), "train_dataloader.dataset", tmp_path, base_dir=launch, num_images=3)
    found = survey(request, prepare(request, "auto"))
    assert found.error is None and found.samples == 3 and not found.filtered_away
    assert found.boxes_per_class["bird"] == 0 and found.boxes_per_class["cat"] > 0
    assert "bird" in found.classes_without_boxes
    assert found.classes_not_in_annotations == ["bird"] and found.unknown_names == ["parrot"]
    assert found.missing_images == []
    assert snapshot(launch) == before


def test_the_survey_sees_missing_images_and_a_filter_that_removes_everything(tmp_path):
    from detaudit.facts.run.datasets import prepare, survey

    launch = _user_tree(tmp_path, COCO)
    ann = launch / "data/coco/annotations/instances_train.json"
    data = json.loads(ann.read_text())
    for c in data["categories"]:
        c["name"] = c["name"].upper()                            # no category matches a class
    ann.write_text(json.dumps(data))
    first = sorted((launch / "data/coco/train").iterdir())[0]
    first.unlink()
    request = make_request(dict(COCO), "train_dataloader.dataset", tmp_path, base_dir=launch, num_images=2)
    found = survey(request, prepare(request, "real"))
    assert found.filtered_away and found.samples == 2
    assert found.classes_without_boxes == ["cat", "dog", "bird"]
    assert found.missing_images == [str(first)]


def test_the_survey_reports_a_dataset_that_does_not_build(tmp_path):
    from detaudit.facts.run.datasets import prepare, survey

    launch = _user_tree(tmp_path, COCO)
    request = make_request(dict(COCO, img_prefix="train/"), "train_dataloader.dataset", tmp_path, base_dir=launch)
    found = survey(request, prepare(request, "real"))
    assert found.samples == 0 and "img_prefix" in found.error


def test_the_survey_reads_voc_object_names_from_the_samples_xml(tmp_path):
    from detaudit.facts.run.datasets import prepare, survey

    ds = dict(type="VOCDataset", data_root="data/VOCdevkit/", ann_file="VOC2007/ImageSets/Main/trainval.txt",
              data_prefix=dict(sub_data_root="VOC2007/"), metainfo=dict(classes=("cat", "dog")))
    launch = _user_tree(tmp_path, ds, n=3)
    for xml in (launch / "data/VOCdevkit/VOC2007/Annotations").glob("*.xml"):
        xml.write_text(xml.read_text().replace("<name>dog</name>", "<name>Dog</name>"))
    request = make_request(ds, "train_dataloader.dataset", tmp_path, base_dir=launch, num_images=3)
    found = survey(request, prepare(request, "auto"))
    assert found.error is None and found.samples == 3
    assert found.annotation_names["cat"] > 0 and found.annotation_names["Dog"] > 0
    assert found.unknown_names == ["Dog"] and found.classes_not_in_annotations == ["dog"]
    assert found.classes_without_boxes == ["dog"]


def test_a_large_coco_file_is_cut_to_a_private_prefix_that_keeps_the_same_first_samples(tmp_path, monkeypatch):
    from detaudit.dataset import coco as data_coco
    from detaudit.facts.run.datasets import prepare, survey

    launch = _user_tree(tmp_path, COCO, n=12)
    ann = launch / "data/coco/annotations/instances_train.json"
    data = json.loads(ann.read_text())
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] > 3]   # images 1-3: no boxes
    ann.write_text(json.dumps(data))
    before = snapshot(launch)
    monkeypatch.setattr(data_coco, "CUT_ABOVE_BYTES", 0)
    request = make_request(dict(COCO), "train_dataloader.dataset", tmp_path, base_dir=launch, num_images=2)
    out = prepare(request, "real")
    assert out.overrides["ann_file"].startswith(str(request.folder)) and any("read once" in n for n in out.notes)
    cut = json.loads(open(out.overrides["ann_file"]).read())
    assert [i["id"] for i in cut["images"]] == [1, 2, 3, 4, 5, 6, 7]          # up to 2N images with boxes
    whole = build(request, dict_without(out, "ann_file"))
    for filtered in (True, False):
        extra = {} if filtered else dict(filter_cfg=None)
        a, b = build(request, out, **extra), build(request, dict_without(out, "ann_file"), **extra)
        assert [a.get_data_info(i)["img_path"] for i in range(len(a))] == \
            [b.get_data_info(i)["img_path"] for i in range(len(b))]
    assert len(whole) == 2 and whole.get_data_info(0)["img_id"] == 4
    assert survey(request, out).boxes_per_class["cat"] >= 0
    assert snapshot(launch) == before


def dict_without(prepared, key):
    """The same prepared data without one override (the config's own value applies)."""
    from detaudit.facts.run.datasets import PreparedData

    return PreparedData(overrides={k: v for k, v in prepared.overrides.items() if k != key}, kind=prepared.kind,
                        samples=prepared.samples)
