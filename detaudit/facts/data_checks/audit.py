"""The data checks of a loaded config: every dataset behind the dataloaders whose data is on this
machine, read once (``val`` and ``test`` often share one), checked, summarized.

COCO-format datasets (the ``CocoDataset`` family, a ``.json`` ``ann_file``) are read from the file
directly, as CocoDataset reads it, which is fast enough for hundreds of thousands of annotations;
every other dataset type (VOC XML, CrowdHuman, OpenImages, panoptic, custom types) is read
through its own class. Nothing is written anywhere; images are not decoded unless ``decode``.
"""
from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

from .model import AnnotationError, DataFinding, SplitData

SPLITS = {"train_dataloader": "train", "val_dataloader": "val", "test_dataloader": "test"}


@dataclass
class SplitResult:
    split: str
    key_path: str
    dataset_type: str
    data: SplitData | None = None
    stats: object = None
    skipped: str | None = None     # why it was not read (data not on this machine)
    error: str | None = None       # why it could not be read
    also: list[str] = field(default_factory=list)   # other splits reading the same data
    ds_cfg: dict | None = None     # the dataset's dict as read (data_root made absolute), for the contact sheet


@dataclass
class DataReport:
    splits: list[SplitResult] = field(default_factory=list)
    findings: list[DataFinding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def read_any(self) -> bool:
        return any(r.data is not None or r.error for r in self.splits)


def _identity(ds) -> tuple:
    def norm(v):
        return repr(sorted(v.items())) if hasattr(v, "items") else repr(v)

    return tuple(norm(ds.get(k)) for k in ("type", "data_root", "ann_file", "data_prefix", "metainfo", "filter_cfg",
                                       "test_mode", "pipeline"))


def setup_registries(cfg) -> None:
    from mmengine.registry import init_default_scope

    try:
        from mmdet.utils import register_all_modules

        register_all_modules(init_default_scope=False)
    except ImportError:
        pass
    init_default_scope(cfg.get("default_scope", "mmdet") or "mmdet")


def check_config(cfg, base_dir, splits=("train", "val", "test"), *, image_sample: int = 200,
                 decode: bool = False, with_anchors: bool = True, skip_larger_than: int | None = None) -> DataReport:
    """``skip_larger_than``: annotation files of more bytes are not read (the split is skipped and
    says so): the audit keeps its memory small and leaves those to ``detaudit data``."""
    start = time.perf_counter()
    setup_registries(cfg)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        report = _check(cfg, base_dir, splits, image_sample, decode, with_anchors, skip_larger_than)
    report.seconds = time.perf_counter() - start
    return report


def _check(cfg, base_dir, splits, image_sample, decode, with_anchors, skip_larger_than) -> DataReport:
    from ..run.datasets import Unsupported, find_writer, request_for
    from ..run.real_data import configured_paths, data_exists, prepare_real, xml_names
    from ...rule.config import dataset_leaves
    from .anchors import anchor_heads, check_anchors, pipeline_scale, prior_strides
    from .checks import check_read, run_checks
    from .images import check_images
    from .seg_maps import check_seg_maps
    from .stats import split_stats

    report = DataReport()
    seen: dict[tuple, SplitResult] = {}
    docs: dict = {}   # COCO files parsed in this check, shared by the splits that read the same file
    model = cfg.get("model", None)
    for loader, key_path, ds in dataset_leaves(cfg):
        split = SPLITS[loader]
        if split not in splits:
            continue
        ident = _identity(ds)
        if ident in seen:
            seen[ident].also.append(split)
            continue
        ds = ds.to_dict() if hasattr(ds, "to_dict") else dict(ds)
        request = request_for(ds, key_path, Path("/nonexistent-detaudit-folder"), base_dir)
        result = SplitResult(split, key_path, request.type_name)
        seen[ident] = result
        report.splits.append(result)
        if request.dataset_class is None:
            result.skipped = (f"its type {request.dataset_type!r} is in no registry (a custom_imports module that "
                              "does not import, or a typo: the audit's DA005 and DA701 say which)")
            continue
        if not data_exists(request):
            missing = [f"{p.key}={p.value!r}" for p in configured_paths(request) if not p.exists]
            result.skipped = ("its data is not on this machine ("
                              + (", ".join(missing[:3]) if missing else "the dataset names no local path") + ")")
            continue
        try:
            name, writer = find_writer(request)
        except Unsupported:
            name, writer = "", None
        pipeline = ds.get("pipeline") or []
        data = SplitData(split=split, key_path=key_path, dataset_type=request.type_name,
                         classes=tuple(str(c) for c in request.classes), test_mode=bool(ds.get("test_mode")),
                         filter_cfg=dict(ds["filter_cfg"]) if hasattr(ds.get("filter_cfg"), "items") else None,
                         with_mask=request.with_masks)
        paths = {p.key: p.path for p in configured_paths(request)}
        ann = paths.get("ann_file")
        size = ann.stat().st_size if ann is not None and ann.is_file() else 0
        if skip_larger_than and size > skip_larger_than:
            result.skipped = (f"its annotation file is {size / 2**20:.0f} MiB, more than the audit reads "
                              f"({skip_larger_than / 2**20:.0f} MiB): 'detaudit data' checks it whole")
            continue
        overrides = prepare_real(request).overrides  # no writer hook: it would cut the data to a few samples
        overrides.pop("indices", None)
        result.ds_cfg = dict(ds, **overrides)
        try:
            if name == "CocoDataset" and ann is not None and (ann.suffix == ".json" or ann.is_dir()):
                from .coco import read_coco

                prefix = ds.get("data_prefix") if hasattr(ds.get("data_prefix"), "get") else {}
                key = next((f"data_prefix.{k}" for k in ("img", "img_path") if k in (prefix or {})), None)
                img_root = paths.get(key) if key else (paths.get("data_root") or Path(base_dir))
                read_coco(data, ann, img_root, docs)
            else:
                from .through_dataset import read_dataset

                if ann is not None and ann.is_dir() and name not in ("", "XMLDataset"):
                    raise AnnotationError(f"{ann} is a directory, not an annotation file")
                read_dataset(data, result.ds_cfg, getattr(writer, "annotation_names", None) or xml_names)
        except AnnotationError as exc:
            result.error = str(exc)
            report.findings.append(check_read(split, key_path, str(exc), exc.fix))
            report.findings.extend(_classes_of_failed(data, ann))
            continue
        result.data = data
        findings = run_checks(data)
        findings += check_seg_maps(split, key_path, result.ds_cfg, pipeline)
        if image_sample:
            findings += check_images(data, sample=image_sample, decode=decode)
        if with_anchors and model is not None and split == "train":  # anchors are matched in training only
            findings += check_anchors(data, model, pipeline)
        report.findings.extend(findings)
        shapes = [s for _, s, _ in anchor_heads(model)] if model is not None else []
        sizes = sorted({round(float((w * h) ** 0.5), 1) for sh in shapes for w, h in sh})
        result.stats = split_stats(data, pipeline_scale(pipeline), sizes)
        if not sizes and model is not None:
            result.stats.prior_strides = prior_strides(model)
    for r in report.splits:
        if r.also:
            for f in report.findings:
                if f.key_path.startswith(r.key_path) and f.split == r.split:
                    f.evidence.setdefault("also_used_by", list(r.also))
    return report


def _classes_of_failed(data: SplitData, ann) -> list[DataFinding]:
    """A dataset class that failed on a COCO-style JSON file (panoptic: a KeyError on a category the
    classes do not name): the class check on the file's categories says why."""
    from .checks import check_classes
    from .coco import read_categories

    if ann is None or ann.suffix != ".json" or not ann.is_file():
        return []
    try:
        read_categories(data, ann)
    except AnnotationError:
        return []
    return check_classes(data)
