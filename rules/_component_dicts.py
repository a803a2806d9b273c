"""The component dicts the registries build with all their keys, shared by the rules that read
constructors (DA831's keys, DA840's argument kinds)."""
import re

from detaudit.rule import FactUnavailable
from detaudit.rule.config import DATALOADERS, is_mapping, walk_dicts

EVALUATORS = ("val_evaluator", "test_evaluator")


def component_roots(cfg):
    """(key path, subtree, what building it is called) of the parts checked: the model, each
    dataloader's dataset (wrappers, datasets, pipelines) and sampler, the evaluators, and what the
    Runner builds from the registries with every key (hooks, schedulers, loops given a type)."""
    if is_mapping(cfg.get("model", None)):
        yield "model", cfg["model"], "the model"
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if is_mapping(dl) and is_mapping(dl.get("dataset", None)):
            yield f"{loader}.dataset", dl["dataset"], f"{loader}'s dataset"
        for part in ("sampler", "batch_sampler"):
            if is_mapping(dl) and is_mapping(dl.get(part, None)):
                yield f"{loader}.{part}", dl[part], f"{loader}'s {part}"
    for ev in EVALUATORS:
        if cfg.get(ev, None) is not None:
            yield ev, cfg[ev], ev
    hooks = cfg.get("default_hooks", None)
    for name in (hooks.keys() if is_mapping(hooks) else ()):
        if is_mapping(hooks[name]):
            yield f"default_hooks.{name}", hooks[name], f"the {name} hook (when the Runner starts)"
    custom = cfg.get("custom_hooks", None)
    for i, hook in enumerate(custom if isinstance(custom, (list, tuple)) else ()):
        if is_mapping(hook):
            yield f"custom_hooks.{i}", hook, f"custom_hooks[{i}] (when the Runner starts)"
    schedulers = cfg.get("param_scheduler", None)
    for i, scheduler in enumerate(schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]):
        if is_mapping(scheduler):
            at = f"param_scheduler.{i}" if isinstance(schedulers, (list, tuple)) else "param_scheduler"
            yield at, scheduler, f"{at} (when training starts)"
    for loop in ("train_cfg", "val_cfg", "test_cfg"):
        if is_mapping(cfg.get(loop, None)) and "type" in cfg[loop]:
            yield loop, cfg[loop], f"the {loop} loop"


# Dicts a component builds itself through helpers (build_norm_layer, build_conv_layer, ops by name,
# transformer layer builders), which pick and pass their keys in their own way.
HELPER_BUILT = ("dcn", "plugins", "roi_layer", "encoder", "decoder", "positional_encoding", "transformer")


# In a model's train_cfg/test_cfg, the dicts a head builds from the task registry with every key.
TASK_BUILT = ("assigner", "sampler")
# What the Runner builds with every key: the hook, scheduler or loop dict itself, nothing under it.
RUNNER_BUILT = ("default_hooks", "custom_hooks", "param_scheduler", "train_cfg", "val_cfg", "test_cfg")


def registry_built(path: str) -> bool:
    parts = [p for p in path.split(".") if not p.isdigit()]
    if parts[0] in RUNNER_BUILT:
        return len(parts) == (2 if parts[0] == "default_hooks" else 1)
    inner, leaf = parts[1:-1], parts[-1]
    if any(p in HELPER_BUILT for p in parts[1:]):
        return False
    if any(p.endswith("_cfg") for p in inner):
        return leaf in TASK_BUILT and parts[0] == "model"
    return not leaf.endswith("_cfg")


def constructors_of(ctx):
    """The ``constructors`` fact, or None when it cannot be had (under ``--no-exec`` resolving a
    type would import the modules that register it)."""
    if ctx.no_exec:
        return None
    try:
        return ctx.constructors
    except FactUnavailable:
        return None


def own_inits(cls):
    """(class, its ``__init__``, that constructor's parameters, or None when they cannot be read) for
    each class of ``cls``'s MRO that defines a constructor, up to torch's modules (whose
    ``(*args, **kwargs)`` takes nothing a config passes) and ``object``."""
    import inspect

    for klass in getattr(cls, "__mro__", ())[:-1]:
        if klass.__module__.split(".")[0] == "torch":
            return
        init = klass.__dict__.get("__init__", None)
        if init is None:
            continue
        try:
            yield klass, init, inspect.signature(init).parameters
        except (TypeError, ValueError):
            yield klass, init, None


# Below a component, the places its builder fills from a registry for certain; elsewhere a nested
# ``type`` may be a word the component reads itself (FPG's ``dict(type='conv')``, Albu's
# albumentations names), not a registered name.
MODEL_PARTS = re.compile(r"^(backbone|neck|\w*head|\w*roi_extractor|data_preprocessor|loss\w*|\w*_coder|"
                         r"\w*_generator|assigner|sampler|detector|teacher|student|batch_augments)$")
PLACES = re.compile(r"\.(pipeline\.\d+|dataset|datasets\.\d+|optimizer|vis_backends\.\d+)$|^\w+_evaluator\.\d+$")


def _registry_place(path: str, root: str) -> bool:
    if path == root or PLACES.search(path):
        return True
    if not path.startswith("model."):
        return False
    return all(MODEL_PARTS.match(part) for part in path.split(".")[1:] if not part.isdigit())


def runner_roots(cfg):
    """``component_roots`` and what the Runner builds besides: the optimizer (its constructor looks
    the class up by ``type``) and the visualizer with its backends."""
    yield from component_roots(cfg)
    wrapper = cfg.get("optim_wrapper", None)
    if is_mapping(wrapper) and is_mapping(wrapper.get("optimizer", None)):
        yield "optim_wrapper.optimizer", wrapper["optimizer"], "the optimizer (when training starts)"
    if is_mapping(cfg.get("visualizer", None)):
        yield "visualizer", cfg["visualizer"], "the visualizer (when the Runner starts)"


def typed_dicts(cfg):
    """(key path, dict) of every dict a registry builds from a ``type`` name, at the places its
    builder fills from a registry for certain (DA848's names, DA850's constructor asserts): the
    Runner's roots, the optimizer wrapper itself and the log processor."""
    roots = [(root, node) for root, node, _ in runner_roots(cfg)]
    roots += [(name, cfg[name]) for name in ("optim_wrapper", "log_processor") if is_mapping(cfg.get(name, None))]
    seen = set()
    for root, node in roots:
        for path, d in walk_dicts(node, root):
            if path in seen:
                continue
            seen.add(path)
            if registry_built(path) and _registry_place(path, root) and isinstance(d.get("type", None), str):
                yield path, d
