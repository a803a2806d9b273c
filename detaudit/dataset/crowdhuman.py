"""The CrowdHuman writer (odgt).

CrowdHuman: ``ann_file`` holds one json object per line (``ID``, ``gtboxes`` with ``tag``,
``fbox``/``hbox``/``vbox`` as x, y, w, h); images are ``<data_prefix.img>/<ID>.jpg``. The dataset
caches image sizes in an ``extra_ann_file`` it writes next to the data when none exists; the writer
writes that file itself and names it, so nothing else is written.
"""
from __future__ import annotations

import json
from pathlib import Path

from .draw import image_size, make_scenes, write_image
from .layout import Layout
from .contract import DataRequest, PreparedData


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
