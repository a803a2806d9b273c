"""Writers for the OpenMMLab 2.0 annotation json (``BaseDetDataset``), semantic-segmentation folders
(``BaseSegDataset``, ``ADE20KSegDataset``, ``CocoSegDataset``) and ODVG (grounding-style jsonl).

OpenMMLab 2.0 json: ``{"metainfo": {"classes": [...]}, "data_list": [{"img_path", "height", "width",
"instances": [{"bbox", "bbox_label", "ignore_flag", "mask"}]}]}`` (a polygon per instance). The
dataset joins each ``data_prefix`` key with the sample's field of the same name, so every configured
key is written into each sample (``img_path`` relative to its prefix when that key is ``img_path``,
else absolute).

Semantic segmentation: images ``<data_prefix.img_path>/<name><img_suffix>`` and label maps
``<data_prefix.seg_map_path>/<name><seg_map_suffix>``; ``BaseSegDataset`` with an ``ann_file`` reads
the names from it. Label values are 1..C-1 inside objects and 0 elsewhere, valid classes both with
and without ``reduce_zero_label``.

ODVG: one json per line (``filename``, ``height``, ``width``, then ``detection.instances`` with
corner boxes and integer labels when a ``label_map_file`` maps labels to names, else ``grounding``
with a caption and its phrase regions).
"""
from __future__ import annotations

import json

from .data_draw import image_size, make_scenes, object_mask, write_image
from .data_paths import Layout
from .data_types import DataRequest, PreparedData


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


def _default(request: DataRequest, key: str, fallback: str) -> str:
    """The constructor default of ``key`` on the dataset's class (``img_suffix``, ...)."""
    import inspect

    cls = request.dataset_class
    for klass in getattr(cls, "__mro__", ()):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        param = inspect.signature(init).parameters.get(key)
        if param is not None and isinstance(param.default, str):
            return param.default
    return fallback


def write_semantic(request: DataRequest) -> PreparedData:
    import numpy as np

    layout = Layout(request)
    size, note = image_size(request)
    prefixes = layout.prefixes({"img_path": "images/", "seg_map_path": "annotations/"})
    img_suffix = request.cfg.get("img_suffix") or _default(request, "img_suffix", ".jpg")
    seg_suffix = request.cfg.get("seg_map_suffix") or _default(request, "seg_map_suffix", ".png")
    n = len(request.class_names)
    scenes = make_scenes(request, size)
    for scene in scenes:
        write_image(prefixes["img_path"] / f"{scene.name}{img_suffix}", scene.image)
        label = np.zeros((scene.height, scene.width), np.uint8)
        for o in scene.objects:
            label[object_mask(o, scene.height, scene.width).astype(bool)] = \
                min(254, o.label % max(1, n - 1) + 1) if n > 1 else 0
        write_image(prefixes["seg_map_path"] / f"{scene.name}{seg_suffix}", label)
    notes = layout.notes + ([note] if note else [])
    if request.cfg.get("ann_file"):
        names = layout.file("ann_file", "splits/data.txt")
        names.parent.mkdir(parents=True, exist_ok=True)
        names.write_text("".join(f"{s.name}\n" for s in scenes), encoding="utf-8")
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)


def write_odvg(request: DataRequest) -> PreparedData:
    layout = Layout(request)
    size, note = image_size(request)
    ann = layout.file("ann_file", "annotations/odvg.jsonl")
    img_dir = layout.prefixes({"img": ""})["img"]
    names = request.class_names
    scenes = make_scenes(request, size)
    detection = bool(request.cfg.get("label_map_file"))
    lines = []
    for scene in scenes:
        write_image(img_dir / f"{scene.name}.jpg", scene.image)
        entry = {"filename": f"{scene.name}.jpg", "height": scene.height, "width": scene.width}
        if detection:
            entry["detection"] = {"instances": [
                {"bbox": [float(v) for v in o.box], "label": o.label, "category": names[o.label]}
                for o in scene.objects]}
        else:
            phrases = [names[o.label] for o in scene.objects]
            caption = ". ".join(phrases) + "."
            regions, start = [], 0
            for o, phrase in zip(scene.objects, phrases):
                regions.append({"bbox": [float(v) for v in o.box], "phrase": phrase,
                                "tokens_positive": [[start, start + len(phrase)]]})
                start += len(phrase) + 2
            entry["grounding"] = {"caption": caption, "regions": regions}
        lines.append(json.dumps(entry))
    ann.parent.mkdir(parents=True, exist_ok=True)
    ann.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if detection:
        label_map = layout.file("label_map_file", "annotations/label_map.json")
        label_map.parent.mkdir(parents=True, exist_ok=True)
        label_map.write_text(json.dumps({str(i): n for i, n in enumerate(names)}), encoding="utf-8")
    notes = layout.notes + ([note] if note else [])
    notes.append("ODVG " + ("detection entries (label_map_file)" if detection else "grounding entries"))
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)
