"""COCO-style writers: instance json (``CocoDataset`` and its subclasses) and V3Det's label file.

Instance json: ``images`` (id, file_name, height, width), ``annotations`` (bbox as x, y, w, h,
area, iscrowd and a polygon ``segmentation``: COCO's own files always carry one, so a pipeline
that loads masks finds them whatever the request says), ``categories`` with ids 1..C in the order
of the config's class names. Images are JPEGs under ``data_prefix.img``; when a ``data_prefix.seg``
is configured, a label PNG per image (object pixels hold the class index, the rest 255) under
it, named as CocoDataset looks for it.
"""
from __future__ import annotations

import json
from pathlib import Path

from .draw import Scene, image_size, make_scenes, object_mask, write_image, write_proposals
from .layout import Layout
from .contract import DataRequest, PreparedData


def coco_categories(names) -> list[dict]:
    return [{"id": i + 1, "name": n, "supercategory": "object"} for i, n in enumerate(names)]


def write_json(path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def coco_instances(scenes: list[Scene], names, with_masks: bool = True, suffix: str = ".jpg") -> dict:
    """The instance json of these scenes (file names ``<stem><suffix>``)."""
    images, annotations = [], []
    for i, scene in enumerate(scenes):
        images.append({"id": i + 1, "file_name": scene.name + suffix, "height": scene.height,
                       "width": scene.width})
        for obj in scene.objects:
            x, y, w, h = obj.xywh
            ann = {"id": len(annotations) + 1, "image_id": i + 1, "category_id": obj.label + 1,
                   "bbox": [x, y, w, h], "area": round(w * h * 0.785, 2), "iscrowd": 0}
            if with_masks:
                ann["segmentation"] = [obj.polygon]
            annotations.append(ann)
    return {"images": images, "annotations": annotations, "categories": coco_categories(names)}


def _semantic_map(scene: Scene):
    import numpy as np

    out = np.full((scene.height, scene.width), 255, np.uint8)
    for obj in scene.objects:
        out[object_mask(obj, scene.height, scene.width).astype(bool)] = min(obj.label, 254)
    return out


def write_coco(request: DataRequest) -> PreparedData:
    layout = Layout(request)
    size, note = image_size(request)
    ann = layout.file("ann_file", "annotations/instances.json")
    prefixes = layout.prefixes({"img": ""})
    names = request.class_names
    scenes = make_scenes(request, size)
    for scene in scenes:
        write_image(prefixes["img"] / f"{scene.name}.jpg", scene.image)
    notes = layout.notes + ([note] if note else [])
    if layout.configured("seg"):
        suffix = request.cfg.get("seg_map_suffix", ".png") or ".png"
        for scene in scenes:
            write_image(prefixes["seg"] / f"{scene.name}{suffix}", _semantic_map(scene))
        notes.append("semantic maps written under data_prefix.seg")
    elif request.with_seg:
        notes.append("semantic maps asked for, but the config's data_prefix has no 'seg' folder")
    write_json(ann, coco_instances(scenes, names))
    if request.cfg.get("proposal_file"):  # precomputed proposals (Fast R-CNN): the dataset loads them for every image
        write_proposals(layout.file("proposal_file", "proposals/proposals.pkl"), scenes, prefixes["img"])
        notes.append("proposal_file written with the data (ground-truth boxes, shifted copies and background boxes)")
    if not request.cfg.get("ann_file"):
        notes.append(f"the config sets no ann_file: {request.type_name} will not find the annotations")
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)


def coco_names(dataset) -> dict[str, int]:
    """Every category name of the dataset's annotation file, with its annotation count over the
    dataset's samples (0 for a category none of them uses); panoptic files count segments."""
    data = json.loads(Path(dataset.ann_file).read_text(encoding="utf-8"))
    names = {c["id"]: str(c.get("name")) for c in data.get("categories", [])}
    counts = {n: 0 for n in names.values()}
    ids = {dataset.get_data_info(i).get("img_id") for i in range(len(dataset))}
    for ann in data.get("annotations", []):
        if ann.get("image_id") not in ids:
            continue
        for seg in ann.get("segments_info", [ann]):
            name = names.get(seg.get("category_id"))
            if name is not None:
                counts[name] += 1
    return counts


# Annotation files above this size are read once and cut to a private prefix for a real run.
CUT_ABOVE_BYTES = 8 << 20


def coco_real(request: DataRequest, overrides: dict) -> tuple[dict, list[str]]:
    """Real COCO-style data with a large annotation file: every build of the dataset in the run
    (train, val, test, the resumed runner) would parse all of it to keep N samples. The file is
    read once here and its first images are copied into the private folder, up to 2N images that
    could survive the usual filters (an annotation of a configured class that is not a crowd, at
    least ``filter_cfg.min_size`` pixels), so the first N samples after filtering are the same as
    with the whole file; the images are still read in place."""
    ann = Path(str(request.cfg.get("ann_file") or ""))
    ann = ann if ann.is_absolute() else Path(overrides["data_root"]) / ann
    if not ann.is_file() or ann.stat().st_size <= CUT_ABOVE_BYTES:
        return {}, []
    data = json.loads(ann.read_text(encoding="utf-8"))
    wanted = {c["id"] for c in data.get("categories", []) if c.get("name") in set(request.class_names)}
    filter_cfg = request.cfg.get("filter_cfg")
    min_size = int(filter_cfg.get("min_size", 0) or 0) if isinstance(filter_cfg, dict) else 0
    by_image: dict = {}
    for a in data.get("annotations", []):
        for seg in a.get("segments_info", [a]):
            by_image.setdefault(a.get("image_id"), []).append(seg)
    kept, candidates = [], 0
    for img in data.get("images", []):
        kept.append(img)
        anns = by_image.get(img.get("id"), [])
        if min(img.get("width", 0), img.get("height", 0)) >= min_size and \
                any(x.get("category_id") in wanted and not x.get("iscrowd") for x in anns):
            candidates += 1
            if candidates >= 2 * request.num_images:
                break
    ids = {img.get("id") for img in kept}
    cut = dict(data, images=kept, annotations=[a for a in data.get("annotations", []) if a.get("image_id") in ids])
    path = Path(request.folder) / "real_annotations" / ann.name
    write_json(path, cut)
    return {"ann_file": str(path)}, [f"{ann} ({ann.stat().st_size >> 20} MiB) read once: the run reads its first "
                                     f"{len(kept)} images' annotations from a private copy"]


write_coco.annotation_names = coco_names
write_coco.real_overrides = coco_real


def write_v3det(request: DataRequest) -> PreparedData:
    """V3Det: COCO json plus the label file its constructor reads the class names from."""
    layout = Layout(request)
    label_file = layout.file("label_file", "annotations/category_name_13204_v3det_2023_v1.txt")
    label_file.parent.mkdir(parents=True, exist_ok=True)
    label_file.write_text("".join(f"{n}\n" for n in request.class_names), encoding="utf-8")
    out = write_coco(request)
    out.overrides.update({k: v for k, v in layout.overrides.items() if k == "label_file"})
    return out


write_v3det.annotation_names = coco_names
write_v3det.real_overrides = coco_real


# ----------------------------------------------------------------------------- panoptic
