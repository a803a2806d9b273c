"""Pointing every dataset of the run's config at data it can read: the real data when it is
on this machine (``--data auto``, the default, or ``real``), else a tiny synthetic copy in the
dataset's own format (:mod:`.data`). A loader whose dataset type has no writer is skipped
with the reason; the evaluators that read annotation files follow their loader's data."""
from __future__ import annotations

import copy
import os
from pathlib import Path

from ...rule.config import datasets_under, is_mapping, node_type, type_name
from .private_config import LOADERS, RunChange

EVALUATORS = {"val_dataloader": "val_evaluator", "test_dataloader": "test_evaluator"}


def bind_data(ctx, private, result) -> None:
    from .data import DataRequest, Unsupported, prepare

    cfg = private.cfg
    written_ann: dict[str, str] = {}
    for loader in LOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl) or not is_mapping(dl.get("dataset", None)):
            continue
        for n, (path, ds) in enumerate(datasets_under(dl["dataset"], f"{loader}.dataset")):
            request = DataRequest(key_path=path, dataset_type=str(ds.get("type", "")),
                                  dataset_class=_dataset_class(ds.get("type")), cfg=copy.deepcopy(ds),
                                  classes=_classes(ds), folder=private.folder / "data" / f"{loader}_{n}",
                                  base_dir=ctx.base_dir, with_masks=_loads(ds, "with_mask") or _model_has(ctx, "mask"),
                                  with_seg=_loads(ds, "with_seg"))
            request.folder.mkdir(parents=True, exist_ok=True)
            try:
                prepared = prepare(request, mode=ctx.data_mode)
            except Unsupported as exc:
                result.skipped[loader] = f"no data can be made for {path} ({node_type(ds)}): {exc.reason}"
                break
            for key, value in prepared.overrides.items():
                was = ds.get(key, None)
                ds[key] = value
                private.changes.append(RunChange(f"{path}.{key}", was, value, f"{prepared.kind} data for the run"))
            result.data[path] = {"kind": prepared.kind, "samples": prepared.samples, "notes": list(prepared.notes),
                                 "type": node_type(ds)}
            ann = _ann_path(ds)
            if ann and loader not in written_ann:
                written_ann[loader] = ann
    for loader, key in EVALUATORS.items():
        if loader in written_ann and loader not in result.skipped:
            _follow(cfg, key, written_ann[loader], private)


def _follow(cfg, key: str, ann_file: str, private) -> None:
    node = cfg.get(key, None)
    metrics = node if isinstance(node, (list, tuple)) else [node]
    for i, metric in enumerate(metrics):
        if is_mapping(metric) and isinstance(metric.get("ann_file", None), str):
            path = f"{key}.{i}.ann_file" if isinstance(node, (list, tuple)) else f"{key}.ann_file"
            private.set(metric, "ann_file", ann_file, path, "the annotations of the run's data")


def _ann_path(ds) -> str | None:
    ann = ds.get("ann_file", None)
    if not isinstance(ann, str) or not ann:
        return None
    root = ds.get("data_root", None) or ""
    return ann if os.path.isabs(ann) else str(Path(root) / ann)


def _dataset_class(name):
    if not isinstance(name, str):
        return name if isinstance(name, type) else None
    from mmengine.registry import DATASETS

    from .components import resolve

    return resolve(DATASETS, name)


def _classes(ds) -> tuple:
    meta = ds.get("metainfo", None)
    classes = meta.get("classes", None) if is_mapping(meta) else None
    if isinstance(classes, str):
        return (classes,)
    if isinstance(classes, (list, tuple)) and classes:
        return tuple(str(c) for c in classes)
    cls = _dataset_class(ds.get("type"))
    default = getattr(cls, "METAINFO", {}).get("classes", ()) if cls is not None else ()
    return tuple(default or ())


def _loads(ds, flag: str) -> bool:
    return any(is_mapping(t) and type_name(t.get("type")) and "LoadAnnotations" in type_name(t.get("type"))
               and bool(t.get(flag, False)) for t in ds.get("pipeline", None) or [])


def _model_has(ctx, part: str) -> bool:
    model = ctx.model
    heads = [getattr(model, "roi_head", None), model]
    return any(bool(getattr(h, f"with_{part}", False)) for h in heads if h is not None)
