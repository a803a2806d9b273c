"""Passes over the training data (detaudit/rule/training_passes.py) and the zoo's figures DA823
judges a training length with."""
from __future__ import annotations

from detaudit.rule.training_passes import ANY, SCRATCH, augmentation, table, training_passes, zoo_reference
from rules.da823_setting_outside_zoo import PASSES_FACTOR

COCO = dict(type="CocoDataset", pipeline=[dict(type="LoadImageFromFile"), dict(type="RandomFlip", prob=0.5)])


def _cfg(dataset, epochs=12, loop="EpochBasedTrainLoop"):
    key = "max_epochs" if "Epoch" in loop else "max_iters"
    return dict(train_cfg=dict(type=loop, **{key: epochs}), train_dataloader=dict(dataset=dataset))


def test_nested_repeats_multiply_and_other_wrappers_do_not():
    inner = dict(type="RepeatDataset", times=2, dataset=dict(type="ClassBalancedDataset", oversample_thr=1e-3,
                                                              dataset=COCO))
    got = training_passes(_cfg(dict(type="RepeatDataset", times=3, dataset=inner)))
    assert got.passes == 12 * 3 * 2
    assert [k for k, _ in got.repeats] == ["train_dataloader.dataset.times", "train_dataloader.dataset.dataset.times"]
    mix = dict(type="MultiImageMixDataset", dataset=COCO, pipeline=[dict(type="Mosaic", img_scale=(640, 640))])
    assert training_passes(_cfg(mix, 300)).passes == 300 and training_passes(_cfg(mix, 300)).repeats == ()


def test_a_concatenation_is_as_long_as_its_most_repeated_set():
    ds = dict(type="ConcatDataset", datasets=[COCO, dict(type="RepeatDataset", times=4, dataset=COCO), COCO])
    got = training_passes(_cfg(ds, 5))
    assert got.passes == 20 and got.repeats == (("train_dataloader.dataset.datasets.1.times", 4),)


def test_iteration_loops_and_unreadable_times_are_not_judged():
    assert training_passes(_cfg(COCO, 90000, "IterBasedTrainLoop")) is None
    assert training_passes(_cfg(dict(type="RepeatDataset", times="{{times}}", dataset=COCO))) is None
    assert training_passes(dict(train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=12))) is None


def test_augmentation_groups_the_pipeline():
    assert augmentation(_cfg(COCO)) == []
    strong = dict(COCO, pipeline=COCO["pipeline"] + [dict(type="RandomChoice", transforms=[[dict(type="RandomCrop")]])])
    assert augmentation(_cfg(strong)) == ["RandomCrop"]


def test_the_zoo_figures_and_the_reference_a_config_is_judged_against():
    t = table()
    assert t["zoo_configs"] >= 800 and t["detectors"][ANY][ANY]["n"] > 700
    light, strong = t["detectors"][ANY]["light"], t["detectors"][ANY]["strong"]
    assert light["max"] == 73 and strong["max"] == 600
    # the "3x" RetinaNet recipes: 12 epochs over a RepeatDataset of 3
    kind, group, s = zoo_reference("RetinaNet", "light", repeated=True)
    assert (kind, group, s["max"]) == ("RetinaNet", "light", 36)
    assert 36 * 3 > s["max"] * PASSES_FACTOR  # 36 epochs of it: 108 passes
    # without a repeat, every detector type of the same augmentation
    assert zoo_reference("RetinaNet", "light", repeated=False)[:2] == (ANY, "light")
    # a type with one recipe only: its own detector type over both groups is no distribution either
    assert zoo_reference("YOLOF", "light", repeated=True)[:2] == (ANY, "light")
    assert zoo_reference("NoSuchDetector", "strong", repeated=True)[:2] == (ANY, "strong")


def test_no_zoo_config_is_beyond_its_own_reference():
    for kind, groups in table()["detectors"].items():
        for group, s in groups.items():
            if kind == ANY or group in (ANY, SCRATCH):
                continue  # (the from-scratch group is a floor, compared with its own shortest)
            for repeated in (True, False):
                ref = zoo_reference(kind, group, repeated)
                assert s["max"] <= ref[2]["max"] * PASSES_FACTOR, (kind, group, repeated)
