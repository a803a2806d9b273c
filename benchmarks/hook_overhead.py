"""What DetAuditHook costs a training iteration, on the detector's stage 2 (CPU, synthetic data).

    python benchmarks/hook_overhead.py [--iters 5] [--rounds 2]

In one process, the fixed stage-2 recipe is trained from a stage-1 checkpoint three ways, in
alternation so that no variant always runs on a quieter machine: without the hook
(``stage2_kaist_domain_ft_fixed.py``), with it as the example config sets it
(``stage2_kaist_domain_ft_audited.py``: one check after iteration 1), and with a check after
every iteration (``interval=1``, the worst case). Every iteration is timed from one
``before_train_iter`` to the next (all hooks included), and the hook's own ``after_train_iter``
is timed separately. Printed:

- the one-off ``before_train`` audit (seconds);
- the hook's own time per iteration, outside the checks, as a share of an iteration: what it
  costs for the rest of the run (the target is under 2%);
- one check (digests of every frozen tensor + the training rules), in seconds and as a share of
  the iteration it follows;
- median iteration time with the hook over without it, outside the first iteration, in wall and
  in this process's CPU time (the run-level A/B figure; noisy on a shared machine, hence the load
  average next to it).
"""
from __future__ import annotations

import argparse
import copy
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONFIGS = ROOT / "examples" / "configs"
SMOKE = {
    "default_hooks.logger.interval": 1, "model.backbone.init_cfg": None,
    "train_dataloader.dataset.pipeline.2.scale": (160, 128), "val_dataloader.dataset.pipeline.1.scale": (160, 128),
    "train_dataloader.num_workers": 0, "train_dataloader.persistent_workers": False,
    "val_dataloader.num_workers": 0, "val_dataloader.persistent_workers": False,
    "train_cfg.max_epochs": 1, "train_cfg.val_begin": 1000, "default_hooks.checkpoint.interval": 1000,
    "log_level": "WARNING",
}


def make_project(folder: Path, iters: int) -> None:
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import detector  # noqa: F401
    from detector.make_synthetic_data import generate

    register_all_modules(init_default_scope=True)
    generate(str(folder / "data"), seed=0, llvip=dict(train=1, test=1), kaist=dict(train=2 * iters, val=1, test=1))
    cfg = Config.fromfile(str(CONFIGS / "stage1_llvip_pretrain.py"))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    target = folder / "work_dirs" / "stage1_llvip_pretrain" / "latest.pth"
    target.parent.mkdir(parents=True)
    torch.save({"meta": {}, "state_dict": model.state_dict()}, target)


def train(name: str, variant: str, folder: Path) -> dict:
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    stamps: list[tuple[float, float]] = []  # (wall, this process's CPU time)

    class IterationClock(Hook):
        priority = "HIGHEST"

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            stamps.append((time.perf_counter(), time.process_time()))

        def after_train_epoch(self, runner):
            stamps.append((time.perf_counter(), time.process_time()))

    config = "stage2_kaist_domain_ft_fixed.py" if variant == "without" else "stage2_kaist_domain_ft_audited.py"
    cfg = Config.fromfile(str(CONFIGS / config))
    cfg.merge_from_dict(copy.deepcopy(SMOKE))
    if variant == "every_iteration":
        cfg.custom_hooks[-1]["interval"] = 1
    cfg.work_dir = str(folder / "work_dirs" / name)
    cfg.experiment_name = name
    runner = Runner.from_cfg(cfg)
    runner.register_hook(IterationClock())
    own: list[tuple[float, bool]] = []
    hook = next((h for h in runner._hooks if type(h).__name__ == "DetAuditHook"), None)
    if hook is not None:
        original = hook.after_train_iter

        def timed(runner, batch_idx, data_batch=None, outputs=None):
            checks = hook._check_seconds
            start = time.perf_counter()
            original(runner, batch_idx, data_batch=data_batch, outputs=outputs)
            own.append((time.perf_counter() - start, hook._check_seconds != checks))

        hook.after_train_iter = timed
    runner.train()
    out = {"iterations": [b[0] - a[0] for a, b in zip(stamps, stamps[1:])],
           "cpu": [b[1] - a[1] for a, b in zip(stamps, stamps[1:])], "own": own,
           "before_train": hook._before.timings.get("hook_before_train") if hook is not None else None}
    del runner
    gc.collect()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=5, help="training iterations per run (default 5)")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each variant (default 2)")
    args = ap.parse_args()
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mmengine").setLevel(logging.WARNING)
    variants = ("without", "with", "every_iteration")
    results: dict[str, list[dict]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="detaudit-hook-bench-") as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # the configs name data/ and work_dirs/ relative to the launch directory
        make_project(folder, args.iters)
        load = []
        for r in range(args.rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for v in order:
                load.append(os.getloadavg()[0])
                results[v].append(train(f"{v}-{r}", v, folder))
                print(f"round {r + 1}/{args.rounds} {v}: iterations {[round(t, 2) for t in results[v][-1]['iterations']]} s",
                      flush=True)

    def steady(v, key="iterations"):  # iteration times after the first, pooled over the rounds
        return [t for run in results[v] for t in run[key][1:]]

    base = statistics.median(steady("without"))
    print(f"\nstage 2 (fixed recipe), {args.iters} iterations x {args.rounds} rounds per variant; load average "
          f"{min(load):.1f}..{max(load):.1f} on {os.cpu_count()} CPUs")
    print(f"median iteration without the hook: {base:.3f} s wall, {statistics.median(steady('without', 'cpu')):.3f} s "
          f"CPU")
    before = [run["before_train"] for run in results["with"]]
    print(f"before_train audit (one-off): {statistics.mean(before):.2f} s")
    outside = [t for run in results["with"] + results["every_iteration"] for t, check in run["own"] if not check]
    checks = [t for run in results["with"] + results["every_iteration"] for t, check in run["own"] if check]
    print(f"hook's own time per iteration outside checks: {statistics.mean(outside) * 1e3:.3f} ms = "
          f"{statistics.mean(outside) / base:.5%} of an iteration")
    print(f"one check (digests + rules): {statistics.mean(checks):.3f} s = {statistics.mean(checks) / base:.2%} of the "
          f"iteration it follows")
    cpu_base = statistics.median(steady("without", "cpu"))
    for v in ("with", "every_iteration"):
        wall, cpu = statistics.median(steady(v)), statistics.median(steady(v, "cpu"))
        print(f"median iteration with the hook ({v.replace('_', ' ')}): {wall:.3f} s wall (ratio {wall / base:.4f}), "
              f"{cpu:.3f} s CPU (ratio {cpu / cpu_base:.4f})")


if __name__ == "__main__":
    main()
