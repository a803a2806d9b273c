"""Measure ``detaudit migrate`` on MMDetection's own zoo: the 2.x configs of the mmdet 2.28.2 wheel,
migrated, against the 3.x configs of the same models in mmdet 3.3.0.

    python scripts/migrate_zoo.py --v2 DIR2 --v3 DIR3 --work DIR [--sample N] [--out docs/migrate-report]

DIR2/DIR3 are the ``configs`` folders of the two wheels (``pip download mmdet==2.28.2 --no-deps``
and ``mmdet==3.3.0``; the configs are under ``mmdet/.mim/configs``). The 2.x tree is migrated into
WORK/migrated; each 2.x config is paired with the 3.x config of the same file name once ``-`` and
``_`` are ignored, or through 3.x's renames (scripts/migrate_zoo_names.py: a unique candidate only). For each pair both configs are loaded with mmengine,
both models built with mmdet 3.3 on the CPU, and compared on: parameter names and shapes; the
train and test pipelines' transform types and sizes; optimizer type, lr, momentum, weight decay;
the schedule (loop type, max epochs/iters, milestones); dataset types and annotation files;
evaluator types and metrics. Results go to OUT.json (one record per pair) and OUT.md (shares and
the differences, grouped). One process; results are appended as they come, so an interrupted run
keeps what it measured (--resume reads them back).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ASPECTS = ("model", "pipelines", "optimizer", "schedule", "datasets", "evaluators")
WRAPPERS = {"RepeatDataset": "dataset", "ClassBalancedDataset": "dataset", "MultiImageMixDataset": "dataset",
            "ConcatDataset": "datasets"}
# the keys whose values the comparison reads (a pair is measured again when one of them changed)
COMPARED_KEYS = ("model", "train_dataloader", "val_dataloader", "test_dataloader", "optim_wrapper", "train_cfg",
                 "param_scheduler", "val_evaluator", "test_evaluator")
SIZE_KEYS = ("scale", "scales", "img_scale", "crop_size", "size", "scale_factor", "ratio_range")


def pairs(v2: Path, v3: Path) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """(pairs matched by name once '-'/'_' are ignored, pairs matched through 3.x's renames).

    The renames are data, in scripts/migrate_zoo_names.py (RENAMES); a 2.x config is paired only
    with a unique 3.x candidate."""
    from migrate_zoo_names import match  # next to this script

    found = match(v2, v3)
    return found["same"], found["renamed"]


def interleaved(items: list, stride: int = 8) -> list:
    """Every stride-th item, then the next offset, ...: any prefix is a sample spread over the
    whole list, so a run stopped early has measured a deterministic sample."""
    return [items[i] for offset in range(stride) for i in range(offset, len(items), stride)]


def merged_hash(path: Path) -> str:
    """A digest of the compared keys of the merged config: a pair whose migrated config says the same there is not measured again."""
    import hashlib

    from detaudit.load.static_reader import read_static

    try:
        cfg = read_static(path).cfg
    except Exception as exc:  # noqa: BLE001
        return f"unreadable: {exc}"
    compared = {k: cfg.get(k) for k in COMPARED_KEYS}
    return hashlib.sha256(json.dumps(compared, sort_keys=True, default=repr).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- what is compared
def _leaves(ds):
    if not isinstance(ds, dict):
        return []
    kind = ds.get("type")
    if kind in WRAPPERS:
        inner = ds.get(WRAPPERS[kind])
        return [x for d in (inner if isinstance(inner, list) else [inner]) for x in _leaves(d)]
    return [ds]


def _pipeline_of(ds):
    if not isinstance(ds, dict):
        return None
    if isinstance(ds.get("pipeline"), list):
        return ds["pipeline"]
    for leaf in _leaves(ds):
        if isinstance(leaf.get("pipeline"), list):
            return leaf["pipeline"]
    return None


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _transforms(pipeline):
    out = []
    for t in pipeline or []:
        if not isinstance(t, dict):
            continue
        sizes = {k: _plain(t[k]) for k in SIZE_KEYS if k in t}
        out.append([t.get("type"), sizes])
        for inner_key in ("transforms",):
            if isinstance(t.get(inner_key), list):
                inner = t[inner_key]
                inner = [x for group in inner for x in (group if isinstance(group, list) else [group])]
                out.extend(["  " + str(x[0]), x[1]] for x in _transforms(inner))
    return out


def _loader(cfg, name):
    dl = cfg.get(name)
    return dl.get("dataset") if isinstance(dl, dict) else None


def facts(cfg) -> dict:
    """What is compared, from a loaded config (mmengine Config)."""
    out = {}
    out["pipelines"] = {"train": _transforms(_pipeline_of(_loader(cfg, "train_dataloader"))),
                        "test": _transforms(_pipeline_of(_loader(cfg, "test_dataloader")))}
    ow = cfg.get("optim_wrapper") or {}
    opt = ow.get("optimizer") or {}
    out["optimizer"] = {k: opt.get(k) for k in ("type", "lr", "momentum", "weight_decay")}
    tc = cfg.get("train_cfg") or {}
    milestones = [list(s.get("milestones")) for s in (cfg.get("param_scheduler") or [])
                  if isinstance(s, dict) and s.get("milestones") is not None]
    if isinstance(cfg.get("param_scheduler"), dict) and cfg["param_scheduler"].get("milestones") is not None:
        milestones = [list(cfg["param_scheduler"]["milestones"])]
    out["schedule"] = {"loop": tc.get("type"), "max_epochs": tc.get("max_epochs"), "max_iters": tc.get("max_iters"),
                       "milestones": milestones}
    datasets = {}
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        leaves = _leaves(_loader(cfg, name))
        datasets[name] = [[d.get("type"), os.path.normpath(os.path.join(d.get("data_root") or "", d["ann_file"]))
                           if isinstance(d.get("ann_file"), str) else d.get("ann_file")] for d in leaves]
    out["datasets"] = datasets
    evs = {}
    for name in ("val_evaluator", "test_evaluator"):
        ev = cfg.get(name)
        evs[name] = [[e.get("type"), sorted(e["metric"]) if isinstance(e.get("metric"), (list, tuple))
                      else e.get("metric")] for e in (ev if isinstance(ev, list) else [ev]) if isinstance(e, dict)]
    out["evaluators"] = evs
    return _plain(out)


def model_shapes(cfg) -> dict:
    from mmdet.registry import MODELS

    model = MODELS.build(cfg.model)
    return {n: list(p.shape) for n, p in model.named_parameters()}


def offline(cfg, path: Path) -> None:
    """A distillation config built without its teacher's weights (the comparison is of parameter names and
    shapes; the checkpoint is a download), and its teacher config found in the config's own tree
    (``configs/...`` is relative to the repository the config came from)."""
    model = cfg.get("model")
    if not isinstance(model, dict):
        return
    if model.get("teacher_ckpt"):
        model["teacher_ckpt"] = None
    teacher = model.get("teacher_config")
    if isinstance(teacher, str) and not os.path.isabs(teacher) and not os.path.exists(teacher):
        rel = teacher.split("configs/", 1)[-1]
        for parent in path.resolve().parents:
            if (parent / rel).is_file():
                model["teacher_config"] = str(parent / rel)
                break


def measure_one(migrated: Path, v3: Path) -> dict:
    """Both configs loaded and compared; a failure is recorded per side with its message."""
    from mmengine.config import Config

    rec: dict = {}
    sides = {}
    for side, path in (("migrated", migrated), ("v3", v3)):
        try:
            cfg = Config.fromfile(str(path))
            sides[side] = cfg
        except Exception as exc:  # noqa: BLE001 - the report says what failed
            rec[f"{side}_load_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    if len(sides) < 2:
        return rec
    a, b = facts(sides["migrated"]), facts(sides["v3"])
    for aspect in ASPECTS[1:]:
        rec[aspect] = {"equal": a[aspect] == b[aspect]}
        if a[aspect] != b[aspect]:
            rec[aspect]["migrated"], rec[aspect]["v3"] = a[aspect], b[aspect]
    shapes = {}
    for side, cfg in sides.items():
        try:
            offline(cfg, migrated if side == "migrated" else v3)
            shapes[side] = model_shapes(cfg)
        except Exception as exc:  # noqa: BLE001
            rec[f"{side}_build_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    if len(shapes) == 2:
        sa, sb = shapes["migrated"], shapes["v3"]
        only_a = sorted(set(sa) - set(sb))
        only_b = sorted(set(sb) - set(sa))
        shape_diff = sorted(k for k in set(sa) & set(sb) if sa[k] != sb[k])
        rec["model"] = {"equal": not (only_a or only_b or shape_diff), "params": [len(sa), len(sb)]}
        if not rec["model"]["equal"]:
            rec["model"].update(only_migrated=only_a[:5], only_v3=only_b[:5],
                                shapes=[(k, sa[k], sb[k]) for k in shape_diff[:5]])
    else:
        rec["model"] = {"equal": False, "build_failed": True}
    return rec


# --------------------------------------------------------------------------- driver
def child(args) -> int:
    """Measure the pairs given on stdin (one 'migrated<TAB>v3' per line), one JSON line each."""
    from mmdet.utils import register_all_modules

    register_all_modules()
    import torch

    torch.set_num_threads(1)
    import torch.distributed as dist

    if dist.is_available() and not dist.is_initialized():  # mmcv's MMSyncBN asks for the world size when built
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    for line in sys.stdin:
        migrated, v3 = line.rstrip("\n").split("\t")
        t0 = time.time()
        with contextlib.redirect_stdout(sys.stderr):  # what a model prints while it is built is not a result
            rec = measure_one(Path(migrated), Path(v3))
        rec.update(migrated=migrated, v3=v3, seconds=round(time.time() - t0, 2))
        print(json.dumps(rec, default=str), flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--v2", type=Path)
    ap.add_argument("--v3", type=Path)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--sample", type=int, default=0, help="every k-th pair for a sample of N (0: all)")
    ap.add_argument("--out", type=Path, default=Path("docs/migrate-report"))
    ap.add_argument("--audit-json", type=Path, help="the JSON report of 'detaudit WORK/migrated --no-exec --tier static "
                    "--select DA001,DA003,DA094' (its summary goes into the report)")
    ap.add_argument("--report-only", action="store_true", help="write the report from the results measured so far")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    import shutil

    from detaudit.migrate.tree import migrate, write_out

    migrated_root = args.work / "migrated"
    shutil.rmtree(migrated_root, ignore_errors=True)
    migration = migrate([str(args.v2)])
    write_out(migration, migrated_root, in_place=False)
    left = [(str(p.relative_to(args.v2)), key, message) for p, r in migration.files.items() for key, message in r.notes]
    converted = sum(r.status == "converted" for r in migration.files.values())
    from migrate_zoo_names import match  # next to this script

    found = match(args.v2, args.v3)
    same, more = found["same"], found["renamed"]
    chosen = same + more
    if args.sample and args.sample < len(chosen):
        step = len(chosen) / args.sample
        chosen = [chosen[int(i * step)] for i in range(args.sample)]
    results_path = args.work / "results.jsonl"
    done = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            rec = json.loads(line)
            done[rec["migrated"]] = rec
    hashes = {}
    todo = []
    for p2, p3 in interleaved(chosen):
        mig = migrated_root / p2.relative_to(args.v2)
        hashes[str(mig)] = merged_hash(mig)
        old = done.get(str(mig))
        if old is None or old.get("merged_hash") != hashes[str(mig)] or old.get("v3") != str(p3):
            todo.append(f"{mig}\t{p3}")
    print(f"{len(chosen)} pairs, {len(todo)} to measure", file=sys.stderr)
    if todo and not args.report_only:
        proc = subprocess.Popen([sys.executable, __file__, "--child"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        proc.stdin.write("\n".join(todo) + "\n")
        proc.stdin.close()
        with open(results_path, "a") as fh:
            for line in proc.stdout:  # appended as measured: an interrupted run keeps what it measured
                if not line.startswith("{"):  # printed by a library below the Python level
                    print(line, end="", file=sys.stderr)
                    continue
                rec = json.loads(line)
                rec["merged_hash"] = hashes.get(rec["migrated"])
                done[rec["migrated"]] = rec
                fh.write(json.dumps(rec, default=str) + "\n")
                fh.flush()
        proc.wait()
    records = [done[str(migrated_root / p2.relative_to(args.v2))] for p2, _ in chosen
               if str(migrated_root / p2.relative_to(args.v2)) in done
               and done[str(migrated_root / p2.relative_to(args.v2))].get("merged_hash")
               == hashes[str(migrated_root / p2.relative_to(args.v2))]]
    renamed_set = {str(migrated_root / p2.relative_to(args.v2)) for p2, _ in more}
    for rec in records:
        rec["matched_by"] = "rename" if rec["migrated"] in renamed_set else "name"
    from migrate_zoo_report import write_report  # noqa: E402 - next to this script

    audit = json.loads(args.audit_json.read_text())["summary"] if args.audit_json else None
    write_report(records, len(same) + len(more), len(chosen), args.out, args.v2, migrated_root,
                 tree={"files": len(migration.files), "converted": converted, "left": left, "audit": audit},
                 unpaired={k: found[k] for k in ("ambiguous", "dropped", "unmatched")})
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
