"""The panoptic COCO writer (``CocoPanopticDataset``): json + segment PNGs.

Panoptic json: ``annotations`` hold ``file_name`` (the PNG) and ``segments_info`` (id,
category_id, iscrowd, bbox, area); categories carry ``isthing``. The PNG encodes a segment id as
R + 256 G + 256^2 B, the encoding panopticapi's ``rgb2id`` decodes. Thing and stuff classes come
from the config's ``metainfo`` (``thing_classes``/``stuff_classes``), else the class's METAINFO.
"""
from __future__ import annotations


from .coco import coco_categories, coco_instances, coco_names, coco_real, write_json
from .contract import DataRequest, PreparedData
from .draw import image_size, make_scenes, object_mask, write_image
from .layout import Layout


def _thing_stuff(request: DataRequest) -> tuple[tuple[str, ...], tuple[str, ...]]:
    meta = request.cfg.get("metainfo") or {}
    own = getattr(request.dataset_class, "METAINFO", None) or {}
    names = request.class_names
    things = meta.get("thing_classes") or own.get("thing_classes")
    stuff = meta.get("stuff_classes") or own.get("stuff_classes")
    if things is None:
        things = tuple(n for n in names if n not in set(stuff or ())) if stuff else names
    things = tuple(n for n in names if n in set(things))
    stuff = tuple(n for n in names if n not in set(things))
    return things or names[:1], stuff


def write_panoptic(request: DataRequest) -> PreparedData:
    import numpy as np

    layout = Layout(request)
    size, note = image_size(request)
    ann = layout.file("ann_file", "annotations/panoptic.json")
    prefixes = layout.prefixes({"img": "images/", "seg": "panoptic/"})
    names = request.class_names
    things, stuff = _thing_stuff(request)
    scenes = make_scenes(request, size, labels=len(things))
    images, annotations = [], []
    for i, scene in enumerate(scenes):
        h, w = scene.height, scene.width
        ids = np.zeros((h, w), np.int64)
        categories: dict[int, int] = {}
        if stuff:
            ids[:] = 1
            categories[1] = names.index(stuff[i % len(stuff)]) + 1
        for obj in scene.objects:
            seg_id = len(categories) + 1
            ids[object_mask(obj, h, w).astype(bool)] = seg_id
            categories[seg_id] = names.index(things[obj.label]) + 1
        segments = []
        for seg_id, cat in categories.items():
            ys, xs = np.nonzero(ids == seg_id)
            if not len(xs):
                continue
            x1, y1 = int(xs.min()), int(ys.min())
            segments.append({"id": seg_id, "category_id": cat, "iscrowd": 0, "area": int(len(xs)),
                             "bbox": [x1, y1, int(xs.max()) - x1 + 1, int(ys.max()) - y1 + 1]})
        rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536 % 256], -1).astype(np.uint8)
        write_image(prefixes["img"] / f"{scene.name}.jpg", scene.image)
        write_image(prefixes["seg"] / f"{scene.name}.png", rgb[..., ::-1])   # cv2 writes BGR
        images.append({"id": i + 1, "file_name": f"{scene.name}.jpg", "height": h, "width": w})
        annotations.append({"image_id": i + 1, "file_name": f"{scene.name}.png", "segments_info": segments})
    cats = [dict(c, isthing=int(c["name"] in things)) for c in coco_categories(names)]
    write_json(ann, {"images": images, "annotations": annotations, "categories": cats})
    # the same things as COCO instances: panoptic configs evaluate boxes and masks with a CocoMetric too
    instances = coco_instances(scenes, names)
    for a in instances["annotations"]:
        a["category_id"] = names.index(things[a["category_id"] - 1]) + 1
    instances["categories"] = [c for c in instances["categories"] if c["name"] in things]
    instances_ann = layout.root / "annotations" / f"instances_{request.stem}.json"
    write_json(instances_ann, instances)
    notes = layout.notes + ([note] if note else [])
    notes.append(f"panoptic: {len(things)} thing and {len(stuff)} stuff classes")
    try:
        import panopticapi  # noqa: F401
    except ImportError:
        notes.append("panopticapi is not installed: LoadPanopticAnnotations and CocoPanopticMetric "
                     "cannot be built on this machine")
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes,
                        instances_ann=str(instances_ann))


write_panoptic.annotation_names = coco_names
write_panoptic.real_overrides = coco_real
