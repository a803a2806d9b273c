"""A second audit of an unchanged config against the first one (the result cache).

    python benchmarks/cache.py [CONFIG] [--rounds N] [--tier train]

Each round starts from an empty cache folder (a private ``DETAUDIT_CACHE_DIR``) and runs, as
fresh processes, the way a user or a pre-commit hook runs detaudit:

1. ``detaudit CONFIG``: the full audit (imports, model built, synthetic forward and training
   step), which stores its result;
2. ``detaudit CONFIG`` again, nothing changed: answered from the cache (the config, its bases
   and its custom modules are hashed, the checkpoint and data paths stat-ed);
3. after appending a comment to a copy of one of the config's base files (``touch`` would not
   do: contents are what count), ``detaudit`` on a config using that copy: a full audit again.

Both outputs of 1 and 2 are compared (they must be equal but for the ``cached`` mark), and
the median wall times and the ratio second/first are printed (target <= 0.1x), with the load
average, since other work shares the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = "examples/configs/stage2_kaist_domain_ft.py"


def run(args: list[str], env: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "detaudit", *args, "--format", "json"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"detaudit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout)


def comparable(report: dict) -> list:
    return [{k: v for k, v in a.items() if k not in ("cached", "timings_s")} for a in report["audits"]]


def local_copy(config: Path, work: Path) -> tuple[Path, Path]:
    """A copy of the config whose first ``_base_`` entry names a local copy of that base file
    (so that it can be edited); a config without bases is its own edited file."""
    import ast

    from detaudit.load.bases import base_entries, resolve_base

    copy = work / config.name
    entries = base_entries(ast.parse(config.read_bytes()))
    if not entries:
        shutil.copy(config, copy)
        return copy, copy
    base = resolve_base(entries[0], config)
    local_base = work / f"base_{base.name}"
    shutil.copy(base, local_base)
    text = config.read_text()
    for quote in ("'", '"'):
        text = text.replace(f"{quote}{entries[0]}{quote}", repr(str(local_base)), 1)
    copy.write_text(text)
    return copy, local_base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tier", default="train", choices=("static", "build", "forward", "train", "run"))
    args = ap.parse_args()
    config = (ROOT / args.config).resolve()
    print(f"{args.config}, tier {args.tier}, {args.rounds} round(s), {os.cpu_count()} CPUs, "
          f"load average before {os.getloadavg()[0]:.2f}", flush=True)
    first, second, edited = [], [], []
    with tempfile.TemporaryDirectory(prefix="detaudit-cache-bench-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, DETAUDIT_CACHE_DIR=str(tmp / "cache"), DETAUDIT_NO_CACHE="0",
                   PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(
                       os.pathsep) if p]))
        copy, local_base = local_copy(config, tmp)
        for r in range(args.rounds):
            shutil.rmtree(tmp / "cache", ignore_errors=True)
            wall1, report1 = run([str(config), "--tier", args.tier], env)
            wall2, report2 = run([str(config), "--tier", args.tier], env)
            assert report2["audits"][0]["cached"] is True and report1["audits"][0]["cached"] is False
            assert comparable(report1) == comparable(report2), "the cached report differs from the audit"
            run([str(copy), "--tier", args.tier], env)   # stores the copy's result
            with local_base.open("a") as fh:
                fh.write(f"\n# edited in round {r}\n")
            wall3, report3 = run([str(copy), "--tier", args.tier], env)
            assert report3["audits"][0]["cached"] is False, "editing a base file did not audit again"
            first.append(wall1)
            second.append(wall2)
            edited.append(wall3)
            print(f"  round {r + 1}: first {wall1:6.2f} s   second (cached) {wall2:5.2f} s ({wall2 / wall1:.3f}x)   "
                  f"after editing a base {wall3:6.2f} s", flush=True)
    m1, m2, m3 = statistics.median(first), statistics.median(second), statistics.median(edited)
    per_round = statistics.median(b / a for a, b in zip(first, second))
    print(f"\nload average after {os.getloadavg()[0]:.2f}")
    print(f"first audit (median):            {m1:.2f} s")
    print(f"second, unchanged (median):      {m2:.2f} s")
    print(f"after editing a base (median):   {m3:.2f} s (a full audit: {m3 / m1:.2f}x the first)")
    print(f"ratio second/first: {m2 / m1:.3f}x of the medians, {per_round:.3f}x the median of the rounds' "
          "ratios (target <= 0.1x)")


if __name__ == "__main__":
    main()
