"""Keeping an audit from writing anywhere: library caches go to a private temporary folder.

Importing mmengine imports yapf, which writes a pickled grammar to ``~/.cache/YAPF``;
importing mmdet's models imports matplotlib, which writes a font list to
``~/.cache/matplotlib`` and creates ``~/.config/matplotlib``; torch's optimizer step creates
``$TMPDIR/torchinductor_<user>``. Those are writes to the user's
home that an auditor has no business making (and that fail on read-only CI runners).
The command line therefore points ``XDG_CACHE_HOME`` and ``MPLCONFIGDIR`` at a private
temporary folder for its whole run (with ``TORCHINDUCTOR_CACHE_DIR``), workers included,
and removes the folder at the end.

``TORCH_HOME`` and ``MMENGINE_HOME`` are pinned to the folders they meant before the change,
so that looking pretrained weights up in the local caches still looks in the user's caches.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def private_library_caches():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    pinned = {"TORCH_HOME": os.path.join(cache, "torch"), "MMENGINE_HOME": os.path.join(cache, "mmengine")}
    keys = list(pinned) + ["XDG_CACHE_HOME", "MPLCONFIGDIR", "TORCHINDUCTOR_CACHE_DIR"]
    saved = {k: os.environ.get(k) for k in keys}
    folder = tempfile.mkdtemp(prefix="detaudit-caches-")
    try:
        for key, value in pinned.items():
            os.environ.setdefault(key, value)
        os.environ["XDG_CACHE_HOME"] = os.path.join(folder, "cache")
        os.environ["MPLCONFIGDIR"] = os.path.join(folder, "matplotlib")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(folder, "torchinductor")
        yield folder
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(folder, ignore_errors=True)
