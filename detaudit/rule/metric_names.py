"""Metric names as the config alone fixes them: every validation metric is named ``<prefix>/<name>``.

mmengine's ``BaseMetric`` prefixes each result with its ``prefix`` argument, or its class's
``default_prefix`` (``CocoMetric``: ``coco``, ``VOCMetric``: ``pascal_voc``), so a hook that looks a
metric up by a name without one of those prefixes can never find it, whatever the data. What follows
the prefix depends on the data and the metric's options and is left to the run tier.
"""
from __future__ import annotations

from .config import is_mapping, type_name

# Hooks that look a validation metric up by name, and the argument that names it.
METRIC_LOOKUPS = {"CheckpointHook": "save_best", "EarlyStoppingHook": "monitor"}


def metric_dicts(evaluator):
    """The metric dicts of a ``val_evaluator`` entry: one dict, a list, or an ``Evaluator`` with ``metrics``."""
    if is_mapping(evaluator) and "metrics" in evaluator and type_name(evaluator.get("type", None)) == "Evaluator":
        evaluator = evaluator.get("metrics")
    items = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    return [m for m in items if is_mapping(m)]


def validation_prefixes(cfg, constructors) -> list[str] | None:
    """The prefix of every validation metric, in order; None when one has none or its class does not
    resolve (then a name without a prefix may be produced, and nothing can be said)."""
    metrics = metric_dicts(cfg.get("val_evaluator", None))
    if not metrics or constructors is None:
        return None
    prefixes = []
    for i, m in enumerate(metrics):
        prefix = m.get("prefix", None)
        if not prefix:
            sig = constructors.signature(m.get("type", None), f"val_evaluator.{i}", m)
            prefix = sig.attrs.get("default_prefix") if sig is not None else None
        if not isinstance(prefix, str) or not prefix:
            return None
        prefixes.append(prefix)
    return prefixes


def looked_up_names(cfg, hook_type: str):
    """(key path, name) of each metric name a hook of ``hook_type`` looks up ('auto' left out)."""
    option = METRIC_LOOKUPS[hook_type]
    default_hooks = cfg.get("default_hooks", None) or {}
    hooks = [(f"default_hooks.{name}", h) for name, h in default_hooks.items()] if is_mapping(default_hooks) else []
    hooks += [(f"custom_hooks.{i}", h) for i, h in enumerate(cfg.get("custom_hooks", None) or [])]
    for key, hook in hooks:
        if not is_mapping(hook) or type_name(hook.get("type", None)) != hook_type:
            continue
        wanted = hook.get(option, None)
        if not wanted:
            continue
        names = [wanted] if isinstance(wanted, str) else list(wanted) if isinstance(wanted, (list, tuple)) else []
        for i, name in enumerate(names):
            if isinstance(name, str) and name != "auto":
                yield (f"{key}.{option}" if isinstance(wanted, str) else f"{key}.{option}.{i}"), name


def unprefixed(cfg, constructors, hook_type: str):
    """(key path, name, prefixes) of each name a hook looks up that no validation metric can produce."""
    prefixes = None
    for key, name in looked_up_names(cfg, hook_type):
        if prefixes is None:
            prefixes = validation_prefixes(cfg, constructors)
            if prefixes is None:
                return
        if not any(name.startswith(p + "/") for p in prefixes):
            yield key, name, prefixes


def with_prefix(name: str, prefixes: list[str]) -> str:
    """The name as the first metric would produce it ('bbox_mAP' -> 'coco/bbox_mAP')."""
    return f"{prefixes[0]}/{name.split('/')[-1]}"
