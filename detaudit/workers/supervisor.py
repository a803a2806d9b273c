"""Auditing many configs in supervised worker processes (``--jobs``, ``--timeout``, ``--max-memory``).

Workers are forked from a fork server that has already imported torch, mmengine, mmdet and
the rule packs (``workers/preload.py``): imports are paid once per run, and a worker that
dies is replaced in milliseconds. Each worker audits one config at a time and is reused
for the next; its state is reset per config (working directory, environment, ``sys.path``,
registries and imported modules).

The supervisor (this module, in the parent process) never trusts a worker:

- a config that loops or hangs is stopped at ``--timeout``: first softly, inside the worker
  (the audit ends with what it has and a DA091 finding), then, if the worker does not answer
  within a grace period, by killing its process group (DA091 without partial results);
- ``--max-memory`` caps what one audit may add to its worker's address space
  (``RLIMIT_AS``), so an allocation that would exceed it fails inside the audit (DA092); the
  supervisor also watches resident memory and kills a worker that grows past the limit;
- a worker that dies (segfault, ``os._exit``, OOM killer) is a DA093 finding for its config;
- a worker is replaced after a timeout, a memory failure or a death, after a config that
  imported modules of its own project (``custom_imports``: their registrations and any patch
  they made must not reach the next config), and recycled after ``RECYCLE_AFTER`` configs,
  so no config inherits a damaged process.

Results come back in input order, as soon as every earlier config is done.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections import deque
from typing import Callable, Iterable, Iterator

from ..load.paths import display_path
from ..report.result import AuditResult
from ..report.supervision import CRASH_CODE, MEMORY_CODE, MEMORY_FIX, TIMEOUT_CODE, failure_result, memory_message
from ..options import AuditOptions
from ..facts.deadline import bound_for, describe, read_stack
from .interrupt import scratch_folder
from .task import Task
from .worker import rss_bytes, worker_main

RECYCLE_AFTER = 50           # configs per worker before it is replaced by a fresh fork
# Under its address-space limit an audit cannot map more than --max-memory, yet its resident
# memory may still grow a little past it: pages the worker had mapped before the limit (freed
# heap, the preloaded server's copy-on-write pages) become resident again. The watch then only
# stops what the limit missed, with this much room.
CAPPED_SLACK = 1.5
WATCH_INTERVAL = 0.25        # seconds between resident-memory checks of busy workers
START_FAILURES_ALLOWED = 3   # workers dying before their first config: give up (exit 2)


class WorkerStartError(RuntimeError):
    """Worker processes die before auditing anything: the environment is broken."""


class _Worker:
    def __init__(self, mp, threads: int, keep_stderr: bool, stack_dir: str | None = None):
        parent_conn, child_conn = mp.Pipe()
        self.stack_path = os.path.join(stack_dir, f"stack-{id(self)}") if stack_dir else None
        self.process = mp.Process(target=worker_main, args=(child_conn, threads, keep_stderr, os.getpid(),
                                                            self.stack_path), daemon=True, name="detaudit-worker")
        self.process.start()
        child_conn.close()
        self.conn = parent_conn
        self.ready = False
        self.task: Task | None = None
        self.started: float | None = None
        self.baseline_rss = 0
        self.capped = False
        self.peak_rss = 0
        self.done = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, task: Task) -> bool:
        """False when the worker cannot take it (it just died: its sentinel will say so)."""
        try:
            self.conn.send(task)
        except (OSError, ValueError):
            return False
        self.task = task
        self.started = None
        return True

    def kill(self) -> None:
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError, OSError, TypeError):
                continue
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


def _path_of(config):
    """A config argument's path (a Config object has its filename)."""
    if isinstance(config, (str, os.PathLike)):
        return config
    return getattr(config, "filename", None)


def _mp_context():
    import multiprocessing as mp

    import tempfile

    methods = mp.get_all_start_methods()
    # The fork server listens on a unix socket under the temp dir; a socket path may not be
    # longer than 107 bytes, and a long TMPDIR would make the server fail to start.
    short_tmp = len(os.fsencode(tempfile.gettempdir())) <= 60
    if "forkserver" in methods and short_tmp:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["detaudit.workers.preload"])
        return ctx
    return mp.get_context("spawn")


def audit_many(items: Iterable[tuple], *, jobs: int = 1,
               progress: Callable[[int, int, int, object], None] | None = None,
               threads: int | None = None, context: tuple | None = None) -> Iterator:
    """Audit ``items`` (``(config, options)``) in ``jobs`` supervised worker processes; yield
    AuditResults in input order, each as soon as it and every earlier one are done. The limits
    (``--timeout``, ``--max-memory``) and ``debug`` are the run's: those of the first item.
    ``threads``: torch threads per worker (default: the CPUs shared out); ``context``: the
    ``(cwd, environ, sys_path)`` the audits run in (default: this process's; a Ray task passes its
    driver's, workers/ray_executor.py)."""
    items = list(items)
    total = len(items)
    if not total:
        return
    options: AuditOptions = items[0][1]
    cwd, environ, sys_path = context or (os.getcwd(), dict(os.environ), list(sys.path))
    scratch = scratch_folder()  # the workers' temporary folder, removed at the end whatever happened to them
    environ = dict(environ, TMPDIR=scratch.path)
    pending = deque(Task(i, config, display_path(_path_of(config), cwd), config_options, cwd, environ, sys_path)
                    for i, (config, config_options) in enumerate(items))
    jobs = max(1, min(int(jobs), total))
    threads = threads or max(1, (os.cpu_count() or 1) // jobs)
    mp = _mp_context()
    workers: list[_Worker] = []
    results: dict[int, object] = {}
    next_out = 0
    start_failures = 0

    def replace(worker: _Worker) -> None:
        workers.remove(worker)
        if pending or any(w.task for w in workers):
            workers.append(_Worker(mp, threads, options.debug, scratch.path))

    finished = [0]

    def finish(worker: _Worker, result) -> None:
        results[worker.task.index] = result
        worker.task = None
        worker.done += 1
        finished[0] += 1
        if progress:
            progress(finished[0], total, sum(1 for w in workers if w.task), result)

    try:
        for _ in range(jobs):
            workers.append(_Worker(mp, threads, options.debug, scratch.path))
        from multiprocessing.connection import wait

        while next_out < total:
            for w in list(workers):
                if w.task is None and pending and w.process.is_alive():
                    task = pending.popleft()
                    if not w.send(task):
                        pending.appendleft(task)
            waitables = [w.conn for w in workers] + [w.process.sentinel for w in workers]
            timeout = WATCH_INTERVAL if (options.max_memory or options.timeout) else 1.0
            for ready in wait(waitables, timeout=timeout):
                worker = next((w for w in workers if ready is w.conn or ready == w.process.sentinel), None)
                if worker is None or worker not in workers:
                    continue
                if ready is worker.conn:
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        message = None
                    if message is None:
                        continue  # the sentinel reports the death
                    kind = message[0]
                    if kind == "ready":
                        worker.ready = True
                    elif kind == "start":
                        worker.started = time.monotonic()
                        worker.baseline_rss = worker.peak_rss = message[2]
                        worker.capped = len(message) > 3 and bool(message[3])
                    elif kind == "done" and worker.task is not None:
                        result = AuditResult.from_json(message[2])
                        finish(worker, result)
                        ran_project_code = len(message) > 3 and bool(message[3])
                        recycle = worker.done >= RECYCLE_AFTER or _was_interrupted(result) or ran_project_code
                        if recycle:
                            worker.stop()
                            replace(worker)
                    continue
                # The process ended; a result it sent just before still counts.
                while worker.task is not None and _poll(worker.conn):
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        break
                    if message[0] == "done":
                        finish(worker, AuditResult.from_json(message[2]))
                if worker.task is not None:
                    task = worker.task
                    code = _exit_description(worker.process)
                    if options.max_memory and worker.peak_rss - worker.baseline_rss > 0.9 * options.max_memory:
                        finish(worker, failure_result(task.display, task.options, MEMORY_CODE,
                                                      memory_message(options.max_memory, worker.peak_rss),
                                                      {"limit_bytes": options.max_memory,
                                                       "peak_rss_bytes": worker.peak_rss, "exit": code},
                                                      MEMORY_FIX))
                    else:
                        finish(worker, failure_result(
                            task.display, task.options, CRASH_CODE,
                            f"the audit process died ({code}) while auditing this config",
                            {"exit": code, "peak_rss_bytes": worker.peak_rss},
                            "run this config alone with --debug; a native crash or os._exit in the config's "
                            "code or a custom module is the usual cause"))
                elif not worker.ready:
                    start_failures += 1
                    if start_failures > START_FAILURES_ALLOWED:
                        raise WorkerStartError(f"audit workers die on start ({_exit_description(worker.process)})")
                worker.kill()
                replace(worker)
            now = time.monotonic()
            for worker in list(workers):
                if worker.task is None or worker.started is None:
                    continue
                if options.max_memory:
                    rss = rss_bytes(worker.pid)
                    worker.peak_rss = max(worker.peak_rss, rss)
                    if rss - worker.baseline_rss > options.max_memory * (CAPPED_SLACK if worker.capped else 1):
                        task = worker.task
                        worker.kill()
                        finish(worker, failure_result(task.display, task.options, MEMORY_CODE,
                                                      memory_message(options.max_memory, rss),
                                                      {"limit_bytes": options.max_memory, "peak_rss_bytes": rss},
                                                      MEMORY_FIX))
                        worker.task = None
                        replace(worker)
                        continue
                bound = bound_for(options.timeout, task_tier(worker.task))
                if bound and now - worker.started > bound + _grace(bound):
                    task = worker.task
                    stack = read_stack(worker.pid, worker.stack_path)
                    worker.kill()
                    finish(worker, failure_result(
                        task.display, task.options, TIMEOUT_CODE,
                        f"the audit did not finish within "
                        f"{describe(bound, options.timeout is not None, task_tier(task))} and its worker "
                        f"was killed (a loop or blocking call that could not be interrupted)"
                        + (f", in {stack[0]}" if stack else ""),
                        {"timeout_s": bound, "stopped": "worker killed", **({"stack": stack} if stack else {})},
                        "look for a loop or a blocking call in the config's code or custom modules, "
                        "or raise --timeout"))
                    worker.task = None
                    replace(worker)
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM (interrupt.py): what finished goes with it
        exc.finished = dict(results)
        raise
    finally:
        for w in workers:
            if w.task is not None or not w.process.is_alive():
                w.kill()
            else:
                w.stop()
        scratch.remove()


def task_tier(task) -> str:
    return getattr(task.options, "tier", "train") if task is not None else "train"


def _grace(timeout: float | None) -> float:
    """How long a worker may take after its soft timeout to hand back partial results."""
    if not timeout:
        return 0.0
    return min(30.0, max(5.0, timeout * 0.5))


def _was_interrupted(result) -> bool:
    """A worker that timed out or ran out of memory may hold damaged state: replace it."""
    if any(f.code in (TIMEOUT_CODE, MEMORY_CODE, CRASH_CODE) for f in result.findings):
        return True
    reasons = " ".join(s.get("reason", "") for s in result.skipped)
    return "--timeout" in reasons or "MemoryError" in reasons or "allocate memory" in reasons


def _poll(conn) -> bool:
    try:
        return conn.poll()
    except (EOFError, OSError):
        return False


def _exit_description(process) -> str:
    code = process.exitcode
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exit code {code}"


def run_isolated(config, options: AuditOptions):
    """One config in one supervised worker (the API's ``audit(..., timeout=...)``)."""
    return next(iter(audit_many([(config, options)], jobs=1)))


def run_audits(items: list[tuple], *, jobs: int = 1, show_progress: bool = False) -> list:
    """What the CLI runs: in this process for ``--jobs 1`` without limits (the fastest for a
    few configs), else in supervised workers. Results in input order. Interrupted (Ctrl-C,
    SIGTERM), it raises :class:`~.interrupt.RunInterrupted` with what finished and an
    ``interrupted`` result for each config that did not."""
    from .interrupt import RunInterrupted

    progress = _Progress(len(items)) if show_progress and len(items) > 1 else None
    out: list = []
    try:
        if jobs <= 1 and not any(options.needs_worker for _, options in items):
            from ..driver import ConfigFile, audit

            for config, options in items:
                out.append(audit(ConfigFile(config), options))
                if progress:
                    progress(len(out), len(items), 1 if len(out) < len(items) else 0, out[-1])
            return out
        for result in audit_many(items, jobs=jobs, progress=progress):
            out.append(result)
        return out
    except KeyboardInterrupt as exc:
        raise RunInterrupted.of(exc, items, out, getattr(exc, "finished", {})) from None
    finally:
        if progress:
            progress.close()


class _Progress:
    """One self-rewriting status line on stderr (only used when stderr is a terminal)."""

    def __init__(self, total: int):
        self.total = total
        self.failed = 0
        self.start = time.monotonic()
        self.width = 0

    def __call__(self, done: int, total: int, running: int, result) -> None:
        if getattr(result, "status", "") == "failed":
            self.failed += 1
        elapsed = time.monotonic() - self.start
        name = getattr(result, "config", "")
        if len(name) > 60:
            name = "..." + name[-57:]
        line = (f"[{done}/{total}] {elapsed:5.0f} s  {running} running  {self.failed} failed  last: {name}")
        self.width = max(self.width, len(line))
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()

    def close(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()
