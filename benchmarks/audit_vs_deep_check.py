"""Wall time and peak memory of a full detaudit audit against the seed's deep-check
baseline, alternating fresh processes in one invocation (these machines are shared and
noisy, so only ratios measured side by side mean anything).

    python benchmarks/audit_vs_deep_check.py [CONFIG] [--rounds N] [--tier TIER]

A third process, a bare ``python -c "import mmdet.models"`` (what any check of a config pays
before it does anything), alternates with the two. The audit runs with ``--no-cache``. Prints
per-run figures, the medians and the ratios audit/baseline and audit/import.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "examples" / "configs" / "stage2_kaist_domain_ft.py"


def run(cmd: list[str]) -> tuple[float, float, float, int]:
    """(wall seconds, peak memory in MiB, CPU seconds, exit code) of one child process. Peak memory is
    the larger of the kernel's peak RSS (of the process and of any child it waited for, each alone)
    and the peak, sampled every 50 ms, of the proportional set size summed over the process and its
    children (each address space once, :func:`tree_pss`): the audit's run tier works in a forked
    child that shares the audit's pages, and the two together are what the machine holds."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_peak = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            tree_peak[0] = max(tree_peak[0], tree_pss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    peak = max(usage.ru_maxrss * 1024, tree_peak[0]) / 2 ** 20
    return wall, peak, usage.ru_utime + usage.ru_stime, proc.returncode


def tree_pss(pid: int) -> int:
    """Bytes of proportional set size of a process and its descendants, read at one moment: 0 once
    it is gone, or when its processes change three times while they are read (a sample skipped). A
    fork while the tree is read would count the parent's pages whole, read before it, and half of
    them again in the child, read after it; so the tree is listed before and after its sizes are
    read, and a sample counts only when both lists agree. A child that shares its parent's address
    space is counted once, with its parent: between ``vfork`` and ``exec`` (how ``subprocess``
    starts a program, as mmengine does for ``git`` and ``gcc`` while it writes a checkpoint or
    builds a Runner) its pages are its parent's, and summing both would count them twice."""
    for _ in range(3):
        processes = _tree(pid)
        total = 0
        for p, parent in processes:
            if parent is not None and same_address_space(p, parent):
                continue
            try:
                with open(f"/proc/{p}/smaps_rollup") as fh:
                    total += next(int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss:"))
            except (OSError, StopIteration, ValueError):
                continue
        if _tree(pid) == processes:
            return total
    return 0


def _tree(pid: int) -> list[tuple[int, int | None]]:
    """(process, its parent) for a process and its descendants, the process first."""
    found, todo = [], [(pid, None)]
    while todo:
        p, parent = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                children = [(int(c), p) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
        found.append((p, parent))
        todo += children
    return found


def same_address_space(a: int, b: int) -> bool:
    """Whether two processes share one address space (Linux's ``kcmp(KCMP_VM)``; False where it is
    not available)."""
    import ctypes
    import platform

    number = {"x86_64": 312, "aarch64": 272}.get(platform.machine())
    if number is None:
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).syscall(number, a, b, 1, 0, 0) == 0  # 1: KCMP_VM
    except (OSError, AttributeError):
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tier", default=None, help="the audit's --tier (default: its own default)")
    args = ap.parse_args()
    py = sys.executable
    baseline_cmd = [py, str(ROOT / "benchmarks" / "deep_check_baseline.py"), args.config]
    report = os.path.join(tempfile.mkdtemp(prefix="detaudit-bench-"), "report.json")
    audit_cmd = [py, "-m", "detaudit", args.config, "--no-cache", "--format", "json", "-o", report]
    if args.tier:
        audit_cmd += ["--tier", args.tier]
    import_cmd = [py, "-c", "import mmdet.models"]
    base, aud, imp = [], [], []
    for i in range(args.rounds):
        # Alternate the order so that no side always runs on a warmer machine.
        order = [("baseline", baseline_cmd, base), ("audit", audit_cmd, aud), ("import", import_cmd, imp)]
        order = order[i % 3:] + order[:i % 3]
        if i % 2:
            order.reverse()
        for name, cmd, sink in order:
            wall, rss, cpu, code = run(cmd)
            sink.append((wall, rss, cpu))
            print(f"round {i + 1} {name:8s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  peak memory {rss:7.1f} MiB  "
                  f"exit {code}", flush=True)
    bw, br, bc = (statistics.median(x[k] for x in base) for k in range(3))
    aw, ar, ac = (statistics.median(x[k] for x in aud) for k in range(3))
    iw, ir, ic = (statistics.median(x[k] for x in imp) for k in range(3))
    print(f"\nconfig: {os.path.relpath(args.config, ROOT)}  rounds: {args.rounds}")
    print(f"baseline (deep check, 512x640, batch 2): wall {bw:.2f} s, cpu {bc:.2f} s, peak memory {br:.0f} MiB")
    tier = args.tier or "default"
    print(f"detaudit full audit (tier {tier}):{' ' * max(1, 16 - len(tier))}wall {aw:.2f} s, cpu {ac:.2f} s, "
          f"peak memory {ar:.0f} MiB")
    print(f"bare `import mmdet.models`:{' ' * 16}wall {iw:.2f} s, cpu {ic:.2f} s, peak memory {ir:.0f} MiB")
    print(f"ratio audit/baseline: wall {aw / bw:.2f}x, cpu {ac / bc:.2f}x, peak memory {ar / br:.2f}x")
    print(f"ratio audit/import:   wall {aw / iw:.2f}x, cpu {ac / ic:.2f}x, peak memory {ar / ir:.2f}x")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
