"""What the config-merge rules (DA8xx) share: which top-level keys something reads, and how a
source location is shown in a message."""
from __future__ import annotations

from typing import Any

from ..load.paths import config_ref

# The top-level keys that mmengine's Runner and mmdet's tools read. Other top-level names
# (``train_pipeline``, ``backend_args``, ``dataset_type``...) are variables: the config's own
# building blocks, read only through the keys above.
RUNNER_KEYS = frozenset({
    "model", "work_dir", "train_dataloader", "val_dataloader", "test_dataloader", "train_cfg", "val_cfg",
    "test_cfg", "auto_scale_lr", "optim_wrapper", "param_scheduler", "val_evaluator", "test_evaluator",
    "default_hooks", "custom_hooks", "data_preprocessor", "load_from", "resume", "launcher", "env_cfg",
    "log_processor", "log_level", "visualizer", "default_scope", "randomness", "experiment_name",
    "tta_model", "tta_pipeline", "model_wrapper_cfg", "custom_imports",
})

# Dataset wrappers: what each one's constructor takes (used when the constructor cannot be
# read, under --no-exec).
WRAPPER_ARGS = {
    "RepeatDataset": frozenset({"dataset", "times", "lazy_init"}),
    "ClassBalancedDataset": frozenset({"dataset", "oversample_thr", "lazy_init"}),
    "MultiImageMixDataset": frozenset({"dataset", "pipeline", "skip_type_keys", "max_refetch", "lazy_init"}),
    "ConcatDataset": frozenset({"datasets", "lazy_init", "ignore_keys"}),
}


def read_by_runner(key_path: str) -> bool:
    """Whether a key path lies under a key the Runner reads (not under a config variable)."""
    return key_path.split(".", 1)[0] in RUNNER_KEYS


def where(loc: Any) -> str:
    """``file:line`` as a message shows it; a file of an installed package's configs as
    ``mmdet::_base_/...`` (the form a ``_base_`` entry uses)."""
    if loc is None:
        return "?"
    file = str(getattr(loc, "file", loc))
    if getattr(loc, "origin", "config") == "cfg-options" or file == "<cfg-options>":
        return "--cfg-options"
    line = getattr(loc, "line", None)
    return f"{config_ref(file)}:{line}" if line else config_ref(file)


def short_type(t: Any) -> str:
    if t is None:
        return "?"
    if not isinstance(t, str):
        t = getattr(t, "__name__", str(t))
    return t.split(".")[-1]
