"""A contact sheet: samples drawn through the config's own pipeline, as the model will see them.

The split's dataset is built from the config with its own pipeline (augmentations included) and
``N`` samples are taken (a fixed seed: the same sheet twice). Each packed image is scaled to a
tile, its ground truth boxes, masks and class names are drawn on it with mmdet's
``DetLocalVisualizer`` (it draws into an array, no window), and the tiles are laid out in a grid
above a band of histograms (boxes per class, boxes per image, object sizes after the pipeline's
resize next to the anchor sizes), drawn with matplotlib's Agg backend. One PNG per split, written
atomically into the folder given, never next to the data. Multi-channel inputs (an RGB-thermal
pair) show their first three channels.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import tempfile
import textwrap
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TILE = 320
CAPTION = 18
COLUMNS = 4


@dataclass
class Tile:
    index: int                 # the dataset index drawn
    x: int                     # top-left corner of the image in the sheet
    y: int
    scale: float               # sheet pixels per packed-image pixel
    boxes: list = field(default_factory=list)    # (x1, y1, x2, y2) drawn, in sheet pixels
    labels: list = field(default_factory=list)


@dataclass
class Sheet:
    path: Path
    width: int
    height: int
    tiles: list[Tile] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    title: str = ""


def _to_rgb(inputs) -> np.ndarray:
    arr = inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else np.asarray(inputs)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4, 6) and arr.shape[2] not in (1, 3, 4, 6):
        arr = arr.transpose(1, 2, 0)
    elif arr.ndim == 3 and arr.shape[0] <= 6 < arr.shape[2]:
        arr = arr.transpose(1, 2, 0)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        lo, hi = float(arr.min()), float(arr.max())
        arr = ((arr - lo) / (hi - lo + 1e-9) * 255) if (lo < 0 or hi > 255) else arr
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr[..., ::-1])  # packed images are BGR


def _hw(inputs) -> tuple[int, int]:
    """(H, W) of a packed image (CHW tensor, or HWC array)."""
    shape = tuple(inputs.shape)
    if len(shape) == 3 and shape[0] <= 6 < shape[2]:
        return shape[1], shape[2]
    return (shape[0], shape[1]) if len(shape) >= 2 else (1, 1)


def _channels(inputs) -> int:
    shape = tuple(inputs.shape)
    return min(shape) if len(shape) == 3 else 1


def annotations_before_resize(dataset) -> bool:
    """Whether the pipeline loads the annotations after it resized the image (mmdet's test
    pipelines do: the evaluator compares boxes in the original image's coordinates)."""
    names = [type(t).__name__ for t in getattr(getattr(dataset, "pipeline", None), "transforms", [])]
    load = next((i for i, n in enumerate(names) if n.startswith("LoadAnnotations")
                 or n == "LoadPanopticAnnotations"), None)
    resize = next((i for i, n in enumerate(names) if "Resize" in n), None)
    return load is not None and resize is not None and resize < load


def _scaled_sample(sample, f: float, shape, original: bool = False):
    """The data sample with its ground truth scaled by ``f`` (boxes and masks), for the tile;
    ``original``: the boxes are still in the original image's coordinates (see
    :func:`annotations_before_resize`) and are first scaled as the image was."""
    import torch
    from mmengine.structures import InstanceData

    gt = sample.gt_instances
    out = copy.copy(sample)
    new = InstanceData()
    boxes = gt.bboxes.tensor if hasattr(gt.bboxes, "tensor") else torch.as_tensor(gt.bboxes)
    boxes = boxes.float().reshape(-1, 4)
    if original:
        sw, sh = (list(sample.metainfo.get("scale_factor") or (1.0, 1.0)) + [1.0])[:2]
        boxes = boxes * torch.tensor([sw, sh, sw, sh], dtype=boxes.dtype)
    new.bboxes = boxes * f
    new.labels = gt.labels
    if "masks" in gt and gt.masks is not None and len(gt.masks):
        with contextlib.suppress(Exception):
            new.masks = gt.masks.resize(shape).to_ndarray().astype(bool)
    out.gt_instances = new
    return out, new.bboxes.numpy().reshape(-1, 4), new.labels.numpy().tolist()


def _histograms(stats, width: int) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(max(width, 600) / dpi, 2.8), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    names = list(stats.per_class)
    axes[0].bar(range(len(names)), [stats.per_class[n] for n in names], color="#4477aa")
    axes[0].set_title(f"boxes per class ({stats.boxes} kept, {stats.ignored} ignored)", fontsize=8)
    if len(names) <= 20:
        axes[0].set_xticks(range(len(names)), [n[:12] for n in names], rotation=60, fontsize=6)
    counts = stats.boxes_per_image
    axes[1].bar(range(len(counts)), counts, color="#228833")
    axes[1].set_title(f"boxes per image ({stats.images} images)", fontsize=8)
    sizes = np.asarray(stats.scaled_sizes or [0.0])
    axes[2].hist(sizes, bins=40, color="#aa3377", log=True)
    for s in stats.anchor_sizes:
        axes[2].axvline(s, color="black", lw=0.6, ls="--")
    for s in stats.prior_strides:
        axes[2].axvline(s, color="black", lw=0.6, ls=":")
    at = f" at {tuple(int(v) for v in stats.scale)}" if stats.scale else ""
    lines = "; dashed: anchors" if stats.anchor_sizes else "; dotted: prior strides" if stats.prior_strides else ""
    axes[2].set_title(f"object size sqrt(wh){at}{lines}", fontsize=8)
    for ax in axes:
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    if img.shape[1] != width:
        import cv2

        img = cv2.resize(img, (width, int(img.shape[0] * width / img.shape[1])), interpolation=cv2.INTER_AREA)
    return img


def _seeded(fn, seed: int):
    """``fn()`` with Python's, numpy's and torch's random generators seeded (the augmentations draw
    from them: the same sheet twice), their states restored afterwards."""
    import torch

    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        return fn()
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])


def build_with_pipeline(ds_cfg: dict):
    from mmdet.registry import DATASETS

    cfg = copy.deepcopy(dict(ds_cfg))
    cfg.pop("lazy_init", None)
    cfg.pop("indices", None)
    return DATASETS.build(cfg)


def draw_sheet(dataset, out_path: Path, *, num: int = 8, seed: int = 0, stats=None, title: str = "",
               tile: int = TILE) -> Sheet:
    """Draw ``num`` samples of a built dataset (with its pipeline) into one PNG at ``out_path``."""
    import cv2
    from mmdet.visualization import DetLocalVisualizer

    n = min(num, len(dataset))
    indices = sorted(random.Random(seed).sample(range(len(dataset)), n)) if n else []
    items = _seeded(lambda: [dataset[idx] for idx in indices], seed)
    channels = {int(_channels(item["inputs"])) for item in items}
    original = annotations_before_resize(dataset)
    if original:
        title += " | annotations loaded after the resize (original coordinates): drawn scaled as the image"
    if max(channels, default=3) > 3:
        title += f" | channels 1-3 of {max(channels)} shown"
    cols = max(1, min(COLUMNS, n))
    rows = max(1, math.ceil(n / cols))
    per_line = max(20, cols * tile // 9)
    lines = textwrap.wrap(title, per_line, max_lines=3, placeholder=" ...") or [""]
    header = 6 + 18 * len(lines)
    heights = [max(1, round(tile * _hw(it["inputs"])[0] / max(_hw(it["inputs"])))) for it in items]
    row_h = [max(heights[r * cols:(r + 1) * cols], default=tile) + CAPTION for r in range(rows)]
    row_y = [header + sum(row_h[:r]) for r in range(rows)]
    grid = np.full((header + sum(row_h), cols * tile, 3), 32, dtype=np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(grid, line, (6, 17 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    vis = DetLocalVisualizer(name=f"detaudit-sheet-{uuid.uuid4().hex}", line_width=2, alpha=0.5)
    meta = dict(dataset.metainfo)
    if not meta.get("palette"):
        rng = np.random.default_rng(7)
        meta["palette"] = [tuple(int(v) for v in rng.integers(60, 256, 3)) for _ in meta.get("classes") or [0]]
    vis.dataset_meta = meta
    sheet = Sheet(out_path, grid.shape[1], 0, title=title)
    for k, (idx, item) in enumerate(zip(indices, items)):
        img = _to_rgb(item["inputs"])
        h, w = img.shape[:2]
        f = tile / max(h, w)
        small = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        sample, boxes, labels = _scaled_sample(item["data_samples"], f, small.shape[:2], original)
        vis.add_datasample(f"s{k}", small, sample, draw_gt=True, draw_pred=False, show=False)
        drawn = vis.get_image()
        r, c = divmod(k, cols)
        x0, y0 = c * tile, row_y[r]
        grid[y0:y0 + drawn.shape[0], x0:x0 + drawn.shape[1]] = drawn
        name = os.path.basename(str(item["data_samples"].metainfo.get("img_path", idx)))
        cv2.putText(grid, f"#{idx} {name}"[:40], (x0 + 4, y0 + drawn.shape[0] + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (220, 220, 220), 1, cv2.LINE_AA)
        sheet.tiles.append(Tile(idx, x0, y0, f, [[float(v) + o for v, o in zip(b, (x0, y0, x0, y0))] for b in boxes],
                                labels))
    with contextlib.suppress(Exception):
        vis.close()
    image = grid if stats is None else np.vstack([grid, _histograms(stats, grid.shape[1])])
    sheet.width, sheet.height = image.shape[1], image.shape[0]
    write_png(out_path, image)
    return sheet


def write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f"could not encode {path}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
