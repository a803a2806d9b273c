"""Crash explanations for what mmengine's Runner refuses before the first iteration: its own
messages name the settings, and the config says which of them is missing (DA836 reports the
same settings statically)."""
from __future__ import annotations

import re

from .config import is_mapping
from .explanation import Explanation

ALL_OR_NONE = re.compile(r"^(\w+), (\w+), and (\w+) should be either all None or not None")
FIXED = (  # (message fragment, key to edit, what to do)
    ("param_scheduler should be None when optim_wrapper is None", "param_scheduler",
     "set param_scheduler = None in a config that does not train, or set optim_wrapper"),
    ("Only one of `type` or `by_epoch` can exist in `loop_cfg`", "train_cfg.by_epoch",
     "remove train_cfg.by_epoch (the loop type says how training counts)"),
    ("`max_epochs` should be a integer number", "train_cfg.max_epochs", "set train_cfg.max_epochs to a whole number"),
    ("`max_iters` should be a integer number", "train_cfg.max_iters", "set train_cfg.max_iters to a whole number"),
    ("Lack of `base_batch_size` in `auto_scale_lr`", "auto_scale_lr.base_batch_size",
     "set auto_scale_lr.base_batch_size to the total batch size the learning rate was set for"),
)


def runner_refusal(cfg, err) -> list[Explanation]:
    """The key a Runner refusal names: the first None one of a half-set triple, or the setting
    a fixed message is about."""
    message = err.message or ""
    m = ALL_OR_NONE.match(message)
    if m and err.type == "ValueError" and is_mapping(cfg):
        keys = list(m.groups())
        missing = [k for k in keys if cfg.get(k, None) is None]
        if 0 < len(missing) < len(keys):
            given = [k for k in keys if k not in missing]
            return [Explanation(missing[0], f"{', '.join(given)} set but {' and '.join(missing)} None: the Runner "
                                            f"takes ({', '.join(keys)}) all set or all None",
                                {"missing": missing, "set": given},
                                f"set {' and '.join(missing)}, or set {', '.join(given)} to None")]
        return []
    for fragment, key, fix in FIXED:
        if fragment in message:
            return [Explanation(key, f"{key} is what the Runner refuses: {fragment}", {"refused": fragment}, fix)]
    if err.type == "KeyError" and message.strip("'\"") == "by_epoch" and "build_train_loop" in (err.traceback or ""):
        return [Explanation("train_cfg.type", "train_cfg has neither type nor by_epoch: the Runner cannot tell "
                                              "which training loop to build", {"refused": "by_epoch"},
                            "set train_cfg.type='EpochBasedTrainLoop' or 'IterBasedTrainLoop'")]
    return []
