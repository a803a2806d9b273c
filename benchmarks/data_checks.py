"""Time of the whole-annotation data checks on a generated COCO file, against reading the same file
with plain ``json.load`` in the same run (the machines are shared and noisy; the ratio is what holds).

    python benchmarks/data_checks.py [--annotations 100000] [--rounds 3]

Prints per-round seconds, the medians and the ratio checks/json.load. The checks are those of
``detaudit data`` without the image files (there are none) and without anchors.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from detaudit.facts.data_checks.checks import run_checks
    from detaudit.facts.data_checks.coco import read_coco
    from detaudit.facts.data_checks.model import SplitData
    from detaudit.facts.data_checks.stats import split_stats
    from detaudit.facts.data_checks.synthetic_coco import write_coco

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--annotations", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="detaudit-bench-data-") as tmp:
        path = write_coco(Path(tmp) / "instances.json", args.annotations)
        size = path.stat().st_size
        print(f"{args.annotations} annotations, {size / 2**20:.1f} MiB")
        base, checks = [], []
        for r in range(args.rounds):
            t = time.perf_counter()
            with open(path, "rb") as fh:
                json.load(fh)
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            split = SplitData("train", "train_dataloader.dataset", "CocoDataset",
                              tuple(f"class_{i}" for i in range(10)), filter_cfg={"filter_empty_gt": True})
            read_coco(split, path, Path(tmp) / "images")
            findings = run_checks(split)
            split_stats(split, (1333.0, 800.0))
            checks.append(time.perf_counter() - t)
            print(f"round {r + 1}: json.load {base[-1]:.2f} s, checks {checks[-1]:.2f} s "
                  f"({len(findings)} finding(s))")
        b, c = statistics.median(base), statistics.median(checks)
        print(f"median: json.load {b:.2f} s, checks {c:.2f} s, ratio {c / b:.1f}x; goal < 5 s: "
              f"{'met' if c < 5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
