"""The schedule and runtime parts of a 2.x config in their 3.x form: ``runner`` -> ``train_cfg``,
``optimizer``/``optimizer_config``/``fp16`` -> ``optim_wrapper``, ``lr_config`` -> ``param_scheduler``,
``checkpoint_config``/``log_config``/``evaluation.save_best`` -> ``default_hooks``, the environment and
custom hooks."""
from __future__ import annotations

import copy
from dataclasses import dataclass

from . import tables as T


@dataclass
class Note:
    key: str
    message: str


def _is_dict(v) -> bool:
    return isinstance(v, dict)


def loop(src: dict, notes: list[Note]):
    runner = src.get("runner")
    if _is_dict(runner) and runner.get("type") in T.RUNNERS:
        loop, key = T.RUNNERS[runner["type"]]
        value = runner.get(key)
        if value is None and key == "max_epochs":
            value = src.get("total_epochs")
        return loop, key, value
    if _is_dict(runner):
        notes.append(Note("runner", f"runner type {runner.get('type')!r} has no 3.x loop known here: kept"))
        return None, None, None
    if src.get("total_epochs") is not None:
        return "EpochBasedTrainLoop", "max_epochs", src["total_epochs"]
    return None, None, None


def optim_wrapper(src: dict, notes: list[Note]) -> dict:
    opt = dict(src["optimizer"])
    wrapper: dict = {"type": "OptimWrapper"}
    paramwise = opt.pop("paramwise_cfg", None)
    constructor = opt.pop("constructor", None)
    wrapper["optimizer"] = opt
    if paramwise is not None:
        wrapper["paramwise_cfg"] = paramwise
    if constructor is not None:
        wrapper["constructor"] = constructor
    hook = src.get("optimizer_config")
    if _is_dict(hook):
        kind = hook.get("type", "OptimizerHook")
        wrapper["type"] = T.OPTIMIZER_HOOKS.get(kind, "OptimWrapper")
        if kind not in T.OPTIMIZER_HOOKS:
            notes.append(Note("optimizer_config", f"optimizer hook {kind!r} has no 3.x equivalent here"))
        if hook.get("grad_clip") is not None:
            wrapper["clip_grad"] = hook["grad_clip"]
        if "cumulative_iters" in hook:
            wrapper["accumulative_counts"] = hook["cumulative_iters"]
        if "loss_scale" in hook:
            wrapper["loss_scale"] = hook["loss_scale"]
    fp16 = src.get("fp16")
    if _is_dict(fp16):
        wrapper["type"] = "AmpOptimWrapper"
        if "loss_scale" in fp16:
            wrapper["loss_scale"] = fp16["loss_scale"]
    return wrapper


def param_scheduler(lr: dict, loop_type, max_value, notes: list[Note]) -> list | None:
    policy = lr.get("policy")
    if policy == "YOLOX" and isinstance(max_value, int):
        return _yolox_schedule(lr, max_value)
    if policy not in T.LR_POLICIES:
        notes.append(Note("lr_config", f"lr policy {policy!r} has no 3.x scheduler known here: kept as written"))
        return None
    by_epoch = lr.get("by_epoch", loop_type != "IterBasedTrainLoop")
    scheds = []
    warmup = lr.get("warmup")
    if warmup is not None:
        kind = T.WARMUPS.get(warmup)
        if kind is None:
            notes.append(Note("lr_config.warmup", f"warmup {warmup!r} has no 3.x scheduler known here: dropped"))
        else:
            ratio = lr.get("warmup_ratio", 0.1)
            w = {"type": kind}
            if kind == "LinearLR":
                w["start_factor"] = ratio
            elif kind == "ConstantLR":
                w["factor"] = ratio
            w.update(by_epoch=bool(lr.get("warmup_by_epoch", False)), begin=0, end=lr.get("warmup_iters", 0))
            scheds.append(w)
    kind = T.LR_POLICIES[policy]
    end = max_value if max_value is not None else None
    if kind == "MultiStepLR":
        step = lr.get("step")
        if isinstance(step, int):
            s = {"type": "StepLR", "begin": 0, "end": end, "by_epoch": by_epoch, "step_size": step}
        else:
            s = {"type": "MultiStepLR", "begin": 0, "end": end, "by_epoch": by_epoch, "milestones": list(step or [])}
        s["gamma"] = lr.get("gamma", 0.1)
        scheds.append(s)
    elif kind == "CosineAnnealingLR":
        s = {"type": "CosineAnnealingLR", "begin": 0, "end": end, "T_max": end, "by_epoch": by_epoch}
        if lr.get("min_lr_ratio") is not None:
            s["eta_min_ratio"] = lr["min_lr_ratio"]
        else:
            s["eta_min"] = lr.get("min_lr", 0.0)
        scheds.append(s)
    elif kind == "PolyLR":
        scheds.append({"type": "PolyLR", "begin": 0, "end": end, "by_epoch": by_epoch,
                       "power": lr.get("power", 1.0), "eta_min": lr.get("min_lr", 0.0)})
    for s in scheds:
        if s.get("end") is None:
            s.pop("end")
    return scheds


# --------------------------------------------------------------------------- runtime
def runtime(src: dict, out: dict, loop_type, notes: list[Note]) -> None:
    hooks = {}
    ckpt = src.get("checkpoint_config")
    if _is_dict(ckpt):
        c = {"type": "CheckpointHook", **{k: v for k, v in ckpt.items() if k != "type"}}
        if loop_type == "IterBasedTrainLoop":
            c.setdefault("by_epoch", False)
        hooks["checkpoint"] = c
    if _is_dict(src.get("evaluation")) and src["evaluation"].get("save_best") is not None:
        hooks.setdefault("checkpoint", {"type": "CheckpointHook"})["save_best"] = src["evaluation"]["save_best"]
        if src["evaluation"].get("rule") is not None:
            hooks["checkpoint"]["rule"] = src["evaluation"]["rule"]
    log = src.get("log_config")
    backends = [{"type": "LocalVisBackend"}]
    if _is_dict(log):
        hooks["logger"] = {"type": "LoggerHook", "interval": log.get("interval", 50)}
        for h in log.get("hooks", []) or []:
            kind = h.get("type") if _is_dict(h) else None
            backend = T.LOGGER_BACKENDS.get(kind, "?")
            if backend == "?":
                notes.append(Note("log_config", f"logger hook {kind!r} has no 3.x backend known here: dropped"))
            elif backend is not None:
                backends.append({"type": backend})
        out["vis_backends"] = backends
        out["visualizer"] = {"type": "DetLocalVisualizer", "vis_backends": backends, "name": "visualizer"}
    if hooks or _is_dict(log):
        full = copy.deepcopy(T.DEFAULT_HOOKS) if _is_dict(log) and _is_dict(ckpt) else {}
        for name, h in hooks.items():
            full[name] = {**full.get(name, {}), **h}
        out["default_hooks"] = full
        if _is_dict(log) and _is_dict(ckpt):
            for k, v in T.RUNTIME.items():
                out.setdefault(k, copy.deepcopy(v))
            if loop_type == "IterBasedTrainLoop":
                out["log_processor"] = {**out["log_processor"], "by_epoch": False}
    if any(k in src for k in ("dist_params", "opencv_num_threads", "mp_start_method")):
        env = {"cudnn_benchmark": bool(src.get("cudnn_benchmark", False)),
               "mp_cfg": {"mp_start_method": src.get("mp_start_method", "fork"),
                          "opencv_num_threads": src.get("opencv_num_threads", 0)},
               "dist_cfg": dict(src.get("dist_params") or {"backend": "nccl"})}
        out["env_cfg"] = env
    if "resume_from" in src:
        out["resume"] = src["resume_from"] is not None
        if src["resume_from"] is not None:
            out["load_from"] = src["resume_from"]
    custom = src.get("custom_hooks")
    if isinstance(custom, list):
        kept = []
        for h in custom:
            kind = h.get("type") if _is_dict(h) else None
            if kind in T.EMA_HOOKS:
                ema = {"type": "EMAHook", "ema_type": T.EMA_HOOKS[kind]}
                ema.update({k: v for k, v in h.items() if k not in ("type", "resume_from")})
                kept.append(ema)
            elif kind in T.CUSTOM_HOOKS:
                if T.CUSTOM_HOOKS[kind] is not None:
                    kept.append(dict(h, type=T.CUSTOM_HOOKS[kind]))
            else:
                kept.append(h)
        out["custom_hooks"] = kept


def _yolox_schedule(lr: dict, max_epochs: int) -> list:
    """2.x's YOLOX policy: a quadratic warmup over ``warmup_iters`` epochs, cosine down to
    ``min_lr_ratio`` of the lr, then constant for the last ``num_last_epochs`` (mmdet 3.x's YOLOX
    configs write the same three schedulers)."""
    warm = lr.get("warmup_iters", 5)
    last = lr.get("num_last_epochs", 15)
    return [
        {"type": T.YOLOX_WARMUP, "by_epoch": True, "begin": 0, "end": warm, "convert_to_iter_based": True},
        {"type": "CosineAnnealingLR", "eta_min_ratio": lr.get("min_lr_ratio", 0.05), "begin": warm,
         "T_max": max_epochs - last, "end": max_epochs - last, "by_epoch": True, "convert_to_iter_based": True},
        {"type": "ConstantLR", "by_epoch": True, "factor": 1, "begin": max_epochs - last, "end": max_epochs},
    ]
