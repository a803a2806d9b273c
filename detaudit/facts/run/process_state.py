"""What the run tier changes in its process while it runs, given back afterwards: logging below
ERROR (the report is the output), environment variables, the multiprocessing start method and
OpenCV's thread count (the Runner sets both for the whole process)."""
from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def no_log_below_error():
    """The Runner makes loggers of its own (and mmengine prints through whichever is current): the
    report is the output, so nothing below ERROR is logged while the run runs."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def environ(extra: dict):
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def process_kept():
    """The Runner sets the multiprocessing start method and OpenCV's thread count for the
    process: give them back."""
    import multiprocessing as mp

    method = mp.get_start_method(allow_none=True)
    try:
        import cv2

        threads = cv2.getNumThreads()
    except Exception:  # noqa: BLE001
        cv2 = None
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            mp.set_start_method(method, force=True)
        if cv2 is not None:
            with contextlib.suppress(Exception):
                cv2.setNumThreads(threads)
