"""Pointing every dataset of the run's config at data it can read: the real data when it is
on this machine (``--data auto``, the default, or ``real``), else a tiny synthetic copy in the
dataset's own format (:mod:`.datasets`). A loader whose dataset type has no writer is skipped
with the reason; the evaluators that read annotation files follow their loader's data."""
from __future__ import annotations

import copy
import os
from pathlib import Path

from ...rule.config import datasets_under, is_mapping, node_type
from .private_config import LOADERS, RunChange

EVALUATORS = {"val_dataloader": "val_evaluator", "test_dataloader": "test_evaluator"}


def bind_data(ctx, private, result) -> None:
    from .datasets import Unsupported, prepare, request_for, survey

    cfg = private.cfg
    written_ann: dict[str, str] = {}
    written_instances: dict[str, str] = {}  # loader -> COCO instance json of a panoptic dataset's images
    loader_samples: dict[str, int] = {}  # samples each loader's datasets hold together
    for loader in LOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl) or not is_mapping(dl.get("dataset", None)):
            continue
        for n, (path, ds) in enumerate(datasets_under(dl["dataset"], f"{loader}.dataset")):
            folder = private.folder / "data" / f"{loader}_{n}"
            folder.mkdir(parents=True, exist_ok=True)
            request = request_for(copy.deepcopy(ds), path, folder, ctx.base_dir, num_classes=_num_classes(ctx))
            if _model_has(ctx, "mask"):
                request.with_masks = True
            try:
                prepared = prepare(request, data=ctx.options.data)
            except Unsupported as exc:
                result.skipped[loader] = f"no data can be made for {path} ({node_type(ds)}): {exc.reason}"
                break
            for key, value in prepared.overrides.items():
                was = ds.get(key, None)
                ds[key] = value
                private.changes.append(RunChange(f"{path}.{key}", was, value, f"{prepared.kind} data for the run"))
            result.data[path] = {"kind": prepared.kind, "samples": prepared.samples, "notes": list(prepared.notes),
                                 "type": node_type(ds)}
            samples = prepared.samples
            if prepared.kind == "real":  # what the real samples hold, for the data findings (DA711-DA713)
                result.surveys[path] = survey(request, prepared)
                samples = min(samples, result.surveys[path].samples)
            loader_samples[loader] = loader_samples.get(loader, 0) + samples
            ann = _ann_path(ds)
            if ann and loader not in written_ann:
                written_ann[loader] = ann
                if prepared.instances_ann:
                    written_instances[loader] = prepared.instances_ann
    for loader, samples in loader_samples.items():
        if loader not in result.skipped:
            _fit_batches(cfg[loader], loader, samples, private)
    for loader, key in EVALUATORS.items():
        if loader in written_ann and loader not in result.skipped:
            _follow(cfg, key, written_ann[loader], written_instances.get(loader), private)


def _fit_batches(dl, loader: str, samples: int, private) -> None:
    """No more batches an epoch than the samples fill: mmengine's slicing does not check."""
    size = dl.get("batch_size", 1) if isinstance(dl.get("batch_size", 1), int) else 1
    batches = dl.get("num_batch_per_epoch", None)  # not set for multi-source samplers: nothing to fit
    if isinstance(batches, int) and samples >= 1 and batches * size > samples:
        private.set(dl, "num_batch_per_epoch", max(1, samples // max(1, size)), f"{loader}.num_batch_per_epoch",
                    f"the data holds {samples} sample(s)")
        if samples < size:
            private.set(dl, "batch_size", samples, f"{loader}.batch_size", f"the data holds {samples} sample(s)")


def _follow(cfg, key: str, ann_file: str, instances: str | None, private) -> None:
    """Point each metric's ann_file at the run's data: a CocoMetric beside a panoptic dataset at the
    instance json of the same images, as its config points it at COCO's instances file."""
    node = cfg.get(key, None)
    metrics = node if isinstance(node, (list, tuple)) else [node]
    for i, metric in enumerate(metrics):
        if is_mapping(metric) and isinstance(metric.get("ann_file", None), str):
            path = f"{key}.{i}.ann_file" if isinstance(node, (list, tuple)) else f"{key}.ann_file"
            own = instances if instances and node_type(metric) == "CocoMetric" else ann_file
            private.set(metric, "ann_file", own, path, "the annotations of the run's data")


def _ann_path(ds) -> str | None:
    ann = ds.get("ann_file", None)
    if not isinstance(ann, str) or not ann:
        return None
    root = ds.get("data_root", None) or ""
    return ann if os.path.isabs(ann) else str(Path(root) / ann)


def _num_classes(ctx) -> int | None:
    for m in ctx.model.modules():
        n = getattr(m, "num_classes", None)
        if isinstance(n, int) and n > 1:
            return n
    return None


def _model_has(ctx, part: str) -> bool:
    model = ctx.model
    heads = [getattr(model, "roi_head", None), model]
    return any(bool(getattr(h, f"with_{part}", False)) for h in heads if h is not None)
