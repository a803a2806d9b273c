"""Stopping a run of audits from outside (Ctrl-C, SIGTERM) without losing what finished.

On SIGINT or SIGTERM the command line stops within seconds: the audit running in its own
process is interrupted where it is (the run tier's child is killed with it), supervised workers
are killed with their process groups, temporary folders are removed, and the report is written
with every config that finished and an ``interrupted`` entry (status) for each that did not.
The exit code is 128 + the signal's number, as shells report it: 130 after Ctrl-C, 143 after
SIGTERM.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading

EXIT_INTERRUPTED = 128 + signal.SIGINT   # 130; after SIGTERM 128 + 15 = 143
INTERRUPTED_REASON = "the run was interrupted before this config's audit finished"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C is."""

    signum = signal.SIGTERM


class RunInterrupted(Exception):
    """A run of audits stopped by a signal: ``results`` holds one result per config, in input
    order (``interrupted`` ones for the configs that did not finish)."""

    def __init__(self, results: list, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.results = results
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)

    @classmethod
    def of(cls, exc: BaseException, items: list, done: list, finished: dict) -> RunInterrupted:
        """``done``: the results in input order so far; ``finished``: index -> results that finished
        out of order (supervised workers)."""
        from ..load.paths import display_path

        results = list(done)
        cwd = os.getcwd()
        for i in range(len(results), len(items)):
            if i in finished:
                results.append(finished[i])
                continue
            config, settings = items[i][0], items[i][1]
            path = config if isinstance(config, (str, os.PathLike)) else getattr(config, "filename", None)
            results.append(interrupted_result(display_path(path, cwd) if path else "<config>", settings))
        return cls(results, getattr(exc, "signum", signal.SIGINT))


def interrupted_result(config: str, settings):
    """The result of a config whose audit did not finish: status ``interrupted``, every selected
    rule skipped with the reason, no finding."""
    from ..registry import select_rules
    from ..report.result import AuditResult
    from ..rule.facts import CONFIG_TIERS

    result = AuditResult(config=config, status="interrupted")
    result.tiers = {t: "skipped" for t in CONFIG_TIERS}
    selected = select_rules(settings.select, settings.ignore, settings.extend_select)
    result.skipped = [{"code": r.code, "reason": INTERRUPTED_REASON} for r in selected]
    return result


@contextlib.contextmanager
def stop_on_signals():
    """SIGINT raises KeyboardInterrupt and SIGTERM :class:`Terminated` in the main thread, once:
    further signals are ignored while the run stops and its report is written. Audited code
    that changes these handlers gets them back from the sandbox (facts/sandbox.py). Both
    handlers are given back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum, frame):
        for sig in previous:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, signal.SIG_IGN)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


class scratch_folder:
    """A temporary folder for the supervised workers (their ``TMPDIR``): the run tier's folders, the
    run's checkpoints and data. A worker killed at its time bound or by a signal cannot remove what
    it wrote; the supervisor removes the whole folder at the end."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="detaudit-workers-")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
