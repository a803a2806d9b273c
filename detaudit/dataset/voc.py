"""Pascal-VOC-style writers: ``XMLDataset``/``VOCDataset`` and ``WIDERFaceDataset``.

VOC: ``ann_file`` lists image ids (``ImageSets/Main/<split>.txt`` in VOC), images are
``<sub_data_root>/<img_subdir>/<id>.jpg`` and annotations ``<sub_data_root>/<ann_subdir>/<id>.xml``
with one-based corner coordinates (the dataset subtracts one). WIDER Face: ``ann_file`` lists ids,
annotations are ``<data_prefix.img>/Annotations/<id>.xml`` whose ``<folder>`` names the image folder
under ``data_prefix.img``; coordinates are zero-based.

:func:`write_voc_xml` is shared with dataset writers of other packages that use VOC annotations.
"""
from __future__ import annotations

from pathlib import Path

from .draw import image_size, make_scenes, write_image
from .layout import Layout, safe_relative
from .contract import DataRequest, PreparedData


def write_voc_xml(path: Path, filename: str, folder: str, width: int, height: int,
                  objects: list[tuple[str, tuple[float, float, float, float]]], difficult: int = 0) -> None:
    """One VOC annotation file: ``objects`` are (name, (xmin, ymin, xmax, ymax)) as they are written."""
    import xml.etree.ElementTree as ET

    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for tag, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(int(value))
    for name, box in objects:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = name
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = str(int(difficult))
        bnd = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            ET.SubElement(bnd, tag).text = str(int(round(value)))
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(str(path), encoding="utf-8")


def _subdir(layout: Layout, key: str, default: str) -> str:
    given = layout.request.cfg.get(key, default)
    rel = safe_relative(given) if given is not None else None
    if rel is None:
        layout.notes.append(f"{key} {given!r} is not a path inside the data root: written as {default!r}")
        layout.overrides[key] = rel = default
    return rel


def _min_box(request: DataRequest) -> int:
    filter_cfg = request.cfg.get("filter_cfg") or {}
    return int(filter_cfg.get("bbox_min_size", 0) or 0) if isinstance(filter_cfg, dict) else 0


def write_voc(request: DataRequest) -> PreparedData:
    layout = Layout(request)
    size, note = image_size(request)
    ids_file = layout.file("ann_file", "ImageSets/Main/data.txt")
    prefixes = layout.prefixes({"sub_data_root": ""})
    sub = prefixes["sub_data_root"]
    img_dir = sub / _subdir(layout, "img_subdir", "JPEGImages")
    ann_dir = sub / _subdir(layout, "ann_subdir", "Annotations")
    names = request.class_names
    scenes = make_scenes(request, size, min_box=_min_box(request))
    for scene in scenes:
        write_image(img_dir / f"{scene.name}.jpg", scene.image)
        objects = [(names[o.label], (o.box[0] + 1, o.box[1] + 1, o.box[2] + 1, o.box[3] + 1))
                   for o in scene.objects]
        write_voc_xml(ann_dir / f"{scene.name}.xml", f"{scene.name}.jpg", sub.name or "VOC",
                      scene.width, scene.height, objects)
    ids_file.parent.mkdir(parents=True, exist_ok=True)
    ids_file.write_text("".join(f"{s.name}\n" for s in scenes), encoding="utf-8")
    notes = layout.notes + ([note] if note else [])
    if layout.configured("sub_data_root") is None:
        notes.append("the config's data_prefix has no sub_data_root: the dataset reads annotations "
                     "relative to the working directory")
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)


def write_wider_face(request: DataRequest) -> PreparedData:
    layout = Layout(request)
    size, note = image_size(request)
    ids_file = layout.file("ann_file", "train.txt")
    root = layout.prefixes({"img": ""})["img"]
    names = request.class_names
    scenes = make_scenes(request, size, min_box=_min_box(request))
    folder = "images"
    for scene in scenes:
        write_image(root / folder / f"{scene.name}.jpg", scene.image)
        objects = [(names[o.label], tuple(float(v) for v in o.box)) for o in scene.objects]
        write_voc_xml(root / "Annotations" / f"{scene.name}.xml", f"{scene.name}.jpg", folder,
                      scene.width, scene.height, objects)
    ids_file.parent.mkdir(parents=True, exist_ok=True)
    ids_file.write_text("".join(f"{s.name}\n" for s in scenes), encoding="utf-8")
    notes = layout.notes + ([note] if note else [])
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(scenes), notes=notes)
