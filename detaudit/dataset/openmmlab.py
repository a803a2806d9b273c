"""The OpenMMLab 2.0 annotation json writer (``BaseDetDataset``).

OpenMMLab 2.0 json: ``{"metainfo": {"classes": [...]}, "data_list": [{"img_path", "height", "width",
"instances": [{"bbox", "bbox_label", "ignore_flag", "mask"}]}]}`` (a polygon per instance). The
dataset joins each ``data_prefix`` key with the sample's field of the same name, so every configured
key is written into each sample (``img_path`` relative to its prefix when that key is ``img_path``,
else absolute).
"""
from __future__ import annotations

import json

from .contract import DataRequest, PreparedData
from .draw import image_size, make_scenes, write_image
from .layout import Layout


def write_openmmlab_json(request: DataRequest) -> PreparedData:
    layout = Layout(request)
    size, note = image_size(request)
    ann = layout.file("ann_file", "annotations/data.json")
    given = request.cfg.get("data_prefix")
    prefixes = layout.prefixes({"img_path": ""} if given is None else {})
    img_dir = prefixes.get("img_path", layout.root / "images")
    scenes = make_scenes(request, size)
    data_list = []
    for scene in scenes:
        path = img_dir / f"{scene.name}.jpg"
        write_image(path, scene.image)
        info = {key: f"{scene.name}.jpg" for key in prefixes}
        info["img_path"] = f"{scene.name}.jpg" if "img_path" in prefixes else str(path)
        instances = []
        for o in scene.objects:
            instances.append({"bbox": [float(v) for v in o.box], "bbox_label": o.label, "ignore_flag": 0,
                              "mask": [o.polygon]})
        data_list.append(dict(info, img_id=scene.name, height=scene.height, width=scene.width,
                              instances=instances))
    ann.parent.mkdir(parents=True, exist_ok=True)
    ann.write_text(json.dumps({"metainfo": {"classes": list(request.class_names)}, "data_list": data_list}),
                   encoding="utf-8")
    notes = layout.notes + ([note] if note else [])
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)
