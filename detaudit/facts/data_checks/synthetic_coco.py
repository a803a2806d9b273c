"""A generated COCO instance file of any size, for benchmarks and tests: ``images`` of random sizes,
``annotations`` with boxes inside them, ``categories`` named ``class_0 ...``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def coco_document(num_annotations: int, *, num_images: int | None = None, num_classes: int = 10,
                  seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    num_images = num_images or max(1, num_annotations // 7)
    widths = rng.integers(320, 1333, num_images)
    heights = rng.integers(240, 800, num_images)
    img = rng.integers(0, num_images, num_annotations)
    w = np.maximum(1, (rng.random(num_annotations) * 0.4 * widths[img])).round(1)
    h = np.maximum(1, (rng.random(num_annotations) * 0.4 * heights[img])).round(1)
    x = (rng.random(num_annotations) * (widths[img] - w)).round(1)
    y = (rng.random(num_annotations) * (heights[img] - h)).round(1)
    cat = rng.integers(1, num_classes + 1, num_annotations)
    images = [{"id": i, "file_name": f"{i:08d}.jpg", "width": int(widths[i]), "height": int(heights[i])}
              for i in range(num_images)]
    anns = [{"id": i + 1, "image_id": int(img[i]), "category_id": int(cat[i]),
             "bbox": [float(x[i]), float(y[i]), float(w[i]), float(h[i])], "area": float(w[i] * h[i]), "iscrowd": 0}
            for i in range(num_annotations)]
    cats = [{"id": i + 1, "name": f"class_{i}"} for i in range(num_classes)]
    return {"images": images, "annotations": anns, "categories": cats}


def write_coco(path: Path, num_annotations: int, **kw) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco_document(num_annotations, **kw)))
    return path
