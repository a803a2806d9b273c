"""The ODVG writer (grounding-style jsonl).

ODVG: one json per line (``filename``, ``height``, ``width``, then ``detection.instances`` with
corner boxes and integer labels when a ``label_map_file`` maps labels to names, else ``grounding``
with a caption and its phrase regions).
"""
from __future__ import annotations

import json

from .contract import DataRequest, PreparedData
from .draw import image_size, make_scenes, write_image
from .layout import Layout


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
