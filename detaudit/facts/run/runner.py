"""The run tier: mmengine's real Runner on a private copy of the config, once, small and fast.

The config's own loops, hooks, schedulers, optim wrapper, visualizer, log processor,
evaluators, dataloaders, samplers, collate functions, dataset wrappers and pipelines run on
data in the dataset's own format (synthetic, or the first samples of the real data when it
is on this machine): two training iterations, one validation pass with the real evaluator,
the test loop, a checkpoint written by the config's own CheckpointHook, then a fresh Runner
resuming from it for one more iteration. The model is the one the build tier built (its
weights are not the point). Everything is written into a temporary folder that is removed;
network access stays blocked. Each failure is attributed to the component and key that
caused it (:mod:`.components`, :mod:`.attribution`).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ErrorInfo
from .components import (CHECKPOINT, ITERATION, RUN, SAVE_BEST, RunFailure, check_datasets, check_evaluator,
                         check_hooks, check_schedulers, check_visualizer)
from .lean import between_runs, fork_ready, lend_model, still_params_hook, streamed_checkpoints, trained_in_step
from .process_state import environ, no_log_below_error, process_kept
from .private_config import LARGER_SIDES, LOADERS, LONG_SIDE, PrivateConfig, RunChange
from .hook_probe import probe_hook
from .watch import watch_run

WEIGHTS_ONLY_HINT = "Weights only load failed"


@dataclass
class RunResult:
    failures: list[RunFailure] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)        # stage -> ok | failed | skipped: reason
    data: dict[str, dict] = field(default_factory=dict)         # dataset key -> kind, samples, notes
    skipped: dict[str, str] = field(default_factory=dict)       # loader -> why it did not run
    metrics: dict[str, dict] = field(default_factory=dict)      # "val"/"test" -> metric name -> value
    monitored: list[dict] = field(default_factory=list)         # metrics hooks look up: {"key", "hook", "wanted", ...}
    checkpoints: list[str] = field(default_factory=list)        # files the CheckpointHook wrote
    surveys: dict[str, Any] = field(default_factory=dict)       # dataset key -> DataSurvey (real data only)
    changes: list[RunChange] = field(default_factory=list)
    blocking: list = field(default_factory=list)                # BlockingCalls made in the run's process
    hook_contracts: list | None = None                          # hooks that cannot act on what they are given
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"stages": self.stages, "data": self.data, "skipped": self.skipped,
                "metrics": {k: sorted(v) for k, v in self.metrics.items()}, "checkpoints": self.checkpoints,
                "changes": [c.to_dict() for c in self.changes], "seconds": round(self.seconds, 2)}


def dry_run(ctx) -> RunResult:
    """The run at images scaled to LONG_SIDE; again larger (LARGER_SIDES) while the model fails on a
    size (too few feature-map positions for a DETR's queries, a feature map below a kernel), as the
    forward tier retries a larger synthetic input. A retry is listed first among the changes."""
    from ...errors import is_size_error

    start = time.perf_counter()
    result = _attempt(ctx, LONG_SIDE, retry=False)
    side, retries = LONG_SIDE, []
    for larger in LARGER_SIDES:
        small = next((f for f in result.failures if f.component == ITERATION and is_size_error(f.error)), None)
        if small is None:
            break
        retries.append(RunChange("images", f"long side {side} px", f"long side {larger} px",
                                 f"the model failed ({small.stage}) at {side} px on a size ({small.error.short()}): "
                                 f"the run was repeated larger"))
        result = _attempt(ctx, larger, retry=True)
        side = larger
    result.changes[:0] = retries
    result.seconds = time.perf_counter() - start
    return result


def _attempt(ctx, long_side: int, *, retry: bool) -> RunResult:
    """One run, in a child process of its own where the platform forks (:mod:`.child`): it starts
    from the model as the audit left it, whatever a failed attempt did to it (SoftTeacher sets its
    teacher's ``test_cfg`` to None while it scores pseudo-labels, and an error in between leaves it
    so), and a crash in compiled code ends the attempt, not the audit. Without fork, a retry starts
    from a fresh build."""
    from . import blocking
    from .child import Crash, can_fork, in_child

    import shutil

    folder = Path(tempfile.mkdtemp(prefix="detaudit-run-"))  # removed here: a child killed or crashed cannot
    try:
        if not can_fork():
            return blocking.adopt_run(_dry_run_at(ctx, long_side, folder, fresh=retry))
        lend = ctx.model_loan.state == "offered" and ctx.has("built")  # never a model the audit was given
        with fork_ready():
            result = in_child(lambda: _dry_run_at(ctx, long_side, folder, fresh=ctx.model_loan.state == "taken",
                                                  forget_gradients=True),
                              after_fork=(lambda: lend_model(ctx)) if lend else None)
        result = _crashed(result) if isinstance(result, Crash) else result
        blocking.adopt_run(result)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# the model's steps, as a crash's stack names them, and the stage each is
_STEPS = {"train_step": "train", "val_step": "val", "test_step": "test"}


def _crashed(crash) -> RunResult:
    """The result of a run whose process died: one failure, at the stage and site of the crash. When
    every frame of the crash's stack is installed code (mmcv's op called by mmdet's model), the crash
    is the library's; when the project's code is on the stack (a custom module, a hook), it is named."""
    from ...errors import CRASH_TYPE, is_environment_code

    site = crash.site()
    ours = str(Path(__file__).resolve().parents[2]) + os.sep  # the audit's frames below the run, rules included
    run_frames = list(itertools.takewhile(lambda f: not f[0].startswith(ours), crash.frames))
    project = next((f for f in run_frames if not is_environment_code("", f[0])), None)
    stage = next((_STEPS[f] for _, _, f in crash.frames if f in _STEPS), "run")
    if crash.called("_resume"):
        stage = "resume"
    where = f"{display_site(site)} in {site[2]}" if site else "an unknown place (no stack was written)"
    if project and project != site:
        where += f", from {display_site(project)} in {project[2]}"
    named = project or site
    info = ErrorInfo(CRASH_TYPE, f"the run's process died ({crash.how}) in compiled code called from {where}",
                     file=named[0] if named else None, line=named[1] if named else None,
                     extra={"signal": crash.how, "library": bool(site) and project is None})
    stack = [f"{display_site(f)} in {f[2]}" for f in run_frames[:12]]
    component = ITERATION if any(f in _STEPS for _, _, f in crash.frames) else RUN
    result = RunResult()
    result.failures.append(RunFailure(component, "model" if component == ITERATION else "", stage, info,
                                      {"crash": crash.how, "stack": stack}))
    result.stages["run"] = f"crashed ({crash.how}) in {stage}"
    return result


def display_site(frame) -> str:
    """``mmcv/ops/deform_conv.py:163`` for installed code, relative to the working directory
    when under it, the path as given otherwise."""
    from ...errors import environment

    file, line = frame[0], frame[1]
    for folder in sorted(environment()[1], key=len, reverse=True):
        if file.startswith(folder + os.sep):
            return f"{file[len(folder) + 1:]}:{line}"
    with contextlib.suppress(ValueError):
        relative = os.path.relpath(file)
        if not relative.startswith(".."):
            file = relative
    return f"{file}:{line}"


def _model_as_built(ctx, model, *, fresh: bool = False, key: str = "model") -> tuple[Any, list[RunChange]]:
    """``model``, unless a forward changed its module tree since the build (DDQ's first training forward
    makes a head's branches the decoder's too, and an optimizer built over it then holds those
    parameters twice): then a fresh build, since training builds its optimizer before any forward,
    and a resumed training does so in a new process. ``fresh`` (or no ``model``): a fresh build."""
    if not fresh and model is not None and not _tree_changed(ctx, model):
        return model, []
    from ..build import build_model
    from ..sandbox import no_network, quiet

    with quiet(), no_network():
        built, _ = build_model(ctx.cfg, ctx.base_dir)
    why = ("the run is repeated from the model as built, not as the failed run left it" if fresh else
           "a forward added modules to the model (the model does so at its first forward); "
           "training builds its optimizer before that")
    return built, [RunChange(key, "the model as the last forward left it", "a fresh build", why)]


def _names(ctx, model) -> dict[int, str]:
    """Module names by object of the model the run uses: the audit's own (a fact), or a fresh build's
    (a retry after the audit lent its model to the first attempt, a model a forward changed)."""
    if model is None or model is ctx.model:
        return ctx.module_names
    return {id(m): n for n, m in model.named_modules()}


def _tree_changed(ctx, model) -> bool:
    now = frozenset(n for n, _ in model.named_modules(remove_duplicate=False))
    return bool(ctx.modules_as_built) and now != ctx.modules_as_built  # (a seeded model was not built here)


def _dry_run_at(ctx, long_side: int, folder: Path, *, fresh: bool, forget_gradients: bool = False) -> RunResult:
    """One run, writing into ``folder``. ``forget_gradients``: in a process of its own, the audit's
    model starts without the gradients the train tier's step left (a first backward would add to
    them), and the memory they held is free for the run."""
    import gc

    from ..sandbox import no_network, quiet, silenced_output

    if forget_gradients:
        for p in ctx.model.parameters():
            p.grad = None
    from ..blocking import active

    model, rebuilt = _model_as_built(ctx, ctx.model, fresh=fresh)
    result = RunResult()
    recorder = active()
    first_call = len(recorder.calls) if recorder is not None else 0
    with quiet(), no_network(), process_kept(), no_log_below_error(), silenced_output(), streamed_checkpoints():
        private = PrivateConfig(ctx.cfg, folder, ctx.base_dir, long_side)
        private.prepare()
        private.changes[:0] = rebuilt
        result.changes = private.changes
        try:
            if _run(ctx, private, result, model):
                between_runs()  # the first Runner's optimizer state and hooks go before the resume's come
                if _tree_changed(ctx, model):  # the resume builds afresh: the first run's model goes first
                    model = None
                    gc.collect()
                model = _resume(ctx, private, result, model)
        finally:
            if model is not None:
                model.train()
            vis = private.cfg.get("visualizer", None)
            _release(names=[vis.get("name")] if hasattr(vis, "get") else [])
            if recorder is not None:
                result.blocking = list(recorder.calls[first_call:])
    return result


def _run(ctx, private: PrivateConfig, result: RunResult, model) -> bool:
    """The components, then the Runner's train, validation and test; whether a resume should follow."""
    from .data_binding import bind_data

    cfg = private.cfg
    bind_data(ctx, private, result)
    if "train_dataloader" in result.skipped:
        result.stages["run"] = f"skipped: {result.skipped['train_dataloader']}"
        return False
    for loader in LOADERS:
        if loader in result.skipped and loader != "train_dataloader":
            _drop_loader(cfg, loader)
    # the visualizer first, as the Runner does: hooks such as DetVisualizationHook look it up. Backend
    # types are checked as written (the copy runs no remote backend)
    failures = check_visualizer(cfg, written=ctx.cfg)
    if not failures:
        failures += check_hooks(cfg)
    for loader in LOADERS:
        if cfg.get(loader, None) is not None:
            failures += check_datasets(cfg, loader)[1]
    failures += check_evaluator(cfg, "val_evaluator") + check_evaluator(cfg, "test_evaluator")
    optimizer = _fresh_optimizer(model, cfg)
    if optimizer is None and cfg.get("optim_wrapper", None) is not None:
        result.stages["run"] = "skipped: the optim_wrapper does not build (DA304)"
        result.failures += failures
        return False
    failures += check_schedulers(cfg, optimizer)
    result.failures += failures
    if failures:
        result.stages["run"] = f"stopped at build: {len(failures)} component(s) fail to build"
        return False
    _train_val_test(ctx, private, result, model)
    return bool(result.checkpoints) and not any(f.stage in ("train", "val", "build") for f in result.failures)


def _drop_loader(cfg, loader: str) -> None:
    """A val or test loader whose data cannot be made: the run goes on without it."""
    prefix = loader.split("_")[0]
    for key in (loader, f"{prefix}_cfg", f"{prefix}_evaluator"):
        cfg[key] = None


def _fresh_optimizer(model, cfg):
    """An optim wrapper built from the run's config over the model, for the schedulers to check."""
    ow = cfg.get("optim_wrapper", None)
    if ow is None:
        return None
    try:
        import copy

        from mmengine.optim import build_optim_wrapper

        return build_optim_wrapper(model, copy.deepcopy(ow))
    except Exception:  # noqa: BLE001 - DA304 reports it
        return None


def _runner(model, cfg, *, resume_from: str | None = None):
    from mmengine.runner import Runner

    kwargs = dict(
        model=model, work_dir=cfg["work_dir"], train_dataloader=cfg.get("train_dataloader"),
        val_dataloader=cfg.get("val_dataloader"), test_dataloader=cfg.get("test_dataloader"),
        train_cfg=cfg.get("train_cfg"), val_cfg=cfg.get("val_cfg"), test_cfg=cfg.get("test_cfg"),
        auto_scale_lr=cfg.get("auto_scale_lr"), optim_wrapper=cfg.get("optim_wrapper"),
        param_scheduler=cfg.get("param_scheduler"), val_evaluator=cfg.get("val_evaluator"),
        test_evaluator=cfg.get("test_evaluator"), default_hooks=cfg.get("default_hooks"),
        custom_hooks=cfg.get("custom_hooks"), load_from=resume_from or cfg.get("load_from"),
        resume=bool(resume_from), launcher="none", env_cfg=cfg.get("env_cfg", dict(dist_cfg=dict(backend="gloo"))),
        log_processor=cfg.get("log_processor"), log_level="ERROR", visualizer=cfg.get("visualizer"),
        default_scope=cfg.get("default_scope", "mmengine"), randomness=cfg.get("randomness", dict(seed=None)),
        experiment_name=cfg.get("experiment_name") + ("-resume" if resume_from else ""), cfg=cfg)
    return Runner(**kwargs)


def _train_val_test(ctx, private: PrivateConfig, result: RunResult, model) -> None:
    from . import blocking
    from .attribution import KeyIndex, attribute

    cfg = private.cfg
    try:
        runner = _runner(model, cfg)
    except Exception as exc:  # noqa: BLE001
        result.failures.append(attribute(exc, "build", KeyIndex(), _names(ctx, model), None, cfg))
        result.stages["run"] = "stopped at build"
        return
    watch = watch_run(runner, result, model)
    runner.register_hook(still_params_hook(trained_in_step(ctx)))
    runner.register_hook(probe_hook(ctx.cfg, result), priority="VERY_HIGH")
    index = KeyIndex()
    names = _names(ctx, model)
    with blocking.attributed(runner, cfg, index, watch, names):
        _stages(cfg, runner, watch, index, result, names)
    watch.thresholds.restore()
    _check_monitored(cfg, result)
    work_dir = Path(cfg["work_dir"])
    result.checkpoints = sorted(p.name for p in work_dir.glob("*.pth"))
    if result.stages.get("train") == "ok" and not result.checkpoints:
        result.failures.append(RunFailure(CHECKPOINT, "default_hooks.checkpoint", "checkpoint",
                                          ErrorInfo("FileNotFoundError", "the CheckpointHook wrote no checkpoint"),
                                          {}))
    _release(runner)


def _stages(cfg, runner, watch, index, result: RunResult, names: dict[int, str]) -> None:
    """The Runner's train (with its validation) and test, each failure attributed."""
    from .attribution import attribute

    for stage, call, evaluator in (("train", runner.train, "val_evaluator"), ("test", runner.test, "test_evaluator")):
        if stage == "test" and cfg.get("test_dataloader", None) is None:
            result.stages["test"] = "skipped: no test_dataloader"
            continue
        try:
            if not index.keys:
                with contextlib.suppress(Exception):
                    index.index_runner(runner, cfg)
            call()
            result.stages[stage] = "ok"
        except Exception as exc:  # noqa: BLE001 - whatever the config's components raise
            watch.clock.disarm()  # before anything else: a late alarm must not replace this failure
            with contextlib.suppress(Exception):
                index.index_runner(runner, cfg)
            at = watch.stage if stage == "train" else "test"
            failure = attribute(exc, at, index, names, evaluator if at != "train" else None, cfg)
            if failure.component == SAVE_BEST:
                failure.detail["produced"] = sorted(result.metrics.get("val", {}))
            result.failures.append(failure)
            result.stages[stage] = f"failed in {at}"
            if stage == "train":
                break
        finally:
            watch.clock.disarm()  # a loop that failed never reached its epoch's end


def _resume(ctx, private: PrivateConfig, result: RunResult, model):
    """A fresh Runner resuming from the checkpoint the first one wrote, for one more iteration, on
    ``model`` or, when a forward changed it (or it is None), a fresh build; the model it used."""
    cfg = private.cfg
    train = cfg["train_cfg"]
    if "max_epochs" in train:
        train["max_epochs"] = train["max_epochs"] + 1
    elif "max_iters" in train:
        train["max_iters"] = train["max_iters"] + 1
    checkpoint = str(Path(cfg["work_dir"]) / _latest(result.checkpoints))
    cfg["val_cfg"] = cfg["val_dataloader"] = cfg["val_evaluator"] = None  # validation already ran
    cfg["train_dataloader"]["num_batch_per_epoch"] = 1  # one more iteration is what resuming has to show
    hook = (cfg.get("default_hooks", None) or {}).get("checkpoint", None)
    if hasattr(hook, "get"):  # writing was shown by the first run
        hook["interval"], hook["save_last"] = 10 ** 6, False
    model, rebuilt = _model_as_built(ctx, model, key="resume.model")  # a resumed training starts in a new process
    result.changes += rebuilt
    for env in ({}, {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}):  # as training would, then weights-only loading off
        if env:
            between_runs()  # what the failed attempt read goes before this one reads it again
        if _resume_once(ctx, cfg, result, model, checkpoint, env):
            break
    return model


def _resume_once(ctx, cfg, result: RunResult, model, checkpoint: str, env: dict) -> bool:
    """One attempt at the resume, in a frame of its own (what it built goes with it); whether it
    is over (False: try again with weights-only loading off)."""
    from . import blocking
    from .attribution import KeyIndex, attribute

    runner = None
    try:
        with environ(env):
            runner = _runner(model, cfg, resume_from=checkpoint)
            runner.register_hook(still_params_hook(trained_in_step(ctx)))
            with blocking.attributed(runner, cfg, KeyIndex(), None, _names(ctx, model), stage="resume"):
                runner.train()
        result.stages["resume"] = "ok" if not env else "ok with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1"
        return True
    except Exception as exc:  # noqa: BLE001
        failure = attribute(exc, "resume", KeyIndex(), _names(ctx, model), None, cfg)
        if WEIGHTS_ONLY_HINT in failure.error.message and not env:
            result.failures.append(RunFailure(CHECKPOINT, "resume", "resume", failure.error,
                                              {"weights_only": True, "checkpoint": Path(checkpoint).name}))
            return False
        if failure.component == RUN:
            failure = RunFailure(CHECKPOINT, "resume", "resume", failure.error, {"checkpoint": Path(checkpoint).name})
        result.failures.append(failure)
        result.stages["resume"] = "failed"
        return True
    finally:
        if runner is not None:
            _release(runner)


def _latest(names: list[str]) -> str:
    import re

    def number(name: str) -> int:
        m = re.search(r"(\d+)", name)
        return int(m.group(1)) if m else -1

    return max(names, key=lambda n: (not n.startswith("best"), number(n)))


def _check_monitored(cfg, result: RunResult) -> None:
    """Compare the metric names hooks look up with those the validation produced."""
    from ...rule.config import is_mapping, type_name
    from ...rule.metric_names import METRIC_LOOKUPS  # CheckpointHook raises KeyError, EarlyStoppingHook warns

    produced = result.metrics.get("val")
    if produced is None:
        return
    default_hooks = cfg.get("default_hooks", None) or {}
    hooks = [(f"default_hooks.{name}", h) for name, h in default_hooks.items()] if is_mapping(default_hooks) else []
    hooks += [(f"custom_hooks.{i}", h) for i, h in enumerate(cfg.get("custom_hooks", None) or [])]
    for key, hook in hooks:
        hook_type = type_name(hook.get("type", None)) if is_mapping(hook) else None
        option = METRIC_LOOKUPS.get(hook_type)
        wanted = hook.get(option, None) if option else None
        if not wanted:
            continue
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        missing = [n for n in names if n != "auto" and n not in produced]
        result.monitored.append({"key": f"{key}.{option}", "hook": hook_type, "wanted": names, "missing": missing,
                                 "produced": sorted(produced)})


def _release(runner=None, names=()) -> None:
    """Forget the instances the Runner (or a component check) registered by name (logger,
    message hub, visualizer, scope), close its log files, so the next audit in this process
    starts as a fresh one."""
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer

    names = set(names)
    if runner is not None:
        names |= {runner.experiment_name, getattr(runner.visualizer, "instance_name", None)}
        for hook in getattr(runner, "hooks", ()):
            if hasattr(hook, "give_back"):  # a run that failed never reached after_train
                hook.give_back()
    for cls in (MMLogger, MessageHub, Visualizer, DefaultScope):
        instances = getattr(cls, "_instance_dict", {})
        for name in [n for n in instances if n in names]:
            obj = instances.pop(name)
            for handler in list(getattr(obj, "handlers", []) or []):
                with contextlib.suppress(Exception):
                    handler.close()
                    obj.removeHandler(handler)
