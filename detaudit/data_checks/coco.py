"""A COCO-format annotation file read as CocoDataset reads it, into :class:`SplitData`.

The file is checked before it is parsed: a path that is a directory, a file larger than the
limit (``DETAUDIT_DATA_MAX_BYTES``, default 1 GiB: a JSON document in memory takes several times
its size on disk, so a larger one is refused with the reason instead of risking the machine's
memory), a truncated or invalid document are :class:`AnnotationError` with a message that says
which and where. Labels follow CocoDataset: the configured class names are looked up among the
file's categories in the file's order, and label ``i`` is the ``i``-th category found; a box is
kept when it overlaps its image, has ``w >= 1``, ``h >= 1``, a positive ``area`` and a configured
category; ``iscrowd`` boxes are kept as ignored.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from .model import AnnotationError, SplitData

MAX_BYTES_ENV = "DETAUDIT_DATA_MAX_BYTES"
DEFAULT_MAX_BYTES = 1 << 30
EXAMPLES = 5


def max_bytes() -> int:
    value = os.environ.get(MAX_BYTES_ENV, "")
    try:
        return int(value) if value else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


def load_json(path: Path) -> dict:
    """The parsed document, or :class:`AnnotationError` saying why it cannot be read."""
    if not path.exists():
        raise AnnotationError(f"{path} does not exist")
    if path.is_dir():
        raise AnnotationError(f"{path} is a directory, not an annotation file")
    size = path.stat().st_size
    limit = max_bytes()
    if size > limit:
        raise AnnotationError(f"{path} is {size / 2**20:.0f} MiB, more than the {limit / 2**20:.0f} MiB the data "
                              f"checks read (a JSON document takes several times its size in memory); set "
                              f"{MAX_BYTES_ENV} to a larger number of bytes to read it anyway")
    try:
        with open(path, "rb") as fh:
            doc = json.load(fh)
    except json.JSONDecodeError as exc:
        with open(path, "rb") as fh:
            fh.seek(max(0, size - 64))
            tail = fh.read().rstrip()
        where = (f"line {exc.lineno} column {exc.colno}; the file does not end with '}}' or ']': it is truncated"
                 if not tail.endswith((b"}", b"]")) else f"line {exc.lineno} column {exc.colno}")
        raise AnnotationError(f"{path} is not valid JSON: {exc.msg} at {where} (byte {exc.pos} of {size})") from None
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise AnnotationError(f"{path} could not be read: {exc.strerror or exc}") from None
    if not isinstance(doc, dict):
        raise AnnotationError(f"{path} holds a JSON {type(doc).__name__}, not a COCO document (an object with "
                              "'images', 'annotations' and 'categories')")
    missing = [k for k in ("images", "annotations", "categories") if not isinstance(doc.get(k), list)]
    if "images" in missing or "categories" in missing:
        raise AnnotationError(f"{path} is not a COCO document: it has no list {' or '.join(repr(k) for k in missing)}")
    return doc


def _number_box(bbox) -> bool:
    return (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox))


def _mask_problem(seg, height, width) -> str | None:
    """Why a COCO segmentation does not parse, or None."""
    if isinstance(seg, list):
        if not seg:
            return "an empty polygon list"
        for poly in seg:
            if not isinstance(poly, list) or not all(isinstance(v, (int, float)) for v in poly):
                return "a polygon that is not a list of numbers"
            if len(poly) < 6 or len(poly) % 2:
                return f"a polygon of {len(poly)} numbers (needs an even count, at least 6)"
        return None
    if isinstance(seg, dict):
        if "counts" not in seg or "size" not in seg:
            return "an RLE without 'counts' and 'size'"
        size = seg.get("size")
        if not (isinstance(size, list) and len(size) == 2):
            return "an RLE whose 'size' is not [height, width]"
        if height and width and (int(size[0]) != int(height) or int(size[1]) != int(width)):
            return f"an RLE of size {size} on an image of {int(height)}x{int(width)}"
        return None
    return f"a segmentation of type {type(seg).__name__}"


def read_coco(split: SplitData, path: Path, img_root: Path) -> SplitData:
    """Fill ``split`` from the COCO file at ``path``; image files resolve under ``img_root``."""
    start = time.perf_counter()
    doc = load_json(path)
    split.ann_file, split.source = str(path), "the annotation file"
    cats = [c for c in doc["categories"] if isinstance(c, dict)]
    split.categories = [(c.get("id"), str(c.get("name"))) for c in cats]
    cat_index = {cid: i for i, (cid, _) in enumerate(split.categories)}
    wanted = set(split.classes)
    # CocoDataset: get_cat_ids(cat_names=classes) keeps the file's order; label = position in that list
    label_of_cat = {}
    for cid, name in split.categories:
        if name in wanted and cid not in label_of_cat:
            label_of_cat[cid] = len(label_of_cat)
    images = [im for im in doc["images"] if isinstance(im, dict)]
    split.image_ids = [im.get("id") for im in images]
    split.image_files = [str(img_root / str(im.get("file_name", ""))) for im in images]
    split.widths = np.array([float(im.get("width") or 0) for im in images])
    split.heights = np.array([float(im.get("height") or 0) for im in images])
    image_index = {iid: i for i, iid in enumerate(split.image_ids)}
    anns = doc.get("annotations") or []
    n = len(anns)
    raw = np.zeros((n, 4))
    box_image = np.full(n, -1, dtype=np.int64)
    box_cat = np.full(n, -1, dtype=np.int64)
    label = np.full(n, -1, dtype=np.int64)
    crowd = np.zeros(n, dtype=bool)
    ignore = np.zeros(n, dtype=bool)
    area = np.ones(n)
    ok = np.ones(n, dtype=bool)
    ann_ids = []
    masks = 0
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            ok[i] = False
            split.malformed_count += 1
            if len(split.malformed) < EXAMPLES:
                split.malformed.append(f"annotation #{i} is a {type(ann).__name__}, not an object")
            ann_ids.append(None)
            continue
        ann_ids.append(ann.get("id"))
        bbox = ann.get("bbox")
        if _number_box(bbox):
            raw[i] = bbox
        else:
            ok[i] = False
            split.malformed_count += 1
            if len(split.malformed) < EXAMPLES:
                split.malformed.append(f"annotation id {ann.get('id')!r}: bbox {bbox!r} is not 4 numbers")
        img = image_index.get(ann.get("image_id"), -1)
        box_image[i] = img
        if img < 0:
            split.unknown_image_refs += 1
        cid = ann.get("category_id")
        box_cat[i] = cat_index.get(cid, -1)
        if box_cat[i] < 0:
            split.unknown_category_refs += 1
        label[i] = label_of_cat.get(cid, -1)
        crowd[i] = bool(ann.get("iscrowd", 0))
        ignore[i] = bool(ann.get("ignore", False))
        if "area" in ann:
            a = ann["area"]
            area[i] = a if isinstance(a, (int, float)) else 0.0
        else:
            split.missing_area += 1
        seg = ann.get("segmentation")
        if seg:
            masks += 1
            h = split.heights[img] if img >= 0 else 0
            w = split.widths[img] if img >= 0 else 0
            problem = _mask_problem(seg, h, w)
            if problem:
                split.bad_mask_count += 1
                if len(split.bad_masks) < EXAMPLES:
                    split.bad_masks.append(f"annotation id {ann.get('id')!r}: {problem}")
    split.masks = masks
    split.ann_ids = ann_ids
    split.raw_boxes = raw
    split.boxes = np.stack([raw[:, 0], raw[:, 1], raw[:, 0] + raw[:, 2], raw[:, 1] + raw[:, 3]], axis=1)
    split.box_image, split.box_category, split.crowd, split.ignore = box_image, box_cat, crowd, ignore
    # what CocoDataset keeps (parse_data_info)
    w_img = np.where(box_image >= 0, split.widths[np.maximum(box_image, 0)] if len(images) else 0, 0)
    h_img = np.where(box_image >= 0, split.heights[np.maximum(box_image, 0)] if len(images) else 0, 0)
    x1, y1, x2, y2 = split.boxes.T
    inter_w = np.maximum(0, np.minimum(x2, w_img) - np.maximum(x1, 0))
    inter_h = np.maximum(0, np.minimum(y2, h_img) - np.maximum(y1, 0))
    kept = ok & ~ignore & ~crowd & (box_image >= 0) & (inter_w * inter_h > 0) & (area > 0) \
        & (raw[:, 2] >= 1) & (raw[:, 3] >= 1) & (label >= 0)
    split.box_label = np.where(kept, label, -1)
    split.name_counts = {}
    names = [name for _, name in split.categories]
    counts = np.bincount(box_cat[box_cat >= 0], minlength=len(names)) if n else np.zeros(len(names), dtype=int)
    for name, c in zip(names, counts):
        split.name_counts[name] = split.name_counts.get(name, 0) + int(c)
    split.kept_images = _coco_filter(split, box_image, box_cat, label_of_cat)
    split.read_seconds = time.perf_counter() - start
    return split


def _coco_filter(split: SplitData, box_image, box_cat, label_of_cat) -> int:
    """Images CocoDataset keeps after ``filter_cfg`` (``filter_empty_gt``, ``min_size``)."""
    n = split.num_images
    if split.test_mode or not split.filter_cfg:
        return n
    empty = bool(split.filter_cfg.get("filter_empty_gt", False))
    min_size = float(split.filter_cfg.get("min_size", 0) or 0)
    keep = np.minimum(split.widths, split.heights) >= min_size
    if empty:
        configured = np.array([cid in label_of_cat for cid, _ in split.categories] + [False])
        in_cat = configured[box_cat] & (box_image >= 0)
        has = np.zeros(n, dtype=bool)
        has[box_image[in_cat]] = True
        keep &= has
    return int(keep.sum())
