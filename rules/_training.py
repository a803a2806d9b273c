"""Helpers shared by the training-run rules (DA9xx): how a frozen module's comparison and a
logged loss are described."""
from __future__ import annotations


def buffers_word(state) -> str:
    return "BatchNorm buffer" if state.buffers == 1 else "BatchNorm buffers"


def intent_sources(state) -> str:
    """``lr_mult=0 says``, ``frozen_stages=4 and FreezeModulesHook say``."""
    verb = "says" if len(state.sources) == 1 else "say"
    return f"{' and '.join(state.sources)} {verb}"


def module_evidence(frozen, state) -> dict:
    out = {
        "reference": frozen.reference, "current": frozen.current, "method": frozen.method,
        "params": state.params, "params_changed": len(state.changed_params),
        "numel": state.numel, "numel_changed": state.changed_numel,
        "buffers": state.buffers, "buffers_changed": len(state.changed_buffers),
        "intent_source": ", ".join(state.sources),
    }
    if state.changed_params:
        out["changed_params"] = state.changed_params[:5]
    if state.changed_buffers:
        out["changed_buffers"] = state.changed_buffers[:5]
    if state.missing:
        out["not_compared"] = len(state.missing)
        out["not_compared_examples"] = state.missing[:5]
    if state.with_gradient is not None:
        out["params_with_gradient"] = len(state.with_gradient)
    if state.lr_now is not None:
        out["lr_now"] = state.lr_now
    return out


def loss_location(ctx, key: str):
    """(config key path, module path) of the loss that logs ``key``, or (None, None): also when
    the run's config does not load (DA001 says why), since the logs alone prove the finding."""
    from detaudit.rule import FactUnavailable

    from ._losses import loss_config_path, module_of_path

    try:
        path = loss_config_path(ctx, key)
    except FactUnavailable:
        return None, None
    return path, module_of_path(path)
