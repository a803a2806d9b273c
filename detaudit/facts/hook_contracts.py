"""What each hook of mmengine 0.10 and mmdet 3.3 needs from the objects the Runner gives it, as data.

Read from the hooks' own code (``scripts/mine_hook_contracts.py`` lists every attribute a hook
reads on ``runner.model``, ``runner.train_dataloader.dataset``, the loops, the visualizer...;
this table keeps the ones that are requirements: a read that raises, an ``assert``, a
``hasattr`` guard that turns the hook into a no-op, an assignment that only takes effect when
the object reads the attribute back, a stage reached only within the schedule). The run tier
(:mod:`detaudit.facts.run.hook_probe`) checks each entry on the built objects, through the
dataset wrappers and ``.module``; ``docs/hook-contracts.md`` explains them.

Every hook reads its model through ``is_model_wrapper(model) -> model.module``, and its training
dataset as ``runner.train_dataloader.dataset``: the outermost dataset, a wrapper when there is one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# How a hook uses an attribute (what happens when the object lacks it).
CALLS = "calls"        # a method called: AttributeError at that stage
ASSERTS = "asserts"    # an assert on hasattr: AssertionError (no message) at that stage
ASSIGNS = "assigns"    # an attribute assigned: takes effect only when the object reads it; otherwise nothing happens


@dataclass(frozen=True)
class Needs:
    """One attribute a hook reaches on a built object."""
    on: str                      # "model" (unwrapped) | "train_dataset" | "val_dataset"
    path: tuple[str, ...]        # alternatives, first that resolves wins: ("detector.bbox_head.use_l1", ...)
    how: str                     # CALLS | ASSERTS | ASSIGNS
    stage: str                   # the hook's method that reaches it
    when: str = ""               # for the message: what the hook does there


@dataclass(frozen=True)
class Switch:
    """An epoch at which a hook switches something, from its arguments."""
    argument: str                # the argument that sets it
    first_epoch: str             # how the 0-based epoch of the switch follows: "at" (epoch >= arg)
                                 # or "last" (epoch + 1 >= max_epochs - arg)
    what: str                    # what is switched (for messages)


@dataclass(frozen=True)
class Interval:
    """A period in training iterations (``every_n_train_iters`` / ``(runner.iter + 1) % n``)."""
    argument: str
    what: str


@dataclass(frozen=True)
class HookContract:
    hook: str
    module: str
    needs: tuple[Needs, ...] = ()
    switch: Switch | None = None
    intervals: tuple[Interval, ...] = ()
    metainfo: tuple[str, ...] = ()          # dataset.metainfo keys without which the hook does nothing
    notes: tuple[str, ...] = field(default=())


CONTRACTS: dict[str, HookContract] = {c.hook: c for c in (
    HookContract(
        "YOLOXModeSwitchHook", "mmdet.engine.hooks.yolox_mode_switch_hook",
        needs=(Needs("train_dataset", ("update_skip_type_keys",), CALLS, "before_train_epoch",
                     "turns the mixing transforms off (only MultiImageMixDataset has this method)"),
               Needs("model", ("detector.bbox_head.use_l1", "bbox_head.use_l1"), ASSIGNS, "before_train_epoch",
                     "switches the head's L1 loss on")),
        switch=Switch("num_last_epochs", "last", "the mixing transforms off and the L1 loss on")),
    HookContract(
        "PipelineSwitchHook", "mmdet.engine.hooks.pipeline_switch_hook",
        needs=(Needs("train_dataset", ("pipeline",), ASSIGNS, "before_train_epoch",
                     "replaces the training dataset's pipeline with switch_pipeline"),),
        switch=Switch("switch_epoch", "at", "the training pipeline to switch_pipeline")),
    HookContract(
        "MeanTeacherHook", "mmdet.engine.hooks.mean_teacher_hook",
        needs=(Needs("model", ("teacher",), ASSERTS, "before_train", "checks the teacher exists"),
               Needs("model", ("student",), ASSERTS, "before_train", "checks the student exists")),
        intervals=(Interval("interval", "updates the teacher from the student"),),
        notes=("momentum_update zips student and teacher parameters: a teacher whose parameters differ in "
               "names or number is updated out of step, silently",)),
    HookContract(
        "SetEpochInfoHook", "mmdet.engine.hooks.set_epoch_info_hook",
        needs=(Needs("model", ("set_epoch",), CALLS, "before_train_epoch", "tells the model the epoch"),)),
    HookContract(
        "NumClassCheckHook", "mmdet.engine.hooks.num_class_check_hook",
        metainfo=("classes",),
        notes=("without dataset.metainfo['classes'] the hook logs a warning and checks nothing",)),
    HookContract(
        "EMAHook", "mmengine.hooks.ema_hook",
        notes=("before_train asserts begin_epoch <= max_epochs (or begin_iter <= max_iters); the average "
               "starts at the first epoch with epoch + 1 >= begin_epoch",)),
    HookContract(
        "CheckpointHook", "mmengine.hooks.checkpoint_hook",
        notes=("by_epoch=True saves in after_train_epoch, which an IterBasedTrainLoop calls once, at the end",)),
    HookContract(
        "CheckInvalidLossHook", "mmdet.engine.hooks.checkloss_hook",
        intervals=(Interval("interval", "checks that the loss is finite"),)),
    HookContract(
        "DetVisualizationHook", "mmdet.engine.hooks.visualization_hook",
        notes=("draw=True draws every interval-th validation image and every test image; a drawing is kept "
               "only by show=True, test_out_dir (test) or the visualizer's vis_backends",)),
    HookContract(
        "EarlyStoppingHook", "mmengine.hooks.early_stopping_hook",
        notes=("monitor must be a validation metric name: DA714 checks it",)),
)}

# Loops whose training epoch hooks run once in the whole training (the schedule counts iterations).
ITER_LOOPS = ("IterBasedTrainLoop",)
# Visualization hooks with draw/show/test_out_dir as DetVisualizationHook has them.
DRAWING_HOOKS = ("DetVisualizationHook", "TrackVisualizationHook", "GroundingVisualizationHook")
