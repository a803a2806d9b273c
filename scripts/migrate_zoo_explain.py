"""Why a migrated 2.x config and mmdet 3.3's config of the same model differ, per aspect
(scripts/migrate_zoo_report.py lists every difference under its category).

The first question asked of every difference: does the migrated config say what the 2.x config
said? The 2.x value is read from the 2.x file itself (as data, nothing executed); when the
migrated value equals it, the 3.x config changed the setting when it was rewritten for 3.x, and
the migration kept the 2.x behaviour, as it should.
"""
from __future__ import annotations

import os
from pathlib import Path

CATEGORIES = {
    "3.x config changed it": (
        "The migrated value is the 2.x config's own value (read from the 2.x file); mmdet's 3.x "
        "config of the same model says something else (a changed learning rate, milestones, annotation "
        "files, evaluation metrics or an evaluator where the 2.x config had none, a fixed schedule, training "
        "scales). The migration keeps what the 2.x config trained with."),
    "scale order within a keep-ratio scale": (
        "The same scales, each written (long, short) in 2.x and (short, long) in 3.x; with "
        "keep_ratio=True a scale is read as its long and short edge, so both resize alike."),
    "3.x test pipeline loads annotations elsewhere or not at all": (
        "3.x test pipelines of these models load no annotations, or load them at another place (YOLOX's after "
        "its Pad); the migration writes the 3.x default test pipeline, which loads them after Resize (used only "
        "for validation losses and visualization). The images and sizes are the same."),
    "3.x added a transform": (
        "mmdet's 3.x config adds a transform the 2.x config does not have (the Albu example's "
        "RandomFlip); the migrated pipeline is the 2.x one."),
    "3.x legacy config is stale": (
        "mmdet 3.3's legacy_1.x/ssd300_coco_v1.py restates only the model: it inherits the plain COCO "
        "detection pipeline (1333x800) and the 2x schedule's SGD at lr 0.02, where the 2.x file wrote the SSD "
        "pipeline (300x300, photometric distortion, expand, IoU crop) and lr 2e-3; the migration keeps the "
        "2.x file's."),
    "needs a package that is not installed": (
        "The config imports a package (mmcls in 2.x, mmpretrain in 3.x: the timm examples, ConvNeXt's backbone) "
        "that is not "
        "installed here, so "
        "neither side loads; nothing about the migration."),
    "2.x detector refactored in 3.x": (
        "The 2.x DETR-family heads take the transformer inside the head; 3.x moved the encoder and "
        "decoder into the detector, with other parameter names (3.x's Deformable DETR refuses the 2.x head's "
        "keys: share_pred_layer, num_pred_layer, as_two_stage). There is no key-by-key mapping: the "
        "migration keeps the 2.x model and says so (a `# detaudit migrate:` note in the file)."),
    "mmdet 3.3's own config does not build": (
        "Neither side builds, with the same error: mmdet 3.3's own config of the model fails as well (Cascade "
        "RPN's RPN-only config does not give the num_classes its CascadeRPNHead requires); nothing about the "
        "migration."),
    "2.x config does not build": (
        "The 2.x config inherits Faster R-CNN's model (`_base_/models/faster_rcnn_r50_fpn.py`) and sets a "
        "top-level bbox_head, which a two-stage detector did not take in 2.x either (its heads are rpn_head "
        "and roi_head): the 2.x config never built. mmdet 3.3's config of that name is a RetinaNet."),
    "test resize by a factor of 1": (
        "2.x tested these models at the image's own size, through MultiScaleFlipAug(scale_factor=1.0); the "
        "migrated test pipeline keeps that as Resize(scale_factor=1.0), which leaves the image as it is, where "
        "mmdet's 3.x config has no Resize. Both load the same annotations, the migrated pipeline after the "
        "Resize (3.x's default order), 3.x's after the crop."),
    "unexplained": "Not explained: a difference this report has no reason for.",
}


def _v2_config(rec: dict, v2_root: Path, migrated_root: Path) -> dict | None:
    from detaudit.load.static_reader import read_static

    try:
        rel = Path(rec["migrated"]).resolve().relative_to(migrated_root.resolve())
        return read_static(v2_root / rel).cfg
    except Exception:  # noqa: BLE001 - no 2.x value, no explanation from it
        return None


def _leaves(ds):
    if not isinstance(ds, dict):
        return []
    inner = ds.get("dataset", ds.get("datasets"))
    if ds.get("type") in ("RepeatDataset", "ClassBalancedDataset", "ConcatDataset", "MultiImageMixDataset"):
        return [x for d in (inner if isinstance(inner, list) else [inner]) for x in _leaves(d)]
    return [ds]


def v2_facts(cfg: dict) -> dict:
    """The compared facts as the 2.x config states them."""
    out = {}
    opt = cfg.get("optimizer") or {}
    out["optimizer"] = {k: opt.get(k) for k in ("type", "lr", "momentum", "weight_decay")}
    runner = cfg.get("runner") or {}
    lr = cfg.get("lr_config") or {}
    step = lr.get("step")
    loop = {"EpochBasedRunner": "EpochBasedTrainLoop", "IterBasedRunner": "IterBasedTrainLoop"}.get(runner.get("type"))
    out["schedule"] = {"loop": loop, "max_epochs": runner.get("max_epochs"), "max_iters": runner.get("max_iters"),
                       "milestones": [list(step)] if isinstance(step, (list, tuple)) else []}
    data = cfg.get("data") or {}
    datasets = {}
    for part, name in (("train", "train_dataloader"), ("val", "val_dataloader"), ("test", "test_dataloader")):
        rows = []
        for d in _leaves(data.get(part)):
            anns = d.get("ann_file")
            for ann in anns if isinstance(anns, list) else [anns]:
                if isinstance(ann, str) and d.get("data_root") and not os.path.isabs(ann):
                    ann = os.path.join(d["data_root"], ann)
                rows.append([d.get("type"), os.path.normpath(ann) if isinstance(ann, str) else ann])
        datasets[name] = rows
    out["datasets"] = datasets
    ev = cfg.get("evaluation") or {}
    metric = ev.get("metric")
    out["evaluators"] = sorted(metric) if isinstance(metric, (list, tuple)) else metric
    return out


def _sorted_scales(pipes):
    def fix(sizes):
        out = {}
        for k, v in sizes.items():
            if k == "scales" and isinstance(v, list):
                v = [sorted(x) if isinstance(x, list) else x for x in v]
            elif k == "scale" and isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v):
                v = sorted(v)
            out[k] = v
        return out
    return {k: [[t, fix(s)] for t, s in v] for k, v in pipes.items()}


def _without(pipes, kind, part):
    return {k: ([x for x in v if x[0] != kind] if k == part else v) for k, v in pipes.items()}


TWO_STAGE = ("FasterRCNN", "MaskRCNN", "CascadeRCNN", "TwoStageDetector")


def _without_unit_resize(pipes):
    return {k: [x for x in v if not (k == "test" and x[0] == "Resize" and x[1] == {"scale_factor": 1.0})]
            for k, v in pipes.items()}


def _train_scales(pipes) -> list:
    """The scales of the train pipeline's resizes (migrated facts), as lists."""
    return [s for t, sizes in pipes.get("train", []) if "Resize" in str(t)
            for key in ("scale", "scales") if key in sizes
            for s in (sizes[key] if sizes[key] and isinstance(sizes[key][0], list) else [sizes[key]])]


def _v2_train_scales(cfg: dict) -> list:
    """The img_scale of the 2.x config's own training Resize, as lists."""
    data = cfg.get("data") or {}
    pipeline = cfg.get("train_pipeline")
    if not isinstance(pipeline, list):
        leaves = _leaves(data.get("train"))
        pipeline = leaves[0].get("pipeline") if leaves else None
    out = []
    for t in pipeline or []:
        if isinstance(t, dict) and t.get("type") == "Resize" and t.get("img_scale") is not None:
            scale = t["img_scale"]
            out += [list(x) for x in scale] if isinstance(scale, list) else [list(scale)]
    return out


def classify(aspect: str, rec: dict, v2_root: Path | None = None, migrated_root: Path | None = None) -> str:
    errors = " ".join(str(v) for k, v in rec.items() if k.endswith("_error"))
    if "mmcls" in errors or "mmpretrain" in errors:
        return "needs a package that is not installed"
    if any(t in errors for t in ("DETRHead", "DeformableDETRHead", "transformer", "Transformer", "share_pred_layer")):
        return "2.x detector refactored in 3.x"
    if aspect == "model" and rec.get("migrated_build_error") and \
            rec.get("migrated_build_error") == rec.get("v3_build_error"):
        return "mmdet 3.3's own config does not build"
    if aspect == "model" and "unexpected keyword argument 'bbox_head'" in errors and v2_root is not None:
        cfg = _v2_config(rec, v2_root, migrated_root)
        model = (cfg or {}).get("model") or {}
        if model.get("type") in TWO_STAGE and "bbox_head" in model:
            return "2.x config does not build"
    diff = rec.get(aspect, {})
    mig, v3 = diff.get("migrated"), diff.get("v3")
    name = rec["migrated"]
    if aspect == "pipelines" and mig is not None:
        if "legacy_1.x/ssd300" in name:
            return "3.x legacy config is stale"
        if _sorted_scales(mig) == _sorted_scales(v3):
            return "scale order within a keep-ratio scale"
        if _without(mig, "LoadAnnotations", "test") == _without(v3, "LoadAnnotations", "test"):
            return "3.x test pipeline loads annotations elsewhere or not at all"
        if _without(mig, "RandomFlip", "train") == _without(v3, "RandomFlip", "train"):
            return "3.x added a transform"
        if _without(_without_unit_resize(mig), "LoadAnnotations", "test") == _without(v3, "LoadAnnotations", "test"):
            return "test resize by a factor of 1"
        if v2_root is not None and mig.get("train") != v3.get("train"):
            cfg = _v2_config(rec, v2_root, migrated_root)
            same_types = [t for t, _ in mig["train"]] == [t for t, _ in v3.get("train", [])]
            if cfg is not None and same_types and _train_scales(mig) == _v2_train_scales(cfg) and \
                    {k: v for k, v in mig.items() if k != "train"} == {k: v for k, v in v3.items() if k != "train"}:
                return "3.x config changed it"
    if aspect in ("optimizer", "schedule", "datasets", "evaluators") and mig is not None and v2_root is not None:
        if "legacy_1.x/ssd300" in name:
            return "3.x legacy config is stale"
        cfg = _v2_config(rec, v2_root, migrated_root)
        if cfg is not None:
            said = v2_facts(cfg)[aspect]
            if aspect == "evaluators" and "evaluation" not in cfg and not any(mig.values()):
                return "3.x config changed it"  # the 2.x config evaluates nothing: 3.x added an evaluator
            if aspect == "evaluators":
                metrics = [m for ev in mig.values() for _, m in ev]
                if metrics and all(m == said for m in metrics):
                    return "3.x config changed it"
            elif aspect == "schedule":
                if {k: mig[k] for k in ("max_epochs", "max_iters", "milestones") if said.get(k) is not None} == \
                        {k: said[k] for k in ("max_epochs", "max_iters", "milestones") if said.get(k) is not None} \
                        and any(said.get(k) for k in ("max_epochs", "max_iters", "milestones")):
                    return "3.x config changed it"
                if not any(said.get(k) for k in ("max_epochs", "max_iters", "milestones")):
                    return "3.x config changed it" if mig != v3 and cfg.get("runner") is None else "unexplained"
            elif said == mig:
                return "3.x config changed it"
    return "unexplained"
