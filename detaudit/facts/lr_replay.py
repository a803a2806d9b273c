"""The learning rate a config's ``param_scheduler`` gives at each training iteration, replayed
with mmengine's own scheduler classes on a one-parameter optimizer, stepped exactly as the
Runner steps them: before iteration ``i`` runs, ``RuntimeInfoHook`` logs the first parameter
group's lr; after it, ``ParamSchedulerHook`` steps the iteration-based schedulers, and after the
last iteration of an epoch the epoch-based ones. Schedulers of other parameters (momentum) are
left out: they do not change the lr.
"""
from __future__ import annotations

import copy

from ..errors import FactUnavailable


def scheduler_entries(cfg) -> list:
    """The ``param_scheduler`` entries that schedule the learning rate, as written."""
    entries = cfg.get("param_scheduler", None)
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        entries = [entries]
    out = []
    for entry in entries:
        if not hasattr(entry, "get"):
            raise FactUnavailable("lr_log", f"param_scheduler entry {entry!r} is not a dict")
        kind = str(entry.get("type", ""))
        if "Momentum" in kind or entry.get("param_name", "lr") != "lr":
            continue
        out.append(entry)
    return out


def describe(entries) -> str:
    if not entries:
        return "no param_scheduler (constant lr)"
    parts = []
    for e in entries:
        args = ", ".join(f"{k}={v!r}" for k, v in e.items() if k != "type")
        parts.append(f"{e.get('type')}({args})")
    return "; ".join(parts)


def replay(cfg, initial_lr: float, last_iter: int, epoch_length: int | None, by_epoch_loop: bool) -> dict[int, float]:
    """iteration (1-based, as logged) -> the lr the schedule gives before that iteration runs."""
    import torch
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS

    entries = scheduler_entries(cfg)
    needs_length = by_epoch_loop and any(e.get("by_epoch", True) for e in entries)
    if needs_length and not epoch_length:
        raise FactUnavailable("lr_log", "the number of iterations per epoch cannot be read from the logs "
                                        "(no text log with 'Epoch(train) [e][i/N]', records too sparse)")
    param = torch.nn.Parameter(torch.zeros(1))
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=initial_lr))
    schedulers = []
    for entry in entries:
        entry = copy.deepcopy(dict(entry))
        default_args = {"optimizer": wrapper}
        if entry.get("convert_to_iter_based", False):
            default_args["epoch_length"] = epoch_length
        try:
            schedulers.append(PARAM_SCHEDULERS.build(entry, default_args=default_args))
        except Exception as exc:  # noqa: BLE001 - a scheduler the config names but this machine cannot build
            raise FactUnavailable("lr_log", f"param_scheduler {entry.get('type')!r} does not build here: "
                                            f"{type(exc).__name__}: {exc}")
    group = wrapper.optimizer.param_groups[0]
    out: dict[int, float] = {}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": nothing trains here
        for it in range(1, last_iter + 1):
            out[it] = float(group["lr"])
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
            if by_epoch_loop and epoch_length and it % epoch_length == 0:
                for s in schedulers:
                    if s.by_epoch:
                        s.step()
    return out
