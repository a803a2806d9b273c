"""A deterministic sample of mmdet's config zoo at the build tier, three ways in one run on one
machine: ``--jobs 2``; ``--executor ray`` on a local Ray cluster of two nodes with one CPU each
(tests/ray_cluster.py: loopback only, stopped at the end); and ``--shard 1/3``, ``2/3``, ``3/3``
(each with ``--jobs 2``, one after the other) joined by ``detaudit merge``.

    python benchmarks/ray_and_shards.py [--sample 60] [--tier build]

The sample is every k-th config of the sorted zoo (k = zoo size // sample), so every run of the
script audits the same configs. Prints the wall time of each way, the overhead per task of Ray
against ``--jobs 2`` (both use two processes at a time), and whether the Ray report and the merged
report equal the ``--jobs 2`` report config by config (timings aside). Without the result cache.
The load average is printed: other work shares the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from ray_cluster import start_cluster  # noqa: E402
from zoo_sweep import zoo_configs, zoo_root  # noqa: E402


def comparable(audit: dict) -> dict:
    out = {k: v for k, v in audit.items() if k not in ("timings_s", "cached")}
    out["findings"] = [{k: v for k, v in f.items() if k != "evidence"} for f in audit["findings"]]
    return out


def equal_audits(a: Path, b: Path) -> tuple[int, int, list[str]]:
    left, right = json.loads(a.read_text())["audits"], json.loads(b.read_text())["audits"]
    same = sum(1 for x, y in zip(left, right) if comparable(x) == comparable(y))
    differ = [x["config"] for x, y in zip(left, right) if comparable(x) != comparable(y)]
    return same, max(len(left), len(right)), differ


def timed(cmd: list[str], env: dict) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:8])} ... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=60)
    ap.add_argument("--tier", default="build", choices=("static", "build", "forward", "train"))
    args = ap.parse_args()
    root = zoo_root()
    every = zoo_configs(root)
    step = max(1, len(every) // args.sample)
    configs = [str(p) for p in every[::step][:args.sample]]
    out = Path(tempfile.mkdtemp(prefix="detaudit-bench-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), DETAUDIT_NO_CACHE="1")
    base = [sys.executable, "-m", "detaudit", "--tier", args.tier, "--timeout", "600", "--exit-zero"]
    print(f"{len(configs)} zoo configs (every {step}th of {len(every)}), tier {args.tier}, {os.cpu_count()} CPUs, "
          f"load average before {os.getloadavg()[0]:.2f}", flush=True)

    jobs = timed(base + ["--jobs", "2", "--format", f"json:{out / 'jobs2.json'}", *configs], env)
    print(f"  --jobs 2                 {jobs:7.1f} s", flush=True)

    start = time.monotonic()
    cluster = start_cluster()
    up = time.monotonic() - start
    try:
        ray = timed(cluster.command(base + ["--executor", "ray", "--ray-address", cluster.address, "--format",
                                            f"json:{out / 'ray.json'}", *configs]), dict(cluster.env, **{
                                                "DETAUDIT_NO_CACHE": "1"}))
    finally:
        left = cluster.stop()
    print(f"  Ray, 2 nodes x 1 CPU     {ray:7.1f} s  (cluster start {up:.1f} s, not counted; "
          f"{len(left)} process(es) left)", flush=True)

    shards = []
    for i in (1, 2, 3):
        shards.append(timed(base + ["--jobs", "2", "--shard", f"{i}/3", "--format", f"json:{out / f'shard{i}.json'}",
                                    *configs], env))
        print(f"  --shard {i}/3 --jobs 2     {shards[-1]:7.1f} s", flush=True)
    merge = timed([sys.executable, "-m", "detaudit", "merge", *(str(out / f"shard{i}.json") for i in (1, 2, 3)),
                   "-o", str(out / "merged.json"), "--exit-zero"], env)
    print(f"  merge                    {merge:7.1f} s", flush=True)

    print(f"\nload average after {os.getloadavg()[0]:.2f}")
    print(f"Ray overhead per task against --jobs 2: {(ray - jobs) / len(configs):+.2f} s "
          f"({ray / jobs:.2f}x the wall time)")
    for name, other in (("Ray", out / "ray.json"), ("merged shards", out / "merged.json")):
        same, total, differ = equal_audits(out / "jobs2.json", other)
        print(f"{name} report equal to --jobs 2, config by config (timings aside): {same}/{total}"
              + (f"; differ: {', '.join(differ[:5])}" if differ else ""))
    print(f"reports in {out}")


if __name__ == "__main__":
    main()
