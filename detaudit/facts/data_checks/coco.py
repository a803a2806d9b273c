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

from .model import AnnotationError, AnnotationTooLarge, SplitData

MAX_BYTES_ENV = "DETAUDIT_DATA_MAX_BYTES"
DEFAULT_MAX_BYTES = 1 << 30
EXAMPLES = 5
NAN = float("nan")


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
        raise AnnotationTooLarge(f"{path} is {size / 2**20:.0f} MiB, more than the {limit / 2**20:.0f} MiB the data "
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


def read_coco(split: SplitData, path: Path, img_root: Path, docs: dict | None = None) -> SplitData:
    """Fill ``split`` from the COCO file at ``path``; image files resolve under ``img_root``.
    ``docs`` keeps the parsed files of one check (``val`` and ``test`` often read ``train``'s file)."""
    start = time.perf_counter()
    key = None
    if docs is not None and path.is_file():
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    doc = docs.get(key) if key is not None else None
    if doc is None:
        doc = load_json(path)
        if key is not None:
            docs[key] = doc
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
    root = str(img_root)
    split.image_files = [os.path.join(root, str(im.get("file_name", ""))) for im in images]
    split.widths = np.array([float(im.get("width") or 0) for im in images])
    split.heights = np.array([float(im.get("height") or 0) for im in images])
    image_index = {iid: i for i, iid in enumerate(split.image_ids)}
    anns = doc.get("annotations") or []
    n = len(anns)
    columns = _fast_columns(anns, image_index, cat_index, label_of_cat)
    if columns is None:
        columns = _slow_columns(split, anns, image_index, cat_index, label_of_cat)
    raw, box_image, box_cat, label, crowd, ignore, area, ok, ann_ids = columns
    split.missing_area = int(np.isnan(area).sum())
    area = np.nan_to_num(area, nan=1.0)   # reported on its own (CocoDataset's KeyError)
    is_dict = np.array([isinstance(a, dict) for a in anns], dtype=bool)
    split.unknown_image_refs = int(((box_image < 0) & is_dict).sum())
    split.unknown_category_refs = int(((box_cat < 0) & is_dict).sum())
    masks = 0
    with_seg = [i for i, a in enumerate(anns) if isinstance(a, dict) and a.get("segmentation")]
    split.has_mask = np.zeros(n, dtype=bool)
    split.has_mask[with_seg] = True
    for i in with_seg:
        masks += 1
        img = box_image[i]
        problem = _mask_problem(anns[i]["segmentation"], split.heights[img] if img >= 0 else 0,
                                split.widths[img] if img >= 0 else 0)
        if problem:
            split.bad_mask_count += 1
            if len(split.bad_masks) < EXAMPLES:
                split.bad_masks.append(f"annotation id {anns[i].get('id')!r}: {problem}")
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


def read_categories(split: SplitData, path: Path) -> SplitData:
    """Only the categories of a COCO-style file and how many annotations (or panoptic segments)
    name each: what a dataset class that failed on the file was asked to match."""
    doc = load_json(path)
    split.categories = [(c.get("id"), str(c.get("name"))) for c in doc["categories"] if isinstance(c, dict)]
    name_of = {cid: name for cid, name in split.categories}
    counts = {name: 0 for _, name in split.categories}
    for ann in doc.get("annotations") or []:
        if not isinstance(ann, dict):
            continue
        for item in ann.get("segments_info") or [ann]:
            name = name_of.get(item.get("category_id")) if isinstance(item, dict) else None
            if name is not None:
                counts[name] += 1
    split.name_counts = counts
    return split


def _fast_columns(anns, image_index, cat_index, label_of_cat):
    """The annotations as arrays, in a few passes over plain lists; None when some annotation is
    not a dict with 4 numbers as its bbox and a number (or nothing) as its area: the slow path
    then reads them one by one and says which."""
    n = len(anns)
    try:
        if not all(type(a) is dict for a in anns):
            return None
        raw = np.array([a["bbox"] for a in anns], dtype=float).reshape(-1, 4) if n else np.zeros((0, 4))
        area = np.array([a.get("area", NAN) for a in anns], dtype=float).reshape(-1)
        if raw.shape != (n, 4) or area.shape != (n,) or any(type(a["bbox"][0]) is str for a in anns):
            return None
        ann_ids = [a.get("id") for a in anns]
        box_image = np.fromiter((image_index.get(a.get("image_id"), -1) for a in anns), np.int64, n)
        cids = [a.get("category_id") for a in anns]
        box_cat = np.fromiter((cat_index.get(c, -1) for c in cids), np.int64, n)
        label = np.fromiter((label_of_cat.get(c, -1) for c in cids), np.int64, n)
        crowd = np.fromiter((bool(a.get("iscrowd", 0)) for a in anns), bool, n)
        ignore = np.fromiter((bool(a.get("ignore", False)) for a in anns), bool, n)
    except (KeyError, ValueError, TypeError, IndexError):
        return None
    return raw, box_image, box_cat, label, crowd, ignore, area, np.ones(n, dtype=bool), ann_ids


def _slow_columns(split: SplitData, anns, image_index, cat_index, label_of_cat):
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
        try:
            box_image[i] = image_index.get(ann.get("image_id"), -1)
            cid = ann.get("category_id")
            box_cat[i] = cat_index.get(cid, -1)
            label[i] = label_of_cat.get(cid, -1)
        except TypeError:  # an id that is a list or a dict
            pass
        crowd[i] = bool(ann.get("iscrowd", 0))
        ignore[i] = bool(ann.get("ignore", False))
        a = ann.get("area", NAN)
        area[i] = a if isinstance(a, (int, float)) else 0.0
    return raw, box_image, box_cat, label, crowd, ignore, area, ok, ann_ids


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
