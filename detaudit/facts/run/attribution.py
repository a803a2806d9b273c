"""Which component an exception raised inside the Runner came from, and the key to edit.

The traceback is read innermost first: a frame running a method of a hook names the hook
and the stage it was in (``after_val_epoch``); of a transform, the pipeline and the step;
of a metric or evaluator, the evaluator; of a parameter scheduler, the scheduler; of the
model, the iteration that failed and the deepest module; of a visualizer or its backend, the
visualizer. The objects are matched to the config keys that built them by identity.
"""
from __future__ import annotations

from ...errors import ErrorInfo
from .components import (CHECKPOINT, DATALOADER, EVALUATOR, HOOK, ITERATION, LOOP, PIPELINE, RUN, SAVE_BEST,
                         SCHEDULER, VISUALIZER, RunFailure)


class KeyIndex:
    """Objects the Runner built -> the config key that built them."""

    def __init__(self):
        self.keys: dict[int, tuple[str, str, dict]] = {}   # id -> (component, key, detail)

    def add(self, obj, component: str, key: str, **detail) -> None:
        self.keys[id(obj)] = (component, key, detail)

    def index_runner(self, runner, cfg) -> None:
        """Hooks by their config entry, transforms by pipeline and step, samplers by loader, schedulers by
        index."""
        from ...rule.config import is_mapping, node_type

        defaults = cfg.get("default_hooks", None) or {}
        customs = list(cfg.get("custom_hooks", None) or [])
        used = set()
        for hook in runner.hooks:
            name = type(hook).__name__
            key = next((f"default_hooks.{k}" for k, v in defaults.items()
                        if is_mapping(v) and node_type(v) == name and f"default_hooks.{k}" not in used), None)
            if key is None:
                key = next((f"custom_hooks.{i}" for i, v in enumerate(customs)
                            if is_mapping(v) and node_type(v) == name and f"custom_hooks.{i}" not in used), None)
            if key is not None:
                used.add(key)
                self.add(hook, HOOK, key, hook=name)
        for name in ("train", "val", "test"):
            loop = getattr(runner, f"_{name}_loop", None)  # a built loop holds its built dataloader
            loader = getattr(loop, "dataloader", None) if loop is not None and not isinstance(loop, dict) else None
            if loader is not None:
                self.index_dataset(getattr(loader, "dataset", None), f"{name}_dataloader.dataset", cfg)
                for part in ("sampler", "batch_sampler"):  # a sampler that loops forever is stopped inside itself
                    sampler = getattr(loader, part, None)
                    if sampler is not None and is_mapping(cfg.get(f"{name}_dataloader", None)) and \
                            cfg[f"{name}_dataloader"].get(part, None) is not None:
                        self.add(sampler, DATALOADER, f"{name}_dataloader.{part}", part=part,
                                 sampler=type(sampler).__name__)
        if getattr(runner, "log_processor", None) is not None:
            self.add(runner.log_processor, RUN, "log_processor", part="log_processor")
        schedulers = runner.param_schedulers
        if isinstance(schedulers, list):
            for i, s in enumerate(schedulers):
                if not isinstance(s, dict):
                    self.add(s, SCHEDULER, f"param_scheduler.{i}", scheduler=type(s).__name__)

    def index_dataset(self, dataset, path: str, cfg, depth: int = 0) -> None:
        if dataset is None or depth > 8:
            return
        if type(dataset).__name__ == "_SlicedDataset":  # num_batch_per_epoch: the same dataset, cut short
            # its __getattr__ passes every name on: `.dataset` would be a wrapper's inner dataset
            self.index_dataset(vars(dataset).get("_dataset"), path, cfg, depth + 1)
            return
        inner = getattr(dataset, "dataset", None) or getattr(dataset, "_dataset", None)
        datasets = getattr(dataset, "datasets", None)
        if isinstance(datasets, (list, tuple)):
            for i, d in enumerate(datasets):
                self.index_dataset(d, f"{path}.datasets.{i}", cfg, depth + 1)
        elif inner is not None and hasattr(inner, "__getitem__"):
            self.index_dataset(inner, f"{path}.dataset", cfg, depth + 1)
        pipeline = getattr(dataset, "pipeline", None)
        for i, transform in enumerate(getattr(pipeline, "transforms", None) or []):
            self.add(transform, PIPELINE, f"{path}.pipeline.{i}", step=i, transform=type(transform).__name__,
                     pipeline=f"{path}.pipeline", meta_keys=list(getattr(transform, "meta_keys", None) or ()))


# The Runner's build methods, and the component and config key each builds.
RUNNER_BUILDS = {
    "build_train_loop": (LOOP, "train_cfg"), "build_val_loop": (LOOP, "val_cfg"), "build_test_loop": (LOOP, "test_cfg"),
    "build_dataloader": (DATALOADER, None), "build_evaluator": (EVALUATOR, None),
    "build_param_scheduler": (SCHEDULER, "param_scheduler"), "build_visualizer": (VISUALIZER, "visualizer"),
    "register_hooks": (HOOK, None), "register_custom_hooks": (HOOK, "custom_hooks"),
    "register_default_hooks": (HOOK, "default_hooks"),
}
COLLATE_FUNCTIONS = ("pseudo_collate", "default_collate", "yolov5_collate", "collate")
LOADER_OF_STAGE = {"build_train_loop": "train_dataloader", "build_val_loop": "val_dataloader",
                   "build_test_loop": "test_dataloader"}


def attribute(exc: BaseException, stage: str, index: KeyIndex, module_names: dict[int, str],
              evaluator_key: str | None, cfg=None) -> RunFailure:
    """The failure an exception stands for. ``stage``: train, val, test, checkpoint, resume."""
    from torch import nn

    # mmengine re-raises a hook's TypeError as a new one (``raise TypeError(f'{e} in {hook}') from
    # None``): the frames that say where it happened are on the original, in __context__
    origin = exc
    while origin.__context__ is not None and origin.__suppress_context__ and origin.__context__.__traceback__:
        origin = origin.__context__
    info = ErrorInfo.from_exception(exc)
    frames = []
    for e in (exc, origin) if origin is not exc else (exc,):
        tb = e.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
    built = _runner_build(frames, info, cfg, stage)
    if built is not None:
        return built
    collate = next((f.f_code.co_name for f in frames if f.f_code.co_name in COLLATE_FUNCTIONS), None)
    if collate is not None:  # putting the samples of a batch together failed: what the pipeline packs
        loader = {"val": "val_dataloader", "test": "test_dataloader"}.get(stage, "train_dataloader")
        return RunFailure(DATALOADER, f"{loader}.collate_fn", stage, info, {"part": "collate_fn", "function": collate})
    deepest_module = None
    for frame in reversed(frames):  # innermost first
        owner = frame.f_locals.get("self")
        if owner is None:
            continue
        known = index.keys.get(id(owner))
        if known is not None:
            component, key, detail = known
            if component == HOOK:
                hook_stage = _hook_stage(frames, owner) or frame.f_code.co_name
                in_best = "best" in frame.f_code.co_name  # CheckpointHook._save_best_checkpoint looking a metric up
                if detail.get("hook") == "CheckpointHook" and isinstance(exc, KeyError) and in_best:
                    return RunFailure(SAVE_BEST, f"{key}.save_best", stage, info, dict(detail, stage=hook_stage))
                if detail.get("hook") == "CheckpointHook":
                    return RunFailure(CHECKPOINT, key, stage, info, dict(detail, stage=hook_stage))
                return RunFailure(HOOK, key, stage, info, dict(detail, stage=hook_stage))
            return RunFailure(component, key, stage, info, dict(detail))
        kind = _kind(owner)
        if kind == "metric" and evaluator_key:
            return RunFailure(EVALUATOR, evaluator_key, stage, info, {"metric": type(owner).__name__})
        if kind == "visualizer":
            return RunFailure(VISUALIZER, "visualizer", stage, info, {"object": type(owner).__name__})
        if kind == "loop":
            loop_key = {"train": "train_cfg", "val": "val_cfg", "test": "test_cfg"}.get(stage, "train_cfg")
            if deepest_module is None and not _called_model(frames, module_names):
                return RunFailure(LOOP, loop_key, stage, info, {"loop": type(owner).__name__})
        if isinstance(owner, nn.Module) and deepest_module is None:
            deepest_module = module_names.get(id(owner))
    if deepest_module is not None or _called_model(frames, module_names):
        unproduced = _unproduced_metainfo(exc, stage, index)
        if unproduced is not None:
            pipeline, detail = unproduced
            return RunFailure(ITERATION, pipeline, stage, info, dict(detail, module=deepest_module))
        return RunFailure(ITERATION, "model", stage, info, {"module": deepest_module})
    return RunFailure(RUN, "", stage, info, {})


def _unproduced_metainfo(exc: BaseException, stage: str, index: KeyIndex) -> tuple[str, dict] | None:
    """The model looked up (``KeyError``, or an assertion on its line) a metainfo name that the
    pipeline's packing step lists in ``meta_keys``: the packer skips names no earlier step set
    (mmdet's PackDetInputs does), so the fix is the pipeline."""
    import linecache

    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    failing_line = linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb is not None else ""
    text = f"{exc.args[0] if isinstance(exc, KeyError) and exc.args else exc} {failing_line}"
    loader = {"val": "val_dataloader", "test": "test_dataloader"}.get(stage, "train_dataloader")
    for component, key, detail in index.keys.values():
        if component != PIPELINE or not key.startswith(loader + "."):
            continue
        named = [n for n in detail.get("meta_keys", ()) if n == text.split(" ", 1)[0] or f"'{n}'" in text
                 or f'"{n}"' in text]
        if named:
            return detail["pipeline"], {"metainfo": named[0], "packer": key, "transform": detail["transform"]}
    return None


def _runner_build(frames, info: ErrorInfo, cfg, stage: str) -> RunFailure | None:
    """A failure inside one of the Runner's build methods: the component it was building, at
    the key of that component (refined to the argument the message names)."""
    from ...rule.config import locate_build_failure

    names = [f.f_code.co_name for f in frames if type(f.f_locals.get("self")).__name__ == "Runner"]
    name = next((n for n in reversed(names) if n in RUNNER_BUILDS), None)
    if name is None:
        return None
    component, key = RUNNER_BUILDS[name]
    if key is None:  # which loader or evaluator: the innermost build_*_loop on the way says
        loop = next((n for n in reversed(names) if n in LOADER_OF_STAGE), None)
        loader = LOADER_OF_STAGE.get(loop, "train_dataloader")
        key = loader if component == DATALOADER else loader.replace("dataloader", "evaluator")
        if component == HOOK:
            key = "custom_hooks"
    node = cfg.get(key, None) if cfg is not None and "." not in key else None
    where = locate_build_failure(info.message, node, key) if node is not None else None
    detail = {"argument": where.argument} if where is not None and where.argument else {}
    return RunFailure(component, where.key_path if where is not None else key, "build" if stage != "resume" else stage,
                      info, detail)


def _hook_stage(frames, hook) -> str | None:
    """The outermost stage method (``before_train_epoch``...) of this hook on the stack."""
    return next((f.f_code.co_name for f in frames if f.f_locals.get("self") is hook
                 and f.f_code.co_name.startswith(("before_", "after_"))), None)


def _called_model(frames, module_names) -> bool:
    return any(id(f.f_locals.get("self")) in module_names for f in frames if f.f_locals.get("self") is not None)


def _kind(owner) -> str | None:
    names = {c.__name__ for c in type(owner).__mro__}
    if names & {"BaseMetric", "Evaluator"}:
        return "metric"
    if names & {"Visualizer", "BaseVisBackend"}:
        return "visualizer"
    if "BaseLoop" in names:
        return "loop"
    return None


def locate_frames(frames, stage: str, index: KeyIndex, module_names: dict[int, str], runner=None,
                  cfg=None) -> dict:
    """Which component code running at ``frames`` (live frames, innermost first) belongs to, as
    :func:`attribute` reads a traceback: a hook by its key (and the stage method it is in), a
    transform by its pipeline step, a scheduler, then the model's deepest module, the visualizer,
    an evaluator. For a blocking call (:mod:`..blocking`) or a run stopped at its time bound."""
    for refresh in (False, True):
        if refresh:
            if runner is None:
                break
            try:
                index.index_runner(runner, cfg)  # the loops (and their pipelines) are built lazily
            except Exception:  # noqa: BLE001
                break
        for frame in frames:
            owner = frame.f_locals.get("self")
            known = index.keys.get(id(owner)) if owner is not None else None
            if known is None:
                continue
            component, key, detail = known
            detail = dict(detail)
            if component == HOOK:
                detail["stage"] = _hook_stage(list(reversed(frames)), owner) or frame.f_code.co_name
            return {"key": key, "component": component, "stage": stage, "detail": detail}
    for frame in frames:
        owner = frame.f_locals.get("self")
        if owner is None:
            continue
        if id(owner) in module_names:
            return {"key": "model", "component": ITERATION, "stage": stage,
                    "detail": {"module": module_names[id(owner)] or type(owner).__name__}}
        kind = _kind(owner)
        if kind == "visualizer":
            return {"key": "visualizer", "component": VISUALIZER, "stage": stage,
                    "detail": {"object": type(owner).__name__}}
        if kind == "metric":
            key = {"test": "test_evaluator"}.get(stage, "val_evaluator")
            return {"key": key, "component": EVALUATOR, "stage": stage, "detail": {"metric": type(owner).__name__}}
    return {"stage": stage}
