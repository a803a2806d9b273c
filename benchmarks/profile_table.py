"""The per-stage CPU table of the README from ``profile_tiers.py --json`` outputs, one column per file.

    python benchmarks/profile_table.py A.json B.json ...

Each step ``profile_tiers.py`` timed is put in one stage row (the imports, the static facts, the
model's build, ... the run's resume); a step no row claims is printed under "other" so that the
rows always sum to the total.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

# (row label, does a step's name belong to it); the first row that claims a step takes it
ROWS = [
    ("import torch, mmengine, mmdet.models", lambda n: n.startswith("import torch")),
    ("import detaudit", lambda n: n == "import detaudit"),
    ("static facts (config load, source map, merges)", lambda n: n.startswith("fact static:")),
    ("build (model, parameter table, intents)", lambda n: n.startswith("fact build:")),
    ("checkpoint (load_from read)", lambda n: n.startswith("fact checkpoint:")),
    ("optimizer (build_optim_wrapper, param_lr)", lambda n: n.startswith("fact optimizer:")),
    ("forward: predict", lambda n: n == "fact forward:predict_result"),
    ("forward: loss", lambda n: n == "fact forward:loss_result"),
    ("forward: test pipeline probe, the rest", lambda n: n.startswith("fact forward:")),
    ("train: backward + optimizer step", lambda n: n.startswith("fact train:")),
    ("rules and report (outside the facts)", lambda n: n.startswith("audit (")),
    ("run: Runner builds (loops, dataloaders, optim wrapper, schedulers)",
     lambda n: n.startswith(("[child] Runner.__init__", "[child] Runner.build_"))),
    ("run: training iterations (2, then 1 after the resume)", lambda n: n.startswith("[child] train iteration")),
    ("run: validation (ValLoop)", lambda n: n.startswith("[child] ValLoop")),
    ("run: test (TestLoop)", lambda n: n.startswith("[child] TestLoop")),
    ("run: checkpoint write", lambda n: "save_checkpoint" in n),
    ("run: resume (checkpoint read, second Runner's set-up)",
     lambda n: n.startswith(("[child] Runner.load_", "[child] Runner.resume", "[child] run:resume"))),
    ("run: fork, data, component checks, the rest",
     lambda n: n.startswith(("[child]", "run:", "fact run:"))),
]


def stage_of(name: str) -> str:
    return next((label for label, claims in ROWS if claims(name)), "other")


def table(paths: list[str]) -> str:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    names = [Path(r["config"]).stem for r in runs]
    sums = []
    for r in runs:
        per = {}
        for rec in r["records"]:
            stage = stage_of(("[child] " if rec.get("proc") == "child" else "") + rec["name"])
            per[stage] = per.get(stage, 0.0) + rec["cpu"]
        sums.append(per)
    labels = [label for label, _ in ROWS] + ["other"]
    lines = ["| stage | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label in labels:
        if any(label in s for s in sums):
            lines.append(f"| {label} | " + " | ".join(f"{s.get(label, 0.0):.2f}" for s in sums) + " |")
    lines.append("| **CPU s total / wall s** | " + " | ".join(
        f"{sum(s.values()):.1f} / {r['wall']:.1f}" for s, r in zip(sums, runs)) + " |")
    lines.append("| load average at start | " + " | ".join(
        f"{r['load']:.1f}" for r in runs) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(table(sys.argv[1:]))
