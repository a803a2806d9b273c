"""The checks on one split's annotations (:class:`SplitData`): each returns :class:`DataFinding`\\ s.

Every check is vectorized over the boxes, so a file of 100k annotations is checked in well under
a second once read. Messages count, name the split and give a few examples.
"""
from __future__ import annotations

import difflib
import re

import numpy as np

from .model import BOXES, CLASSES, DUPLICATES, EMPTY, MASKS, UNREADABLE, DataFinding, SplitData

EXAMPLES = 5


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).casefold())


def near_miss(name: str, candidates) -> str | None:
    """The candidate that is ``name`` up to case, spaces, ``_``/``-`` or a small typo, or None."""
    key = _norm(name)
    for c in candidates:
        if _norm(c) == key:
            return c
    close = difflib.get_close_matches(key, {_norm(c): c for c in candidates}, n=1, cutoff=0.8)
    if close:
        return {_norm(c): c for c in candidates}[close[0]]
    return None


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    if word.endswith(("s", "x")):
        return f"{n} {word}es"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def check_classes(s: SplitData) -> list[DataFinding]:
    """Configured classes vs the names the annotations use: missing, extra, near misses, and (COCO)
    the order CocoDataset derives labels from."""
    if s.categories is not None:
        names = [name for _, name in s.categories]
    elif s.name_counts is not None:
        names = list(s.name_counts)
    else:
        return []
    counts = s.name_counts or {}
    classes = list(s.classes)
    key = f"{s.key_path}.metainfo.classes"
    out = []
    missing = [c for c in classes if c not in names]
    extra = [n for n in dict.fromkeys(names) if n not in classes]
    pairs = {}
    for c in missing:
        hit = near_miss(c, extra)
        if hit is not None:
            pairs[c] = hit
    if missing:
        text = ", ".join(f"{c!r}" + (f" (the annotations write {pairs[c]!r})" if c in pairs else "")
                         for c in missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        out.append(DataFinding(
            CLASSES, s.split, key,
            f"{s.split}: {_plural(len(missing), 'configured class')} never named by the annotations of "
            f"{s.ann_file or s.source}: {text}; those classes train on no boxes",
            {"missing": missing, "near_misses": pairs, "annotation_names": names[:50]},
            "write the class names exactly as the annotations spell them in metainfo.classes"
            if pairs else "check metainfo.classes against the annotation's categories"))
    dropped = [n for n in extra if counts.get(n, 0) > 0 and n not in pairs.values()]
    if dropped:
        total = sum(counts.get(n, 0) for n in dropped)
        out.append(DataFinding(
            CLASSES, s.split, key,
            f"{s.split}: {_plural(total, 'annotation')} of {_plural(len(dropped), 'category')} that are not "
            f"configured classes are dropped: " + ", ".join(f"{n!r} ({counts.get(n, 0)})" for n in dropped[:8])
            + (" ..." if len(dropped) > 8 else ""),
            {"extra": {n: counts.get(n, 0) for n in dropped}},
            "add them to metainfo.classes (and the head's num_classes) if they should train"))
    if s.categories is not None:
        found = list(dict.fromkeys(n for n in names if n in classes))
        dup = sorted({n for n in names if names.count(n) > 1 and n in classes})
        shifted = [(i, name, classes[i]) for i, name in enumerate(found) if i < len(classes) and classes[i] != name]
        if shifted or dup:
            text = "; ".join(f"boxes of {name!r} train as label {i}, which metainfo.classes names {cls!r}"
                             for i, name, cls in shifted[:4])
            if dup:
                text += ("; " if text else "") + f"categories named twice: {dup}"
            out.append(DataFinding(
                CLASSES, s.split, key,
                f"{s.split}: labels shift: CocoDataset numbers the configured classes in the order of the "
                f"annotation file's categories, not of metainfo.classes: {text}",
                {"file_order": found, "configured": classes, "shifted": [[i, n, c] for i, n, c in shifted]},
                "list metainfo.classes in the order of the file's categories (and fix missing names)"))
    if s.unknown_category_refs:
        out.append(DataFinding(
            CLASSES, s.split, f"{s.key_path}.ann_file",
            f"{s.split}: {s.unknown_category_refs} annotation(s) name a category id the file's "
            f"'categories' do not list; training drops them", {"count": s.unknown_category_refs},
            "add the categories to the file or fix the annotations' category_id"))
    return out


def check_boxes(s: SplitData) -> list[DataFinding]:
    out = []
    key = f"{s.key_path}.ann_file"
    if s.malformed_count:
        out.append(DataFinding(BOXES, s.split, key,
                               f"{s.split}: {s.malformed_count} annotation(s) are not readable boxes, e.g. "
                               + "; ".join(s.malformed[:3]),
                               {"count": s.malformed_count, "examples": s.malformed}, "fix or remove them"))
    if s.missing_area:
        out.append(DataFinding(BOXES, s.split, key,
                               f"{s.split}: {s.missing_area} annotation(s) have no 'area', which CocoDataset "
                               f"reads for every box (KeyError when the dataset is built)",
                               {"count": s.missing_area}, "write 'area' (w * h, or the mask's area) on every annotation"))
    if s.unknown_image_refs:
        out.append(DataFinding(BOXES, s.split, key,
                               f"{s.split}: {s.unknown_image_refs} annotation(s) name an image id the file's "
                               f"'images' do not list; they are never read", {"count": s.unknown_image_refs},
                               "fix their image_id or add the images"))
    n = s.num_boxes
    if not n:
        return out
    valid = s.box_image >= 0
    if s.raw_boxes is not None:
        w, h = s.raw_boxes[:, 2], s.raw_boxes[:, 3]
    else:
        w, h = s.boxes[:, 2] - s.boxes[:, 0], s.boxes[:, 3] - s.boxes[:, 1]
    degenerate = valid & ((w < 1) | (h < 1))
    W = np.where(valid, s.widths[np.maximum(s.box_image, 0)] if s.num_images else 0, 0)
    H = np.where(valid, s.heights[np.maximum(s.box_image, 0)] if s.num_images else 0, 0)
    sized = valid & (W > 0) & (H > 0)
    x1, y1, x2, y2 = s.boxes.T
    outside = sized & ~degenerate & ((x2 <= 0) | (y2 <= 0) | (x1 >= W) | (y1 >= H))
    partly = sized & ~degenerate & ~outside & ((x1 < -1) | (y1 < -1) | (x2 > W + 1) | (y2 > H + 1))
    if degenerate.any():
        idx = np.flatnonzero(degenerate)[:EXAMPLES]
        out.append(DataFinding(BOXES, s.split, key,
                               f"{s.split}: {int(degenerate.sum())} of {n} boxes are degenerate (width or height "
                               f"below 1 px); training drops them, e.g. {_examples(s, idx)}",
                               {"count": int(degenerate.sum())}, "fix or remove the empty boxes"))
    if s.raw_boxes is not None and sized.sum() >= 5:
        r = s.raw_boxes[sized]
        as_xyxy_inside = (r[:, 2] > r[:, 0]) & (r[:, 3] > r[:, 1]) & (r[:, 2] <= W[sized] + 1) & (r[:, 3] <= H[sized] + 1)
        spill = (outside | partly)[sized]
        if spill.mean() >= 0.2 and as_xyxy_inside.mean() >= 0.95:
            out.append(DataFinding(BOXES, s.split, key,
                                   f"{s.split}: the boxes look like [x1, y1, x2, y2] written where COCO's [x, y, w, h] "
                                   f"is read: {int(spill.sum())} of {int(sized.sum())} reach past their image as "
                                   f"[x, y, w, h], while {as_xyxy_inside.mean():.0%} would fit it as [x1, y1, x2, y2]",
                                   {"spilling": int(spill.sum()), "boxes": int(sized.sum()), "format": "xyxy"},
                                   "convert the file's bbox to [x, y, width, height] (w = x2 - x1, h = y2 - y1)"))
            return out
    if outside.any():
        idx = np.flatnonzero(outside)[:EXAMPLES]
        out.append(DataFinding(BOXES, s.split, key,
                               f"{s.split}: {int(outside.sum())} of {n} boxes lie entirely outside their image; "
                               f"training drops them, e.g. {_examples(s, idx)}", {"count": int(outside.sum())},
                               "check the image sizes in the annotations and the box coordinates"))
    if partly.any():
        idx = np.flatnonzero(partly)[:EXAMPLES]
        out.append(DataFinding(BOXES, s.split, key,
                               f"{s.split}: {int(partly.sum())} of {n} boxes reach past the edge of their image, "
                               f"e.g. {_examples(s, idx)}", {"count": int(partly.sum())},
                               "clip the boxes to the image, or check the image sizes the annotations give"))
    return out


def _examples(s: SplitData, idx) -> str:
    parts = []
    for i in idx[:3]:
        img = s.box_image[i]
        name = s.image_files[img].rsplit("/", 1)[-1] if img >= 0 else "?"
        box = s.raw_boxes[i] if s.raw_boxes is not None else s.boxes[i]
        parts.append(f"{name} {[round(float(v), 1) for v in box]}")
    return ", ".join(parts)


def check_masks(s: SplitData) -> list[DataFinding]:
    out = []
    if s.with_mask and s.has_mask is not None and s.num_boxes:
        read = (s.box_label >= 0) | ((s.crowd | s.ignore) & (s.box_image >= 0))   # the instances training reads
        without = read & ~s.has_mask
        if without.any():
            out.append(DataFinding(
                MASKS, s.split, f"{s.key_path}.pipeline",
                f"{s.split}: the pipeline loads masks (LoadAnnotations with_mask=True) but {int(without.sum())} of "
                f"{int(read.sum())} annotations have none: training stops at the first of them (KeyError: 'mask')",
                {"without_mask": int(without.sum()), "annotations": int(read.sum())},
                "give every annotation a segmentation, or load boxes only (with_mask=False) for a box model"))
    if not s.bad_mask_count:
        return out
    loads = "the pipeline loads masks, so training fails or learns from garbage" if s.with_mask \
        else "the pipeline does not load masks now"
    return out + [DataFinding(MASKS, s.split, f"{s.key_path}.ann_file",
                        f"{s.split}: {s.bad_mask_count} of {s.masks} masks do not parse ({loads}), e.g. "
                        + "; ".join(s.bad_masks[:3]),
                        {"count": s.bad_mask_count, "masks": s.masks, "examples": s.bad_masks},
                        "fix the polygons (x1, y1, x2, y2, ... with at least 3 points) or RLEs")]


def check_duplicates(s: SplitData) -> list[DataFinding]:
    out = []
    key = f"{s.key_path}.ann_file"
    ids = [i for i in s.image_ids if i is not None]
    dup_ids = len(ids) - len(set(ids))
    dup_files = len(s.image_files) - len(set(s.image_files))
    if dup_ids or dup_files:
        by_file: dict[str, list] = {}
        for iid, f in zip(s.image_ids, s.image_files):
            by_file.setdefault(f, []).append(iid)
        shared = {f: ids for f, ids in by_file.items() if len(set(map(str, ids))) > 1}
        text = f"{s.split}: the image list repeats itself: {dup_ids} duplicate image id(s), " \
               f"{dup_files} image file(s) listed more than once"
        if shared:
            f, ids = next(iter(shared.items()))
            text += (f"; {len(shared)} file(s) are read for different image ids (e.g. {f.rsplit('/', 1)[-1]} for "
                     f"{', '.join(repr(i) for i in ids[:3])}): the boxes of one id are trained on another's image")
        out.append(DataFinding(DUPLICATES, s.split, key, text,
                               {"duplicate_ids": dup_ids, "duplicate_files": dup_files,
                                "files_for_several_ids": {f: ids[:5] for f, ids in list(shared.items())[:5]}},
                               "list every image once (a repeated file trains twice as often)"))
    if s.ann_ids is not None:
        aids = [a for a in s.ann_ids if a is not None]
        dup = len(aids) - len(set(aids))
        if dup:
            out.append(DataFinding(DUPLICATES, s.split, key,
                                   f"{s.split}: {dup} annotation id(s) are used more than once; CocoDataset refuses "
                                   f"the file (annotation ids are not unique)", {"duplicate_ann_ids": dup},
                                   "number the annotations uniquely"))
    if s.num_boxes:
        rows = np.concatenate([s.box_image[:, None].astype(float), s.box_category[:, None].astype(float),
                               np.round(s.boxes, 2)], axis=1)
        uniq = np.unique(rows, axis=0).shape[0]
        dup = s.num_boxes - uniq
        if dup:
            out.append(DataFinding(DUPLICATES, s.split, key,
                                   f"{s.split}: {dup} of {s.num_boxes} annotations repeat another of the same image, "
                                   f"category and box", {"duplicate_boxes": dup},
                                   "remove the repeated annotations (they weigh those objects twice)"))
    return out


def check_empty(s: SplitData) -> list[DataFinding]:
    out = []
    key = f"{s.key_path}.filter_cfg"
    n = s.num_images
    if not n:
        return [DataFinding(EMPTY, s.split, f"{s.key_path}.ann_file", f"{s.split}: the annotations list no images",
                            {}, "point ann_file at the split's annotations")]
    has_any = np.zeros(n, dtype=bool)
    has_kept = np.zeros(n, dtype=bool)
    valid = s.box_image >= 0
    has_any[s.box_image[valid]] = True
    has_kept[s.box_image[valid & (s.box_label >= 0)]] = True
    no_ann = int((~has_any).sum())
    no_kept = int((~has_kept).sum())
    dropped = n - s.kept_images if s.kept_images is not None else 0
    if no_kept or dropped:
        parts = []
        if no_ann:
            parts.append(f"{no_ann} of {n} images have no annotation")
        if no_kept - no_ann > 0:
            parts.append(f"{no_kept - no_ann} more have none that trains (all crowd, ignored, dropped or of "
                         f"other classes)")
        if s.test_mode:
            parts.append("the split is read in test mode, so none is filtered")
        elif dropped:
            parts.append(f"filter_cfg={s.filter_cfg} drops {dropped} image(s), {s.kept_images} remain")
        elif no_kept:
            parts.append("no filter_cfg drops them: they train as background only")
        out.append(DataFinding(EMPTY, s.split, key, f"{s.split}: " + "; ".join(parts),
                               {"images": n, "without_annotation": no_ann, "without_training_box": no_kept,
                                "dropped_by_filter": dropped, "kept": s.kept_images},
                               "expected for background images; otherwise check the annotations and filter_cfg"))
    flagged = (s.crowd | s.ignore) & valid
    if s.num_boxes and flagged.any():
        classes = list(s.classes)
        if s.categories is None:
            labels = s.box_category
        else:  # the configured class each category names, by name
            to_class = np.array([classes.index(n) if n in classes else -1 for _, n in s.categories] + [-1])
            labels = to_class[s.box_category]
        only = []
        for i, c in enumerate(classes):
            mine = (labels == i) & valid
            if mine.any() and flagged[mine].all():
                only.append(c)
        share = flagged.mean()
        if only or share >= 0.5:
            text = f"{flagged.sum()} of {s.num_boxes} boxes ({share:.0%}) are crowd or ignored, so they train nothing"
            if only:
                text += f"; every box of {', '.join(repr(c) for c in only)} is"
            out.append(DataFinding(EMPTY, s.split, f"{s.key_path}.ann_file", f"{s.split}: {text}",
                                   {"flagged": int(flagged.sum()), "boxes": s.num_boxes, "classes_all_flagged": only},
                                   "check the iscrowd / ignore flags of the annotations"))
    return out


def check_read(split: str, key_path: str, error: str,
               fix: str = "repair or regenerate the annotation file") -> DataFinding:
    return DataFinding(UNREADABLE, split, f"{key_path}.ann_file", f"{split}: {error}", {"error": error}, fix)


def check_format_notes(s: SplitData) -> list[DataFinding]:
    return [DataFinding(UNREADABLE, s.split, f"{s.key_path}.ann_file", f"{s.split}: {note}", {"note": note},
                        "rename the tags to the ones the dataset class reads, or extend its parse_data_info")
            for note in s.notes if note.startswith("XML objects carry tags")]


ALL = (check_classes, check_boxes, check_masks, check_duplicates, check_empty, check_format_notes)


def run_checks(s: SplitData) -> list[DataFinding]:
    out = []
    for check in ALL:
        out.extend(check(s))
    return out
