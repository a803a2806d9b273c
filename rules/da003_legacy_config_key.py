from detaudit.rule import DISPLAY_ONLY, SAFE, Autofix, FactUnavailable, Violation, rule
from detaudit.rule.fixes import NotLiteral, delete_key, rename_key, set_key

from ._legacy_nested import nested_leftovers

# MMDetection 2.x top-level key -> what MMDetection 3.x / mmengine reads instead.
LEGACY_KEYS = {
    "data": "train_dataloader / val_dataloader / test_dataloader (batch_size, num_workers, dataset=...)",
    "optimizer": "optim_wrapper=dict(optimizer=...)",
    "optimizer_config": "optim_wrapper (clip_grad=dict(max_norm=...), accumulative_counts=...)",
    "lr_config": "param_scheduler=[dict(type='LinearLR', ...), dict(type='MultiStepLR', ...)]",
    "momentum_config": "param_scheduler (momentum schedulers such as CosineAnnealingMomentum)",
    "runner": "train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=...) or IterBasedTrainLoop(max_iters=...)",
    "total_epochs": "train_cfg=dict(max_epochs=...)",
    "evaluation": "val_evaluator=dict(type='CocoMetric', ...) and train_cfg=dict(val_interval=...)",
    "checkpoint_config": "default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=...))",
    "log_config": "default_hooks=dict(logger=dict(type='LoggerHook', interval=...)) and visualizer",
    "workflow": "train_cfg / val_cfg (the loops replace the workflow list)",
    "dist_params": "env_cfg=dict(dist_cfg=dict(backend=...))",
    "resume_from": "resume=True with load_from=<checkpoint>",
    "fp16": "optim_wrapper=dict(type='AmpOptimWrapper', ...)",
    "gpu_ids": "the launcher (torchrun / tools/dist_train.sh); mmengine ignores gpu_ids",
}
DATA_SUBKEYS = ("train", "val", "test", "samples_per_gpu", "workers_per_gpu")
# What a 2.x top-level dict's settings are read as in 3.x: each one the user set is named with
# its place, since a setting under an ignored key is lost whatever else the config does.
SUBKEY_PLACES = {
    "evaluation": {"interval": "train_cfg.val_interval", "metric": "val_evaluator.metric",
                   "save_best": "default_hooks.checkpoint.save_best", "rule": "default_hooks.checkpoint.rule",
                   "classwise": "val_evaluator.classwise"},
    "checkpoint_config": {"interval": "default_hooks.checkpoint.interval",
                          "max_keep_ckpts": "default_hooks.checkpoint.max_keep_ckpts",
                          "by_epoch": "default_hooks.checkpoint.by_epoch"},
    "log_config": {"interval": "default_hooks.logger.interval"},
    "optimizer_config": {"grad_clip": "optim_wrapper.clip_grad"},
    "runner": {"max_epochs": "train_cfg.max_epochs", "max_iters": "train_cfg.max_iters"},
}


# 2.x logger hooks -> the 3.x visualizer backend that writes the same logs.
LOGGER_BACKENDS = {"TensorboardLoggerHook": "TensorboardVisBackend", "WandbLoggerHook": "WandbVisBackend",
                   "MlflowLoggerHook": "MLflowVisBackend", "ClearMLLoggerHook": "ClearMLVisBackend",
                   "DvcliveLoggerHook": "DVCLiveVisBackend", "NeptuneLoggerHook": "NeptuneVisBackend"}


def _logger_backends(value) -> list[str]:
    """The 3.x vis backends a 2.x ``log_config.hooks`` list asked for (TensorBoard, W&B...)."""
    hooks = value.get("hooks", None) if hasattr(value, "keys") else None
    kinds = [h.get("type", None) for h in hooks if hasattr(h, "keys")] if isinstance(hooks, (list, tuple)) else []
    return [LOGGER_BACKENDS[k] for k in kinds if isinstance(k, str) and k in LOGGER_BACKENDS]


# 2.x lr_config / fp16 settings -> the argument of the 3.x entry that holds the same value.
LR_CONFIG_ARGS = {"gamma": ("MultiStepLR", "gamma"), "step": ("MultiStepLR", "milestones"),
                  "warmup_iters": ("LinearLR", "end"), "warmup_ratio": ("LinearLR", "start_factor"),
                  "min_lr": ("CosineAnnealingLR", "eta_min"), "min_lr_ratio": ("CosineAnnealingLR", "eta_min")}


def _scheduler_places(cfg, key, value) -> list[tuple[str, str]]:
    """Where 3.x reads what a 2.x ``lr_config`` or ``fp16`` held: the argument of the merged
    ``param_scheduler`` entry of the matching type (``param_scheduler.1.gamma``), the optim wrapper's
    type for ``fp16``."""
    if key == "fp16":
        out = [("fp16", "optim_wrapper.type='AmpOptimWrapper'")]
        if hasattr(value, "keys") and "loss_scale" in value:
            out.append(("fp16.loss_scale", "optim_wrapper.loss_scale"))
        return out
    if key != "lr_config" or not hasattr(value, "keys"):
        return []
    schedulers = cfg.get("param_scheduler", None)
    entries = list(enumerate(schedulers)) if isinstance(schedulers, (list, tuple)) else []
    out = []
    for arg, (kind, modern) in LR_CONFIG_ARGS.items():
        if value.get(arg, None) is None:
            continue
        index = next((i for i, s in entries if hasattr(s, "keys") and str(s.get("type", "")).endswith(kind)), None)
        out.append((f"lr_config.{arg}", f"param_scheduler.{index}.{modern}" if index is not None
                    else f"param_scheduler (a {kind} entry's {modern})"))
    return out


def _is_legacy(key, value) -> bool:
    if value is None:
        return False
    if key == "data":
        return hasattr(value, "keys") and any(k in value for k in DATA_SUBKEYS)
    if key == "fp16":
        return bool(value)
    return True


@rule(code="DA003", name="legacy-config-key", severity="error", tier="static", needs=("constructors", "source_map"))
def legacy_config_key(ctx):
    """The config uses an MMDetection 2.x key, argument, transform or hook that 3.x ignores or rejects.

    ## What it does
    Looks for top-level keys that MMDetection 2.x read and mmengine-based 3.x does not:
    ``data=dict(train=...)``, ``optimizer``, ``optimizer_config``, ``lr_config``,
    ``momentum_config``, ``runner``, ``total_epochs``, ``evaluation``,
    ``checkpoint_config``, ``log_config``, ``workflow``, ``dist_params``, ``resume_from``,
    ``fp16`` and ``gpu_ids`` (warnings: 3.x ignores them). Inside the dicts the runner
    builds it looks for 2.x habits that 3.x rejects (errors): dataset arguments
    ``img_prefix``, ``seg_prefix``, ``classes=`` and a string ``data_prefix``; dataloader
    arguments ``samples_per_gpu``/``workers_per_gpu``; pipeline transforms ``Collect``,
    ``DefaultFormatBundle``, ``ImageToTensor`` and ``Normalize``; transform arguments
    ``img_scale``, ``flip_ratio``, ``multiscale_mode`` where the 3.x transform does not take
    them (read from its signature when executing is allowed); 2.x hooks such as
    ``TensorboardLoggerHook`` in ``custom_hooks``. Each finding names the 3.x form; the
    settings a top-level key held are named with the 3.x key that reads them (a 2.x
    ``log_config`` hook for TensorBoard, W&B or MLflow is a ``visualizer.vis_backends`` entry).

    ## Why is this bad?
    Top-level 2.x keys fail silently: the runner never reads them. A learning rate put in
    ``optimizer=dict(lr=...)``, a gradient clip in ``optimizer_config`` or an epoch count
    in ``runner`` looks applied but training uses the base config's values instead. Nested
    ones stop training when the runner builds the dataset, the pipeline or the hooks
    (``unexpected keyword argument 'img_prefix'``, ``Collect is not in the transform
    registry``), or, for ``Normalize``, normalize every image twice.

    ## Example
    ```python
    optimizer = dict(type='SGD', lr=0.0025, momentum=0.9, weight_decay=1e-4)
    runner = dict(type='EpochBasedRunner', max_epochs=24)
    train_dataloader = dict(dataset=dict(img_prefix='train2017/'))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0025, momentum=0.9, weight_decay=1e-4))
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=24)
    train_dataloader = dict(dataset=dict(data_prefix=dict(img='train2017/')))
    ```

    ## Fix
    Safe, where the 3.x form holds the same value under another name: ``samples_per_gpu`` and
    ``workers_per_gpu`` on a dataloader are renamed ``batch_size`` and ``num_workers``;
    ``img_scale=(w, h)`` on ``Resize`` becomes ``scale``, ``flip_ratio`` on ``RandomFlip``
    becomes ``prob``; a dataset's ``img_prefix``/``seg_prefix``/``classes`` move into
    ``data_prefix=dict(img=/seg=)`` and ``metainfo=dict(classes=)``; a string ``data_prefix``
    becomes ``dict(img=...)``. Not where the 3.x key is set as well (two values: the user
    chooses). Top-level 2.x keys, 2.x transforms and hooks reshape the config: their fix is
    display-only, the ``detaudit migrate`` command that converts them.

    ## References
    - MMDetection "Migration from MMDetection 2.x to 3.x" guide
    """
    cfg = ctx.cfg
    for key, replacement in LEGACY_KEYS.items():
        if key not in cfg:
            continue
        value = cfg.get(key)
        if not _is_legacy(key, value):
            continue
        shown = repr(value) if not hasattr(value, "keys") else f"dict({', '.join(list(value.keys())[:6])})"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        places = [(f"{key}.{k}", at) for k, at in SUBKEY_PLACES.get(key, {}).items()
                  if hasattr(value, "keys") and value.get(k) is not None]
        places += _scheduler_places(cfg, key, value)
        backends = _logger_backends(value) if key == "log_config" else []
        if backends:  # what the user wanted is a backend: say where it goes, or nothing is ever written there
            places.append(("log_config.hooks", "visualizer.vis_backends ("
                           + ", ".join(f"dict(type='{b}')" for b in backends) + ")"))
        lost = (" (" + ", ".join(f"{k} is read at {at}" for k, at in places) + ")") if places else ""
        yield Violation(
            message=f"'{key}' is an MMDetection 2.x key that 3.x ignores{lost}; use {replacement}",
            key_path=key,
            evidence={"key": key, "value": shown, "replacement": replacement, "read_at": dict(places)},
            fix=f"move it to {replacement}",
            severity="warning",  # ignored, not rejected
            autofix=Autofix(DISPLAY_ONLY, f"'detaudit migrate {ctx.display_path} --diff' shows the config in its 3.x "
                            "form (every 2.x key converted, bases included)"),
        )
    try:
        constructors = ctx.constructors
    except FactUnavailable:
        constructors = None  # --no-exec: the known 3.x transforms that take a 2.x-looking argument

    def accepts(type_value, key_path, node, key):
        sig = constructors.signature(type_value, key_path, node) if constructors is not None else None
        return sig.accepts(key) if sig is not None else None

    seen = set()
    sm = ctx.source_map
    found = sorted(nested_leftovers(cfg, accepts), key=lambda hit: hit[0].startswith("test_"))
    for key_path, what, modern, why in found:
        written = (sm.locate(key_path), what)
        if written in seen:  # test_dataloader = val_dataloader: the same line, reported once
            continue
        seen.add(written)
        yield Violation(
            message=f"{key_path}: {what} is MMDetection 2.x: {why}; use {modern}",
            key_path=key_path, evidence={"legacy": what, "replacement": modern}, fix=f"use {modern}",
            autofix=_nested_fix(cfg, key_path))


# 2.x argument -> 3.x argument of the same value, by the type of the dict holding it (None: any dataloader).
RENAMES = {"samples_per_gpu": (None, "batch_size"), "workers_per_gpu": (None, "num_workers"),
           "img_scale": (("Resize",), "scale"), "flip_ratio": (("RandomFlip",), "prob")}
# 2.x dataset argument -> where 3.x reads the same value.
MOVES = {"img_prefix": "data_prefix.img", "seg_prefix": "data_prefix.seg", "classes": "metainfo.classes"}


def _value_at(cfg, key_path):
    node = cfg
    for part in key_path.split("."):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, "keys") and part in node:
            node = node[part]
        else:
            return None
    return node


def _nested_fix(cfg, key_path):
    """The safe fix of a nested 2.x key whose 3.x form holds the same value under another name."""
    parent_path, _, leaf = key_path.rpartition(".")
    parent = _value_at(cfg, parent_path) if parent_path else None
    if not hasattr(parent, "keys"):
        return None
    value = parent.get(leaf, None)
    try:
        if leaf in RENAMES:
            types, modern = RENAMES[leaf]
            if modern in parent or (types is not None and parent.get("type", None) not in types):
                return None
            if leaf == "img_scale" and not (isinstance(value, (list, tuple)) and len(value) == 2
                                            and all(isinstance(v, int) for v in value)):
                return None  # several scales: RandomChoiceResize / RandomResize is the user's choice
            return Autofix(SAFE, f"rename {leaf} to {modern}", [rename_key(key_path, modern)])
        if leaf in MOVES:
            target = f"{parent_path}.{MOVES[leaf]}"
            holder, _, sub = MOVES[leaf].partition(".")
            if hasattr(parent.get(holder, None), "keys") and sub in parent[holder]:
                return None  # the 3.x key is set as well: which value is right is the user's choice
            return Autofix(SAFE, f"move {leaf} to {MOVES[leaf]}", [set_key(target, value), delete_key(key_path)])
        if leaf == "data_prefix" and isinstance(value, str):
            return Autofix(SAFE, "data_prefix=dict(img=...)", [set_key(key_path, {"img": value})])
    except NotLiteral:
        return None
    return None
