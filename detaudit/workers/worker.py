"""The worker side of ``--jobs``/``--timeout``/``--max-memory``: a process that audits the
configs it receives one at a time, under the per-config limits, and sends each result back
as JSON. Its state is reset per config (working directory, environment, ``sys.path``; the
registries and modules in :func:`~detaudit.driver.audit`), and the worker is replaced
after a config that imported its project's own modules."""
from __future__ import annotations

import os
import signal
import sys
import time

from ..errors import AuditTimeout
from ..report.supervision import (CRASH_CODE, MEMORY_CODE, MEMORY_FIX, TIMEOUT_CODE, failure_result, memory_message,
                                  timeout_message)
from .task import Task


def worker_main(conn, threads: int, keep_stderr: bool, parent_pid: int, stack_path: str | None = None) -> None:
    """Runs in the worker process: audit configs received on ``conn`` until told to stop."""
    from ..facts.deadline import write_stack_on_signal

    os.setpgrp()  # its own process group: Ctrl-C reaches the supervisor only, kills reach the whole group
    _exit_with_parent(parent_pid)
    write_stack_on_signal(stack_path)  # what the supervisor reads before it kills a worker at the time bound
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # configs that print must not corrupt a report written to stdout
    if not keep_stderr:
        os.dup2(devnull, 2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    try:
        import torch

        torch.set_num_threads(max(1, threads))
    except Exception:  # noqa: BLE001 - torch absent: the audits will say so
        pass
    from .. import driver  # noqa: F401 - paid once, before the first config

    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        capped = bool(task.options.max_memory) and address_cap(task.options.max_memory)[0] is not None
        conn.send(("start", task.index, rss_bytes(os.getpid()), capped))
        result = _run_task(task)
        conn.send(("done", task.index, result.to_json(), _ran_project_code()))


def _ran_project_code() -> bool:
    """Whether the config just audited imported modules of its project: they were dropped
    from this process, but what they may have patched elsewhere was not, so the supervisor
    replaces this worker (a fork of the preloaded server costs milliseconds)."""
    from ..facts.isolation import last_finished

    state = last_finished()
    return bool(state and state.dropped)


def _exit_with_parent(parent_pid: int) -> None:
    """A supervisor killed without cleanup (SIGKILL, SIGTERM) must not leave workers auditing
    for nobody: end this worker, and anything the audited code started, when it is gone."""
    import threading

    def watch():
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                try:
                    os.killpg(os.getpgrp(), signal.SIGKILL)
                finally:
                    os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="detaudit-supervisor-watch", daemon=True).start()


def _run_task(task: Task):
    """One config under the limits; the time bound is kept by the audit itself (facts/deadline.py)."""
    import resource
    import tempfile

    from ..driver import ConfigFile, audit

    options = task.options
    saved_limit = resource.getrlimit(resource.RLIMIT_AS)
    try:
        os.chdir(task.cwd)
        os.environ.clear()
        os.environ.update(task.environ)
        tempfile.tempdir = None  # the supervisor's folder for this run (TMPDIR), removed by it at the end
        sys.path[:] = task.sys_path
        if options.max_memory:
            soft, hard = address_cap(options.max_memory)
            resource.setrlimit(resource.RLIMIT_AS, (soft if soft is not None else hard, hard))
        return audit(ConfigFile(task.config), options)
    except BaseException as exc:  # noqa: BLE001 - whatever happens, the supervisor gets a result
        if isinstance(exc, AuditTimeout):
            message, evidence = timeout_message(exc.interruption or {"timeout": options.timeout}, "auditing")
            return failure_result(task.display, task.options, TIMEOUT_CODE, message, evidence,
                                  "look for a loop or a blocking call in the config's code, or raise --timeout")
        if isinstance(exc, MemoryError):
            return failure_result(task.display, task.options, MEMORY_CODE, memory_message(options.max_memory, None),
                                  {"limit_bytes": options.max_memory}, MEMORY_FIX)
        result = failure_result(task.display, task.options, CRASH_CODE,
                                f"the audit stopped with {type(exc).__name__}: {exc}",
                                {"exception": type(exc).__name__}, "run with --debug and report this")
        result.internal_errors.append(f"audit raised {type(exc).__name__}: {exc}")
        return result
    finally:
        try:
            resource.setrlimit(resource.RLIMIT_AS, saved_limit)
        except (ValueError, OSError):
            pass


def address_cap(max_memory: int) -> tuple[int | None, int]:
    """The address-space limit (soft, hard) that lets this process grow by ``max_memory``; soft is
    None when the hard limit is already lower (the limit then cannot be what the user asked)."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft = vm_bytes(os.getpid()) + max_memory
    if hard != resource.RLIM_INFINITY and hard < soft:
        return None, hard
    return soft, hard


def statm(pid: int) -> tuple[int, int]:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            size, resident = fh.read().split()[:2]
        page = os.sysconf("SC_PAGE_SIZE")
        return int(size) * page, int(resident) * page
    except (OSError, ValueError):
        return 0, 0


def vm_bytes(pid: int) -> int:
    return statm(pid)[0]


def rss_bytes(pid: int) -> int:
    """Resident memory of the audit in ``pid``: the larger of the worker's and of any child's (the run
    tier runs in a forked child while the worker waits for it)."""
    return max([statm(pid)[1]] + [statm(child)[1] for child in _children(pid)])


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except (OSError, ValueError):
        return []
