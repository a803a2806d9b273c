"""Every entry of detaudit/migrate/tables.py against mmdet 3.3 / mmengine: each 3.x name it writes is
registered where the runner looks it up, and each argument it renames to is one the 3.x class takes."""
from __future__ import annotations

import inspect

import pytest

from detaudit.migrate import tables as T


@pytest.fixture(scope="module")
def registries():
    from mmdet.utils import register_all_modules

    register_all_modules()
    from mmdet import registry as R

    return R


def _get(registry, name):
    cls = registry.get(name)
    assert cls is not None, f"{name} is not registered in {registry.name}"
    return cls


def _takes(cls, arg) -> bool:
    """Whether ``cls`` (or a class it passes ``**kwargs`` on to) takes ``arg``."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        if arg in params:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return False
    return False


@pytest.mark.parametrize("old,new", sorted(T.TRANSFORM_TYPES.items()))
def test_transform_types_are_registered(registries, old, new):
    _get(registries.TRANSFORMS, new)


@pytest.mark.parametrize("kind,renames", sorted(T.TRANSFORM_ARGS.items()))
def test_transform_args_are_taken(registries, kind, renames):
    cls = _get(registries.TRANSFORMS, kind)
    for old, new in renames.items():
        assert _takes(cls, new) and not _takes(cls, old)


@pytest.mark.parametrize("mode,target", sorted(T.MULTISCALE.items()))
def test_multiscale_targets(registries, mode, target):
    kind, arg = target
    assert _takes(_get(registries.TRANSFORMS, kind), arg)


@pytest.mark.parametrize("kind", ["DefaultFormatBundle", "Collect", "ToDataContainer"])
def test_formatting_transforms_are_gone_in_3x(registries, kind):
    assert kind in T.TO_PREPROCESSOR
    assert registries.TRANSFORMS.get(kind) is None


def test_data_preprocessor_takes_normalize_and_pad(registries):
    cls = _get(registries.MODELS, T.DEFAULT_DATA_PREPROCESSOR["type"])
    for arg in ("mean", "std", "bgr_to_rgb", "pad_size_divisor", "pad_mask"):
        assert _takes(cls, arg)
    assert {"Normalize", "Pad"} <= set(T.TO_PREPROCESSOR)
    for arg in ("meta_keys",):
        assert _takes(_get(registries.TRANSFORMS, "PackDetInputs"), arg)


@pytest.mark.parametrize("dataset,metric", sorted(T.EVALUATORS.items()))
def test_evaluators_are_registered(registries, dataset, metric):
    _get(registries.DATASETS, dataset)
    _get(registries.METRICS, metric)


def test_evaluation_keys_are_metric_arguments(registries):
    coco = _get(registries.METRICS, "CocoMetric")
    for old, new in T.EVALUATION_KEYS.items():
        if new is not None:
            assert _takes(coco, new), f"CocoMetric does not take {new} (from evaluation.{old})"
    assert _takes(_get(registries.METRICS, "VOCMetric"), "eval_mode")


@pytest.mark.parametrize("old,new", sorted(T.DATASET_ARGS.items()))
def test_dataset_args(registries, old, new):
    base = _get(registries.DATASETS, "CocoDataset")
    from mmengine.dataset import BaseDataset

    assert not _takes(BaseDataset, old) or old == "proposal_file"
    if new is not None:
        holder = new.split(".")[0]
        assert _takes(BaseDataset, holder) or _takes(base, holder) or holder == "proposal_file"


def test_loaders_and_wrappers(registries):
    for cfg in (T.TRAIN_LOADER, T.TEST_LOADER):
        _get(registries.DATA_SAMPLERS, cfg["sampler"]["type"])
    _get(registries.DATA_SAMPLERS, T.TRAIN_LOADER["batch_sampler"]["type"])
    for wrapper, key in T.WRAPPERS.items():
        assert _takes(_get(registries.DATASETS, wrapper), key)


@pytest.mark.parametrize("runner,loop", sorted(T.RUNNERS.items()))
def test_runners_become_loops(registries, runner, loop):
    kind, arg = loop
    assert _takes(_get(registries.LOOPS, kind), arg)


def test_schedulers_and_wrappers(registries):
    for kind in list(T.WARMUPS.values()) + [v for v in T.LR_POLICIES.values() if v]:
        _get(registries.PARAM_SCHEDULERS, kind)
    assert _takes(_get(registries.PARAM_SCHEDULERS, "LinearLR"), "start_factor")
    assert _takes(_get(registries.PARAM_SCHEDULERS, "ConstantLR"), "factor")
    assert _takes(_get(registries.PARAM_SCHEDULERS, "CosineAnnealingLR"), "eta_min_ratio")
    _get(registries.PARAM_SCHEDULERS, T.YOLOX_WARMUP)
    for kind in set(T.OPTIMIZER_HOOKS.values()):
        _get(registries.OPTIM_WRAPPERS, kind)
    assert _takes(_get(registries.OPTIM_WRAPPERS, "OptimWrapper"), "accumulative_counts")
    assert _takes(_get(registries.OPTIM_WRAPPERS, "AmpOptimWrapper"), "loss_scale")


def test_runtime_names(registries):
    for backend in filter(None, T.LOGGER_BACKENDS.values()):
        _get(registries.VISBACKENDS, backend)
    for hook in filter(None, T.CUSTOM_HOOKS.values()):
        _get(registries.HOOKS, hook)
    for ema in T.EMA_HOOKS.values():
        _get(registries.MODELS, ema)
    for hook in T.DEFAULT_HOOKS.values():
        _get(registries.HOOKS, hook["type"])
    _get(registries.LOG_PROCESSORS, T.RUNTIME["log_processor"]["type"])


@pytest.mark.parametrize("kind,args", sorted(T.MODEL_ARGS_REMOVED.items()))
def test_removed_model_args(registries, kind, args):
    cls = _get(registries.MODELS, kind)
    for arg in args:
        assert not _takes(cls, arg)


@pytest.mark.parametrize("old,new", sorted(T.MODEL_TYPES.items()))
def test_model_types(registries, old, new):
    assert registries.TASK_UTILS.get(old) is None and registries.TASK_UTILS.get(new) is not None


def test_assigner_costs(registries):
    cls = _get(registries.TASK_UTILS, "HungarianAssigner")
    assert _takes(cls, "match_costs")
    for cost in T.ASSIGNER_COSTS:
        assert not _takes(cls, cost)


def test_mask_heads(registries):
    for head in T.MASK_HEADS:
        _get(registries.MODELS, head)
    from mmdet.models import layers

    for kind in T.MASK_HEAD_BUILT_DIRECTLY:  # 3.x builds these as cls(**cfg): a type key would be an argument
        assert not _takes(getattr(layers, kind), "type")


def test_renamed_model_args_and_merged_heads(registries):
    for kind, args in T.MODEL_ARGS_RENAMED.items():
        cls = _get(registries.MODELS, kind)
        for old, new in args.items():
            assert _takes(cls, new) and not _takes(cls, old)
    for kind, (gone, into, keys, told) in T.MERGED_HEADS.items():
        assert not _takes(_get(registries.MODELS, kind), gone) and _takes(_get(registries.MODELS, kind), into)
    assert all(_takes(_get(registries.MODELS, "YOLACTProtonet"), k) for k in ("loss_segm", "with_seg_branch"))


def test_instance_metrics(registries):
    from mmdet.datasets import CocoPanopticDataset

    assert not _takes(CocoPanopticDataset, "ins_ann_file")
    coco = _get(registries.METRICS, "CocoMetric")
    assert _takes(coco, "metric") and all(f"'{m}'" in inspect.getsource(coco.__init__) for m in T.INSTANCE_METRICS)
