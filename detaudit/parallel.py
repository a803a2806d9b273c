"""Auditing many configs in supervised worker processes (``--jobs``, ``--timeout``, ``--max-memory``).

Workers are forked from a fork server that has already imported torch, mmengine, mmdet and
the rule packs (``worker_preload.py``): imports are paid once per run, and a worker that
dies is replaced in milliseconds. Each worker audits one config at a time and is reused
for the next; its state is reset per config (working directory, environment, ``sys.path``).

The supervisor (this module, in the parent process) never trusts a worker:

- a config that loops or hangs is stopped at ``--timeout``: first softly, inside the worker
  (the audit ends with what it has and a DA091 finding), then, if the worker does not answer
  within a grace period, by killing its process group (DA091 without partial results);
- ``--max-memory`` caps what one audit may add to its worker's address space
  (``RLIMIT_AS``), so an allocation that would exceed it fails inside the audit (DA092); the
  supervisor also watches resident memory and kills a worker that grows past the limit;
- a worker that dies (segfault, ``os._exit``, OOM killer) is a DA093 finding for its config;
- a worker is replaced after a timeout, a memory failure or a death, and recycled after
  ``RECYCLE_AFTER`` configs, so no config inherits a damaged process.

Results come back in input order, as soon as every earlier config is done.
"""
from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

TIMEOUT_CODE, MEMORY_CODE, CRASH_CODE = "DA091", "DA092", "DA093"
RECYCLE_AFTER = 50           # configs per worker before it is replaced by a fresh fork
WATCH_INTERVAL = 0.25        # seconds between resident-memory checks of busy workers
START_FAILURES_ALLOWED = 3   # workers dying before their first config: give up (exit 2)

_MEMORY_PATTERNS = re.compile(r"can't allocate memory|cannot allocate memory|out of memory|std::bad_alloc|"
                              r"DefaultCPUAllocator", re.IGNORECASE)


class AuditTimeout(Exception):
    """Raised inside a worker when the config's time budget is spent (--timeout)."""


class WorkerStartError(RuntimeError):
    """Worker processes die before auditing anything: the environment is broken."""


@dataclass
class RunOptions:
    """Per-config options that are not rule settings."""

    cfg_options: dict = field(default_factory=dict)
    input_size: tuple | None = None
    debug: bool = False
    no_exec: bool = False
    timeout: float | None = None        # seconds per config
    max_memory: int | None = None       # bytes one audit may add to its worker
    expect_frozen_source: str = "--expect-frozen"

    @property
    def needs_worker(self) -> bool:
        return bool(self.timeout or self.max_memory)


@dataclass
class _Task:
    index: int
    config: object
    settings: object
    expect_frozen_source: str
    options: RunOptions
    cwd: str
    environ: dict
    sys_path: list


# ---------------------------------------------------------------------------- sizes
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024 ** 2, "mb": 1000 ** 2, "mib": 1024 ** 2,
          "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3, "t": 1024 ** 4, "tb": 1000 ** 4, "tib": 1024 ** 4}


def parse_size(text: str) -> int:
    """'4G', '512M', '1.5GiB', '2000000000' -> bytes (K/M/G/T alone are binary units)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"expected a size like 4G or 512M, got {text!r}")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value < 64 * 1024 ** 2:
        raise ValueError(f"{text} is below the smallest useful limit (64M)")
    return value


def format_size(n: int | float) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


# ---------------------------------------------------------------------------- findings made here
def is_memory_error(info) -> bool:
    return info is not None and (info.type == "MemoryError" or bool(_MEMORY_PATTERNS.search(info.message or "")))


def not_the_models_fault(info) -> str | None:
    """Why a failed step says nothing about the config, if so: the audit's own memory cap or
    time limit (DA092, DA091 report those), or an op without a CPU kernel on this machine."""
    if info is None:
        return None
    if is_memory_error(info):
        return "it ran out of memory (reported as DA092)"
    if info.type == AuditTimeout.__name__:
        return "it was stopped at --timeout (reported as DA091)"
    if "implementation for device cpu not found" in (info.message or ""):
        op = (info.message or "").split(":", 1)[0].strip()
        return f"mmcv has no CPU kernel for {op or 'an op it uses'}; it runs on GPU only"
    return None


_PHASES = {"load": "loading the config", "build": "building the model", "checkpoint": "reading the checkpoint",
           "optimizer": "building the optimizer", "predict": "running predict", "loss": "running the loss forward",
           "step": "running the training step"}


def add_supervision_findings(ctx, result, rules, severity_overrides: dict, limits: RunOptions | None = None) -> None:
    """After an audit: a memory failure inside any step becomes DA092 (naming the limit), and an
    audit stopped by --timeout becomes DA091 (naming the step it was in)."""
    from .engine import complete
    from .rule import Violation

    selected = {r.code: r for r in rules}
    limits = limits or RunOptions()
    if MEMORY_CODE in selected:
        for key, info in ctx.errors.items():
            if not is_memory_error(info):
                continue
            limit = (f"the --max-memory limit of {format_size(limits.max_memory)}" if limits.max_memory
                     else "the memory available (no --max-memory limit was set)")
            result.findings.append(complete(ctx, selected[MEMORY_CODE], Violation(
                message=f"ran out of memory while {_PHASES.get(key, key)}: the audit exceeded {limit} "
                        f"({info.short()})",
                evidence={"phase": key, "limit_bytes": limits.max_memory, "exception": info.type,
                          "detail": info.message[:500]},
                fix="lower --input-size, audit at a shallower --tier, or raise --max-memory",
                file=ctx.display_path), severity_overrides))
            break
    interruption = getattr(ctx, "interruption", None)
    if interruption and TIMEOUT_CODE in selected:
        phase = next((_PHASES.get(k, k) for k, v in ctx.errors.items() if v.type == AuditTimeout.__name__),
                     "running the rules")
        result.findings.append(complete(ctx, selected[TIMEOUT_CODE], Violation(
            message=f"the audit did not finish within --timeout {interruption['timeout']:g} s: stopped while "
                    f"{phase}; findings from the steps before are kept",
            evidence={"timeout_s": interruption["timeout"], "phase": phase, "stopped": "inside the worker"},
            fix="look for a loop or a blocking call in the config's code or custom modules, or raise --timeout",
            file=ctx.display_path), severity_overrides))
        if result.status == "completed":
            result.status = "partial"


def exercise_pipeline(ctx) -> None:
    """Compute every fact up to the requested tier (each once; failures are recorded as usual).
    The supervision rules call this so that selecting only them (``--select DA091,DA092,DA093``)
    still loads, builds and runs each config, which is what they watch."""
    from .errors import FactUnavailable
    from .rule import tier_rank

    for name in ("cfg", "model", "checkpoint", "optim_wrapper", "predict_result", "loss_result", "step_result"):
        prop = getattr(type(ctx), name, None)
        tier = getattr(getattr(prop, "fget", None), "tier", None)
        if tier is None or tier_rank(tier) > tier_rank(ctx.max_tier):
            continue
        try:
            getattr(ctx, name)
        except FactUnavailable:
            continue


def failure_result(task: _Task, code: str, message: str, evidence: dict, fix: str):
    """The result of a config whose worker was killed or died: one supervisor finding, every
    selected rule skipped with the reason."""
    from .engine import DOCS_URL, AuditResult
    from .findings import Finding, Location
    from .registry import all_rules, select_rules
    from .rule import TIERS

    settings = task.settings
    display = _display(task.config, task.cwd)
    selected = select_rules(settings.select, settings.ignore, settings.extend_select)
    result = AuditResult(config=display, status="failed")
    result.tiers = {t: ("failed" if t == "static" else "skipped") for t in TIERS}
    reason = f"the audit did not finish ({message.split(':')[0]})"
    result.skipped = [{"code": r.code, "reason": reason} for r in selected if r.code != code]
    if any(r.code == code for r in selected):
        r = all_rules()[code]
        result.ran.append(code)
        result.findings.append(Finding(
            code=code, name=r.name, severity=settings.severity.get(code) or r.severity, message=message,
            location=Location(display, None, None), evidence=evidence, fix=fix,
            url=DOCS_URL.format(code=code), config=display))
    return result


def _display(config, cwd: str) -> str:
    if not isinstance(config, (str, os.PathLike)):
        filename = getattr(config, "filename", None)
        if not filename:
            return "<config>"
        config = filename
    try:
        return os.path.relpath(os.path.abspath(os.path.join(cwd, config)), os.path.abspath(cwd))
    except ValueError:
        return str(config)


# ---------------------------------------------------------------------------- the worker side
def _worker_main(conn, threads: int, keep_stderr: bool, parent_pid: int) -> None:
    """Runs in the worker process: audit configs received on ``conn`` until told to stop."""
    os.setpgrp()  # its own process group: Ctrl-C reaches the supervisor only, kills reach the whole group
    _exit_with_parent(parent_pid)
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
    from . import api  # noqa: F401 - paid once, before the first config

    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(("start", task.index, _rss_bytes(os.getpid())))
        result = _run_task(task)
        conn.send(("done", task.index, _picklable(result)))


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


def _run_task(task: _Task):
    import resource

    from . import api

    holder: dict = {}
    options = task.options
    saved_limit = resource.getrlimit(resource.RLIMIT_AS)
    try:
        os.chdir(task.cwd)
        os.environ.clear()
        os.environ.update(task.environ)
        sys.path[:] = task.sys_path
        if options.max_memory:
            vm = _vm_bytes(os.getpid())
            hard = saved_limit[1]
            soft = vm + options.max_memory
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        if options.timeout:
            def on_alarm(signum, frame):
                ctx = holder.get("ctx")
                if ctx is not None and ctx.cancelled is None:
                    ctx.cancelled = f"the audit was stopped at --timeout {options.timeout:g} s"
                    ctx.interruption = {"timeout": options.timeout}
                raise AuditTimeout(f"no result within {options.timeout:g} s (--timeout)")

            signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, options.timeout)
        return api.audit_one(task.config, task.settings, cfg_options=options.cfg_options,
                             input_size=options.input_size, debug=False,
                             expect_frozen_source=task.expect_frozen_source, no_exec=options.no_exec,
                             on_context=lambda ctx: holder.__setitem__("ctx", ctx), limits=options)
    except BaseException as exc:  # noqa: BLE001 - whatever happens, the supervisor gets a result
        if isinstance(exc, AuditTimeout):
            return failure_result(task, TIMEOUT_CODE,
                                  f"the audit did not finish within --timeout {options.timeout:g} s",
                                  {"timeout_s": options.timeout, "stopped": "inside the worker"},
                                  "look for a loop or a blocking call in the config's code, or raise --timeout")
        if isinstance(exc, MemoryError):
            return failure_result(task, MEMORY_CODE, _memory_message(options.max_memory, None),
                                  {"limit_bytes": options.max_memory}, _MEMORY_FIX)
        result = failure_result(task, CRASH_CODE, f"the audit stopped with {type(exc).__name__}: {exc}",
                                {"exception": type(exc).__name__}, "run with --debug and report this")
        result.internal_errors.append(f"audit raised {type(exc).__name__}: {exc}")
        return result
    finally:
        if options.timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
        try:
            resource.setrlimit(resource.RLIMIT_AS, saved_limit)
        except (ValueError, OSError):
            pass


def _picklable(result):
    """Evidence is meant to be plain data; make sure of it before it crosses the pipe."""
    import json
    import pickle

    try:
        pickle.dumps(result)
        return result
    except Exception:  # noqa: BLE001
        from .report import _jsonable

        for f in result.findings:
            f.evidence = json.loads(json.dumps(f.evidence, default=_jsonable))
        result.model = json.loads(json.dumps(result.model, default=_jsonable))
        result.optimizer = json.loads(json.dumps(result.optimizer, default=_jsonable))
        result.losses = json.loads(json.dumps(result.losses, default=_jsonable))
        return result


def _statm(pid: int) -> tuple[int, int]:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            size, resident = fh.read().split()[:2]
        page = os.sysconf("SC_PAGE_SIZE")
        return int(size) * page, int(resident) * page
    except (OSError, ValueError):
        return 0, 0


def _vm_bytes(pid: int) -> int:
    return _statm(pid)[0]


def _rss_bytes(pid: int) -> int:
    return _statm(pid)[1]


_MEMORY_FIX = "lower --input-size, audit at a shallower --tier, or raise --max-memory"


def _memory_message(limit: int | None, rss: int | None) -> str:
    where = f" (resident memory reached {format_size(rss)})" if rss else ""
    if limit:
        return f"the audit exceeded the --max-memory limit of {format_size(limit)} and was stopped{where}"
    return f"the audit ran out of memory{where}"


# ---------------------------------------------------------------------------- the supervisor side
class _Worker:
    def __init__(self, mp, threads: int, keep_stderr: bool):
        parent_conn, child_conn = mp.Pipe()
        self.process = mp.Process(target=_worker_main, args=(child_conn, threads, keep_stderr, os.getpid()), daemon=True,
                                  name="detaudit-worker")
        self.process.start()
        child_conn.close()
        self.conn = parent_conn
        self.ready = False
        self.task: _Task | None = None
        self.started: float | None = None
        self.baseline_rss = 0
        self.peak_rss = 0
        self.done = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, task: _Task) -> bool:
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


def _mp_context():
    import multiprocessing as mp

    import tempfile

    methods = mp.get_all_start_methods()
    # The fork server listens on a unix socket under the temp dir; a socket path may not be
    # longer than 107 bytes, and a long TMPDIR would make the server fail to start.
    short_tmp = len(os.fsencode(tempfile.gettempdir())) <= 60
    if "forkserver" in methods and short_tmp:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["detaudit.worker_preload"])
        return ctx
    return mp.get_context("spawn")


def audit_many(items: Iterable[tuple], options: RunOptions, *, jobs: int = 1,
               progress: Callable[[int, int, int, object], None] | None = None) -> Iterator:
    """Audit ``items`` (``(config, settings, expect_frozen_source)``) in ``jobs`` supervised
    worker processes; yield AuditResults in input order, each as soon as it and every earlier
    one are done."""
    items = list(items)
    total = len(items)
    if not total:
        return
    cwd = os.getcwd()
    environ = dict(os.environ)
    sys_path = list(sys.path)
    pending = deque(_Task(i, config, settings, source, options, cwd, environ, sys_path)
                    for i, (config, settings, source) in enumerate(items))
    jobs = max(1, min(int(jobs), total))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    mp = _mp_context()
    workers: list[_Worker] = []
    results: dict[int, object] = {}
    next_out = 0
    start_failures = 0
    grace = _grace(options.timeout)

    def replace(worker: _Worker) -> None:
        workers.remove(worker)
        if pending or any(w.task for w in workers):
            workers.append(_Worker(mp, threads, options.debug))

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
            workers.append(_Worker(mp, threads, options.debug))
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
                    elif kind == "done" and worker.task is not None:
                        result = message[2]
                        finish(worker, result)
                        recycle = (worker.done >= RECYCLE_AFTER or _was_interrupted(result))
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
                        finish(worker, message[2])
                if worker.task is not None:
                    task = worker.task
                    code = _exit_description(worker.process)
                    if options.max_memory and worker.peak_rss - worker.baseline_rss > 0.9 * options.max_memory:
                        finish(worker, failure_result(task, MEMORY_CODE,
                                                      _memory_message(options.max_memory, worker.peak_rss),
                                                      {"limit_bytes": options.max_memory,
                                                       "peak_rss_bytes": worker.peak_rss, "exit": code},
                                                      _MEMORY_FIX))
                    else:
                        finish(worker, failure_result(
                            task, CRASH_CODE, f"the audit process died ({code}) while auditing this config",
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
                    rss = _rss_bytes(worker.pid)
                    worker.peak_rss = max(worker.peak_rss, rss)
                    if rss - worker.baseline_rss > options.max_memory:
                        task = worker.task
                        worker.kill()
                        finish(worker, failure_result(task, MEMORY_CODE, _memory_message(options.max_memory, rss),
                                                      {"limit_bytes": options.max_memory, "peak_rss_bytes": rss},
                                                      _MEMORY_FIX))
                        worker.task = None
                        replace(worker)
                        continue
                if options.timeout and now - worker.started > options.timeout + grace:
                    task = worker.task
                    worker.kill()
                    finish(worker, failure_result(
                        task, TIMEOUT_CODE,
                        f"the audit did not finish within --timeout {options.timeout:g} s and its worker "
                        f"was killed (a loop or blocking call that could not be interrupted)",
                        {"timeout_s": options.timeout, "stopped": "worker killed"},
                        "look for a loop or a blocking call in the config's code or custom modules, "
                        "or raise --timeout"))
                    worker.task = None
                    replace(worker)
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
    finally:
        for w in workers:
            if w.task is not None or not w.process.is_alive():
                w.kill()
            else:
                w.stop()


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


def run_isolated(config, settings, options: RunOptions):
    """One config in one supervised worker (the API's ``audit(..., timeout=...)``)."""
    return next(iter(audit_many([(config, settings, options.expect_frozen_source)], options, jobs=1)))


def run_audits(items: list[tuple], options: RunOptions, *, jobs: int = 1, show_progress: bool = False) -> list:
    """What the CLI runs: in this process for ``--jobs 1`` without limits (the fastest for a
    few configs), else in supervised workers. Results in input order."""
    progress = _Progress(len(items)) if show_progress and len(items) > 1 else None
    try:
        if jobs <= 1 and not options.needs_worker:
            from .api import audit_one

            out = []
            for config, settings, source in items:
                out.append(audit_one(config, settings, cfg_options=options.cfg_options, input_size=options.input_size,
                                     debug=options.debug, expect_frozen_source=source, no_exec=options.no_exec))
                if progress:
                    progress(len(out), len(items), 1 if len(out) < len(items) else 0, out[-1])
            return out
        return list(audit_many(items, options, jobs=jobs, progress=progress))
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
