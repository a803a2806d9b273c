"""Semantic and panoptic maps the pipeline loads, checked against the data on this machine (DA613).

``LoadAnnotations(with_seg=True)`` and ``LoadPanopticAnnotations`` read each sample's
``seg_map_path``, which the dataset class makes from ``data_prefix['seg']`` (CocoDataset: the
image's name with ``seg_map_suffix``; CocoPanopticDataset: the image's name as ``.png``). When the
dataset gives no path (no ``seg`` prefix), both loaders return without a map and say nothing;
when it gives paths whose files are absent, training stops with ``FileNotFoundError`` at the
first sample the sampler draws without one. The dataset is built through its own class, so the
paths are the ones training reads; existence is checked on up to :data:`SAMPLE` of them.
"""
from __future__ import annotations

import os

from .model import AnnotationError, DataFinding

CODE = "DA613"
SAMPLE = 5000      # seg_map_path entries whose file is looked for (evenly spread over the dataset)
EXAMPLES = 3
# loading transforms that read seg_map_path, with their defaults for the flags that make them read it
LOADERS = {"LoadAnnotations": {"with_seg": False}, "LoadPanopticAnnotations": {"with_seg": True, "with_mask": True}}


def loads_maps(pipeline) -> tuple[int, str] | None:
    """(index, type) of the first step that reads ``seg_map_path``, or None."""
    from ...rule.config import is_mapping, type_name

    for i, step in enumerate(pipeline or []):
        if not is_mapping(step):
            continue
        name = type_name(step.get("type", None))
        flags = LOADERS.get(name or "")
        if flags is not None and any(bool(step.get(k, default)) for k, default in flags.items()):
            return i, name
    return None


def check_seg_maps(split: str, key_path: str, ds_cfg: dict, pipeline) -> list[DataFinding]:
    """The DA613 findings of one dataset whose data is on this machine."""
    step = loads_maps(pipeline)
    if step is None:
        return []
    index, loader = step
    from .through_dataset import build

    try:
        dataset = build(dict(ds_cfg, serialize_data=False), with_filter=False)
        dataset.full_init()
        paths = [info.get("seg_map_path") for info in dataset.data_list]
    except (AnnotationError, Exception):  # noqa: BLE001 - DA612 reports a dataset that does not read
        return []
    if not paths:
        return []
    at = f"{key_path}.pipeline.{index}"
    evidence = {"loader": loader, "samples": len(paths), "dataset": type(dataset).__name__}
    if all(p is None for p in paths):
        prefix = ds_cfg.get("data_prefix") or {}
        return [DataFinding(CODE, split, f"{key_path}.data_prefix", (
            f"{split}: the pipeline loads semantic maps ({loader} at pipeline.{index}), but {type(dataset).__name__} "
            f"gives none of its {len(paths)} samples a seg_map_path (data_prefix has no 'seg': "
            f"{dict(prefix) if hasattr(prefix, 'items') else prefix}): {loader} silently loads no map"),
            dict(evidence, data_prefix=str(dict(prefix)) if hasattr(prefix, "items") else str(prefix)),
            "add data_prefix=dict(..., seg='<folder of the maps>/'), or stop loading maps the data does not have")]
    step_size = max(1, len(paths) // SAMPLE)
    looked = [p for p in paths[::step_size] if p is not None]
    missing = [p for p in looked if not os.path.isfile(p)]
    if not missing:
        return []
    share = len(missing) / max(1, len(looked))
    examples = [str(p) for p in missing[:EXAMPLES]]
    return [DataFinding(CODE, split, f"{key_path}.data_prefix", (
        f"{split}: {len(missing)} of the {len(looked)} semantic maps looked for are not on disk ({share:.0%}; "
        f"e.g. {examples[0]}): {loader} at pipeline.{index} raises FileNotFoundError at the first such sample"),
        dict(evidence, looked=len(looked), missing=len(missing), examples=examples),
        "point data_prefix.seg (and seg_map_suffix) at the maps, or create the missing ones")]
