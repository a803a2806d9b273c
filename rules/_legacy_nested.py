"""MMDetection 2.x habits inside 3.x dicts (DA003's nested part): dataset arguments, pipeline
transforms and their arguments, hooks."""
from __future__ import annotations

from detaudit.rule.config import DATALOADERS, is_mapping, node_type, transforms_in, walk_dicts

REJECTED = "3.x does not take it (TypeError when the runner builds it)"
UNREGISTERED = "3.x does not register it (KeyError when the runner builds the pipeline)"

# Dataset arguments of 2.x -> (their 3.x form, what happens in 3.x).
DATASET_KEYS = {
    "img_prefix": ("data_prefix=dict(img=...)", REJECTED),
    "seg_prefix": ("data_prefix=dict(seg=...)", REJECTED),
    "classes": ("metainfo=dict(classes=...)", REJECTED),
}
# Dataloader arguments of 2.x (the ``data=dict(samples_per_gpu=...)`` block) -> 3.x.
LOADER_KEYS = {"samples_per_gpu": ("batch_size", REJECTED), "workers_per_gpu": ("num_workers", REJECTED)}
# 2.x transforms -> what does their job in 3.x.
TRANSFORMS = {
    "Collect": ("PackDetInputs(meta_keys=...) at the end of the pipeline", UNREGISTERED),
    "DefaultFormatBundle": ("PackDetInputs at the end of the pipeline", UNREGISTERED),
    "ImageToTensor": ("PackDetInputs, which converts the image itself",
                      "a tensor image breaks PackDetInputs, which expects a numpy array"),
    "Normalize": ("model.data_preprocessor (mean=..., std=..., bgr_to_rgb=...)",
                  "the model's data_preprocessor normalizes every batch again"),
}
# 2.x transform arguments -> 3.x, and the 3.x transforms that take the same name themselves.
TRANSFORM_ARGS = {
    "img_scale": ("scale= (Resize, RandomResize) or scales= (TestTimeAug)",
                  ("Mosaic", "CachedMosaic", "MixUp", "CachedMixUp", "RandomAffine", "CopyPaste")),
    "flip_ratio": ("prob= (RandomFlip)", ()),
    "multiscale_mode": ("RandomResize or RandomChoiceResize", ()),
}
# 2.x hooks -> 3.x.
_NO_HOOK = "3.x does not register this hook (KeyError when the runner builds the hooks)"
HOOKS = {
    "TensorboardLoggerHook": ("visualizer.vis_backends=[..., dict(type='TensorboardVisBackend')]", _NO_HOOK),
    "TextLoggerHook": ("default_hooks.logger=dict(type='LoggerHook')", _NO_HOOK),
    "WandbLoggerHook": ("visualizer.vis_backends=[..., dict(type='WandbVisBackend')]", _NO_HOOK),
    "MlflowLoggerHook": ("visualizer.vis_backends=[..., dict(type='MLflowVisBackend')]", _NO_HOOK),
    "EvalHook": ("val_evaluator and train_cfg=dict(val_interval=...)", _NO_HOOK),
    "DistEvalHook": ("val_evaluator and train_cfg=dict(val_interval=...)", _NO_HOOK),
    "OptimizerHook": ("optim_wrapper=dict(clip_grad=...)", _NO_HOOK),
    "Fp16OptimizerHook": ("optim_wrapper=dict(type='AmpOptimWrapper')", _NO_HOOK),
    "GradientCumulativeOptimizerHook": ("optim_wrapper=dict(accumulative_counts=...)", _NO_HOOK),
}


def _pipelines(cfg):
    """(key path, pipeline) of every pipeline the runner uses: the dataloaders' (through
    wrappers) and ``tta_pipeline``."""
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl):
            continue
        for path, d in walk_dicts(dl.get("dataset", None), f"{loader}.dataset"):
            if ".pipeline" not in path and isinstance(d.get("pipeline", None), (list, tuple)):
                yield f"{path}.pipeline", d["pipeline"]
    if isinstance(cfg.get("tta_pipeline", None), (list, tuple)):
        yield "tta_pipeline", cfg["tta_pipeline"]


def nested_leftovers(cfg, accepts):
    """(key path, what, 3.x form, consequence) for each 2.x habit inside the config's dicts. ``accepts(type,
    key_path, dict, key)`` says whether a transform takes a key (None: unknown)."""
    seen = set()
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl):
            continue
        for key, (modern, why) in LOADER_KEYS.items():
            if key in dl:
                yield f"{loader}.{key}", f"'{key}' on a dataloader", modern, why
        for path, d in walk_dicts(dl.get("dataset", None), f"{loader}.dataset"):
            if ".pipeline" in path or "type" not in d:
                continue
            for key, (modern, why) in DATASET_KEYS.items():
                if key in d:
                    yield f"{path}.{key}", f"dataset argument '{key}'", modern, why
            if isinstance(d.get("data_prefix", None), str):
                yield (f"{path}.data_prefix", f"data_prefix as a string ({d['data_prefix']!r})",
                       f"data_prefix=dict(img={d['data_prefix']!r})",
                       "3.x reads data_prefix as a dict ('str' object has no attribute 'items')")
    for pipe_path, pipeline in _pipelines(cfg):
        for path, t in transforms_in(pipeline, pipe_path):
            kind = node_type(t)
            ident = (path, kind)
            if ident in seen:
                continue
            seen.add(ident)
            if kind in TRANSFORMS:
                yield (path, f"transform '{kind}'", *TRANSFORMS[kind])
                continue
            for key, (modern, takes_it) in TRANSFORM_ARGS.items():
                if key not in t or kind in takes_it:
                    continue
                if accepts(t.get("type"), path, t, key) is True:
                    continue  # the 3.x transform of that name takes it
                yield f"{path}.{key}", f"'{key}' on {kind}", modern, REJECTED
    hooks = cfg.get("custom_hooks", None)
    for i, h in enumerate(hooks if isinstance(hooks, (list, tuple)) else ()):
        if is_mapping(h) and node_type(h) in HOOKS:
            yield (f"custom_hooks.{i}", f"hook '{node_type(h)}'", *HOOKS[node_type(h)])
