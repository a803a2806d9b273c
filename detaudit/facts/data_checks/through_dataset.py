"""Any dataset type read through its own class: what training reads, into :class:`SplitData`.

The dataset is built from the config's dict with an empty pipeline (nothing is decoded), once
with its ``filter_cfg`` (the number of images training keeps) and, when a filter is set, once
without (the images the checks look at). Each sample's ``instances`` give the boxes (``xyxy``),
labels, ignore flags and masks; the class names the raw annotations use come from the dataset
writer's ``annotation_names`` (VOC XML, CrowdHuman, OpenImages...). VOC-style XML files are also
read for what the dataset class passes over: objects without a ``bndbox`` and tags it never reads.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from .model import AnnotationError, SplitData

EXAMPLES = 5
# Children of a VOC <object> that mmdet's XMLDataset reads, and the usual ones it may skip.
VOC_OBJECT_TAGS = {"name", "bndbox", "difficult", "truncated", "pose", "occluded", "part", "actions", "point",
                   "attributes", "level", "score"}


def build(ds_cfg: dict, *, with_filter: bool = True):
    from mmdet.registry import DATASETS

    cfg = copy.deepcopy(dict(ds_cfg))
    cfg["pipeline"] = []
    cfg.pop("lazy_init", None)
    cfg.pop("indices", None)
    if not with_filter:
        cfg["filter_cfg"] = None
    try:
        return DATASETS.build(cfg)
    except Exception as exc:  # noqa: BLE001 - the user's annotations failing to read: reported
        raise AnnotationError(f"{cfg.get('type')} could not read its annotations: {type(exc).__name__}: "
                              f"{str(exc).strip()[:400]}") from None


def _mask_problem(mask) -> str | None:
    if isinstance(mask, list):
        if not mask:
            return "an empty polygon list"
        for poly in mask:
            arr = np.asarray(poly, dtype=object).ravel()
            if not all(isinstance(v, (int, float, np.number)) for v in arr):
                return "a polygon that is not a list of numbers"
            if len(arr) < 6 or len(arr) % 2:
                return f"a polygon of {len(arr)} numbers (needs an even count, at least 6)"
        return None
    if isinstance(mask, dict):
        return None if "counts" in mask and "size" in mask else "an RLE without 'counts' and 'size'"
    if isinstance(mask, (str, np.ndarray)):
        return None  # a mask file or an array: read by the pipeline
    return f"a mask of type {type(mask).__name__}"


def _crowdhuman_sizes(ds_cfg: dict, folder: Path) -> dict:
    """CrowdHumanDataset without its image-size cache (``id_hw_{split}.json`` in ``data_root``) decodes
    every image and writes that cache into ``data_root``. Instead the sizes are read from the image
    headers into a private file, which the dataset is given as ``extra_ann_file``."""
    import json

    from PIL import Image

    root = Path(str(ds_cfg.get("data_root") or "."))
    ann = Path(str(ds_cfg.get("ann_file") or ""))
    ann = ann if ann.is_absolute() else root / ann
    split = "train" if "train" in ann.name else "val" if "val" in ann.name else None
    if ds_cfg.get("extra_ann_file") or split is None or (root / f"id_hw_{split}.json").is_file() \
            or not ann.is_file():
        return ds_cfg
    prefix = (ds_cfg.get("data_prefix") or {}).get("img", "")
    sizes = {}
    for line in ann.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        image_id = json.loads(line).get("ID")
        path = Path(prefix) if Path(prefix).is_absolute() else root / prefix
        try:
            with Image.open(path / f"{image_id}.jpg") as img:   # the header only
                sizes[image_id] = [img.height, img.width]
        except OSError:
            sizes[image_id] = [0, 0]   # reported with the image files
    target = folder / f"id_hw_{split}.json"
    target.write_text(json.dumps(sizes))
    return dict(ds_cfg, extra_ann_file=str(target))


def read_dataset(split: SplitData, ds_cfg: dict, names_fn=None) -> SplitData:
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="detaudit-data-checks-"))
    try:
        if split.dataset_type == "CrowdHumanDataset":
            ds_cfg = _crowdhuman_sizes(ds_cfg, folder)
        return _read_dataset(split, ds_cfg, names_fn)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read_dataset(split: SplitData, ds_cfg: dict, names_fn=None) -> SplitData:
    start = time.perf_counter()
    filtered = build(ds_cfg, with_filter=True)
    dataset = filtered
    if ds_cfg.get("filter_cfg") and not split.test_mode:
        dataset = build(ds_cfg, with_filter=False)
    split.kept_images = len(filtered)
    split.source = f"the dataset class {type(dataset).__name__}"
    ann_file = getattr(dataset, "ann_file", "") or ""
    split.ann_file = str(ann_file)
    boxes, box_image, labels, ignore, xml_paths, has_mask = [], [], [], [], [], []
    widths, heights = [], []
    n_classes = len(split.classes)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info.get("img_path") or next(iter((info.get("img_paths") or {}).values()), "")
        split.image_ids.append(info.get("img_id", i))
        split.image_files.append(str(path))
        widths.append(float(info.get("width") or 0))
        heights.append(float(info.get("height") or 0))
        for inst in info.get("instances") or []:
            bbox = inst.get("bbox")
            if not (isinstance(bbox, (list, tuple, np.ndarray)) and len(bbox) == 4):
                split.malformed_count += 1
                if len(split.malformed) < EXAMPLES:
                    split.malformed.append(f"{path}: bbox {bbox!r} is not 4 numbers")
                continue
            boxes.append([float(v) for v in bbox])
            box_image.append(len(split.image_ids) - 1)
            label = inst.get("bbox_label", -1)
            labels.append(int(label) if isinstance(label, (int, np.integer)) and 0 <= label < n_classes else -1)
            ignore.append(bool(inst.get("ignore_flag", 0)))
            has_mask.append("mask" in inst and inst["mask"] is not None)
            if has_mask[-1]:
                split.masks += 1
                problem = _mask_problem(inst["mask"])
                if problem:
                    split.bad_mask_count += 1
                    if len(split.bad_masks) < EXAMPLES:
                        split.bad_masks.append(f"{path}: {problem}")
        if info.get("xml_path"):
            xml_paths.append(info["xml_path"])
    split.widths, split.heights = np.array(widths), np.array(heights)
    split.boxes = np.array(boxes, dtype=float).reshape(-1, 4)
    split.box_image = np.array(box_image, dtype=np.int64)
    split.box_label = np.array(labels, dtype=np.int64)
    split.box_category = split.box_label.copy()
    split.ignore = np.array(ignore, dtype=bool)
    split.has_mask = np.array(has_mask, dtype=bool)
    split.crowd = np.zeros(len(boxes), dtype=bool)
    split.box_label = np.where(split.ignore, -1, split.box_label)
    if names_fn is not None:
        try:
            split.name_counts = names_fn(dataset)
        except Exception:  # noqa: BLE001 - a reader that cannot read leaves the names unknown
            split.name_counts = None
    if xml_paths:
        _scan_xml(split, xml_paths)
    split.read_seconds = time.perf_counter() - start
    return split


def _scan_xml(split: SplitData, paths: list[str]) -> None:
    """VOC objects the dataset class passes over: no bndbox, unreadable coordinates, unknown tags."""
    import xml.etree.ElementTree as ET

    unknown: dict[str, int] = {}
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError) as exc:
            split.malformed_count += 1
            if len(split.malformed) < EXAMPLES:
                split.malformed.append(f"{path}: {exc}")
            continue
        for obj in root.iter("object"):
            for child in obj:
                if child.tag not in VOC_OBJECT_TAGS:
                    unknown[child.tag] = unknown.get(child.tag, 0) + 1
            box = obj.find("bndbox")
            coords = [box.findtext(k) if box is not None else None for k in ("xmin", "ymin", "xmax", "ymax")]
            try:
                [float(c) for c in coords]
            except (TypeError, ValueError):
                split.malformed_count += 1
                if len(split.malformed) < EXAMPLES:
                    split.malformed.append(f"{Path(path).name}: object {obj.findtext('name')!r} has no readable "
                                           f"bndbox ({coords})")
    if unknown:
        split.notes.append("XML objects carry tags the dataset class does not read: "
                           + ", ".join(f"<{t}> x{n}" for t, n in sorted(unknown.items())))
