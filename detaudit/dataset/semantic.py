"""The semantic-segmentation folder writer (``BaseSegDataset``, ``ADE20KSegDataset``, ``CocoSegDataset``).

Semantic segmentation: images ``<data_prefix.img_path>/<name><img_suffix>`` and label maps
``<data_prefix.seg_map_path>/<name><seg_map_suffix>``; ``BaseSegDataset`` with an ``ann_file`` reads
the names from it. Label values are 1..C-1 inside objects and 0 elsewhere, valid classes both with
and without ``reduce_zero_label``.
"""
from __future__ import annotations


from .contract import DataRequest, PreparedData
from .draw import image_size, make_scenes, object_mask, write_image
from .layout import Layout


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
