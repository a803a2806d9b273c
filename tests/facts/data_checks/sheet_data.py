"""A tiny COCO dataset on disk for the contact-sheet and command tests: uniform gray images with
known boxes, so that a test can tell drawn pixels from the image's."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GRAY = 128
BOXES = {0: [20, 30, 80, 60], 1: [100, 20, 40, 100], 2: [10, 10, 150, 120]}   # xywh per image
SIZE = (160, 200)   # H, W


def write_dataset(root: Path, *, classes=("thing",), n_images: int = 3) -> Path:
    import cv2

    (root / "images").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(n_images):
        cv2.imwrite(str(root / "images" / f"{i}.png"), np.full((*SIZE, 3), GRAY, np.uint8))
        images.append({"id": i, "file_name": f"{i}.png", "height": SIZE[0], "width": SIZE[1]})
        x, y, w, h = BOXES[i % len(BOXES)]
        anns.append({"id": i + 1, "image_id": i, "category_id": 1, "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    (root / "annotations").mkdir(exist_ok=True)
    doc = {"images": images, "annotations": anns,
           "categories": [{"id": k + 1, "name": c} for k, c in enumerate(classes)]}
    (root / "annotations" / "train.json").write_text(json.dumps(doc))
    return root


def dataset_cfg(root: Path, pipeline=None, **kw) -> dict:
    pipeline = pipeline or [{"type": "LoadImageFromFile"}, {"type": "LoadAnnotations", "with_bbox": True},
                            {"type": "PackDetInputs"}]
    ds = {"type": "CocoDataset", "data_root": str(root), "ann_file": "annotations/train.json",
          "data_prefix": {"img": "images/"}, "metainfo": {"classes": ("thing",)}, "pipeline": pipeline}
    ds.update(kw)
    return ds


def write_config(path: Path, root: Path, **kw) -> Path:
    ds = dataset_cfg(root, **kw)
    path.write_text(f"train_dataloader = dict(batch_size=1, dataset={ds!r})\n"
                    f"val_dataloader = dict(batch_size=1, dataset={dict(ds, test_mode=True)!r})\n"
                    "test_dataloader = val_dataloader\n")
    return path
