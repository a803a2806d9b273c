"""Synthetic LLVIP and KAIST data for detaudit's run tier (the ``detaudit.datasets`` entry-point group).

Registered in pyproject.toml as ``LLVIPDataset = "detector.audit_data:write_llvip"`` and
``KAISTDataset = "detector.audit_data:write_kaist"``. Each writer draws aligned visible/infrared
pairs with :mod:`detector.make_synthetic_data` (loaded from its file, so that registering the
writer imports neither torch nor mmdet) and writes the dataset's own layout with the config's
class names:

- LLVIP: ``<visible>/<split>/<stem>.png``, ``<infrared>/<split>/<stem>.png``, ``<ann>/<stem>.xml``;
- KAIST: ``<visible>/<stem>.png``, ``<infrared>/<stem>.png``, ``<ann>/<stem>.xml`` and the split list
  (``ann_file``, by default ``ImageSets/<split>.txt``);

where the folders are the config's ``data_prefix`` entries (default: the modality names and
``Annotations``). Both modalities are always written, so paired datasets
(``return_modality_pair=True``) read them too.
"""
from __future__ import annotations

import zlib
from pathlib import Path

from detaudit.dataset import DataRequest, Layout, PreparedData, image_size, write_image, write_voc_xml

_DRAWING = None


def _drawing():
    """detector.make_synthetic_data, executed from its file without the package's ``__init__``."""
    global _DRAWING
    if _DRAWING is None:
        import importlib.util

        spec = importlib.util.spec_from_file_location("detector_make_synthetic_data",
                                                      Path(__file__).with_name("make_synthetic_data.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _DRAWING = module
    return _DRAWING


def _by_modality(modalities, visible, infrared) -> dict:
    """The drawn image for each modality name: the infrared one for infrared-like names."""
    def thermal(name: str) -> bool:
        name = name.lower()
        return name == "ir" or any(k in name for k in ("infra", "thermal", "lwir"))

    if sum(thermal(m) for m in modalities) == 1:
        return {m: infrared if thermal(m) else visible for m in modalities}
    return dict(zip(modalities, (visible, infrared)))


def _write(request: DataRequest, kind: str) -> PreparedData:
    import numpy as np

    draw = _drawing()
    layout = Layout(request)
    (h, w), note = image_size(request, least=32)      # the drawing needs 32 px
    cfg = request.cfg
    split = str(cfg.get("split", "train"))
    modalities = tuple(cfg.get("modalities", ("visible", "infrared")))
    defaults = {m: f"{m}/" for m in modalities}
    defaults["ann"] = "Annotations/"
    prefixes = layout.prefixes(defaults)
    names = request.class_names
    rng = np.random.default_rng(zlib.crc32(f"{kind}:{request.key_path}".encode()))
    stems, label = [], 0
    for i in range(max(1, int(request.num_images))):
        boxes = []
        while not boxes:
            visible, infrared, boxes = draw.render_pair(rng, h, w, 3)
        stem = f"{request.stem}_{i:06d}"
        for modality, image in _by_modality(modalities, visible, infrared).items():
            folder = prefixes[modality] / split if kind == "llvip" else prefixes[modality]
            write_image(folder / f"{stem}.png", image)
        objects = []
        for box in boxes:
            objects.append((names[label % len(names)], tuple(float(v) for v in box)))
            label += 1
        write_voc_xml(prefixes["ann"] / f"{stem}.xml", f"{stem}.png", kind.upper(), w, h, objects)
        stems.append(stem)
    if kind == "kaist":
        split_list = layout.file("ann_file", f"ImageSets/{split}.txt")
        split_list.parent.mkdir(parents=True, exist_ok=True)
        split_list.write_text("".join(f"{s}\n" for s in stems), encoding="utf-8")
    notes = layout.notes + ([note] if note else [])
    notes.append(f"{kind.upper()} split {split!r}: {len(stems)} visible/infrared pairs")
    return PreparedData(overrides=layout.overrides, kind="synthetic", samples=len(stems), notes=notes)


def write_llvip(request: DataRequest) -> PreparedData:
    return _write(request, "llvip")


def write_kaist(request: DataRequest) -> PreparedData:
    return _write(request, "kaist")


def annotation_names(dataset) -> dict[str, int]:
    """Object names in the XML files of the dataset's samples, as the dataset matches them against
    its classes (lower case, after ``class_aliases``)."""
    import xml.etree.ElementTree as ET

    aliases = getattr(dataset, "class_aliases", {}) or {}
    counts: dict[str, int] = {}
    for i in range(len(dataset)):
        path = Path(dataset.data_prefix["ann"]) / f"{dataset.get_data_info(i)['img_id']}.xml"
        if not path.is_file():
            continue
        for obj in ET.parse(path).getroot().findall("object"):
            name = (obj.findtext("name") or "").strip().lower()
            name = aliases.get(name, name)
            counts[name] = counts.get(name, 0) + 1
    return counts


write_llvip.annotation_names = annotation_names
write_kaist.annotation_names = annotation_names
