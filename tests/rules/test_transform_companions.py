"""DA845 transform-without-companion beyond its fixtures: how the pairs are learnt from the zoo
(confidence, support from distinct pipelines), how training chains are read through dataset
wrappers and PipelineSwitchHook stages, and the table that ships."""
from __future__ import annotations

import sys
from pathlib import Path

from rules._companions import PACKERS, training_chains, zoo_table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from zoo_pipeline_companions import CONTRACTS, candidates  # noqa: E402


def _chain(*kinds, content=None):
    return ([[k] for k in kinds], content or "|".join(kinds))


def _facts(chains):
    return [(f"c{i}.py", [c], []) for i, c in enumerate(chains)]


def test_a_pair_needs_every_config_and_several_distinct_pipelines():
    good = [_chain("Load", "Mosaic", "Crop", "Pack", content=f"p{i % 3}") for i in range(6)]
    found = candidates(_facts(good), min_configs=5, min_pipelines=3)
    assert found[("Mosaic", "after", "Crop")] == (6, 3)
    assert found[("Mosaic", "before", "Load")] == (6, 3)
    broken = good + [_chain("Load", "Mosaic", "Pack", content="p9")]
    assert ("Mosaic", "after", "Crop") not in candidates(_facts(broken), 5, 3)
    copied = [_chain("Load", "Mosaic", "Crop", "Pack", content="same") for _ in range(20)]
    assert ("Mosaic", "after", "Crop") not in candidates(_facts(copied), 5, 3)  # one pipeline, copied 20 times


def test_every_occurrence_must_have_its_partner():
    twice = [_chain("Mosaic", "Crop", "Mosaic", "Pack", content=f"p{i}") for i in range(5)]
    found = candidates(_facts(twice), 5, 3)
    assert ("Mosaic", "after", "Pack") in found
    assert ("Mosaic", "after", "Crop") not in found  # the second Mosaic has no Crop after it


def test_chains_run_the_wrapper_pipeline_after_the_inner_one_and_follow_switch_hooks():
    load = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True)]
    cfg = dict(
        train_dataloader=dict(dataset=dict(
            type="MultiImageMixDataset",
            dataset=dict(type="ConcatDataset", datasets=[dict(type="CocoDataset", pipeline=load),
                                                         dict(type="CocoDataset", pipeline=load[:1])]),
            pipeline=[dict(type="Mosaic"), dict(type="RandomAffine", border=(-320, -320)),
                      dict(type="mmdet.PackDetInputs")])),
        custom_hooks=[dict(type="EMAHook"),
                      dict(type="PipelineSwitchHook", switch_pipeline=[dict(type="PackDetInputs")])])
    chains = list(training_chains(cfg))
    assert [label for label, _ in chains] == ["train_dataloader"] * 2 + ["custom_hooks.1"] * 2
    first = chains[0][1]
    assert [s.kind for s in first] == ["LoadImageFromFile", "LoadAnnotations", "@MultiImageMixDataset", "Mosaic",
                                       "RandomAffine", "PackDetInputs"]
    assert first[0].path == "train_dataloader.dataset.dataset.datasets.0.pipeline.0"
    assert first[4].path == "train_dataloader.dataset.pipeline.1"
    assert "RandomAffine(border<0)" in first[4].tokens and PACKERS in first[5].tokens
    assert "LoadAnnotations(with_bbox=True)" in first[1].tokens
    switched = chains[2][1]
    assert [s.path for s in switched][-1] == "custom_hooks.1.switch_pipeline.0"
    assert "Mosaic" not in [s.kind for s in switched]


def test_the_shipped_table_keeps_only_listed_contracts_with_their_support():
    table = zoo_table()
    assert "808 loaded" in table["source"]
    names = {f"{a} {rel} {b}" for a, rel, b in CONTRACTS}
    assert set(table["contracts"]) <= names
    by_pair = {(p["a"], p["where"], p["b"]): p for p in table["pairs"]}
    mosaic = by_pair[("Mosaic", "after", "RandomAffine(border<0)")]
    assert mosaic["configs"] >= 5 and mosaic["pipelines"] >= 3
    assert ("RandomAffine(border<0)", "before", "Mosaic") in by_pair
    assert ("Pad", "after", PACKERS) in by_pair
    assert not any(p["a"] == "Resize" and p["b"] == "RandomFlip" for p in table["pairs"])  # habit, not shipped
    assert all(p["configs"] >= 5 and p["pipelines"] >= 3 for p in table["pairs"])
    border = table["border"]
    assert border["configs"] == border["after_mosaic"] == border["half_mosaic_scale"] > 0


def test_a_concat_dataset_reports_a_wrapper_step_once(tmp_path):
    from detaudit.faces.api import audit

    cfg = tmp_path / "cfg.py"
    cfg.write_text(
        "_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'\n"
        "inner = dict(type='CocoDataset', data_root='data/coco/', ann_file='a.json', data_prefix=dict(img='i/'),\n"
        "             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)])\n"
        "train_dataloader = dict(dataset=dict(_delete_=True, type='MultiImageMixDataset',\n"
        "    dataset=dict(type='ConcatDataset', datasets=[inner, inner]),\n"
        "    pipeline=[dict(type='Mosaic', img_scale=(640, 640)), dict(type='PackDetInputs')]))\n")
    result = audit(str(cfg), select=["DA845"], tier="static").audits[0]
    hits = [(f.key_path, f.evidence["companion"]) for f in result.findings if f.code == "DA845"]
    assert hits == [("train_dataloader.dataset.pipeline.0", "RandomAffine(border<0)")]


def test_a_pipeline_without_any_packing_step_is_left_to_da807(tmp_path):
    from detaudit.faces.api import audit

    cfg = tmp_path / "cfg.py"
    cfg.write_text(
        "_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'\n"
        "train_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'),\n"
        "    dict(type='LoadAnnotations', with_bbox=True), dict(type='RandomFlip', prob=0.5)]))\n")
    result = audit(str(cfg), select=["DA807", "DA845"], tier="static").audits[0]
    assert [f.code for f in result.findings if f.code in ("DA807", "DA845")] == ["DA807"]
