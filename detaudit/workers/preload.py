"""Imported once by the fork server that starts audit workers (see supervisor.py): every worker
is forked from a process that already holds torch, mmengine, mmdet's models and the rule
packs, so a worker, and a replacement for a worker that died, starts in milliseconds.

Only imports happen here (no tensor work), which keeps forking safe for torch's thread pools.
Import-time warnings and prints go to /dev/null: the user's terminal shows the report only.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings


def _preload() -> None:
    sys.dont_write_bytecode = True
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in ("torch", "mmengine", "mmengine.config", "mmengine.model", "mmengine.optim",
                         "mmcv.ops", "mmdet.models", "mmdet.structures", "mmdet.utils"):
                with contextlib.suppress(Exception):
                    __import__(name)
            with contextlib.suppress(Exception):
                from mmdet.utils import register_all_modules

                register_all_modules(init_default_scope=False)
            with contextlib.suppress(Exception):
                from detaudit import driver  # noqa: F401
                from detaudit.load import static_reader  # noqa: F401
                from detaudit.registry import all_rules

                all_rules()
            with contextlib.suppress(Exception):
                from detaudit.facts.isolation import warm_caches

                warm_caches()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [devnull]:
            os.close(fd)


_preload()
