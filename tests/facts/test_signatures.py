"""Which keys a config dict's type accepts, read from the constructor it resolves to: named
parameters, **kwargs followed to the parent class or to the inner object a hook builds, and
open **kwargs taken as accepting anything."""
from __future__ import annotations

import pytest

from detaudit.facts.signatures import Constructors, registries_for


@pytest.fixture(scope="module")
def constructors():
    return Constructors("mmdet")


@pytest.mark.parametrize("key_path,first", [
    ("optim_wrapper.optimizer", "OPTIMIZERS"), ("optim_wrapper", "OPTIM_WRAPPERS"),
    ("model.roi_head.bbox_head.0", "MODELS"), ("model.roi_head.bbox_head.0.bbox_coder", "TASK_UTILS"),
    ("model.train_cfg.rcnn.sampler", "TASK_UTILS"), ("train_dataloader.dataset.dataset", "DATASETS"),
    ("train_dataloader.dataset.pipeline.2", "TRANSFORMS"), ("train_dataloader.sampler", "DATA_SAMPLERS"),
    ("val_evaluator", "METRICS"), ("param_scheduler.1", "PARAM_SCHEDULERS"), ("custom_hooks.0", "HOOKS"),
    ("visualizer.vis_backends.0", "VISBACKENDS"), ("train_cfg", "LOOPS"), ("tta_pipeline.1", "TRANSFORMS"),
])
def test_the_registry_follows_the_key_path(key_path, first):
    assert registries_for(key_path)[0] == first


def test_named_parameters(constructors):
    adam = constructors.signature("Adam", "optim_wrapper.optimizer")
    assert adam.qualname == "torch.optim.adam.Adam"
    assert adam.accepts("betas") and adam.accepts("weight_decay") and adam.accepts("type")
    assert adam.accepts("momentum") is False
    assert adam.is_default("weight_decay", 0) and not adam.is_default("weight_decay", 1e-4)


def test_kwargs_passed_to_the_parent_class_count_as_its_parameters(constructors):
    resnext = constructors.signature("ResNeXt", "model.backbone")
    assert resnext.chain == ["ResNeXt", "ResNet"]
    assert resnext.accepts("groups") and resnext.accepts("norm_eval") and resnext.accepts("frozen_stages")
    assert resnext.accepts("num_classes") is False
    head = constructors.signature("Shared2FCBBoxHead", "model.roi_head.bbox_head.0")
    assert head.chain[-1] == "BBoxHead" and head.accepts("reg_class_agnostic")
    assert head.is_default("roi_feat_size", 7)
    assert head.is_default("loss_cls", dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0))


def test_a_hook_that_builds_an_inner_object_accepts_what_that_object_accepts(constructors):
    ema = constructors.signature("EMAHook", "custom_hooks.0", {"type": "EMAHook"})
    assert "ExponentialMovingAverage" in ema.note
    assert ema.accepts("momentum") and ema.accepts("interval") and ema.accepts("strict_load")
    assert ema.accepts("model") is False          # the wrapped model is the hook's to give
    assert ema.accepts("skip_buffer") is False
    exp = constructors.signature("EMAHook", "custom_hooks.0", {"type": "EMAHook", "ema_type": "ExpMomentumEMA"})
    assert exp.accepts("gamma") and "ExpMomentumEMA" in exp.note


def test_open_kwargs_accept_anything_and_unknown_types_do_not_resolve(constructors):
    checkpoint = constructors.signature("CheckpointHook", "default_hooks.checkpoint")
    assert checkpoint.params is None and checkpoint.accepts("anything") is None
    assert constructors.signature("NoSuchTypeAnywhere", "model") is None
    wrapper = constructors.signature("RepeatDataset", "train_dataloader.dataset")
    assert wrapper.params == {"dataset", "times", "lazy_init"}


def test_dataset_classes_carry_their_default_metainfo(constructors):
    coco = constructors.signature("CocoDataset", "train_dataloader.dataset")
    assert len(coco.attrs["METAINFO"]["classes"]) == 80
    assert coco.accepts("data_root") and coco.accepts("backend_args")
