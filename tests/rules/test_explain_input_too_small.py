"""The crash explainer on a layer whose input shrank below its kernel (the SSD512 case of the
held-out set at a small synthetic size): when the audit's input is smaller than the images the
config's pipeline makes, the finding says plainly that no key explains it and why; when the
config's own scale is the small one, it names that key."""
from __future__ import annotations

from detaudit.errors import ErrorInfo
from detaudit.rule.explain import explain

KERNEL = ("Calculated padded input size per channel: (1 x 1). Kernel size: (3 x 3). Kernel size can't be greater "
          "than actual input size")


def _cfg(scale):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=scale, keep_ratio=False),
                dict(type='PackDetInputs')]
    return dict(model=dict(type='SingleStageDetector', neck=dict(type='SSDNeck', level_strides=(2, 2, 2, 2, 1))),
                train_dataloader=dict(dataset=dict(pipeline=pipeline)),
                test_dataloader=dict(dataset=dict(pipeline=pipeline)))


def _err(size):
    return ErrorInfo("RuntimeError", KERNEL, module="neck.extra_layers.3.1.conv",
                     extra={"input_size": list(size), "sizes_tried": [f"{size[0]}x{size[1]}"]})


def test_a_synthetic_input_smaller_than_the_pipeline_is_explained_by_no_key():
    found = explain(_cfg((512, 512)), _err((160, 160)), "predict")
    assert len(found) == 1 and found[0].key_path is None
    assert found[0].message.startswith("no config key explains this failure")
    assert "160x160" in found[0].message and "test_dataloader.dataset.pipeline.1.scale" in found[0].message
    assert found[0].fix == "audit again with --input-size 512x512"
    assert found[0].evidence["explained"] is False


def test_the_configs_own_small_scale_is_named():
    found = explain(_cfg((96, 96)), _err((160, 160)), "loss")
    assert [e.key_path for e in found] == ["train_dataloader.dataset.pipeline.1.scale"]


def test_without_a_resize_scale_the_finding_still_says_no_key_explains_it():
    cfg = _cfg((512, 512))
    cfg["test_dataloader"]["dataset"]["pipeline"] = [dict(type='LoadImageFromFile')]
    found = explain(cfg, _err((160, 160)), "predict")
    assert found and found[0].key_path is None and "no config key explains" in found[0].message


def test_other_errors_are_not_read_as_too_small():
    err = ErrorInfo("RuntimeError", "some other failure", module="neck")
    assert explain(_cfg((512, 512)), err, "predict") == []
