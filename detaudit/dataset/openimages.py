"""The Open Images writers (csv; the challenge's txt).

Open Images: ``label_file`` (MID, name), ``ann_file`` (one row per box, normalised corners),
``meta_file`` (a pickle of each image's ``filename`` and ``ori_shape``, in annotation order),
``hierarchy_file`` (json tree of MIDs) and the optional ``image_level_ann_file``. The challenge
variant reads a txt of image blocks (file name, size line, box count, ``label x1 y1 x2 y2 group``
rows with one-based labels), a label file with a third column (the label id) and a ``.npy``
hierarchy matrix. The dataset takes its class names from the label file, so the config's names (or
the model's class count) are written there.
"""
from __future__ import annotations

import csv
import json
import pickle

from .contract import DataRequest, PreparedData
from .draw import image_size, make_scenes, write_image
from .layout import Layout


def _mids(names) -> list[str]:
    return [f"/m/{i:05d}" for i in range(len(names))]


def _csv(path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def _pickle(path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj))


def write_openimages(request: DataRequest) -> PreparedData:
    layout = Layout(request)
    size, note = image_size(request)
    names = request.class_names
    mids = _mids(names)
    ann = layout.file("ann_file", "annotations/oidv6-train-annotations-bbox.csv")
    label_file = layout.file("label_file", "annotations/class-descriptions-boxable.csv")
    meta_file = layout.file("meta_file", "annotations/train-image-metas.pkl")
    hierarchy = layout.file("hierarchy_file", "annotations/bbox_labels_600_hierarchy.json")
    img_dir = layout.prefixes({"img": "OpenImages/train/"})["img"]
    scenes = make_scenes(request, size)
    rows = [["ImageID", "Source", "LabelName", "Confidence", "XMin", "XMax", "YMin", "YMax", "IsOccluded",
             "IsTruncated", "IsGroupOf", "IsDepiction", "IsInside"]]
    metas, levels = [], [["ImageID", "Source", "LabelName", "Confidence"]]
    for scene in scenes:
        write_image(img_dir / f"{scene.name}.jpg", scene.image)
        w, h = scene.width, scene.height
        for o in scene.objects:
            x1, y1, x2, y2 = o.box
            rows.append([scene.name, "xclick", mids[o.label], 1, x1 / w, x2 / w, y1 / h, y2 / h, 0, 0, 0, 0, 0])
            levels.append([scene.name, "verification", mids[o.label], 1])
        metas.append({"filename": f"{layout.relative(img_dir)}/{scene.name}.jpg", "ori_shape": (h, w, 3)})
    _csv(ann, rows)
    _csv(label_file, [[m, n] for m, n in zip(mids, names)])
    _pickle(meta_file, metas)
    hierarchy.parent.mkdir(parents=True, exist_ok=True)
    hierarchy.write_text(json.dumps({"LabelName": "/m/0bl9f", "Subcategory": [{"LabelName": m} for m in mids]}),
                         encoding="utf-8")
    if request.cfg.get("image_level_ann_file"):
        _csv(layout.file("image_level_ann_file", "annotations/image-level-labels.csv"), levels)
    notes = layout.notes + ([note] if note else [])
    notes.append(f"the label file names {len(names)} classes (the dataset reads its classes from it)")
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)


def write_openimages_challenge(request: DataRequest) -> PreparedData:
    import numpy as np

    layout = Layout(request)
    size, note = image_size(request)
    names = request.class_names
    mids = _mids(names)
    ann = layout.file("ann_file", "challenge2019/challenge-2019-train-detection-bbox.txt")
    if ann.suffix != ".txt":
        ann = ann.with_suffix(".txt")
        layout.overrides["ann_file"] = layout.relative(ann)
    label_file = layout.file("label_file", "challenge2019/cls-label-description.csv")
    meta_file = layout.file("meta_file", "challenge2019/challenge-2019-train-metas.pkl")
    hierarchy = layout.file("hierarchy_file", "challenge2019/class_label_tree.np")
    img_dir = layout.prefixes({"img": "OpenImages/"})["img"]
    scenes = make_scenes(request, size)
    lines, metas, levels = [], [], [["ImageID", "LabelName", "Confidence"]]
    for scene in scenes:
        write_image(img_dir / f"{scene.name}.jpg", scene.image)
        w, h = scene.width, scene.height
        lines += [f"{scene.name}.jpg", f"{w} {h}", str(len(scene.objects))]
        for o in scene.objects:
            x1, y1, x2, y2 = o.box
            lines.append(f"{o.label + 1} {x1 / w:.6f} {y1 / h:.6f} {x2 / w:.6f} {y2 / h:.6f} 0")
            levels.append([scene.name, mids[o.label], 1])
        metas.append({"filename": f"{scene.name}.jpg", "ori_shape": (h, w, 3)})
    ann.parent.mkdir(parents=True, exist_ok=True)
    ann.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _csv(label_file, [[m, n, i + 1] for i, (m, n) in enumerate(zip(mids, names))])
    _pickle(meta_file, metas)
    hierarchy.parent.mkdir(parents=True, exist_ok=True)
    with open(hierarchy, "wb") as f:        # np.save would append .npy to the configured name
        np.save(f, np.eye(len(names) + 1))
    if request.cfg.get("image_level_ann_file"):
        _csv(layout.file("image_level_ann_file", "challenge2019/image-labels.csv"), levels)
    notes = layout.notes + ([note] if note else [])
    notes.append(f"the label file names {len(names)} classes (the dataset reads its classes from it)")
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)
