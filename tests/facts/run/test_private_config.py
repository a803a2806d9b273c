"""The run's private copy of a config: sizes scaled down by one factor per pipeline, RandomChoice's
nested pipelines included, so that a branch keeps its proportions."""
from __future__ import annotations

import pytest

from run_data_helpers import mmdet_config

pytestmark = pytest.mark.usefixtures("mmdet_ready")


def _private(cfg, tmp_path, long_side=None):
    from detaudit.facts.run.private_config import LONG_SIDE, PrivateConfig

    private = PrivateConfig(cfg, tmp_path, tmp_path, long_side or LONG_SIDE)
    private.prepare()
    return private


def _sizes(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("scale", "scales", "crop_size"):
                yield key, value
            else:
                yield from _sizes(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _sizes(value)


def _longest(value):
    return max(_longest(v) for v in value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("long_side", [160, 320])
def test_detrs_random_choice_branches_are_scaled_by_one_factor(tmp_path, long_side):
    cfg = mmdet_config("dino/dino-4scale_r50_8xb2-12e_coco.py")
    written = cfg.train_dataloader.dataset.pipeline[3].transforms  # RandomChoice: [[resize], [resize, crop, resize]]
    private = _private(cfg, tmp_path, long_side)
    scaled = private.cfg.train_dataloader.dataset.pipeline[3].transforms
    before, after = list(_sizes(written)), list(_sizes(scaled))
    assert len(before) == len(after) == 4          # two resizes, one resize + crop + resize
    factor = long_side / 1333
    for (key, was), (_, now) in zip(before, after):
        assert abs(_longest(now) - _longest(was) * factor) <= 1.5, (key, was, now)
    # the crop branch keeps its crop smaller than the first resize's long side
    crop = dict(after)["crop_size"]
    assert max(crop) < long_side
    assert sum(c.key_path.startswith("train_dataloader.dataset.pipeline.3.transforms.") for c in private.changes) == 4
    assert cfg.train_dataloader.dataset.pipeline[3].transforms[1][1].crop_size == (384, 600)  # the config is not touched


def test_multibranch_pipelines_are_scaled_too(tmp_path):
    """Soft Teacher's unlabeled data goes through MultiBranch, whose teacher and student views are
    pipelines of their own: they are scaled as the labeled data is, so that both run at the run's size."""
    cfg = mmdet_config("soft_teacher/soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py")
    private = _private(cfg, tmp_path)
    unlabeled = private.cfg.train_dataloader.dataset.datasets[1].pipeline
    branches = next(step for step in unlabeled if step["type"] == "MultiBranch")
    for name in ("unsup_teacher", "unsup_student"):
        sizes = list(_sizes(branches[name]))
        assert sizes and all(_longest(v) <= 160 for _, v in sizes), (name, sizes)
    assert any(c.key_path.startswith("train_dataloader.dataset.datasets.1.pipeline.2.unsup_student.")
               for c in private.changes)


def test_a_scheduler_without_end_keeps_the_configured_end_in_the_shortened_run(tmp_path):
    """mmengine ends a scheduler without ``end`` where training ends: the one-epoch run would end a
    ReduceOnPlateau before the first validation steps it, so the copy writes the configured end out."""
    cfg = mmdet_config("faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
    cfg.param_scheduler = [dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
                           dict(type="ReduceOnPlateauLR", monitor="coco/bbox_mAP", rule="greater", by_epoch=True),
                           dict(type="CosineAnnealingLR", by_epoch=False, T_max=1000, begin=500)]
    private = _private(cfg, tmp_path)
    schedulers = private.cfg.param_scheduler
    assert private.cfg.train_cfg.max_epochs == 1
    assert schedulers[1]["end"] == 12  # the base's max_epochs
    assert schedulers[0]["end"] == 500 and "end" not in schedulers[2]  # written ends, and another unit, untouched
    assert any(c.key_path == "param_scheduler.1.end" and c.now == 12 for c in private.changes)
