"""The run's own hook, first in every stage: which stage runs, the metrics each pass produced, an
epoch that never ends, and what validating and testing need from an untrained model (every
detection let through; the metrics computed on the images the run evaluated)."""
from __future__ import annotations

import contextlib

from .private_config import TRAIN_BATCHES

# Seconds a loop may wait for its next batch (from the start of the loop or the end of the last
# iteration to the start of the next; the model's own steps and the metric are not timed): a loader
# or sampler that takes longer never yields (GroupMultiSourceSampler asked for 0 samples of a source loops forever), so
# the run stops there, with the stack that says where, instead of at the tier's time bound.
STALL_SECONDS = 300.0


class RunawayEpoch(RuntimeError):
    """The training epoch went on past every batch the run asked for: it would never end."""


class StalledLoader(RuntimeError):
    """No batch came within :data:`STALL_SECONDS`: the dataloader or its sampler never yields one."""


class _BatchClock:
    """An alarm for the next batch of a loop, reset at each batch and removed when the loop ends."""

    def __init__(self):
        self.previous = None
        self.armed = False

    def arm(self, what: str) -> None:
        import signal

        def stalled(signum, frame):
            raise StalledLoader(f"no {what} batch came within {STALL_SECONDS:g} s: the dataloader or its "
                                "sampler does not yield one")

        with contextlib.suppress(ValueError, OSError):  # not the main thread: no alarm, the tier's bound stands
            handler = signal.signal(signal.SIGALRM, stalled)
            if not self.armed:
                self.previous = handler
            signal.setitimer(signal.ITIMER_REAL, STALL_SECONDS)
            self.armed = True

    def arm_unless_last(self, what: str, batch_idx: int, loop) -> None:
        """Arm for the next batch, unless that was the last (the metric comes next, not a batch)."""
        try:
            last = batch_idx + 1 >= len(loop.dataloader)
        except TypeError:  # a loader without a length: keep waiting for a batch
            last = False
        if not last:
            self.arm(what)

    def disarm(self) -> None:
        import signal

        if not self.armed:
            return
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous if self.previous is not None else signal.SIG_DFL)
        self.armed = False


def watch_run(runner, result, model):
    """A hook of ours, first in every stage: which stage runs, the metrics each pass produced, an
    epoch that does not end, and every detection let through while validating and testing."""
    from mmengine.hooks import Hook

    limit = 3 * TRAIN_BATCHES  # iterations a run may take before its epoch is called endless

    class Watch(Hook):
        priority = "VERY_HIGH"
        stage = "train"
        iterations = 0

        def before_train_epoch(self, runner):
            clock.arm("training")

        def after_train_epoch(self, runner):
            clock.disarm()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            clock.arm("training")

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.stage = "train"
            clock.disarm()
            self.iterations += 1
            if self.iterations > limit:
                sampler = type(getattr(runner.train_dataloader, "sampler", None)).__name__
                raise RunawayEpoch(f"the training epoch did not end after {limit} iterations (the run asks for "
                                   f"{TRAIN_BATCHES}): its sampler ({sampler}) never ends an epoch")

        def before_val_epoch(self, runner):
            self.stage = "val"
            thresholds.lower()
            clock.arm("validation")

        def before_val_iter(self, runner, batch_idx, data_batch=None):
            clock.disarm()

        def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            _evaluated_images_only(runner.val_loop.evaluator)
            clock.arm_unless_last("validation", batch_idx, runner.val_loop)

        def before_test_iter(self, runner, batch_idx, data_batch=None):
            clock.disarm()

        def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            _evaluated_images_only(runner.test_loop.evaluator)
            clock.arm_unless_last("test", batch_idx, runner.test_loop)

        def after_val_epoch(self, runner, metrics=None):
            clock.disarm()
            thresholds.restore()
            result.metrics["val"] = dict(metrics or {})

        def before_test_epoch(self, runner):
            self.stage = "test"
            thresholds.lower()
            clock.arm("test")

        def after_test_epoch(self, runner, metrics=None):
            clock.disarm()
            thresholds.restore()
            result.metrics["test"] = dict(metrics or {})

    thresholds = _ScoreThresholds(model)
    clock = _BatchClock()
    watch = Watch()
    watch.thresholds = thresholds
    watch.clock = clock
    runner.register_hook(watch, priority="VERY_HIGH")
    return watch


def _evaluated_images_only(evaluator) -> None:
    """A metric that reads the image ids of its whole annotation file (CocoMetric's ``img_ids``)
    evaluates the images the run evaluated, as a full validation evaluates all of them: otherwise
    images no batch reached count as missed, and the proposal recall (``proposal_fast``), which
    pairs each image with a result, fails its assertion."""
    for metric in getattr(evaluator, "metrics", None) or []:
        if not hasattr(metric, "img_ids") or not getattr(metric, "results", None):
            continue
        ids = [_img_id(entry) for entry in metric.results]
        if None not in ids:
            metric.img_ids = ids


def _img_id(entry):
    for part in entry if isinstance(entry, (tuple, list)) else (entry,):
        if isinstance(part, dict) and "img_id" in part:
            return part["img_id"]
    return None


class _ScoreThresholds:
    """Random weights score below any threshold: while validating and testing, let every detection
    through so that the evaluator computes its metrics (and their names can be checked). Training
    (a teacher's pseudo-labels) keeps the config's thresholds."""

    def __init__(self, model):
        self.model = model
        self.saved: list = []

    def lower(self) -> None:
        if self.saved:
            return
        for m in self.model.modules():
            for node in _dicts(getattr(m, "test_cfg", None)):
                if isinstance(node.get("score_thr", None), (int, float)):
                    self.saved.append((node, node["score_thr"]))
                    node["score_thr"] = 0.0

    def restore(self) -> None:
        for node, value in self.saved:
            node["score_thr"] = value
        self.saved = []


def _dicts(node, depth: int = 0):
    if depth > 4 or not hasattr(node, "items"):
        return
    yield node
    for v in list(node.values()):
        yield from _dicts(v, depth + 1)
