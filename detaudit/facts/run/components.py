"""Building what the Runner builds, one component at a time, before the Runner does.

The Runner builds hooks, the visualizer, datasets (with their pipelines), samplers,
evaluators and parameter schedulers in one go, and an error from deep inside names a class,
not the key to edit. Building each here first, from its own key, attributes a failure
exactly: ``train_dataloader.dataset.img_prefix``, ``custom_hooks.2``,
``train_dataloader.dataset.pipeline.3``. Each failure is a :class:`RunFailure`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ...errors import ErrorInfo
from ...rule.config import datasets_under, is_mapping, locate_build_failure, node_type

# Components, as the findings name them (one DA7xx rule reads each kind).
DATALOADER, PIPELINE, EVALUATOR, HOOK, SCHEDULER, LOOP, VISUALIZER, CHECKPOINT, SAVE_BEST, ITERATION, RUN = (
    "dataloader", "pipeline", "evaluator", "hook", "param_scheduler", "loop", "visualizer", "checkpoint",
    "save_best", "iteration", "run")


@dataclass
class RunFailure:
    component: str                 # one of the kinds above
    key_path: str                  # the key to edit
    stage: str                     # "build", "train", "val", "test", "checkpoint", "resume", or a hook stage
    error: ErrorInfo
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"component": self.component, "key": self.key_path, "stage": self.stage, "error": self.error.short(),
                **self.detail}


def _failure(component: str, exc: BaseException, node, path: str, stage: str = "build", **detail) -> RunFailure:
    info = ErrorInfo.from_exception(exc)
    where = locate_build_failure(info.message, node, path)
    detail = {k: v for k, v in detail.items() if v is not None}
    if where.argument:
        detail.setdefault("argument", where.argument)
    return RunFailure(component, where.key_path, stage, info, detail)


def check_hooks(cfg) -> list[RunFailure]:
    from mmengine.registry import HOOKS

    out = []
    defaults = cfg.get("default_hooks", None)
    entries = [(f"default_hooks.{k}", v) for k, v in (defaults.items() if is_mapping(defaults) else ())]
    entries += [(f"custom_hooks.{i}", v) for i, v in enumerate(cfg.get("custom_hooks", None) or [])]
    for path, hook in entries:
        if not is_mapping(hook):
            continue
        built = copy.deepcopy(hook)
        built.pop("priority", None)  # the Runner takes it off before building (register_hook)
        try:
            HOOKS.build(built)
        except Exception as exc:  # noqa: BLE001 - a hook's constructor may raise anything
            out.append(_failure(HOOK, exc, hook, path, hook=node_type(hook)))
    return out


def check_visualizer(cfg, written=None) -> list[RunFailure]:
    """Each backend type of the visualizer as ``written`` (remote backends are resolved, never
    built), then the visualizer of the run's copy ``cfg``."""
    from mmengine.registry import VISBACKENDS, VISUALIZERS

    vis = cfg.get("visualizer", None)
    if not is_mapping(vis):
        return []
    out = []
    as_written = (written or cfg).get("visualizer", None)
    for i, backend in enumerate(as_written.get("vis_backends", None) or [] if is_mapping(as_written) else []):
        name = node_type(backend)
        if name and isinstance(backend.get("type"), str) and resolve(VISBACKENDS, backend.get("type")) is None:
            out.append(RunFailure(VISUALIZER, f"visualizer.vis_backends.{i}.type", "build",
                                  ErrorInfo("KeyError", f"{name} is not in the vis_backend registry"),
                                  {"argument": name}))
    if out:
        return out
    try:
        VISUALIZERS.build(copy.deepcopy(vis))
    except Exception as exc:  # noqa: BLE001
        out.append(_failure(VISUALIZER, exc, vis, "visualizer"))
    return out


def check_datasets(cfg, loader: str):
    """(dataset object or None, failures) for one dataloader: each pipeline step, each real
    dataset, the wrappers around them, the sampler and the collate function."""
    from mmengine.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS, TRANSFORMS

    dl = cfg.get(loader, None)
    if not is_mapping(dl) or not is_mapping(dl.get("dataset", None)):
        return None, []
    out = []
    for path, ds in datasets_under(dl["dataset"], f"{loader}.dataset"):
        for i, step in enumerate(ds.get("pipeline", None) or []):
            if not is_mapping(step):
                continue
            try:
                TRANSFORMS.build(copy.deepcopy(step))
            except Exception as exc:  # noqa: BLE001
                out.append(_failure(PIPELINE, exc, step, f"{path}.pipeline.{i}", step=i,
                                    transform=node_type(step), pipeline=f"{path}.pipeline"))
    if out:
        return None, out
    try:
        dataset = DATASETS.build(copy.deepcopy(dl["dataset"]))
        if hasattr(dataset, "full_init"):
            dataset.full_init()
    except Exception as exc:  # noqa: BLE001
        return None, [_failure(DATALOADER, exc, dl["dataset"], f"{loader}.dataset", part="dataset")]
    sampler = dl.get("sampler", None)
    if is_mapping(sampler):
        try:
            DATA_SAMPLERS.build(copy.deepcopy(sampler), default_args=dict(dataset=dataset, seed=0))
        except Exception as exc:  # noqa: BLE001
            out.append(_failure(DATALOADER, exc, sampler, f"{loader}.sampler", part="sampler"))
    collate = dl.get("collate_fn", None)
    if is_mapping(collate) and collate.get("type") is not None and isinstance(collate.get("type"), str):
        if resolve(FUNCTIONS, collate.get("type")) is None:
            out.append(RunFailure(DATALOADER, f"{loader}.collate_fn.type", "build",
                                  ErrorInfo("KeyError", f"{collate['type']} is not in the function registry"),
                                  {"part": "collate_fn"}))
    return dataset, out


def check_evaluator(cfg, key: str) -> list[RunFailure]:
    from mmengine.evaluator import Evaluator
    from mmengine.registry import METRICS

    node = cfg.get(key, None)
    if node is None:
        return []
    metrics = node if isinstance(node, (list, tuple)) else [node]
    out = []
    for i, metric in enumerate(metrics):
        path = f"{key}.{i}" if isinstance(node, (list, tuple)) else key
        if not is_mapping(metric):
            continue
        try:
            if node_type(metric) == "Evaluator":
                Evaluator(**{k: v for k, v in copy.deepcopy(metric).items() if k != "type"})
            else:
                METRICS.build(copy.deepcopy(metric))
        except Exception as exc:  # noqa: BLE001
            out.append(_failure(EVALUATOR, exc, metric, path, metric=node_type(metric)))
    return out


def check_schedulers(cfg, optimizer) -> list[RunFailure]:
    """Each ``param_scheduler`` entry built over the optimizer the run uses."""
    from mmengine.registry import PARAM_SCHEDULERS

    node = cfg.get("param_scheduler", None)
    if node is None or optimizer is None:
        return []
    entries = node if isinstance(node, (list, tuple)) else [node]
    out = []
    for i, sched in enumerate(entries):
        path = f"param_scheduler.{i}" if isinstance(node, (list, tuple)) else "param_scheduler"
        if not is_mapping(sched):
            continue
        cfg_i = copy.deepcopy(sched)
        cfg_i.pop("convert_to_iter_based", None)  # the Runner converts with the loader's length; only arguments matter
        try:
            PARAM_SCHEDULERS.build(cfg_i, default_args=dict(optimizer=optimizer))
        except Exception as exc:  # noqa: BLE001
            out.append(_failure(SCHEDULER, exc, sched, path, scheduler=node_type(sched)))
    return out


def resolve(registry, name):
    """The class ``name`` names in the default scope's registry (as building it would find it), or None."""
    try:
        with registry.switch_scope_and_registry(None) as scoped:
            return scoped.get(name)
    except Exception:  # noqa: BLE001 - a scope prefix that does not resolve
        return None
