"""Where an audit's time and memory go: per stage and per fact, for one config at one tier.

    python benchmarks/profile_tiers.py [CONFIG] [--tier run] [--cprofile PREFIX] [--top N] [--json OUT]

CONFIG is a path, or ``mmdet::<path in mmdet's config folder>`` for the installed zoo. The audit
runs in this process (no result cache), with every fact of the audit context and the run tier's
phases (component checks, the Runner's build, training iterations, validation, test, checkpoint
write, resume) wrapped by a timer. Each line gives, for that step alone (the steps it calls are
subtracted), wall seconds, CPU seconds of the process it ran in, the resident memory after it and
the process's peak resident memory so far. The run tier works in a forked child: its phases are
marked ``[child]`` and their CPU and peak memory are the child's. ``--cprofile PREFIX`` also writes
cProfile statistics (``PREFIX.parent.prof``, ``PREFIX.child.prof``) and prints the top functions
by own time. The machine is shared: the load average is printed with the figures; CPU seconds and
memory are what load distorts least.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CONFIG = ROOT / "examples" / "configs" / "stage2_kaist_domain_ft.py"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2 ** 20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Recorder:
    """A stack of timed steps; each record holds the step's own (exclusive) wall and CPU time."""

    def __init__(self):
        self.records: list[dict] = []
        self.stack: list[list[float]] = []  # per open step: [wall of its children, cpu of its children]
        self.proc = "parent"
        self.sink: str | None = None  # the child appends its records here

    @contextlib.contextmanager
    def step(self, name: str):
        self.stack.append([0.0, 0.0])
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            inner = self.stack.pop()
            if self.stack:
                self.stack[-1][0] += wall
                self.stack[-1][1] += cpu
            self.add(name, wall - inner[0], cpu - inner[1], len(self.stack))

    def add(self, name, wall, cpu, depth):
        rec = {"name": name, "proc": self.proc, "depth": depth, "wall": wall, "cpu": cpu,
               "rss": rss_mib(), "peak": peak_mib()}
        self.records.append(rec)
        if self.sink:
            with open(self.sink, "a") as fh:
                fh.write(json.dumps(rec) + "\n")


REC = Recorder()


def wrap(owner, attr: str, name: str | None = None) -> None:
    import inspect

    raw = inspect.getattr_static(owner, attr)
    fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
    label = name or attr

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        with REC.step(label):
            return fn(*args, **kwargs)

    setattr(owner, attr, staticmethod(timed) if isinstance(raw, staticmethod) else
            classmethod(timed) if isinstance(raw, classmethod) else timed)


def wrap_facts() -> None:
    from detaudit.facts.context import AuditContext

    for name, value in list(vars(AuditContext).items()):
        if isinstance(value, property) and hasattr(value.fget, "tier"):
            getter = value.fget

            def get(self, _getter=getter, _label=f"fact {getter.tier}:{name}"):
                if _getter.__name__ in self._facts or _getter.__name__ in self._failed:
                    return _getter(self)
                with REC.step(_label):
                    return _getter(self)

            setattr(AuditContext, name, property(get))


def wrap_run(sink: str, cprofile: str | None, flush_denormal: str | None = None) -> None:
    """The run tier's phases, in the parent and in the forked child."""
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import Runner, loops

    from detaudit.facts.run import child, data_binding, runner

    for attr in ("_model_as_built", "check_visualizer", "check_hooks", "check_datasets", "check_evaluator",
                 "_fresh_optimizer", "check_schedulers", "_check_monitored", "_release"):
        wrap(runner, attr, f"run:{attr.lstrip('_')}")
    wrap(data_binding, "bind_data", "run:bind_data")
    wrap(runner, "_resume", "run:resume (second Runner)")
    for attr in ("__init__", "build_optim_wrapper", "build_param_scheduler", "build_dataloader",
                 "load_checkpoint", "save_checkpoint", "resume", "load_or_resume"):
        wrap(Runner, attr, f"Runner.{attr}")
    wrap(loops.ValLoop, "run", "ValLoop.run")
    wrap(loops.TestLoop, "run", "TestLoop.run")
    for loop in (loops.EpochBasedTrainLoop, loops.IterBasedTrainLoop):
        wrap(loop, "run_iter", "train iteration (data + train_step + hooks)")
    wrap(CheckpointHook, "_save_checkpoint", "CheckpointHook._save_checkpoint")

    in_child = child.in_child

    def profiled_in_child(work, after_fork=None):
        fork_at = time.perf_counter()

        def child_work():
            REC.proc, REC.sink, REC.stack = "child", sink, []
            REC.add("fork (to the child's first line)", time.perf_counter() - fork_at, 0.0, 0)
            if flush_denormal == "child":
                import torch

                torch.set_flush_denormal(True)
            prof = None
            if cprofile:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            try:
                with REC.step("run: the child's other work (Runner.train, loops, hooks outside the steps)"):
                    return work()
            finally:
                if prof is not None:
                    prof.disable()
                    prof.dump_stats(f"{cprofile}.child.prof")

        with REC.step("run:in_child (parent waits)"):
            return in_child(child_work, after_fork)

    child.in_child = profiled_in_child


def resolve(config: str) -> str:
    if config.startswith("mmdet::"):
        base = Path(list(importlib.util.find_spec("mmdet").submodule_search_locations)[0]) / ".mim" / "configs"
        return str(base / config[len("mmdet::"):])
    return config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG))
    ap.add_argument("--tier", default="run")
    ap.add_argument("--cprofile", default=None, help="write cProfile stats to PREFIX.{parent,child}.prof")
    ap.add_argument("--top", type=int, default=15, help="functions to print from each profile")
    ap.add_argument("--json", default=None, help="write the records as JSON")
    ap.add_argument("--flush-denormal", choices=("all", "child"), default=None,
                    help="an experiment: torch.set_flush_denormal(True) in the whole audit or in the run's child")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    w0, c0 = time.perf_counter(), time.process_time()
    with REC.step("import torch, mmengine, mmdet.models"):
        import mmdet.models  # noqa: F401
        import torch  # noqa: F401
    with REC.step("import detaudit"):
        from detaudit.faces.api import audit
    wrap_facts()
    fd, sink = tempfile.mkstemp(prefix="detaudit-profile-", suffix=".jsonl")  # the run's child appends here
    os.close(fd)
    wrap_run(sink, args.cprofile, args.flush_denormal)
    if args.flush_denormal == "all":
        torch.set_flush_denormal(True)
    prof = None
    if args.cprofile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    with REC.step("audit (rules, report, outside the facts)"):
        report = audit(resolve(args.config), tier=args.tier)
    if prof is not None:
        prof.disable()
        prof.dump_stats(f"{args.cprofile}.parent.prof")
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    child_recs = []
    if os.path.exists(sink):
        with open(sink) as fh:
            child_recs = [json.loads(line) for line in fh]
        os.unlink(sink)
    # the parent's wait for the child is the child's wall time: keep only what is not the child's own
    child_top = sum(r["wall"] for r in child_recs)
    for r in REC.records:
        if r["name"] == "run:in_child (parent waits)":
            r["wall"] -= child_top
            r["name"] = "run:in_child (pickling, exit, not in the child's steps)"
    records = REC.records + child_recs
    findings = sorted({f.code for a in report.audits for f in a.findings})
    print(f"config {args.config}  tier {args.tier}  load average {load0:.2f} -> {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    print(f"findings: {' '.join(findings)}")
    print(f"{'step (own time, callees subtracted)':62s} {'wall s':>7s} {'cpu s':>7s} {'rss MiB':>8s} {'peak MiB':>8s}")
    merged: dict[tuple, dict] = {}
    for r in records:
        m = merged.setdefault((r["proc"], r["name"]), {**r, "wall": 0.0, "cpu": 0.0, "n": 0})
        m["wall"] += r["wall"]
        m["cpu"] += r["cpu"]
        m["n"] += 1
        m["rss"], m["peak"] = r["rss"], max(m["peak"], r["peak"])
    for m in sorted(merged.values(), key=lambda m: -m["wall"]):
        label = ("[child] " if m["proc"] == "child" else "") + m["name"] + (f" x{m['n']}" if m["n"] > 1 else "")
        print(f"{label[:62]:62s} {m['wall']:7.2f} {m['cpu']:7.2f} {m['rss']:8.0f} {m['peak']:8.0f}")
    child_cpu = sum(r["cpu"] for r in child_recs)
    child_peak = max((r["peak"] for r in child_recs), default=0.0)
    print(f"{'total':62s} {wall:7.2f} {cpu + child_cpu:7.2f} {rss_mib():8.0f} {max(peak_mib(), child_peak):8.0f}")
    timings = {a.config: getattr(a, "timings", None) for a in report.audits}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"config": args.config, "tier": args.tier, "load": load0, "records": records,
                       "wall": wall, "cpu": cpu + child_cpu, "findings": findings, "timings": str(timings)}, fh)
    if args.cprofile:
        import pstats

        for which in ("parent", "child"):
            path = f"{args.cprofile}.{which}.prof"
            if os.path.exists(path):
                print(f"\ncProfile, {which}: top {args.top} by own time")
                pstats.Stats(path).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
