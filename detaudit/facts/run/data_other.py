"""Writers for CrowdHuman (odgt) and Open Images (csv; challenge txt).

CrowdHuman: ``ann_file`` holds one json object per line (``ID``, ``gtboxes`` with ``tag``,
``fbox``/``hbox``/``vbox`` as x, y, w, h); images are ``<data_prefix.img>/<ID>.jpg``. The dataset
caches image sizes in an ``extra_ann_file`` it writes next to the data when none exists; the writer
writes that file itself and names it, so nothing else is written.

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
from pathlib import Path

from .data_draw import image_size, make_scenes, write_image
from .data_paths import Layout
from .data_types import DataRequest, PreparedData


def write_crowdhuman(request: DataRequest) -> PreparedData:
    layout = Layout(request)
    size, note = image_size(request)
    odgt = layout.file("ann_file", "annotation_train.odgt")
    img_dir = layout.prefixes({"img": "Images/"})["img"]
    names = request.class_names
    # a crowd: CrowdDet's assigner gives each proposal its two best boxes, and an image needs two to pick from
    scenes = make_scenes(request, size, min_objects=2, max_objects=4)
    lines, sizes = [], {}
    for scene in scenes:
        write_image(img_dir / f"{scene.name}.jpg", scene.image)
        boxes = []
        for o in scene.objects:
            x, y, w, h = o.xywh
            boxes.append({"tag": names[o.label], "fbox": [x, y, w, h], "vbox": [x, y, w, h],
                          "hbox": [x + w / 4, y, w / 2, max(1.0, h / 5)], "extra": {"ignore": 0}})
        lines.append(json.dumps({"ID": scene.name, "gtboxes": boxes}))
        sizes[scene.name] = [scene.height, scene.width]
    odgt.parent.mkdir(parents=True, exist_ok=True)
    odgt.write_text("\n".join(lines) + "\n", encoding="utf-8")
    extra = layout.root / f"id_hw_{request.stem}.json"
    extra.write_text(json.dumps(sizes), encoding="utf-8")
    layout.overrides["extra_ann_file"] = str(extra)      # read as given, not under data_root
    notes = layout.notes + ([note] if note else []) + ["extra_ann_file (image sizes) written with the data"]
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)


def crowdhuman_real(request: DataRequest, overrides: dict) -> tuple[dict, list[str]]:
    """Real CrowdHuman without the image-size cache: the dataset would read every image and write
    the cache next to the data. Instead the first N annotation lines and their image sizes are
    copied into the private folder and the dataset reads those (the images stay in place)."""
    from PIL import Image

    cfg = request.cfg
    if cfg.get("extra_ann_file"):
        return {}, []
    root = Path(overrides["data_root"])
    ann = Path(str(cfg.get("ann_file") or ""))
    ann = ann if ann.is_absolute() else root / ann
    split = "train" if "train" in ann.name else "val" if "val" in ann.name else None
    if split is not None and (root / f"id_hw_{split}.json").is_file():
        return {}, []
    lines = []
    with open(ann, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                lines.append(line.strip())
            if len(lines) >= request.num_images:
                break
    given = cfg.get("data_prefix")
    prefix = str((given.get("img") if isinstance(given, dict) else None) or "")
    img_dir = Path(prefix) if Path(prefix).is_absolute() else root / prefix
    sizes, unread = {}, 0
    for line in lines:
        ident = json.loads(line)["ID"]
        try:
            with Image.open(img_dir / f"{ident}.jpg") as img:
                sizes[ident] = [img.height, img.width]
        except OSError:
            sizes[ident], unread = [0, 0], unread + 1
    folder = Path(request.folder) / "crowdhuman_real"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ann.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "id_hw.json").write_text(json.dumps(sizes), encoding="utf-8")
    note = (f"no image-size cache next to the CrowdHuman data: the first {len(lines)} annotation lines and "
            f"their image sizes are read from a private copy ({unread} image(s) unreadable)")
    return {"ann_file": str(folder / ann.name), "extra_ann_file": str(folder / "id_hw.json")}, [note]


write_crowdhuman.real_overrides = crowdhuman_real


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
