"""Contracts between pipeline steps, samplers and optimizer rules (DA858-DA861) beyond what the
fixture harness shows: agreement with mmdet's own arithmetic, one finding per place, and the
static custom-key rule handing over to DA835 when the model is built."""
from __future__ import annotations

from pathlib import Path

import pytest

from detaudit.faces.api import audit
from rules.da859_sampler_batch_size_mismatch import per_source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"


class _Concat:
    """What MultiSourceSampler reads of a ConcatDataset: the sizes of its parts."""

    def __init__(self, *sizes):
        self.datasets = [list(range(n)) for n in sizes]
        self.cumulative_sizes = [sum(sizes[: i + 1]) for i in range(len(sizes))]

    def __len__(self):
        return self.cumulative_sizes[-1]


@pytest.mark.parametrize("batch_size,ratio", [(5, [1, 4]), (6, [1, 2]), (2, [4, 1]), (7, [1, 1, 1]), (3, [0.5, 2])])
def test_group_split_is_mmdets(batch_size, ratio):
    """DA859 states how many samples of each source a group holds: the sampler's own numbers."""
    from mmdet.datasets.samplers import MultiSourceSampler

    sampler = MultiSourceSampler(_Concat(*[10] * len(ratio)), batch_size=batch_size, source_ratio=ratio, seed=0)
    assert per_source(batch_size, ratio) == sampler.num_per_source


def test_a_loader_shared_by_validation_and_test_is_reported_once(monkeypatch):
    path = FIXTURES / "DA858" / "fires.py"
    monkeypatch.chdir(path.parent)
    findings = audit(str(path), select=["DA858"], tier="static").findings
    assert [f.key_path for f in findings] == ["val_dataloader.dataset.pipeline.1"]
    assert findings[0].evidence["steps"] == [{"index": 2, "type": "FixShapeResize"}]  # Pad moves no box


def test_only_the_loader_whose_metric_reads_the_samples_is_reported(monkeypatch):
    """The test split scored by CocoMetric (its ann_file) is not affected by the same pipeline."""
    path = FIXTURES / "DA858" / "fires.py"
    monkeypatch.chdir(path.parent)
    findings = audit(str(path), select=["DA858"], tier="static",
                     cfg_options={"val_evaluator": {"type": "CocoMetric", "ann_file": "a.json"},
                                  "test_evaluator": {"type": "VOCMetric"}}).findings
    assert [f.key_path for f in findings] == ["test_dataloader.dataset.pipeline.1"]
    assert "VOCMetric" in findings[0].message


def test_the_static_custom_key_rule_leaves_the_built_model_to_da835(monkeypatch):
    path = FIXTURES / "DA860" / "fires.py"
    monkeypatch.chdir(path.parent)
    static = audit(str(path), select=["DA835", "DA860"], tier="static").findings
    built = audit(str(path), select=["DA835", "DA860"], tier="build").findings
    assert [f.code for f in static] == ["DA860"]
    assert [f.code for f in built] == ["DA835"]
    assert static[0].key_path == built[0].key_path == "optim_wrapper.paramwise_cfg.custom_keys.bbox_head"


def test_a_longer_key_with_its_own_decay_keeps_the_static_rule_quiet(monkeypatch):
    path = FIXTURES / "DA860" / "fires_constructor_default_norm.py"
    monkeypatch.chdir(path.parent)
    keys = {"backbone": {"lr_mult": 0.5}, "backbone.bn": {"lr_mult": 0.5, "decay_mult": 0.0}}
    assert audit(str(path), select=["DA860"], tier="static",
                 cfg_options={"optim_wrapper.paramwise_cfg.custom_keys": keys}).findings == []


def test_mixup_share_of_flipped_samples(monkeypatch):
    """CachedMixUp flips when a uniform draw exceeds flip_ratio, and mixes with its own prob."""
    path = FIXTURES / "DA861" / "quiet.py"
    monkeypatch.chdir(path.parent)
    (finding,) = audit(str(path), select=["DA861"], tier="static",
                       cfg_options={"train_dataloader.dataset.pipeline.5.flip_ratio": 0.2,
                                    "train_dataloader.dataset.pipeline.5.prob": 0.5}).findings
    assert finding.key_path == "train_dataloader.dataset.pipeline.5.flip_ratio"
    assert "in about 40% of the samples" in finding.message
