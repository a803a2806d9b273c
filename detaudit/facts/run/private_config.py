"""The run tier's private copy of a config: the config's own components, made to run once,
fast, in a temporary folder, and to write nothing anywhere else.

Every change is recorded as a :class:`RunChange` (key, value before, value after, why), and
the report lists them: what was redirected (work dir, output paths, data), shortened (the
schedule: one epoch of two batches, or two iterations), made small (image sizes scaled to a
160-pixel long side, or a larger one when the run is repeated after a size error; batches of at
most two, no worker processes) or replaced because it
cannot run here (remote visualizer backends, SyncBN, AMP). Types and arguments that are not
about time, size or place are left exactly as written, so that what fails here fails in
training too.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...rule.config import datasets_under, is_mapping, node_type, walk_dicts

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
LONG_SIDE = 160            # images are scaled so that the long side of a configured size is this
LARGER_SIDES = (320, 640)  # ... or these, when the model fails on a size (a DETR's 900 queries need positions)
MAX_BATCH = 2
TRAIN_BATCHES = 2          # batches per training epoch (num_batch_per_epoch)
EVAL_BATCHES = 1           # batches per validation or test pass
# Keys of transforms that hold an image size (scalars, (w, h) pairs or lists of pairs).
SIZE_KEYS = ("scale", "scales", "img_scale", "crop_size", "size")
# Keys anywhere in hooks, evaluators and the visualizer that name where output is written.
OUTPUT_KEYS = ("out_dir", "save_dir", "outfile_prefix", "output_dir", "test_out_dir", "out_file", "save_path")
LOCAL_VIS_BACKENDS = ("LocalVisBackend", "TensorboardVisBackend")
NORMS_NEEDING_A_GROUP = ("SyncBN", "MMSyncBN", "NaiveSyncBN")
# Samplers whose batches are composed by source_ratio from the batch size: a smaller batch leaves a source out.
MULTI_SOURCE_SAMPLERS = ("GroupMultiSourceSampler", "MultiSourceSampler")


@dataclass
class RunChange:
    key_path: str
    was: Any
    now: Any
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key_path, "was": _plain(self.was), "now": _plain(self.now), "why": self.why}


class PrivateConfig:
    """Builds the copy, recording each change."""

    def __init__(self, cfg, folder: Path, base_dir: Path, long_side: int = LONG_SIDE):
        self.cfg = copy.deepcopy(cfg)
        self.folder = folder
        self.base_dir = base_dir
        self.long_side = long_side
        self.changes: list[RunChange] = []

    def set(self, node, key, value, path: str, why: str) -> None:
        was = node.get(key, None) if is_mapping(node) else None
        if was == value:
            return
        node[key] = value
        self.changes.append(RunChange(path, was, value, why))

    def out(self, name: str) -> str:
        path = self.folder / "out" / name
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    # ------------------------------------------------------------------ the whole copy
    def prepare(self) -> None:
        cfg = self.cfg
        self.set(cfg, "work_dir", str(self.folder / "work_dir"), "work_dir", "the run writes into a temporary folder")
        self.set(cfg, "launcher", "none", "launcher", "one process")
        self.set(cfg, "log_level", "ERROR", "log_level", "the report is the output")
        # the Runner prints the config into its log and every checkpoint; formatting it with yapf costs
        # seconds each time, and the text is the same without it
        object.__setattr__(self.cfg, "_format_python_code", False)
        self.set(cfg, "experiment_name", f"detaudit-run-{os.getpid()}-{id(self)}", "experiment_name",
                 "a name no other run in this process uses")
        if cfg.get("resume", False):
            self.set(cfg, "resume", False, "resume", "the first run starts fresh; resuming is tried after it")
        self._load_from()
        self._loaders()
        self._schedule()
        self._hooks()
        self._visualizer()
        self._outputs()
        self._optimizer()
        self._norms()
        for path, pipeline in self.pipelines():
            self._scale(pipeline, path)

    def _load_from(self) -> None:
        source = self.cfg.get("load_from", None)
        if not source:
            return
        local = Path(source) if os.path.isabs(str(source)) else self.base_dir / str(source)
        if isinstance(source, str) and local.is_file():
            self.set(self.cfg, "load_from", str(local.resolve()), "load_from", "the file read where training reads it")
        else:
            self.set(self.cfg, "load_from", None, "load_from", "not on this machine (DA201/DA205 report it)")

    def _loaders(self) -> None:
        for name in LOADERS:
            loader = self.cfg.get(name, None)
            if not is_mapping(loader):
                continue
            self.set(loader, "num_workers", 0, f"{name}.num_workers", "no worker processes")
            if loader.get("persistent_workers", False):
                self.set(loader, "persistent_workers", False, f"{name}.persistent_workers", "no worker processes")
            if loader.get("pin_memory", False):
                self.set(loader, "pin_memory", False, f"{name}.pin_memory", "CPU run")
            size = loader.get("batch_size", None)
            multi_source = node_type(loader.get("sampler", None)) in MULTI_SOURCE_SAMPLERS
            if isinstance(size, int) and size > MAX_BATCH and not multi_source:
                self.set(loader, "batch_size", MAX_BATCH, f"{name}.batch_size", f"at most {MAX_BATCH} samples a batch")
            for path, ds in datasets_under(loader.get("dataset", None), f"{name}.dataset"):
                if ds.get("serialize_data", True):
                    # serializing a dataset ends with a full garbage collection: ~1 s each in a torch process
                    self.set(ds, "serialize_data", False, f"{path}.serialize_data", "a few samples need no sharing")
            if multi_source:  # it composes each batch from several datasets: slicing would leave them out
                continue
            batches = TRAIN_BATCHES if name == "train_dataloader" else EVAL_BATCHES
            self.set(loader, "num_batch_per_epoch", batches, f"{name}.num_batch_per_epoch",
                     f"{batches} batch(es) an epoch")

    def _schedule(self) -> None:
        train = self.cfg.get("train_cfg", None)
        if not is_mapping(train):
            return
        self._scheduler_ends(train)
        if "max_epochs" in train or node_type(train).startswith("EpochBased"):
            self.set(train, "max_epochs", 1, "train_cfg.max_epochs", "one epoch runs train, val and checkpoint once")
            self.set(train, "val_interval", 1, "train_cfg.val_interval", "validate after that epoch")
            if "val_begin" in train:
                self.set(train, "val_begin", 1, "train_cfg.val_begin", "validate after that epoch")
        elif "max_iters" in train or node_type(train).startswith("IterBased"):
            self.set(train, "max_iters", TRAIN_BATCHES, "train_cfg.max_iters", "two iterations")
            self.set(train, "val_interval", TRAIN_BATCHES, "train_cfg.val_interval", "validate after them")
            if "val_begin" in train:
                self.set(train, "val_begin", 1, "train_cfg.val_begin", "validate after them")

    def _scheduler_ends(self, train) -> None:
        """A scheduler without ``end`` ends where training does (mmengine's default): written out at the
        length as configured, so that the shortened run steps it as the first epochs of the real one would
        (a ReduceOnPlateau monitor is read after the first validation, not skipped as past the end)."""
        length, by_epoch = (train.get("max_epochs", None), True) if "max_epochs" in train else \
            (train.get("max_iters", None), False)
        if not isinstance(length, int) or isinstance(length, bool):
            return
        value = self.cfg.get("param_scheduler", None)
        entries = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
        for i, scheduler in entries:
            if is_mapping(scheduler) and "end" not in scheduler and bool(scheduler.get("by_epoch", True)) == by_epoch:
                path = "param_scheduler" if i is None else f"param_scheduler.{i}"
                self.set(scheduler, "end", length, f"{path}.end", "where the configured training ends, as "
                         "mmengine would set it; the shortened run would end the scheduler after its first epoch")

    def iter_based(self) -> bool:
        train = self.cfg.get("train_cfg", None)
        return is_mapping(train) and ("max_iters" in train or node_type(train).startswith("IterBased"))

    def _hooks(self) -> None:
        hooks = self.cfg.get("default_hooks", None)
        if not is_mapping(hooks):
            return
        interval = TRAIN_BATCHES if self.iter_based() else 1
        checkpoint = hooks.get("checkpoint", None)
        if is_mapping(checkpoint):
            self.set(checkpoint, "interval", interval, "default_hooks.checkpoint.interval",
                     "a checkpoint is written at the end of the short schedule")
        logger = hooks.get("logger", None)
        if is_mapping(logger):
            self.set(logger, "interval", 1, "default_hooks.logger.interval", "log every iteration")

    def _visualizer(self) -> None:
        vis = self.cfg.get("visualizer", None)
        if not is_mapping(vis):
            return
        self.set(vis, "name", f"{self.cfg['experiment_name']}-visualizer", "visualizer.name", "its own instance")
        backends = vis.get("vis_backends", None)
        if not isinstance(backends, list):
            return
        kept = []
        for i, backend in enumerate(backends):
            path = f"visualizer.vis_backends.{i}"
            if is_mapping(backend) and node_type(backend) in LOCAL_VIS_BACKENDS:
                self.set(backend, "save_dir", self.out(f"vis_{i}"), f"{path}.save_dir", "written into the run's folder")
                kept.append(backend)
            else:
                # its type is checked against the registry on the config as written (components.py); a
                # remote service is never contacted
                self.changes.append(RunChange(path, _plain(backend), None, "no remote logging service in the run"))
        if not kept and backends:
            kept = [{"type": "LocalVisBackend", "save_dir": self.out("vis")}]
        vis["vis_backends"] = kept

    def _outputs(self) -> None:
        roots = ("default_hooks", "custom_hooks", "val_evaluator", "test_evaluator")
        for root in roots:
            for path, node in walk_dicts(self.cfg.get(root, None), root):
                for key in OUTPUT_KEYS:
                    if isinstance(node.get(key, None), str) and node.get(key):
                        self.set(node, key, self.out(path.replace(".", "_") + "_" + key), f"{path}.{key}",
                                 "written into the run's folder")

    def _optimizer(self) -> None:
        ow = self.cfg.get("optim_wrapper", None)
        if is_mapping(ow) and str(ow.get("type", "")).endswith("AmpOptimWrapper"):
            self.set(ow, "type", "OptimWrapper", "optim_wrapper.type", "mixed precision needs a GPU")
            for key in ("loss_scale", "dtype", "use_fsdp"):
                if key in ow:
                    was = ow.pop(key)
                    self.changes.append(RunChange(f"optim_wrapper.{key}", was, None, "mixed precision needs a GPU"))

    def _norms(self) -> None:
        for path, node in walk_dicts(self.cfg.get("model", None), "model"):
            if node_type(node) in NORMS_NEEDING_A_GROUP:
                self.set(node, "type", "BN", f"{path}.type", "one process: synchronized BatchNorm has no group")

    # ------------------------------------------------------------------ sizes
    def pipelines(self):
        """(key path, pipeline list) of every dataset of every loader, wrappers included."""
        for name in LOADERS:
            loader = self.cfg.get(name, None)
            if not is_mapping(loader):
                continue
            for path, node in walk_dicts(loader.get("dataset", None), f"{name}.dataset"):
                if isinstance(node.get("pipeline", None), list):
                    yield f"{path}.pipeline", node["pipeline"]

    def _scale(self, pipeline: list, path: str, factor: float | None = None) -> float | None:
        """Scale every size in the pipeline by one factor, set by its first size above the long side,
        so that the branches of a RandomChoice keep their proportions (a crop stays smaller than the
        resize before it)."""
        for i, step in enumerate(pipeline):
            if isinstance(step, list):  # RandomChoice's transforms: a list of pipelines
                factor = self._scale(step, f"{path}.{i}", factor)
                continue
            if not is_mapping(step):
                continue
            for key in SIZE_KEYS:
                value = step.get(key, None)
                largest = _largest(value)
                if largest is None or (factor is None and largest <= self.long_side):
                    continue
                factor = factor or self.long_side / largest
                self.set(step, key, _scaled(value, factor), f"{path}.{i}.{key}",
                         f"images scaled by {factor:.3f} (long side {self.long_side} px)")
            # pipelines inside a step: RandomChoice / RandomApply / TTA's transforms, MultiBranch's branches
            for key, inner in list(step.items()):
                if _is_pipeline(inner):
                    factor = self._scale(inner, f"{path}.{i}.{key}", factor)
        return factor


def _is_pipeline(value) -> bool:
    """A list of transforms (or of pipelines, as RandomChoice holds them)."""
    return isinstance(value, list) and bool(value) and \
        all((is_mapping(v) and "type" in v) or _is_pipeline(v) for v in value)


def _largest(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)) and value:
        inner = [_largest(v) for v in value]
        inner = [v for v in inner if v is not None]
        return max(inner) if inner else None
    return None


def _scaled(value, factor: float):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return max(16, int(round(value * factor)))
    if isinstance(value, float):
        return value * factor if value > 1 else value  # ratios stay
    if isinstance(value, tuple):
        return tuple(_scaled(v, factor) for v in value)
    if isinstance(value, list):
        return [_scaled(v, factor) for v in value]
    return value


def _plain(value):
    if is_mapping(value):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
