"""The hook contracts checked on small built objects (no Runner): each kind of mismatch, through
dataset wrappers and a model's ``.module``, and the quiet cases next to them."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from detaudit.facts.run.hook_probe import Objects, check_hook  # noqa: E402


class Dataset:
    def __init__(self, classes=("a",)):
        self.pipeline = ["Load"]
        self.metainfo = {"classes": classes} if classes is not None else {}


class Repeat:
    def __init__(self, dataset):
        self.dataset = dataset
        self.metainfo = dataset.metainfo


class Concat:
    def __init__(self, *datasets):
        self.datasets = list(datasets)
        self.metainfo = datasets[0].metainfo


class MixDataset(Repeat):
    def __init__(self, dataset):
        super().__init__(dataset)
        self.pipeline = ["Mosaic"]

    def update_skip_type_keys(self, keys):
        self.skip = keys


class Head(torch.nn.Module):
    pass


class YoloxHead(Head):
    use_l1 = False


class Detector(torch.nn.Module):
    def __init__(self, head=None):
        super().__init__()
        self.bbox_head = head or Head()
        self.conv = torch.nn.Conv2d(3, 4, 1)


class Semi(torch.nn.Module):
    def __init__(self, teacher, student):
        super().__init__()
        self.teacher, self.student = teacher, student


class Hook:
    """A built hook: its arguments as attributes."""

    def __init__(self, name, **args):
        self.__class__ = type(name, (Hook,), {})
        self.__dict__.update(args)


def kinds(found):
    return [(f["kind"], f["key"]) for f in found]


EPOCHS = dict(schedule={"max_epochs": 12})


def test_pipeline_switch_through_wrappers():
    hook = Hook("PipelineSwitchHook", switch_epoch=10, switch_pipeline=[])
    plain = Objects(train_dataset=Dataset(), **EPOCHS)
    assert check_hook("custom_hooks.0", {"type": "PipelineSwitchHook"}, hook, plain) == []
    for wrapped in (Repeat(Dataset()), Concat(Dataset(), Dataset()), Repeat(Repeat(Dataset()))):
        (f,) = check_hook("custom_hooks.0", {}, hook, Objects(train_dataset=wrapped, **EPOCHS))
        assert f["kind"] == "dataset" and "the switch does nothing" in f["message"]
        assert "Dataset" in f["message"].split("on the wrapped")[1]
    # MultiImageMixDataset has a pipeline of its own, which the hook replaces
    assert check_hook("custom_hooks.0", {}, hook, Objects(train_dataset=MixDataset(Dataset()), **EPOCHS)) == []


def test_switch_epochs_against_the_schedule():
    entry = {"type": "PipelineSwitchHook", "switch_epoch": 20}
    late = Hook("PipelineSwitchHook", switch_epoch=20, switch_pipeline=[])
    # past max_epochs of an epoch loop: DA824 reports it from the config alone, not twice
    assert check_hook("custom_hooks.1", entry, late, Objects(train_dataset=Dataset(), **EPOCHS)) == []
    early = Hook("PipelineSwitchHook", switch_epoch=0, switch_pipeline=[])
    (f,) = check_hook("custom_hooks.1", entry, early, Objects(train_dataset=Dataset(), **EPOCHS))
    assert "before the first epoch" in f["message"]
    iters = Objects(train_dataset=Dataset(), loop="IterBasedTrainLoop", schedule={"max_iters": 1000})
    (f,) = check_hook("custom_hooks.1", entry, Hook("PipelineSwitchHook", switch_epoch=5), iters)
    assert "never switches" in f["message"]
    # YOLOX: switches at epoch + 1 >= max_epochs - num_last_epochs
    mix = MixDataset(Dataset())
    yolox = {"type": "YOLOXModeSwitchHook", "num_last_epochs": 15}
    model = Detector(YoloxHead())
    (f,) = check_hook("custom_hooks.0", yolox, Hook("YOLOXModeSwitchHook", num_last_epochs=15),
                      Objects(model=model, train_dataset=mix, **EPOCHS))
    assert f["key"] == "custom_hooks.0.num_last_epochs" and "before the first epoch" in f["message"]
    assert check_hook("custom_hooks.0", yolox, Hook("YOLOXModeSwitchHook", num_last_epochs=2),
                      Objects(model=model, train_dataset=mix, **EPOCHS)) == []


def test_yolox_needs_a_mix_dataset_and_a_yolox_head():
    hook = Hook("YOLOXModeSwitchHook", num_last_epochs=2)
    found = check_hook("custom_hooks.0", {}, hook, Objects(model=Detector(Head()), train_dataset=Repeat(Dataset()),
                                                           **EPOCHS))
    assert sorted(f["kind"] for f in found) == ["dataset", "model"]
    model = next(f for f in found if f["kind"] == "model")
    assert "use_l1" in model["message"] and "does nothing" in model["message"]
    # a wrapper around the mix dataset hides its update_skip_type_keys
    (f,) = check_hook("custom_hooks.0", {}, hook, Objects(model=Detector(YoloxHead()),
                                                          train_dataset=Repeat(MixDataset(Dataset())), **EPOCHS))
    assert f["evidence"]["how"] == "calls" and "AttributeError" in f["message"]


def test_model_attributes_unwrapped_and_semi_supervised():
    mean_teacher = Hook("MeanTeacherHook", momentum=0.001, interval=1)
    (f,) = check_hook("custom_hooks.0", {}, mean_teacher, Objects(model=Detector(), **EPOCHS))
    assert f["kind"] == "model" and "AssertionError" in f["message"]
    same = Semi(Detector(), Detector())
    assert check_hook("custom_hooks.0", {}, mean_teacher, Objects(model=same, **EPOCHS)) == []
    other = Semi(Detector(), torch.nn.Sequential(torch.nn.Linear(2, 2)))
    (f,) = check_hook("custom_hooks.0", {}, mean_teacher, Objects(model=other, **EPOCHS))
    assert "parameter by parameter" in f["message"]
    (f,) = check_hook("custom_hooks.2", {}, Hook("SetEpochInfoHook"), Objects(model=same, **EPOCHS))
    assert "set_epoch" in f["message"]


def test_num_class_check_without_classes():
    hook = Hook("NumClassCheckHook")
    assert check_hook("custom_hooks.0", {}, hook, Objects(train_dataset=Repeat(Dataset()), **EPOCHS)) == []
    found = check_hook("custom_hooks.0", {}, hook, Objects(train_dataset=Repeat(Dataset(None)),
                                                           val_dataset=Dataset(None), **EPOCHS))
    assert [f["kind"] for f in found] == ["metainfo", "metainfo"] and "checks nothing" in found[0]["message"]


def test_intervals_and_checkpoint_by_epoch():
    iters = Objects(loop="IterBasedTrainLoop", schedule={"max_iters": 1000})
    ckpt = Hook("CheckpointHook", interval=500, by_epoch=True, save_last=True)
    (f,) = check_hook("default_hooks.checkpoint", {"interval": 500}, ckpt, iters)
    assert f["key"] == "default_hooks.checkpoint" and "only the last checkpoint" in f["message"]
    # by_epoch=True written in default_hooks.checkpoint is DA806's (static)
    assert check_hook("default_hooks.checkpoint", {"by_epoch": True}, ckpt, iters) == []
    assert len(check_hook("custom_hooks.0", {"by_epoch": True}, ckpt, iters)) == 1
    ok = Hook("CheckpointHook", interval=500, by_epoch=False, save_last=True)
    assert check_hook("default_hooks.checkpoint", {}, ok, iters) == []
    long = Hook("CheckpointHook", interval=24, by_epoch=True, save_last=False)
    # longer than the training in the loop's own unit: DA824's, from the config alone
    assert check_hook("default_hooks.checkpoint", {"interval": 24}, long, Objects(**EPOCHS)) == []
    loss = Hook("CheckInvalidLossHook", interval=5000)
    assert kinds(check_hook("custom_hooks.0", {"interval": 5000}, loss, iters)) == [
        ("interval", "custom_hooks.0.interval")]
    assert check_hook("custom_hooks.0", {}, loss, Objects(**EPOCHS)) == []  # iterations per epoch unknown


def test_ema_begin_and_interval():
    ema = Hook("EMAHook", begin_epoch=20, begin_iter=0, ema_cfg={"type": "ExponentialMovingAverage"})
    assert check_hook("custom_hooks.0", {"begin_epoch": 20}, ema, Objects(**EPOCHS)) == []  # DA824's
    # an iteration-based loop counts one epoch: begin_epoch=20 never comes, which the config alone does not say
    (f,) = check_hook("custom_hooks.0", {"begin_epoch": 20}, ema,
                      Objects(loop="IterBasedTrainLoop", schedule={"max_iters": 1000}))
    assert f["key"] == "custom_hooks.0.begin_epoch" and "asserts" in f["message"]
    fine = Hook("EMAHook", begin_epoch=0, begin_iter=0, ema_cfg={"interval": 2000})
    assert check_hook("custom_hooks.0", {}, fine, Objects(**EPOCHS)) == []
    (f,) = check_hook("custom_hooks.0", {"interval": 2000}, fine,
                      Objects(loop="IterBasedTrainLoop", schedule={"max_iters": 1000}))
    assert f["kind"] == "interval"


def test_drawing_needs_somewhere_to_go():
    class Vis:
        def __init__(self, n):
            self._vis_backends = {f"b{i}": object() for i in range(n)}

    draw = Hook("DetVisualizationHook", draw=True, show=False, test_out_dir=None)
    (f,) = check_hook("default_hooks.visualization", {"draw": True}, draw, Objects(visualizer=Vis(0)))
    assert f["key"] == "default_hooks.visualization.draw"
    assert check_hook("default_hooks.visualization", {}, draw, Objects(visualizer=Vis(1))) == []
    saved = Hook("DetVisualizationHook", draw=True, show=False, test_out_dir="vis")
    assert check_hook("default_hooks.visualization", {}, saved, Objects(visualizer=Vis(0))) == []


def test_best_rule_against_the_metric_name():
    ckpt = Hook("CheckpointHook", interval=1, by_epoch=True, save_last=True)
    entry = {"type": "CheckpointHook", "save_best": "coco/bbox_mAP", "rule": "less"}
    (f,) = check_hook("default_hooks.checkpoint", entry, ckpt, Objects(**EPOCHS))
    assert f["kind"] == "rule" and f["key"] == "default_hooks.checkpoint.rule" and "worst" in f["message"]
    for quiet in ({"save_best": "coco/bbox_mAP", "rule": "greater"}, {"save_best": "coco/bbox_mAP"},
                  {"save_best": "auto", "rule": "less"}, {"save_best": "top_error", "rule": "less"},
                  {"save_best": "crowd_human/mMR", "rule": "less"}, {"save_best": "custom_score", "rule": "less"}):
        assert check_hook("default_hooks.checkpoint", quiet, ckpt, Objects(**EPOCHS)) == [], quiet
    both = {"save_best": ["coco/bbox_mAP", "loss_val"], "rule": ["greater", "greater"]}
    (f,) = check_hook("default_hooks.checkpoint", both, ckpt, Objects(**EPOCHS))
    assert f["evidence"]["metric"] == "loss_val"
    stop = Hook("EarlyStoppingHook", monitor="coco/bbox_mAP", rule="less")
    (f,) = check_hook("custom_hooks.0", {"monitor": "coco/bbox_mAP", "rule": "less"}, stop, Objects(**EPOCHS))
    assert "stops the training early" in f["message"]


def test_out_dir_without_draw():
    hook = Hook("DetVisualizationHook", draw=False, show=False, test_out_dir="vis")
    (f,) = check_hook("default_hooks.visualization", {"test_out_dir": "vis"}, hook, Objects())
    assert f["kind"] == "not_drawn" and f["key"] == "default_hooks.visualization"
    drawn = Hook("DetVisualizationHook", draw=True, show=False, test_out_dir="vis")
    assert check_hook("default_hooks.visualization", {}, drawn, Objects()) == []


def test_check_runner_unwraps_the_model_and_the_short_runs_slice():
    """On a Runner's parts: the model inside an mmengine model wrapper, the training dataset inside the
    _SlicedDataset of the short run's num_batch_per_epoch, the hooks built again from the written config."""
    from types import SimpleNamespace

    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import DefaultScope
    from mmengine.runner.runner import _SlicedDataset

    import mmdet.engine.hooks  # noqa: F401 - registers mmdet's hooks
    from detaudit.facts.run.hook_probe import check_runner

    wrapper = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    torch.nn.Module.__init__(wrapper)
    wrapper.module = Semi(Detector(), Detector())

    class IterBasedTrainLoop:
        pass

    runner = SimpleNamespace(model=wrapper, train_dataloader=SimpleNamespace(
        dataset=_SlicedDataset(Repeat(Dataset()), 2)), visualizer=None, train_loop=IterBasedTrainLoop())
    cfg = {"train_cfg": {"type": "IterBasedTrainLoop", "max_iters": 100},
           "custom_hooks": [{"type": "MeanTeacherHook", "interval": 500, "priority": 49},
                            {"type": "PipelineSwitchHook", "switch_epoch": 0, "switch_pipeline": []}]}
    with DefaultScope.overwrite_default_scope("mmdet"):
        found = check_runner(runner, cfg)
    assert sorted((f["kind"], f["key"]) for f in found) == [
        ("dataset", "custom_hooks.1"), ("interval", "custom_hooks.0.interval")]
    dataset = next(f for f in found if f["kind"] == "dataset")
    assert dataset["evidence"]["wrappers"] == ["Repeat", "Dataset"]
