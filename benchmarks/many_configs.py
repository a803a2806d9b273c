"""Auditing 20 configs of mmdet's R50-FPN family: one invocation against 20 invocations.

    python benchmarks/many_configs.py [--tier TIER] [--jobs 2]

One invocation (``detaudit --jobs N CONFIG...``) pays the imports of torch, mmengine and mmdet
once, in the fork server its workers are forked from, and audits the configs in N workers.
Twenty invocations (``detaudit CONFIG``, one after the other, the way a loop in a shell script
runs them) pay the imports twenty times. Both sides are measured in the same run, the
separate invocations split around the single one so that neither side always runs on a
warmer or quieter machine; the load average is printed, since other work shares the machine.

Every invocation runs with ``--no-cache``: with the result cache on, the separate invocations
after the single one would be answered from what it stored (0.15 s a config) and the ratio
would mean nothing. ``--tier`` is passed on (default: detaudit's own default tier). Prints the
ratio single/separate in wall and CPU time (children included), and the load average.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
R50_FPN = [
    "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py", "retinanet/retinanet_r50_fpn_1x_coco.py",
    "mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py", "cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py",
    "cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py", "atss/atss_r50_fpn_1x_coco.py",
    "ddod/ddod_r50_fpn_1x_coco.py", "double_heads/dh-faster-rcnn_r50_fpn_1x_coco.py",
    "dynamic_rcnn/dynamic-rcnn_r50_fpn_1x_coco.py", "free_anchor/freeanchor_r50_fpn_1x_coco.py",
    "fsaf/fsaf_r50_fpn_1x_coco.py", "gfl/gfl_r50_fpn_1x_coco.py",
    "libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py", "libra_rcnn/libra-retinanet_r50_fpn_1x_coco.py",
    "ms_rcnn/ms-rcnn_r50_fpn_1x_coco.py", "paa/paa_r50_fpn_1x_coco.py",
    "sabl/sabl-faster-rcnn_r50_fpn_1x_coco.py", "sabl/sabl-retinanet_r50_fpn_1x_coco.py",
    "tood/tood_r50_fpn_1x_coco.py", "vfnet/vfnet_r50_fpn_1x_coco.py",
]


def zoo() -> Path:
    return Path(list(importlib.util.find_spec("mmdet").submodule_search_locations)[0]) / ".mim" / "configs"


def run(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and every child it waited for, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", default=None, choices=("static", "build", "forward", "train", "run"),
                    help="the audit's --tier (default: detaudit's default tier)")
    ap.add_argument("--jobs", default=str(os.cpu_count() or 1), help="--jobs of the single invocation")
    args = ap.parse_args()
    configs = [str(zoo() / c) for c in R50_FPN]
    base = [sys.executable, "-m", "detaudit", "--no-cache", "--format", "json", "-o", os.devnull]
    if args.tier:
        base += ["--tier", args.tier]
    print(f"{len(configs)} R50-FPN configs, tier {args.tier or 'default'}, {os.cpu_count()} CPUs, "
          f"load average before {os.getloadavg()[0]:.2f}", flush=True)

    separate: list[float] = []
    separate_cpu: list[float] = []
    half = len(configs) // 2

    def separately(chunk):
        for c in chunk:
            wall, cpu, _ = run(base + [c])
            separate.append(wall)
            separate_cpu.append(cpu)
            print(f"  separate  {wall:6.2f} s  cpu {cpu:6.2f} s  {Path(c).name}", flush=True)

    separately(configs[:half])
    single, single_cpu, code = run(base + ["--jobs", args.jobs] + configs)
    print(f"  single    {single:6.2f} s  cpu {single_cpu:6.2f} s  (--jobs {args.jobs}, {len(configs)} configs, exit {code})", flush=True)
    separately(configs[half:])
    total = sum(separate)
    print(f"\nload average after {os.getloadavg()[0]:.2f}")
    total_cpu = sum(separate_cpu)
    print(f"20 separate invocations: {total:.1f} s, cpu {total_cpu:.1f} s "
          f"(median {statistics.median(separate):.2f} s each)")
    print(f"1 invocation, --jobs {args.jobs}:   {single:.1f} s, cpu {single_cpu:.1f} s")
    print(f"ratio single/separate: wall {single / total:.2f}x, cpu {single_cpu / total_cpu:.2f}x (target <= 0.2x)")


if __name__ == "__main__":
    main()
