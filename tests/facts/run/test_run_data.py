"""Synthetic data for the run tier: each supported mmdet dataset type gets a tiny copy in its own
format that mmdet's real dataset class reads, with the config's class names, and whose samples the
loading transforms load; unsupported types say why."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from run_data_helpers import build, dataset_at, load_every_sample, make_request, mmdet_config, resolve

pytestmark = pytest.mark.usefixtures("mmdet_ready")

# (case id, mmdet config, key path of the dataset, masks, semantic maps)
ZOO_CASES = [
    ("coco", "_base_/datasets/coco_detection.py", "train_dataloader.dataset", False, False),
    ("coco-test-mode", "_base_/datasets/coco_detection.py", "val_dataloader.dataset", False, False),
    ("coco-masks", "_base_/datasets/coco_instance.py", "train_dataloader.dataset", True, False),
    ("coco-stuff-maps", "_base_/datasets/coco_instance_semantic.py", "train_dataloader.dataset", True, True),
    ("cityscapes", "_base_/datasets/cityscapes_instance.py", "train_dataloader.dataset.dataset", True, False),
    ("deepfashion", "_base_/datasets/deepfashion.py", "train_dataloader.dataset.dataset", True, False),
    ("objects365v1", "_base_/datasets/objects365v1_detection.py", "train_dataloader.dataset", False, False),
    ("objects365v2", "_base_/datasets/objects365v2_detection.py", "train_dataloader.dataset", False, False),
    ("isaid", "_base_/datasets/isaid_instance.py", "train_dataloader.dataset", True, False),
    ("v3det", "_base_/datasets/v3det.py", "train_dataloader.dataset.dataset", False, False),
    ("ade20k-instance", "_base_/datasets/ade20k_instance.py", "val_dataloader.dataset", True, False),
    ("voc2007", "_base_/datasets/voc0712.py", "train_dataloader.dataset.dataset.datasets.0", False, False),
    ("voc2012", "_base_/datasets/voc0712.py", "train_dataloader.dataset.dataset.datasets.1", False, False),
    ("wider-face", "_base_/datasets/wider_face.py", "train_dataloader.dataset", False, False),
    ("crowdhuman", "crowddet/crowddet-rcnn_r50_fpn_8xb2-30e_crowdhuman.py", "train_dataloader.dataset", False, False),
    ("openimages", "_base_/datasets/openimages_detection.py", "train_dataloader.dataset", False, False),
    ("openimages-challenge", "openimages/faster-rcnn_r50_fpn_32xb2-1x_openimages-challenge.py",
     "train_dataloader.dataset", False, False),
    ("odvg-detection", "mm_grounding_dino/grounding_dino_swin-t_pretrain_obj365_goldg.py",
     "train_dataloader.dataset.datasets.0", False, False),
    ("odvg-grounding", "mm_grounding_dino/grounding_dino_swin-t_pretrain_obj365_goldg.py",
     "train_dataloader.dataset.datasets.1", False, False),
]


def _check_boxes(results, classes, masks):
    labels = []
    for r in results:
        assert len(r["gt_bboxes"]) >= 1
        assert (r["gt_bboxes"].widths > 1).all() and (r["gt_bboxes"].heights > 1).all()
        labels += [int(v) for v in r["gt_bboxes_labels"]]
        if masks:
            assert len(r["gt_masks"]) == len(r["gt_bboxes"])
            assert all(m.sum() > 0 for m in r["gt_masks"].to_ndarray())
    # labels cycle through the class list: the data names the config's classes in order
    assert sorted(set(labels)) == list(range(min(len(labels), len(classes))))


@pytest.mark.parametrize("case, config, key_path, masks, seg", ZOO_CASES, ids=[c[0] for c in ZOO_CASES])
def test_a_zoo_dataset_reads_its_synthetic_copy(tmp_path, case, config, key_path, masks, seg):
    from detaudit.facts.run.datasets import prepare

    ds = dataset_at(mmdet_config(config), key_path)
    request = make_request(ds, key_path, tmp_path, with_masks=masks, with_seg=seg, num_classes=3)
    out = prepare(request, "synthetic")
    assert out.kind == "synthetic" and out.samples == 4
    dataset = build(request, out)
    assert len(dataset) == 4
    classes = tuple(dataset.metainfo.get("classes") or request.class_names)
    assert classes == request.class_names      # ODVG has no class list: its labels index the label map
    extra = {}
    if case.startswith("odvg"):
        extra = dict(annotations=dict(type="LoadAnnotations", with_bbox=True))
    results = load_every_sample(dataset, masks=masks, seg=seg, **extra)
    _check_boxes(results, classes, masks)
    for r in results:
        assert r["img"].shape[:2] == (96, 128)
        if seg:
            assert r["gt_seg_map"].shape == (96, 128)
            assert set(r["gt_seg_map"].ravel().tolist()) - {255} <= set(range(len(classes)))
    assert not any(request.base_dir.iterdir()), "nothing is written outside the private folder"


@pytest.mark.parametrize("config, key_path", [
    ("_base_/datasets/coco_panoptic.py", "train_dataloader.dataset"),
    ("_base_/datasets/ade20k_panoptic.py", "val_dataloader.dataset"),
])
def test_panoptic_coco_segments_decode_to_thing_masks_and_a_semantic_map(tmp_path, monkeypatch, config, key_path):
    import types

    from detaudit.facts.run.datasets import prepare

    # panopticapi is not installed here; its rgb2id is the documented R + 256 G + 256^2 B
    utils = types.ModuleType("panopticapi.utils")
    utils.rgb2id = lambda c: c[..., 0].astype("int64") + 256 * c[..., 1].astype("int64") \
        + 65536 * c[..., 2].astype("int64")
    monkeypatch.setitem(sys.modules, "panopticapi", types.ModuleType("panopticapi"))
    monkeypatch.setitem(sys.modules, "panopticapi.utils", utils)
    ds = dataset_at(mmdet_config(config), key_path)
    request = make_request(ds, key_path, tmp_path, with_seg=True)
    out = prepare(request, "synthetic")
    dataset = build(request, out)
    assert len(dataset) == 4
    things = dataset.metainfo["thing_classes"]
    results = load_every_sample(dataset, annotations=dict(type="LoadPanopticAnnotations"))
    for r in results:
        n = len(r["gt_bboxes"])
        assert n >= 1 and len(r["gt_masks"]) == n
        assert all(int(v) < len(things) for v in r["gt_bboxes_labels"])
        values = set(r["gt_seg_map"].ravel().tolist())
        assert values & set(range(len(things)))                    # thing pixels
        assert values & set(range(len(things), len(dataset.metainfo["classes"])))   # a stuff region


def test_a_panoptic_dataset_comes_with_the_instance_json_its_coco_metric_reads(tmp_path):
    """Panoptic configs evaluate with a CocoPanopticMetric and a CocoMetric on COCO's instances file:
    the writer gives the CocoMetric an instance json of the same images and thing classes."""
    import json

    from mmdet.evaluation import CocoMetric

    from detaudit.facts.run.datasets import prepare

    ds = dataset_at(mmdet_config("_base_/datasets/coco_panoptic.py"), "val_dataloader.dataset")
    request = make_request(ds, "val_dataloader.dataset", tmp_path, with_seg=True)
    out = prepare(request, "synthetic")
    panoptic = json.loads((request.folder / out.overrides["ann_file"]).read_text())
    instances = json.loads(Path(out.instances_ann).read_text())
    assert [i["id"] for i in instances["images"]] == [i["id"] for i in panoptic["images"]]
    things = {c["id"] for c in panoptic["categories"] if c["isthing"]}
    assert {c["id"] for c in instances["categories"]} <= things
    assert instances["annotations"] and {a["category_id"] for a in instances["annotations"]} <= things
    CocoMetric(ann_file=out.instances_ann, metric=["bbox", "segm"])   # builds, as the Runner builds it


@pytest.mark.parametrize("config, key_path", [
    ("_base_/datasets/ade20k_semantic.py", "val_dataloader.dataset"),
    ("_base_/datasets/coco_semantic.py", "train_dataloader.dataset"),
])
def test_semantic_segmentation_folders_load_with_the_configs_own_loader(tmp_path, config, key_path):
    from detaudit.facts.run.datasets import prepare

    cfg = mmdet_config(config)
    ds = dataset_at(cfg, key_path)
    request = make_request(ds, key_path, tmp_path, with_seg=True)
    dataset = build(request, prepare(request, "synthetic"))
    assert len(dataset) == 4
    own = next(t for t in ds["pipeline"] if t["type"] == "LoadAnnotations")
    for r in load_every_sample(dataset, annotations=own):
        assert r["gt_seg_map"].shape == r["img"].shape[:2]
        assert set(r["gt_seg_map"].ravel().tolist()) - {255} <= set(range(len(dataset.metainfo["classes"])))


HAND_CASES = [
    ("XMLDataset", dict(type="XMLDataset", data_root="data/mine/", ann_file="ImageSets/Main/train.txt",
                        data_prefix=dict(sub_data_root=""), metainfo=dict(classes=("cat", "dog")))),
    ("BaseDetDataset", dict(type="BaseDetDataset", data_root="data/mine/", ann_file="annotations/train.json",
                            data_prefix=dict(img_path="images/"), metainfo=dict(classes=("cat", "dog")))),
    ("BaseDetDataset-no-prefix", dict(type="BaseDetDataset", ann_file="/abs/train.json",
                                      metainfo=dict(classes=("cat", "dog")))),
]


@pytest.mark.parametrize("case, ds", HAND_CASES, ids=[c[0] for c in HAND_CASES])
def test_base_formats_read_their_synthetic_copy(tmp_path, case, ds):
    from detaudit.facts.run.datasets import prepare

    request = make_request(ds, "train_dataloader.dataset", tmp_path, with_masks=True)
    out = prepare(request, "synthetic")
    dataset = build(request, out)
    assert len(dataset) == 4 and tuple(dataset.metainfo["classes"]) == ("cat", "dog")
    _check_boxes(load_every_sample(dataset, masks=case != "XMLDataset"), ("cat", "dog"), case != "XMLDataset")


def test_coco_files_carry_polygons_even_when_no_mask_model_asked(tmp_path):
    from detaudit.facts.run.datasets import prepare

    ds = dataset_at(mmdet_config("_base_/datasets/coco_detection.py"), "train_dataloader.dataset")
    request = make_request(ds, "train_dataloader.dataset", tmp_path, with_masks=False)
    results = load_every_sample(build(request, prepare(request, "synthetic")), masks=True)
    _check_boxes(results, request.class_names, True)


def test_base_segmentation_dataset_with_a_name_list(tmp_path):
    from detaudit.facts.run.datasets import prepare

    ds = dict(type="BaseSegDataset", data_root="data/seg", ann_file="splits/train.txt", img_suffix=".png",
              data_prefix=dict(img_path="img_dir/train", seg_map_path="ann_dir/train"),
              metainfo=dict(classes=("sky", "road", "car")))
    request = make_request(ds, "train_dataloader.dataset", tmp_path, with_seg=True)
    dataset = build(request, prepare(request, "synthetic"))
    assert len(dataset) == 4 and dataset.get_data_info(0)["img_path"].endswith(".png")
    for r in load_every_sample(dataset, annotations=dict(type="LoadAnnotations", with_bbox=False,
                                                         with_label=False, with_seg=True)):
        assert set(r["gt_seg_map"].ravel().tolist()) <= {0, 1, 2}


def test_a_path_outside_the_data_root_is_re_rooted_and_said(tmp_path):
    from detaudit.facts.run.datasets import prepare

    ds = dict(type="CocoDataset", data_root="/datasets/coco/", ann_file="/datasets/coco/ann/train.json",
              data_prefix=dict(img="../images/"), metainfo=dict(classes=("a", "b")))
    request = make_request(ds, "train_dataloader.dataset", tmp_path)
    out = prepare(request, "synthetic")
    assert out.overrides["ann_file"] == "annotations/instances.json"
    assert out.overrides["data_prefix"] == {"img": "img/"}
    assert any("ann_file" in n for n in out.notes) and any("data_prefix.img" in n for n in out.notes)
    assert len(build(request, out)) == 4
    assert all(Path(p).resolve().is_relative_to(request.folder.resolve()) for p in request.folder.rglob("*"))


def test_images_grow_to_the_filters_min_size(tmp_path):
    from detaudit.facts.run.datasets import prepare

    ds = dict(type="CocoDataset", data_root="d", ann_file="a.json", data_prefix=dict(img="i/"),
              filter_cfg=dict(filter_empty_gt=True, min_size=200), metainfo=dict(classes=("a",)))
    request = make_request(ds, "train_dataloader.dataset", tmp_path)
    out = prepare(request, "synthetic")
    dataset = build(request, out)
    assert len(dataset) == 4 and min(dataset.get_data_info(0)["height"], dataset.get_data_info(0)["width"]) >= 200
    assert any("min_size=200" in n for n in out.notes)


@pytest.mark.parametrize("config", ["fast_rcnn/fast-rcnn_r50_fpn_1x_coco.py",
                                    "cascade_rpn/cascade-rpn_fast-rcnn_r50-caffe_fpn_1x_coco.py"])
def test_a_proposal_file_is_written_for_every_image(tmp_path, config):
    """Fast R-CNN reads precomputed proposals: the dataset loads one entry per image, keyed as it
    looks them up, and the config's own LoadProposals transform reads them."""
    from mmdet.registry import TRANSFORMS

    from detaudit.facts.run.datasets import prepare

    ds = dataset_at(mmdet_config(config), "train_dataloader.dataset")
    assert ds.get("proposal_file")
    request = make_request(ds, "train_dataloader.dataset", tmp_path)
    out = prepare(request, "synthetic")
    assert any("proposal_file" in n for n in out.notes)
    dataset = build(request, out)
    step = next(t for t in ds["pipeline"] if t["type"] == "LoadProposals")
    load = TRANSFORMS.build(step)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        result = load(dict(info))
        boxes = result["proposals"]
        assert boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) > len(info["instances"])
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        assert (boxes[:, 2] <= info["width"]).all() and (boxes[:, 3] <= info["height"]).all()


def test_a_crowd_holds_at_least_two_people(tmp_path):
    """CrowdDet's assigner pairs each proposal with its two best boxes: an image of one person is
    not a CrowdHuman image, and would fail it."""
    from detaudit.facts.run.datasets import prepare

    ds = dataset_at(mmdet_config("crowddet/crowddet-rcnn_r50_fpn_8xb2-30e_crowdhuman.py"), "train_dataloader.dataset")
    request = make_request(ds, "train_dataloader.dataset", tmp_path)
    dataset = build(request, prepare(request, "synthetic"))
    assert min(len(dataset.get_data_info(i)["instances"]) for i in range(len(dataset))) >= 2


# ----------------------------------------------------------------------------- which writer
def test_lvis_is_unsupported_with_the_reason(tmp_path):
    from detaudit.facts.run.datasets import Unsupported, prepare

    ds = dataset_at(mmdet_config("_base_/datasets/lvis_v1_instance.py"), "train_dataloader.dataset.dataset")
    request = make_request(ds, "train_dataloader.dataset.dataset", tmp_path)
    with pytest.raises(Unsupported) as err:
        prepare(request, "synthetic")
    assert "LVISV1Dataset" in err.value.reason and "lvis package" in err.value.reason
    assert not request.folder.exists()


@pytest.mark.parametrize("type_name, words", [
    ("MOTChallengeDataset", "video/tracking"), ("YouTubeVISDataset", "video/tracking"),
    ("RefCocoDataset", "referring/caption"), ("DSDLDetDataset", "dsdl package"),
    ("ConcatDataset", "prepare each dataset inside it"), ("MultiImageMixDataset", "prepare each dataset"),
])
def test_other_unsupported_types_say_why(tmp_path, type_name, words):
    from detaudit.facts.run.datasets import Unsupported, prepare

    request = make_request(dict(type=type_name), "train_dataloader.dataset", tmp_path)
    with pytest.raises(Unsupported, match=words):
        prepare(request, "synthetic")


def test_a_subclass_uses_its_base_writer_unless_it_reads_another_format(tmp_path):
    from mmdet.datasets import CocoDataset

    from detaudit.facts.run.datasets import Unsupported, find_writer, prepare

    class MyCoco(CocoDataset):
        METAINFO = dict(classes=("x", "y"))

    class MyFormat(CocoDataset):
        def load_data_list(self):
            return []

    request = make_request(dict(type="MyCoco"), "train_dataloader.dataset", tmp_path, dataset_class=MyCoco)
    assert find_writer(request)[0] == "CocoDataset"
    request = make_request(dict(type="MyFormat"), "train_dataloader.dataset", tmp_path, dataset_class=MyFormat)
    with pytest.raises(Unsupported, match="MyFormat redefines load_data_list of CocoDataset"):
        prepare(request, "synthetic")


def test_an_unresolved_type_is_unsupported(tmp_path):
    from detaudit.facts.run.datasets import DataRequest, Unsupported, prepare

    request = DataRequest(key_path="train_dataloader.dataset", dataset_type="NoSuchDataset", dataset_class=None,
                          cfg={}, classes=(), folder=tmp_path / "d", base_dir=tmp_path)
    with pytest.raises(Unsupported, match="NoSuchDataset is not a dataset type any registry resolves"):
        prepare(request, "synthetic")


def test_a_scoped_type_name_matches(tmp_path):
    from detaudit.facts.run.datasets import find_writer

    request = make_request(dict(type="mmdet.VOCDataset"), "val_dataloader.dataset", tmp_path)
    assert find_writer(request)[0] == "XMLDataset"


def test_every_registered_writer_loads_and_every_mmdet_dataset_type_is_served_or_refused(tmp_path):
    """The support table of mmdet 3.3.0: each type of mmdet's DATASETS registry either has a writer
    or is refused with a reason; no type falls through to a wrong base-class writer."""
    from mmdet.registry import DATASETS

    from detaudit.dataset import unsupported as data_unsupported
    from detaudit.facts.run import datasets as data
    from detaudit.facts.run.datasets import Unsupported

    for name, eps in data.writers().items():
        assert callable(data._load(eps[0])), name
    supported, refused = [], {}
    for name in sorted(DATASETS.module_dict):
        request = make_request(dict(type=name), "train_dataloader.dataset", tmp_path)
        try:
            matched, writer = data.find_writer(request)
        except Unsupported as err:
            refused[name] = err.reason
            continue
        if writer.__module__ == data_unsupported.__name__:
            with pytest.raises(Unsupported) as err:
                writer(request)
            refused[name] = err.value.reason
        else:
            supported.append(name)
    assert {"CocoDataset", "VOCDataset", "CrowdHumanDataset", "OpenImagesDataset", "CocoPanopticDataset",
            "ADE20KSegDataset", "WIDERFaceDataset", "LLVIPDataset", "KAISTDataset"} <= set(supported)
    assert {"LVISV1Dataset", "LVISV05Dataset", "MOTChallengeDataset", "ConcatDataset"} <= set(refused)
    assert all(reason for reason in refused.values())
    print("\nsupported:", ", ".join(supported), "\nunsupported:",
          "\n  ".join([""] + [f"{k}: {v}" for k, v in sorted(refused.items())]))


def test_a_third_party_writer_plugs_in_and_wins_over_the_builtin(tmp_path, monkeypatch):
    from detaudit.facts.run import datasets as data

    site = tmp_path / "site"
    (site / "other_pack-1.0.dist-info").mkdir(parents=True)
    (site / "other_pack-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: other-pack\n"
                                                                "Version: 1.0\n")
    (site / "other_pack-1.0.dist-info" / "entry_points.txt").write_text(
        "[detaudit.datasets]\nCocoDataset = other_pack_writer:write\nMyOwnDataset = other_pack_writer:write\n")
    (site / "other_pack_writer.py").write_text(
        "from detaudit.dataset import PreparedData\n"
        "def write(request):\n"
        "    (request.folder / 'mine.txt').write_text(request.type_name)\n"
        "    return PreparedData(overrides={'data_root': str(request.folder)}, kind='synthetic', samples=1)\n")
    monkeypatch.syspath_prepend(str(site))
    data.writers.cache_clear()
    try:
        request = make_request(dict(type="MyOwnDataset"), "train_dataloader.dataset", tmp_path, dataset_class=None)
        out = data.prepare(request, "synthetic")
        assert out.writer == "MyOwnDataset" and (request.folder / "mine.txt").read_text() == "MyOwnDataset"
        coco = make_request(dict(type="CocoDataset"), "train_dataloader.dataset", tmp_path / "c")
        assert data.prepare(coco, "synthetic").samples == 1
    finally:
        monkeypatch.undo()
        data.writers.cache_clear()
    assert resolve("CocoDataset") is not None


def test_a_bad_mode_is_refused(tmp_path):
    from detaudit.facts.run.datasets import prepare

    request = make_request(dict(type="CocoDataset"), "train_dataloader.dataset", tmp_path)
    with pytest.raises(ValueError, match="synthetic, real, auto"):
        prepare(request, "fake")


def test_request_for_reads_type_classes_and_what_the_pipeline_loads(tmp_path):
    from mmdet.datasets import CocoDataset, VOCDataset

    from detaudit.facts.run.datasets import prepare, request_for

    inst = dataset_at(mmdet_config("_base_/datasets/coco_instance.py"), "train_dataloader.dataset")
    r = request_for(inst, "train_dataloader.dataset", tmp_path / "a", tmp_path)
    assert r.dataset_class is CocoDataset and len(r.classes) == 80 and r.with_masks and not r.with_seg
    pan = dataset_at(mmdet_config("_base_/datasets/coco_panoptic.py"), "train_dataloader.dataset")
    r = request_for(pan, "train_dataloader.dataset", tmp_path / "b", tmp_path)
    assert r.with_masks and r.with_seg and len(r.classes) == 133
    r = request_for(dict(type="mmdet.VOCDataset", metainfo=dict(classes=["a", "b"])), "val_dataloader.dataset",
                    tmp_path / "c", tmp_path)
    assert r.dataset_class is VOCDataset and r.classes == ("a", "b") and not r.with_masks
    # read_base() configs write the class itself as the type
    ds = dict(type=CocoDataset, data_root="d", ann_file="a.json", data_prefix=dict(img="i/"),
              metainfo=dict(classes=("x",)), pipeline=[dict(type="LoadAnnotations", with_bbox=True, with_mask=True)])
    r = request_for(ds, "train_dataloader.dataset", tmp_path / "d", tmp_path)
    assert r.type_name == "CocoDataset" and r.with_masks
    out = prepare(r, "synthetic")
    assert len(build(r, out)) == 4
    r = request_for(dict(type="nope.NoSuch"), "train_dataloader.dataset", tmp_path / "e", tmp_path)
    assert r.dataset_class is None and r.type_name == "NoSuch"


@pytest.mark.parametrize("config", [
    "mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py", "pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py",
    "crowddet/crowddet-rcnn_r50_fpn_8xb2-30e_crowdhuman.py", "htc/htc_r50_fpn_1x_coco.py",
])
def test_the_configs_own_pipelines_pack_every_synthetic_sample(tmp_path, config):
    """Beyond loading: each dataset of the config, with its own full pipeline, yields packed inputs."""
    from mmengine.registry import DefaultScope

    from detaudit.facts.run.datasets import prepare, request_for
    from detaudit.rule.config import datasets_under

    cfg = mmdet_config(config)
    for loader in ("train_dataloader", "val_dataloader"):
        for i, (key_path, _) in enumerate(datasets_under(cfg[loader]["dataset"], f"{loader}.dataset")):
            ds = dataset_at(cfg, key_path)
            request = request_for(ds, key_path, tmp_path / f"{loader}{i}", tmp_path)
            with DefaultScope.overwrite_default_scope("mmdet"):      # the pipeline's transforms are mmdet's
                dataset = build(request, prepare(request, "synthetic"), pipeline=ds["pipeline"])
                packed = [dataset[k] for k in range(len(dataset))]
            for sample in packed:
                assert sample["inputs"].ndim == 3 and sample["data_samples"].img_path.startswith(str(tmp_path))
