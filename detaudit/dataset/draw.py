"""Synthetic images with objects whose boxes, polygons and masks agree, shared by the writers.

Each image holds one to three filled ellipses on a noisy gradient (a crowd at least two); an object's polygon is the
ellipse's outline through its four extreme points, so the polygon's bounding box is exactly the
object's box. Labels cycle through the class list across the images, so the first images name the
first classes. The same request always gives the same images.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from .contract import DataRequest


@dataclass
class Obj:
    label: int                               # index into the class names
    box: tuple[int, int, int, int]           # x1, y1, x2, y2 in pixels
    polygon: list[float]                     # x0, y0, x1, y1, ... (the ellipse's outline)

    @property
    def xywh(self) -> list[float]:
        x1, y1, x2, y2 = self.box
        return [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]


@dataclass
class Scene:
    name: str                                # file stem
    image: object                            # (H, W, 3) uint8, BGR
    objects: list[Obj]

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


def image_size(request: DataRequest, least: int = 0) -> tuple[tuple[int, int], str | None]:
    """(H, W) to draw at: the requested size, grown when the dataset's ``filter_cfg.min_size``
    (or ``least``) would filter it away; the note says so."""
    h, w = (int(v) for v in request.image_size)
    filter_cfg = request.cfg.get("filter_cfg") or {}
    need = max(least, int(filter_cfg.get("min_size", 0) or 0) if isinstance(filter_cfg, dict) else 0)
    if min(h, w) >= need:
        return (h, w), None
    scale = need / min(h, w)
    size = (max(need, int(round(h * scale))), max(need, int(round(w * scale))))
    return size, f"images drawn at {size[0]}x{size[1]} (filter_cfg.min_size={need})"


def _ellipse(box: tuple[int, int, int, int], points: int = 16) -> list[float]:
    import math

    x1, y1, x2, y2 = box
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
    out = []
    for k in range(points):      # 16 steps of 22.5 degrees: the four extreme points are vertices
        a = 2 * math.pi * k / points
        out += [round(cx + rx * math.cos(a), 2), round(cy + ry * math.sin(a), 2)]
    return out


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def object_mask(obj: Obj, height: int, width: int):
    """The object's filled polygon as an (H, W) uint8 array of 0 and 1."""
    import cv2
    import numpy as np

    mask = np.zeros((height, width), np.uint8)
    pts = np.array(obj.polygon, np.float64).reshape(-1, 2).round().astype(np.int32)
    cv2.fillPoly(mask, [pts], 1)
    return mask


def make_scenes(request: DataRequest, size: tuple[int, int] | None = None, *, min_box: int = 0,
                min_objects: int = 1, max_objects: int = 3, labels: int | None = None) -> list[Scene]:
    """``request.num_images`` scenes named ``<stem>_000000 ...``, each with ``min_objects`` to
    ``max_objects`` objects; boxes at least ``min_box`` + 2 pixels on each side; labels cycle
    through ``labels`` (default: the class names)."""
    import numpy as np

    h, w = size or image_size(request)[0]
    n_labels = labels if labels is not None else len(request.class_names)
    seed = zlib.crc32(f"{request.type_name}:{request.key_path}".encode())
    rng = np.random.default_rng(seed)
    least = max(8, min_box + 2)
    scenes, next_label = [], 0
    for i in range(max(1, int(request.num_images))):
        ramp = np.linspace(rng.uniform(30, 90), rng.uniform(120, 200), w, dtype=np.float32)
        image = np.repeat(ramp[None, :, None], h, 0).repeat(3, 2)
        image += rng.normal(0, 8, size=image.shape).astype(np.float32)
        objects: list[Obj] = []
        want = min_objects + int(rng.integers(0, max(1, max_objects - min_objects + 1)))
        for _ in range(30 * want):
            if len(objects) == want:
                break
            bw = int(rng.integers(max(least, int(0.25 * w)), max(least, int(0.6 * w)) + 1))
            bh = int(rng.integers(max(least, int(0.25 * h)), max(least, int(0.6 * h)) + 1))
            if bw >= w or bh >= h:
                continue
            x1, y1 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            box = (x1, y1, x1 + bw, y1 + bh)
            if any(_iou(box, o.box) > 0.3 for o in objects):
                continue
            objects.append(Obj(label=next_label % max(1, n_labels), box=box, polygon=_ellipse(box)))
            next_label += 1
        for obj in objects:
            colour = np.array([(obj.label * 67 + 40) % 256, (obj.label * 131 + 90) % 256,
                               (obj.label * 29 + 160) % 256], np.float32)
            mask = object_mask(obj, h, w).astype(bool)
            image[mask] = 0.25 * image[mask] + 0.75 * colour
        scenes.append(Scene(name=f"{request.stem}_{i:06d}", image=np.clip(image, 0, 255).astype(np.uint8),
                            objects=objects))
    return scenes


def write_proposals(path: Path, scenes: list[Scene], image_dir: Path, suffix: str = ".jpg") -> None:
    """A proposal file as ``BaseDetDataset.load_proposals`` reads it: a pickle of
    ``{"<image folder>/<file>": {"bboxes": (n, 4) float32 x1y1x2y2, "scores": (n,) float32}}``
    holding each object's box, shifted copies of it and a few background boxes, best first."""
    import pickle

    import numpy as np

    out = {}
    for i, scene in enumerate(scenes):
        rng = np.random.default_rng(i)
        h, w = scene.height, scene.width
        boxes = []
        for o in scene.objects:
            x1, y1, x2, y2 = o.box
            bw, bh = x2 - x1, y2 - y1
            boxes.append(o.box)
            shifts = rng.uniform(-0.2, 0.2, (3, 2))
            boxes += [(x1 + dx * bw, y1 + dy * bh, x2 + dx * bw, y2 + dy * bh) for dx, dy in shifts]
        for _ in range(8):
            bw, bh = rng.uniform(0.1, 0.5) * w, rng.uniform(0.1, 0.5) * h
            x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            boxes.append((x1, y1, x1 + bw, y1 + bh))
        bboxes = np.clip(np.array(boxes, np.float32), 0, [w - 1, h - 1, w - 1, h - 1]).astype(np.float32)
        scores = np.linspace(0.99, 0.05, len(bboxes), dtype=np.float32)
        out[f"{image_dir.name}/{scene.name}{suffix}"] = {"bboxes": bboxes, "scores": scores}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(out, f)


def write_image(path: Path, image) -> None:
    """Write an image (format from the suffix), creating its folder."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")
