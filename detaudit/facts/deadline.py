"""How long the audit of one config may take, and how it is stopped when the time is up.

Every tier has a default time bound, in proportion to its work (:data:`DEFAULT_BOUNDS`, the
one place they are set): reading a config takes seconds, building and running a model on CPU
up to minutes, the run tier's Runner (two training iterations, validation, test, a checkpoint
and a resume) the longest. The slowest configs of mmdet's own zoo take about a tenth of these
(docs/zoo-report*.md), on a machine shared with other work. ``--timeout SECONDS`` (the API's
and the pytest plugin's ``timeout=``) replaces the default; ``--timeout 0`` means no bound.

:func:`~detaudit.driver.audit` keeps the bound itself, so every face and executor that audits
through it has it (the CLI's own process, its workers, the API, the pytest plugin, and any
executor added later); DetAuditHook's audit before training keeps the train tier's.

When the bound is reached, the audit is stopped where it is (:func:`deadline`): an alarm in the
audit's thread raises :class:`~detaudit.errors.AuditTimeout` there, the steps already done keep
their findings, and DA091 names the step and the component that was running (the config key,
read from the stack: the run tier's child is asked for its own). An audit in a supervised
worker (``--jobs``, ``--max-memory``, an explicit ``--timeout``) that does not answer within a
grace period after that is killed with its process group. An audit in the caller's process
(one config on the command line, the API, the pytest plugin, DetAuditHook) can only be stopped
where Python code runs, and only from the main thread: a loop inside compiled code is stopped
in a worker (``--jobs 1 --timeout SECONDS``).
"""
from __future__ import annotations

import contextlib
import signal
import threading

DEFAULT_BOUNDS = {"static": 60.0, "build": 300.0, "forward": 600.0, "train": 600.0, "run": 1800.0}


def bound_for(timeout: float | None, tier: str) -> float | None:
    """Seconds one config's audit may take: ``timeout`` when given (0: no bound), else the tier's default."""
    if timeout is None:
        return DEFAULT_BOUNDS.get(tier, max(DEFAULT_BOUNDS.values()))
    return float(timeout) or None


def describe(seconds: float, explicit: bool, tier: str) -> str:
    """``--timeout 5 s`` or ``the run tier's time bound of 1800 s (--timeout)``, as messages say it."""
    if explicit:
        return f"--timeout {seconds:g} s"
    return f"the {tier} tier's time bound of {seconds:g} s (--timeout)"


@contextlib.contextmanager
def deadline(seconds: float | None, ctx=None, *, explicit: bool = True, tier: str = ""):
    """Raise :class:`~detaudit.errors.AuditTimeout` in this thread after ``seconds``; mark ``ctx``
    (an AuditContext) as cancelled first, with where it was stopped (:func:`where_stopped`). Only in
    the main thread (signals are delivered there); elsewhere, and for ``seconds`` None or 0, no bound.
    The alarm handler and timer that were set before are given back."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    from ..errors import AuditTimeout

    bound = describe(seconds, explicit, tier)

    def on_alarm(signum, frame):
        interruption = {"timeout": seconds, "bound": bound}
        interruption.update(where_stopped(frame, ctx))
        if ctx is not None and ctx.cancelled is None:
            ctx.cancel(f"the audit was stopped at {bound}", interruption)
        elif ctx is not None and ctx.interruption is not None:
            interruption = ctx.interruption
        raise AuditTimeout(f"no result within {bound}", interruption)

    import time

    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    before = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if before[0]:  # someone else's alarm was pending: give it back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(0.001, before[0] - (time.monotonic() - start)), before[1])


def where_stopped(frame, ctx=None) -> dict:
    """The component code running at ``frame`` belongs to (by the active attributors, the model's
    modules), and the frames (innermost first)."""
    try:
        from .blocking import where

        found = where(frame)
    except Exception:  # noqa: BLE001 - a report of where is a help, never a failure
        return {}
    found["frames"] = found.get("frames", [])[:12]
    return found


STACK_SIGNAL = signal.SIGUSR2   # a worker writes its stack (faulthandler) when the supervisor is about to kill it


def write_stack_on_signal(path: str | None) -> None:
    """In a worker: on :data:`STACK_SIGNAL`, faulthandler writes the main thread's stack to ``path``
    (read at C level, so also from a loop in compiled code)."""
    if not path:
        return
    import faulthandler

    with contextlib.suppress(Exception):
        faulthandler.register(STACK_SIGNAL, file=open(path, "w"), all_threads=False)  # noqa: SIM115 - kept open


def read_stack(pid: int, path: str | None, wait: float = 0.5) -> list[str]:
    """Ask worker ``pid`` for its stack (:func:`write_stack_on_signal`): ``func (file:line)`` lines,
    the innermost first, the audit's own frames left out; [] when it says nothing in time."""
    import os
    import re
    import time

    if not path:
        return []
    try:
        os.kill(pid, STACK_SIGNAL)
    except OSError:
        return []
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)', re.MULTILINE)
    end = time.monotonic() + wait
    text = ""
    while time.monotonic() < end:
        time.sleep(0.05)
        with contextlib.suppress(OSError):
            with open(path) as fh:
                text = fh.read()
        if text:
            time.sleep(0.05)  # let it finish writing
            with contextlib.suppress(OSError), open(path) as fh:
                text = fh.read()
            break
    return [f"{m['func']} ({m['file']}:{m['line']})" for m in frame.finditer(text)
            if not m["file"].startswith(own)][:12]
