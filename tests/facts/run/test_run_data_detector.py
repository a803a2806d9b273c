"""The detector package's dataset writer (registered in the ``detaudit.datasets`` group): LLVIP and
KAIST trees in their own layout, single-modality and paired, and real KAIST data surveyed."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from run_data_helpers import ROOT, build, config_file, dataset_at, load_every_sample, make_request, snapshot

pytestmark = pytest.mark.usefixtures("mmdet_ready")

STAGE1 = ROOT / "examples/configs/stage1_llvip_pretrain.py"
STAGE2 = ROOT / "examples/configs/stage2_kaist_domain_ft_fixed.py"
PAIRED_LOADER = dict(type="LoadMultiSpectralImageFromFile")


def _config(path):
    return config_file(path)


@pytest.mark.parametrize("config, key_path, paired", [
    (STAGE1, "train_dataloader.dataset", True),
    (STAGE1, "val_dataloader.dataset", False),
    (STAGE2, "train_dataloader.dataset", False),
    (STAGE2, "val_dataloader.dataset", False),
    (STAGE2, "test_dataloader.dataset", False),
], ids=["llvip-train-pairs", "llvip-test", "kaist-train", "kaist-val", "kaist-test"])
def test_the_detector_writer_serves_llvip_and_kaist(tmp_path, config, key_path, paired):
    from detaudit.facts.run.datasets import prepare

    ds = dataset_at(_config(config), key_path)
    assert bool(ds.get("return_modality_pair")) is paired
    request = make_request(ds, key_path, tmp_path)
    out = prepare(request, "synthetic")
    assert out.writer == ds["type"] and out.kind == "synthetic"
    dataset = build(request, out)
    assert len(dataset) == 4 and tuple(dataset.metainfo["classes"]) == ("person", )
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert set(info["img_paths"]) == set(dataset.needed_modalities)
        assert all(os.path.isfile(p) for p in info["img_paths"].values())
    results = load_every_sample(dataset, loader=PAIRED_LOADER)
    for r in results:
        assert r["img"].shape[:2] == (96, 128)
        assert r["img"].shape[-1] == (6 if paired else 3)      # a pair stacks both modalities
        assert len(r["gt_bboxes"]) >= 1 and (r["gt_bboxes_labels"] == 0).all()


def test_kaist_pairs_and_the_configs_own_split_list_and_prefixes(tmp_path):
    from detaudit.facts.run.datasets import prepare

    ds = dataset_at(_config(STAGE2), "train_dataloader.dataset")
    ds.update(return_modality_pair=True, ann_file="lists/mine.txt", modalities=("infrared", "visible"),
              data_prefix=dict(visible="rgb/", infrared="lwir/", ann="xml/"))
    request = make_request(ds, "train_dataloader.dataset", tmp_path)
    out = prepare(request, "synthetic")
    assert out.overrides["ann_file"] == "lists/mine.txt"
    assert (request.folder / "lists/mine.txt").read_text().split() == [f"train_{i:06d}" for i in range(4)]
    dataset = build(request, out)
    assert len(dataset) == 4
    info = dataset.get_data_info(0)
    assert "/lwir/" in info["img_paths"]["infrared"] and "/rgb/" in info["img_paths"]["visible"]
    for r in load_every_sample(dataset, loader=PAIRED_LOADER):
        assert r["img"].shape == (96, 128, 6)


def test_the_writer_registers_and_writes_without_importing_torch_or_mmdet(tmp_path, declared_entry_points):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from detaudit.facts.run.datasets import DataRequest, prepare
        request = DataRequest(key_path="train_dataloader.dataset", dataset_type="KAISTDataset", dataset_class=None,
                              cfg=dict(split="train"), classes=("person",), folder=Path({str(tmp_path / 'd')!r}),
                              base_dir=Path({str(tmp_path)!r}))
        out = prepare(request, "synthetic")
        assert out.writer == "KAISTDataset" and out.samples == 4, out
        heavy = sorted(m for m in ("torch", "mmdet", "mmengine", "detector") if m in sys.modules)
        print("heavy:", heavy)
    """)
    path = os.pathsep.join(str(p) for p in (declared_entry_points, ROOT) if p)
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout
    assert len(list((tmp_path / "d/infrared").glob("*.png"))) == 4


@pytest.fixture
def real_kaist(tmp_path):
    """A user's KAIST tree, as ``python -m detector.make_synthetic_data`` writes it, under <launch>/data."""
    from detector.make_synthetic_data import generate

    launch = tmp_path / "launch"
    generate(str(launch / "data"), datasets=("kaist", ), kaist=dict(train=5, val=2, test=2))
    return launch


def test_auto_uses_real_kaist_data_when_it_is_there(tmp_path, real_kaist):
    from detaudit.facts.run.datasets import prepare, survey

    ds = dataset_at(_config(STAGE2), "train_dataloader.dataset")
    before = snapshot(real_kaist)
    request = make_request(ds, "train_dataloader.dataset", tmp_path, base_dir=real_kaist, num_images=3)
    out = prepare(request, "auto")
    assert out.kind == "real" and out.overrides["indices"] == 3
    dataset = build(request, out)
    assert len(dataset) == 3
    load_every_sample(dataset, loader=PAIRED_LOADER)
    found = survey(request, out)
    assert found.error is None and found.boxes_per_class["person"] > 0
    assert found.annotation_names and set(found.annotation_names) == {"person"}
    assert found.classes_not_in_annotations == [] and found.unknown_names == []
    assert snapshot(real_kaist) == before


def test_the_survey_finds_kaist_annotations_whose_class_is_not_the_configs(tmp_path, real_kaist):
    from detaudit.facts.run.datasets import prepare, survey

    for xml in (real_kaist / "data/KAIST_processed/Annotations").glob("*.xml"):
        tree = ET.parse(xml)
        for name in tree.getroot().iter("name"):
            name.text = "pedestrian"
        tree.write(xml)
    ds = dataset_at(_config(STAGE2), "train_dataloader.dataset")
    request = make_request(ds, "train_dataloader.dataset", tmp_path, base_dir=real_kaist, num_images=3)
    found = survey(request, prepare(request, "auto"))
    assert "removed all" in found.error and found.filtered_away      # filter_empty_gt drops every image
    assert found.samples == 3 and found.boxes_per_class == {"person": 0}
    assert found.unknown_names == ["pedestrian"] and found.classes_not_in_annotations == ["person"]
    # with the alias the dataset offers, the same tree is fine
    request = make_request(dict(ds, class_aliases={"pedestrian": "person"}), "train_dataloader.dataset", tmp_path,
                           base_dir=real_kaist, num_images=3)
    found = survey(request, prepare(request, "auto"))
    assert found.error is None and found.boxes_per_class["person"] > 0 and found.unknown_names == []
