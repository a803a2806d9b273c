"""Whether each hook the config registers can act on the objects the Runner gives it.

At ``before_train`` of the run (the loops, dataloaders, datasets with their wrappers, the model
and the visualizer all built), each entry of ``default_hooks`` and ``custom_hooks`` is built again
from the config as written (its schedule-related arguments are the user's, not the short run's)
and checked against :data:`detaudit.facts.hook_contracts.CONTRACTS`: the attributes it reaches
on the model (``.module`` taken off, as every hook does) and on the training dataset (the
outermost one, a wrapper when there is one), the epoch at which it switches, the periods that
must fit in the schedule, the dataset metainfo it needs, and whether a drawing hook's images
are kept anywhere. Each mismatch is a plain dict ``{"kind", "key", "hook", "message", "fix",
"evidence"}``; the DA717–DA724 rules read them by kind.
"""
from __future__ import annotations

import copy
from typing import Any

from ...rule.config import is_mapping, type_name
from ..hook_contracts import ASSERTS, ASSIGNS, CALLS, CONTRACTS, DRAWING_HOOKS, ITER_LOOPS

SWITCH, DATASET, MODEL, METAINFO, INTERVAL, DRAWING, RULE, NOT_DRAWN = (
    "switch", "dataset", "model", "metainfo", "interval", "drawing", "rule", "not_drawn")


def probe_hook(written_cfg, result):
    """A hook of the run's, first at ``before_train``, that stores the mismatches in
    ``result.hook_contracts`` (a list, empty when every hook fits)."""
    from mmengine.hooks import Hook

    class HookContracts(Hook):
        priority = "VERY_HIGH"

        def before_train(self, runner):
            try:
                result.hook_contracts = check_runner(runner, written_cfg)
            except Exception as exc:  # noqa: BLE001 - the probe must never stop the run it watches
                result.hook_contracts = None
                result.stages["hook_contracts"] = f"failed: {type(exc).__name__}: {exc}"

    return HookContracts()


def registered_hooks(cfg) -> list[tuple[str, Any]]:
    """(key path, entry) of each hook of ``default_hooks`` and ``custom_hooks``."""
    defaults = cfg.get("default_hooks", None)
    out = [(f"default_hooks.{k}", v) for k, v in (defaults.items() if is_mapping(defaults) else ())]
    out += [(f"custom_hooks.{i}", v) for i, v in enumerate(cfg.get("custom_hooks", None) or [])]
    return [(k, v) for k, v in out if is_mapping(v) and v.get("type", None) is not None]


def check_runner(runner, written_cfg) -> list[dict]:
    from mmengine.model import is_model_wrapper
    from mmengine.registry import HOOKS

    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    objects = Objects(model=model, train_dataset=_dataset(runner, "train_dataloader"),
                      val_dataset=_dataset(runner, "val_dataloader"), visualizer=runner.visualizer,
                      loop=type(runner.train_loop).__name__, schedule=schedule_of(written_cfg))
    found = []
    for key, entry in registered_hooks(written_cfg):
        built = copy.deepcopy(entry)
        built.pop("priority", None)
        try:
            hook = HOOKS.build(built)
        except Exception:  # noqa: BLE001 - DA704 reports a hook that does not build
            continue
        found += check_hook(key, entry, hook, objects)
    return found


class Objects:
    """What the hooks are given: the unwrapped model, the datasets as the loaders hold them, the
    visualizer, the training loop's type and the schedule as written (max_epochs / max_iters)."""

    def __init__(self, model=None, train_dataset=None, val_dataset=None, visualizer=None, loop="EpochBasedTrainLoop",
                 schedule=None):
        self.model, self.train_dataset, self.val_dataset = model, train_dataset, val_dataset
        self.visualizer, self.loop, self.schedule = visualizer, loop, schedule or {}

    @property
    def iter_based(self) -> bool:
        return self.loop in ITER_LOOPS


def schedule_of(cfg) -> dict:
    train = cfg.get("train_cfg", None)
    if not is_mapping(train):
        return {}
    return {k: train[k] for k in ("max_epochs", "max_iters") if isinstance(train.get(k, None), int)}


def _dataset(runner, loader: str):
    try:
        dataset = getattr(runner, loader).dataset
    except Exception:  # noqa: BLE001 - no such loader (a val loop the config does not have)
        return None
    # the short run's num_batch_per_epoch puts mmengine's _SlicedDataset around it: training does not
    return dataset.__dict__.get("_dataset", dataset) if type(dataset).__name__ == "_SlicedDataset" else dataset


def check_hook(key: str, entry, hook, objects: Objects) -> list[dict]:
    """The mismatches of one built hook (``entry`` is its config, for which arguments were written)."""
    name = type(hook).__name__
    contract = CONTRACTS.get(name)
    out: list[dict] = []
    if contract is not None:
        failed = set()
        for needs in contract.needs:
            target = getattr(objects, needs.on, None)
            if target is None or (needs.on, needs.how, needs.stage) in failed:
                continue  # the hook stopped at the assertion before (MeanTeacherHook: teacher, then student)
            reached = _reach(key, name, needs, target)
            if reached and needs.how == ASSERTS:
                failed.add((needs.on, needs.how, needs.stage))
            out += reached
        if contract.switch is not None:
            out += _switch(key, entry, name, contract.switch, hook, objects)
        for interval in contract.intervals:
            out += _interval(key, entry, name, interval.argument, getattr(hook, interval.argument, None),
                             interval.what, objects)
        for meta in contract.metainfo:
            out += _metainfo(key, name, meta, objects)
    if name == "MeanTeacherHook" and not out:
        out += _teacher_matches_student(key, objects.model)
    if name == "EMAHook":
        out += _ema(key, entry, hook, objects)
    if name == "CheckpointHook":
        out += _checkpoint(key, entry, hook, objects)
    if name in DRAWING_HOOKS:
        out += _drawing(key, entry, hook, objects)
    if name in BEST_METRIC:
        out += best_rule(key, entry, name)
    return out


# Hooks that compare a validation metric by a written ``rule``, and the argument naming the metric.
BEST_METRIC = {"CheckpointHook": "save_best", "EarlyStoppingHook": "monitor"}
# Metric names whose direction is plain: a larger mAP/AR/accuracy/PQ is better, a larger loss or
# error is worse. Names mixing both (``top_error``), or naming neither, are left alone.
HIGHER_BETTER = ("map", "ar@", "acc", "precision", "recall", "pq", "miou", "mdice", "auc")
LOWER_BETTER = ("loss", "err", "miss", "mmr", "fppi", "mae", "rmse")


def best_rule(key: str, entry, hook: str) -> list[dict]:
    """An explicit ``rule`` that ranks a metric against its plain direction: the hook keeps the worst
    checkpoint as the best, or stops training while the metric improves."""
    if not is_mapping(entry):
        return []
    option = BEST_METRIC[hook]
    names, rules = entry.get(option, None), entry.get("rule", None)
    if not names or not rules or names == "auto":
        return []
    names = [names] if isinstance(names, str) else list(names)
    rules = [rules] if isinstance(rules, str) else list(rules)
    rules = rules * len(names) if len(rules) == 1 else rules
    out = []
    for name, rule in zip(names, rules):
        if not isinstance(name, str) or rule not in ("greater", "less"):
            continue
        last = name.split("/")[-1].lower()
        higher = any(k in last for k in HIGHER_BETTER)
        lower = any(k in last for k in LOWER_BETTER)
        if higher == lower or (rule == "greater") == higher:
            continue
        plain = "greater" if higher else "less"
        effect = ("keeps the checkpoint with the worst value as the best one" if hook == "CheckpointHook" else
                  "counts every improvement as a worsening and stops the training early")
        out.append(_finding(RULE, f"{key}.rule", hook,
                            f"{hook} ranks {option}='{name}' with rule='{rule}', but a {'higher' if higher else 'lower'} "
                            f"{last} is better: it {effect}", f"rule='{plain}', or no rule (the hook infers it from "
                            f"the name)", metric=name, rule=rule, expected=plain))
    return out


def _finding(kind, key, hook, message, fix, **evidence) -> dict:
    return {"kind": kind, "key": key, "hook": hook, "message": message, "fix": fix,
            "evidence": {k: _plain(v) for k, v in evidence.items()}}


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


# ---------------------------------------------------------------------------- attributes on built objects
def _choose(target, alternatives: tuple[str, ...]) -> str:
    """The alternative the hook takes: the first whose first step exists on ``target`` (YOLOXModeSwitchHook
    uses ``model.detector`` when the model has one), else the last."""
    for path in alternatives[:-1]:
        if hasattr(target, path.split(".")[0]):
            return path
    return alternatives[-1]


def _reach(key: str, hook: str, needs, target) -> list[dict]:
    path = _choose(target, needs.path)
    steps = path.split(".")
    obj, walked = target, []
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if hasattr(obj, step):
            obj, walked = getattr(obj, step), walked + [step]
            continue
        owner = type(obj).__name__
        where = ".".join(walked) or "itself"
        what = "model" if needs.on == "model" else "training dataset"
        kind = MODEL if needs.on == "model" else DATASET
        if last and needs.how == ASSIGNS:
            consequence = (f"sets `{step}` on it, which {owner} does not have and does not read: the switch does "
                           f"nothing")
        elif last and needs.how == ASSERTS:
            consequence = f"asserts it has `{step}` and stops the training with an AssertionError"
        else:
            consequence = f"reads `{'.'.join(steps[:i + 1])}` and stops the training with AttributeError"
        context = _wrapper_chain(target) if needs.on != "model" else []
        inner = _inner_with(target, step) if needs.on != "model" else None
        message = (f"{hook} {needs.when} at {needs.stage}, on the {what} as the Runner gives it "
                   f"({type(target).__name__}{'' if where == 'itself' else ', at ' + where}): it {consequence}")
        if inner:
            message += f"; `{step}` is on the wrapped {inner[1]} ({inner[0]}), which the hook does not reach"
        fix = _reach_fix(hook, needs, step, owner, inner)
        return [_finding(kind, key, hook, message, fix, object=type(target).__name__, attribute=path,
                         missing=".".join(steps[:i + 1]), owner=owner, stage=needs.stage, how=needs.how,
                         wrappers=context)]
    return []


def _reach_fix(hook, needs, step, owner, inner) -> str:
    if inner:
        return (f"give {hook} a training dataset that has `{step}` itself (move the wrapper, e.g. "
                f"train_cfg's max_epochs instead of RepeatDataset's times), or remove the hook")
    if needs.on == "model":
        return f"use {hook} only with a model that has `{step}` ({owner} has none), or remove the hook"
    return f"remove {hook}, or use a training dataset type that has `{step}`"


def _wrapper_chain(dataset) -> list[str]:
    chain, obj = [], dataset
    for _ in range(6):
        chain.append(type(obj).__name__)
        inner = getattr(obj, "dataset", None)
        if inner is None:
            datasets = getattr(obj, "datasets", None)
            inner = datasets[0] if isinstance(datasets, (list, tuple)) and datasets else None
        if inner is None:
            break
        obj = inner
    return chain


def _inner_with(dataset, attribute: str):
    """(path, type) of the first dataset under ``dataset``'s wrappers that has ``attribute``."""
    obj, path = dataset, "dataset"
    for _ in range(6):
        inner = getattr(obj, "dataset", None)
        step = ".dataset"
        if inner is None:
            datasets = getattr(obj, "datasets", None)
            inner = datasets[0] if isinstance(datasets, (list, tuple)) and datasets else None
            step = ".datasets[0]"
        if inner is None:
            return None
        path += step
        if hasattr(inner, attribute):
            return path, type(inner).__name__
        obj = inner
    return None


def _teacher_matches_student(key: str, model) -> list[dict]:
    """MeanTeacherHook zips student and teacher parameters in order: they must pair one to one."""
    teacher, student = getattr(model, "teacher", None), getattr(model, "student", None)
    if teacher is None or student is None:
        return []
    t = [n for n, _ in teacher.named_parameters()]
    s = [n for n, _ in student.named_parameters()]
    if t == s:
        return []
    first = next((i for i, (a, b) in enumerate(zip(t, s)) if a != b), min(len(t), len(s)))
    return [_finding(MODEL, key, "MeanTeacherHook",
                     f"MeanTeacherHook averages the student into the teacher parameter by parameter, in order, but "
                     f"they differ ({len(s)} student and {len(t)} teacher parameters; first difference at #{first}: "
                     f"student {s[first] if first < len(s) else '-'} vs teacher {t[first] if first < len(t) else '-'}"
                     f"): the teacher is updated from the wrong tensors or not at all",
                     "build the teacher from the same config as the student", teacher_parameters=len(t),
                     student_parameters=len(s), first_difference=first)]


# ---------------------------------------------------------------------------- the schedule
def _arg_key(key: str, entry, argument: str) -> str:
    return f"{key}.{argument}" if is_mapping(entry) and argument in entry else key


def _switch(key, entry, hook, switch, built, objects: Objects) -> list[dict]:
    value = getattr(built, switch.argument, None)
    if not isinstance(value, int) or isinstance(value, bool):
        return []
    at = _arg_key(key, entry, switch.argument)
    if objects.iter_based:
        epochs, loop = 1, f"{objects.loop} (the hook's epoch stays 0: one epoch in the whole training)"
    else:
        epochs, loop = objects.schedule.get("max_epochs"), f"max_epochs={objects.schedule.get('max_epochs')}"
        if epochs is None:
            return []
    first = value if switch.first_epoch == "at" else epochs - value - 1   # 0-based epoch it switches before
    if first >= epochs and switch.first_epoch == "at" and not objects.iter_based:
        return []  # a switch epoch past max_epochs: DA824 reports it from the config alone
    if first >= epochs:
        message = (f"{hook} switches {switch.what} at epoch {first + 1} ({switch.argument}={value}), but the "
                   f"training has {epochs} epoch(s) ({loop}): it never switches")
    elif first <= 0 and not (objects.iter_based and switch.first_epoch == "at" and first == 0):
        message = (f"{hook} switches {switch.what} before the first epoch ({switch.argument}={value}, {loop}): the "
                   f"training never runs with what it switches from")
    else:
        return []
    return [_finding(SWITCH, at, hook, message, f"set {switch.argument} so that the switch falls inside the "
                     f"schedule", argument=switch.argument, value=value, max_epochs=epochs, loop=objects.loop)]


def _interval(key, entry, hook, argument, value, what, objects: Objects) -> list[dict]:
    total = objects.schedule.get("max_iters") if objects.iter_based else None
    if not isinstance(value, int) or isinstance(value, bool) or total is None or value <= total:
        return []
    return [_finding(INTERVAL, _arg_key(key, entry, argument), hook,
                     f"{hook} {what} every {value} training iterations ({argument}={value}), but the training has "
                     f"{total} (max_iters): it never does", f"{argument} at most {total}",
                     argument=argument, value=value, max_iters=total)]


def _ema(key, entry, hook, objects: Objects) -> list[dict]:
    out = []
    begin_epoch, begin_iter = getattr(hook, "begin_epoch", 0), getattr(hook, "begin_iter", 0)
    epochs = 1 if objects.iter_based else objects.schedule.get("max_epochs")
    # past the end in the loop's own unit (begin_epoch of an epoch loop, begin_iter of an iteration loop):
    # DA824 reports it from the config alone
    if begin_epoch and epochs is not None and begin_epoch > epochs and objects.iter_based:
        out.append(_finding(SWITCH, _arg_key(key, entry, "begin_epoch"), "EMAHook",
                            f"EMAHook starts averaging at epoch {begin_epoch} (begin_epoch), but the training has "
                            f"{epochs} epoch(s){' (an iteration-based loop counts one)' if objects.iter_based else ''}"
                            f": its before_train asserts begin_epoch <= max_epochs and stops the training",
                            "begin_epoch within the schedule, or begin_iter for an iteration-based loop",
                            argument="begin_epoch", value=begin_epoch, max_epochs=epochs))
    every = (getattr(hook, "ema_cfg", None) or {}).get("interval", None)
    out += _interval(key, entry, "EMAHook", "interval", every, "averages the weights (after a first copy)", objects)
    return out


def _checkpoint(key, entry, hook, objects: Objects) -> list[dict]:
    interval, by_epoch = getattr(hook, "interval", -1), getattr(hook, "by_epoch", True)
    save_last = getattr(hook, "save_last", True)
    if not isinstance(interval, int) or interval <= 0:
        return []
    if objects.iter_based and by_epoch:
        if key == "default_hooks.checkpoint" and is_mapping(entry) and entry.get("by_epoch", None) is True:
            return []  # written out: DA806 reports it from the config alone
        kept = "only the last checkpoint" if (interval == 1 or save_last) else "no checkpoint"
        return [_finding(INTERVAL, _arg_key(key, entry, "by_epoch"), "CheckpointHook",
                         f"CheckpointHook saves by epoch (by_epoch={by_epoch}), but the training loop is "
                         f"{objects.loop}, which ends one epoch, at the end of training: interval={interval} "
                         f"epochs writes {kept}", "by_epoch=False (interval then counts iterations)",
                         argument="by_epoch", value=by_epoch, interval=interval, loop=objects.loop)]
    return []  # an interval longer than the training, in the loop's unit: DA824 reports it from the config


# ---------------------------------------------------------------------------- metainfo and drawing
def _metainfo(key, hook, meta: str, objects: Objects) -> list[dict]:
    out = []
    for which, dataset in (("training", objects.train_dataset), ("validation", objects.val_dataset)):
        info = getattr(dataset, "metainfo", None) if dataset is not None else None
        if dataset is None or not isinstance(info, dict) or info.get(meta, None) is not None:
            continue
        out.append(_finding(METAINFO, key, hook,
                            f"{hook} compares the heads' num_classes with the {which} dataset's metainfo['{meta}'], "
                            f"which {type(dataset).__name__} does not have: the hook only logs a warning and checks "
                            f"nothing", f"give the {which} dataset metainfo=dict({meta}=(...)), or remove the hook",
                            dataset=type(dataset).__name__, metainfo=sorted(info)))
    return out


def _drawing(key, entry, hook, objects: Objects) -> list[dict]:
    name = type(hook).__name__
    out_dir = getattr(hook, "test_out_dir", None)
    if getattr(hook, "draw", False) is not True and out_dir is not None:
        return [_finding(NOT_DRAWN, _arg_key(key, entry, "draw"), name,
                         f"{name} has test_out_dir={out_dir!r} but draw={getattr(hook, 'draw', False)!r}: "
                         f"after_test_iter returns before drawing, and nothing is written to test_out_dir",
                         "draw=True (tools/test.py --show-dir sets both), or drop test_out_dir",
                         test_out_dir=out_dir, draw=getattr(hook, "draw", False))]
    if getattr(hook, "draw", False) is not True or getattr(hook, "show", False) or \
            getattr(hook, "test_out_dir", None) is not None:
        return []
    vis = objects.visualizer
    backends = getattr(vis, "_vis_backends", None)
    if vis is None or backends is None or len(backends):
        return []
    return [_finding(DRAWING, _arg_key(key, entry, "draw"), name,
                     f"{name} draws predictions (draw=True), but nothing keeps them: show=False, no test_out_dir, "
                     f"and the visualizer ({type(vis).__name__}) has no vis_backends: every drawing is made and "
                     f"thrown away", "add visualizer.vis_backends=[dict(type='LocalVisBackend')], or set "
                     "test_out_dir, or draw=False", visualizer=type(vis).__name__)]


def type_of(entry) -> str | None:
    return type_name(entry.get("type", None)) if is_mapping(entry) else None
