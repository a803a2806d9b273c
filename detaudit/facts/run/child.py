"""The run in a forked child process, so that a crash in compiled code ends the run, not the audit.

The Runner drives the config's own code through compiled ops (mmcv's, torch's, OpenCV's) on
inputs the earlier tiers never made: a segmentation fault there would kill the process auditing
the config, and with it every finding of the other tiers. The child is forked from the audit,
so it shares the model already built and the modules already imported; it sends its
``RunResult`` back pickled through a pipe. When it dies instead, :class:`Crash` says how and
where (faulthandler's stack of the crash) for the run to report.

Forking is safe for torch only with one intra-op thread in the child: an OpenMP pool the
parent used does not exist in the child, and a parallel region there would wait for it forever.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import re
import signal
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

from ...errors import ErrorInfo

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)', re.MULTILINE)


@dataclass
class Crash:
    """How a child died: the signal (or exit status) and faulthandler's stack, innermost first."""
    how: str                               # "SIGSEGV", "exit status 3"
    frames: list[tuple[str, int, str]]     # (file, line, function), the crash site first

    def site(self) -> tuple[str, int, str] | None:
        return self.frames[0] if self.frames else None

    def called(self, *functions: str) -> bool:
        return any(f in functions for _, _, f in self.frames)


class RaisedInChild(Exception):
    """The work raised in the child: its error, as :class:`ErrorInfo` (exceptions need not pickle)."""

    def __init__(self, info: ErrorInfo):
        super().__init__(info.message)
        self.info = info


def can_fork() -> bool:
    return hasattr(os, "fork")


def in_child(work: Callable[[], Any], after_fork: Callable[[], None] | None = None) -> Any | Crash:
    """``work()`` run in a forked child: its value, or a :class:`Crash` when the child died.
    ``after_fork()`` runs here once the child is forked, while it works.
    An exception ``work`` raises is raised here as :class:`RaisedInChild`. An exception in this
    process while waiting (``--timeout``'s alarm, Ctrl-C) kills the child first."""
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile(prefix="detaudit-crash-") as stack, \
            tempfile.TemporaryFile(prefix="detaudit-where-") as where, _no_image_threads():
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child(work, write_fd, stack, where)
        os.close(write_fd)
        try:
            if after_fork is not None:
                with contextlib.suppress(Exception):  # a help to the run, never its failure
                    after_fork()
            with os.fdopen(read_fd, "rb") as pipe:
                payload = pipe.read()
            _, status = os.waitpid(pid, 0)
        except BaseException as exc:
            interruption = getattr(exc, "interruption", None)
            if isinstance(interruption, dict):  # stopped at the time bound: where the run was
                interruption.update(stopped_where(pid, stack, where))
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            raise
        if payload and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            kind, value = pickle.loads(payload)
            if kind == "raised":
                raise RaisedInChild(value)
            return value
        stack.seek(0)
        text = stack.read().decode("utf-8", "replace")
    frames = [(m["file"], int(m["line"]), m["func"]) for m in _FRAME.finditer(text)]
    if os.WIFSIGNALED(status):
        how = _signal_name(os.WTERMSIG(status))
    else:
        how = f"exit status {os.WEXITSTATUS(status)}" if os.WIFEXITED(status) else f"status {status}"
    return Crash(how, frames)


@contextlib.contextmanager
def _no_image_threads():
    """OpenCV's worker threads stopped while the child is forked and runs: a child forked while
    they exist inherits their pool with its condition variables still counting them as waiters,
    and the first call that stops the pool in the child (the Runner's ``cv2.setNumThreads``, or
    giving the count back after the run) waits for threads it does not have, for good. Only a
    count of 1 makes OpenCV join its threads at once (0 only marks them unused). Results are
    the same on one thread; the audit's own count comes back after."""
    cv2 = sys.modules.get("cv2")
    if cv2 is None or not hasattr(cv2, "setNumThreads"):
        yield
        return
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _child(work: Callable[[], Any], write_fd: int, stack, where) -> None:
    code = 1
    try:
        _die_with_parent()
        _may_have_children()
        import faulthandler

        with contextlib.suppress(Exception):
            import torch

            torch.set_num_threads(1)
        faulthandler.enable(file=stack, all_threads=False)
        _tell_where_on_signal(stack, where)
        try:
            payload = pickle.dumps(("ok", work()))
        except BaseException as exc:  # noqa: BLE001 - the parent raises it
            payload = pickle.dumps(("raised", ErrorInfo.from_exception(exc)))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
        code = 0
    finally:
        os._exit(code)  # no atexit handlers, no flushing of buffers copied from the parent


WHERE_SIGNAL = signal.SIGUSR1
WHERE_WAIT = 2.0   # seconds the audit waits for a stopped run to say where it was


def _tell_where_on_signal(stack, where) -> None:
    """On :data:`WHERE_SIGNAL` the child writes where it is (the component on its stack, read by the
    run's attributor) and ends; faulthandler writes its C-level stack first, for a child that never
    gets back to Python code (a loop in compiled code)."""
    import faulthandler
    import json

    def tell(signum, frame):
        from ..blocking import where as where_at

        try:
            found = where_at(frame)
            found["frames"] = found.get("frames", [])[:12]
            where.write(json.dumps(found, default=str).encode())
            where.flush()
        finally:
            os._exit(2)

    with contextlib.suppress(Exception):
        signal.signal(WHERE_SIGNAL, tell)
        faulthandler.register(WHERE_SIGNAL, file=stack, all_threads=False, chain=True)


def stopped_where(pid: int, stack, where) -> dict:
    """Ask a child that is being stopped where it is: what its signal handler wrote, else the
    frames of faulthandler's dump. {} when it says nothing in time."""
    import json
    import time

    from ..blocking import real_sleep

    try:
        os.kill(pid, WHERE_SIGNAL)
    except OSError:
        return {}
    deadline = time.monotonic() + WHERE_WAIT
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        real_sleep(0.05)
    with contextlib.suppress(Exception):
        where.seek(0)
        text = where.read().decode("utf-8", "replace")
        if text:
            found = json.loads(text)
            found["frames"] = [tuple(f) for f in found.get("frames", [])]
            return found
    with contextlib.suppress(Exception):
        stack.seek(0)
        text = stack.read().decode("utf-8", "replace")
        frames = [(m["file"], int(m["line"]), m["func"]) for m in _FRAME.finditer(text)]
        if frames:
            return {"frames": frames}
    return {}


def _may_have_children() -> None:
    """The run's process is the audit's own, not a multiprocessing worker: an evaluator's pool of
    processes (V3Det's ``CocoMetric(use_mp_eval=True)``) may start in it, as it does in training,
    though the audit worker it was forked from is a daemon process."""
    with contextlib.suppress(Exception):
        import multiprocessing

        multiprocessing.current_process()._config.pop("daemon", None)


def _die_with_parent() -> None:
    """An audit killed without cleanup must not leave its run going (Linux only)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
