"""Statistics of one split: boxes per class, boxes per image, object sizes (before and after the
pipeline's resize), as plain numbers for reports and plots."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model import SplitData


@dataclass
class SplitStats:
    images: int = 0
    boxes: int = 0                 # boxes training keeps (configured classes, not ignored)
    ignored: int = 0               # crowd / ignored boxes
    per_class: dict[str, int] = field(default_factory=dict)
    boxes_per_image: list[int] = field(default_factory=list)    # histogram: index = boxes on an image
    sizes: list[float] = field(default_factory=list)            # sqrt(area) of kept boxes, as annotated (sample)
    scaled_sizes: list[float] = field(default_factory=list)     # the same after the pipeline's resize
    scale: tuple | None = None
    anchor_sizes: list[float] = field(default_factory=list)
    prior_strides: list[float] = field(default_factory=list)   # anchor-free heads: their point strides

    def summary(self) -> dict:
        s = np.asarray(self.sizes) if self.sizes else np.zeros(1)
        counts = np.asarray(self.boxes_per_image)
        mean = float((counts * np.arange(len(counts))).sum() / max(1, counts.sum())) if len(counts) else 0.0
        return {"images": self.images, "boxes": self.boxes, "ignored": self.ignored, "per_class": self.per_class,
                "boxes_per_image_mean": round(mean, 2), "boxes_per_image_max": max(0, len(counts) - 1),
                "size_percentiles": {p: round(float(np.percentile(s, p)), 1) for p in (1, 50, 99)}}


MAX_SIZES = 20000


def split_stats(s: SplitData, scale=None, anchor_sizes=()) -> SplitStats:
    from .anchors import scale_factors

    out = SplitStats(images=s.num_images, scale=scale, anchor_sizes=list(anchor_sizes))
    kept = s.box_label >= 0
    out.boxes = int(kept.sum())
    out.ignored = int(((s.crowd | s.ignore) & (s.box_image >= 0)).sum())
    labels = np.bincount(s.box_label[kept], minlength=len(s.classes)) if kept.any() else np.zeros(len(s.classes))
    out.per_class = {str(c): int(n) for c, n in zip(s.classes, labels)}
    if s.num_images:
        per_image = np.bincount(s.box_image[kept], minlength=s.num_images)
        out.boxes_per_image = np.bincount(per_image).tolist()
    if kept.any():
        b = s.boxes[kept]
        side = np.sqrt(np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None))
        factor = scale_factors(s, scale)[s.box_image[kept]]
        step = max(1, len(side) // MAX_SIZES)
        out.sizes = side[::step].round(2).tolist()
        out.scaled_sizes = (side * factor)[::step].round(2).tolist()
    return out
