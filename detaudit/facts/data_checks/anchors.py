"""Object sizes against what the model can match: the pipeline's resize scale and the anchors.

The scale is read from the first ``Resize``/``RandomResize``/``RandomChoiceResize`` of the split's
pipeline (``keep_ratio``: the factor that fits the image into the scale). Anchor shapes come from
the config's ``anchor_generator``/``prior_generator`` of type ``AnchorGenerator`` (``strides``,
``ratios``, ``scales`` or ``octave_base_scale`` x ``scales_per_octave``, ``base_sizes``) or
``YOLOAnchorGenerator`` (``base_sizes`` as (w, h)). An object whose best anchor shape, centred on it,
overlaps it less than its ``MaxIoUAssigner`` or ``GridAssigner`` requires (``min_pos_iou`` when
low-quality matches are on, as by default and always for the grid, else ``pos_iou_thr``; at least
0.1) cannot become a positive of that head. Anchor-free heads and other assigners are skipped (the
strides of anchor-free heads' point generators are shown next to the object sizes).
"""
from __future__ import annotations

import numpy as np

from .model import ANCHORS, DataFinding, SplitData

MIN_IOU = 0.1    # below this an anchor is no match, whatever the assigner allows
MIN_SHARE = 0.01  # a few odd objects are always there: reported from 1% of the objects
RESIZES = ("Resize", "RandomResize", "RandomChoiceResize", "FixShapeResize")


def _type(node) -> str:
    t = node.get("type") if hasattr(node, "get") else None
    return t.__name__ if isinstance(t, type) else str(t).rpartition(".")[2]


def pipeline_scale(pipeline) -> tuple[float, float] | None:
    """(long side, short side) the pipeline resizes to (the largest of a choice), or None."""
    for step in pipeline or ():
        if not hasattr(step, "get") or _type(step) not in RESIZES:
            continue
        scale = step.get("scale") or step.get("scales") or step.get("img_scale")
        sizes = []
        if isinstance(scale, (list, tuple)) and scale and isinstance(scale[0], (list, tuple)):
            sizes = [tuple(s) for s in scale if len(s) == 2]
        elif isinstance(scale, (list, tuple)) and len(scale) == 2:
            sizes = [tuple(scale)]
        elif isinstance(scale, (int, float)):
            sizes = [(scale, scale)]
        if not sizes:
            return None
        if not step.get("keep_ratio", _type(step) != "FixShapeResize"):
            return None  # a fixed-shape resize scales x and y apart: not a single factor
        best = max(sizes, key=lambda s: max(s) * min(s))
        return float(max(best)), float(min(best))
    return None


def scale_factors(s: SplitData, scale) -> np.ndarray:
    if scale is None:
        return np.ones(s.num_images)
    long, short = scale
    big = np.maximum(s.widths, s.heights)
    small = np.minimum(s.widths, s.heights)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.minimum(long / big, short / small)
    return np.where(np.isfinite(f) & (f > 0), f, 1.0)


def anchor_heads(model) -> list[tuple[str, np.ndarray, float]]:
    """(key path, anchor shapes (A, 2) as (w, h), positive IoU threshold) per anchor generator."""
    out = []

    def walk(node, path):
        if hasattr(node, "keys"):
            for k in list(node.keys()):
                v = node[k]
                if k in ("anchor_generator", "prior_generator") and hasattr(v, "get") \
                        and _type(v) in ("AnchorGenerator", "YOLOAnchorGenerator"):
                    shapes = _shapes(v)
                    thr = _match_iou(path, model)
                    if shapes is not None and thr is not None:
                        out.append((f"{path}.{k}", shapes, thr))
                walk(v, f"{path}.{k}")
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f"{path}.{i}")

    walk(model, "model")
    return out


def prior_strides(model) -> list[float]:
    """The strides of the point generators of anchor-free heads (``MlvlPointGenerator``)."""
    out: list[float] = []

    def walk(node):
        if hasattr(node, "keys"):
            for k in list(node.keys()):
                v = node[k]
                generator = k == "prior_generator" and hasattr(v, "get") and _type(v) == "MlvlPointGenerator"
                head = k.endswith("head") and hasattr(v, "get") and not v.get("anchor_generator") \
                    and not v.get("prior_generator") and isinstance(v.get("strides"), (list, tuple))
                if generator or head:   # an anchor-free head builds its point generator from its strides
                    for st in v.get("strides") or []:
                        st = st[0] if isinstance(st, (list, tuple)) else st
                        if isinstance(st, (int, float)):
                            out.append(float(st))
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    walk(model)
    return sorted(set(out))


def _match_iou(head_key: str, model) -> float | None:
    """The IoU an object needs with its best anchor to be a positive: a ``MaxIoUAssigner``'s
    ``min_pos_iou`` when it matches low-quality pairs (its default), else its ``pos_iou_thr``; at
    least ``MIN_IOU``. None for other assigners (ATSS, task-aligned...), which pick by other means."""
    train_cfg = model.get("train_cfg") if hasattr(model, "get") else None
    if not hasattr(train_cfg, "get"):
        return MIN_IOU
    cfg = train_cfg.get("rpn") if head_key.endswith("rpn_head") and hasattr(train_cfg.get("rpn"), "get") \
        else train_cfg
    assigner = cfg.get("assigner") if hasattr(cfg, "get") else None
    if not hasattr(assigner, "get"):
        return MIN_IOU
    if _type(assigner) not in ("MaxIoUAssigner", "GridAssigner"):
        return None
    if _type(assigner) == "GridAssigner" or assigner.get("match_low_quality", True):
        thr = assigner.get("min_pos_iou", 0.0)
    else:
        thr = assigner.get("pos_iou_thr", 0.5)
    return max(float(thr) if isinstance(thr, (int, float)) else 0.0, MIN_IOU)


def _shapes(gen) -> np.ndarray | None:
    if _type(gen) == "YOLOAnchorGenerator":   # base_sizes: per level, the (w, h) of each anchor
        try:
            shapes = np.array([wh for level in gen.get("base_sizes") or [] for wh in level], dtype=float)
        except (TypeError, ValueError):
            return None
        return shapes if shapes.ndim == 2 and shapes.shape[1] == 2 and len(shapes) else None
    strides = gen.get("strides")
    if not isinstance(strides, (list, tuple)) or not strides:
        return None
    strides = [s[0] if isinstance(s, (list, tuple)) else s for s in strides]
    base = gen.get("base_sizes") or strides
    ratios = list(gen.get("ratios") or [1.0])
    if gen.get("scales") is not None:
        scales = list(gen["scales"])
    elif gen.get("octave_base_scale") is not None:
        k = int(gen.get("scales_per_octave") or 1)
        scales = [gen["octave_base_scale"] * 2 ** (i / k) for i in range(k)]
    else:
        return None
    shapes = []
    for b in base:
        for r in ratios:
            for sc in scales:
                h_ratio = np.sqrt(r)
                shapes.append((b * sc / h_ratio, b * sc * h_ratio))
    return np.array(shapes, dtype=float)


def best_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """The best IoU of each (w, h) with any anchor shape, both centred at the same point."""
    w, h = wh[:, :1], wh[:, 1:]
    aw, ah = anchors[None, :, 0], anchors[None, :, 1]
    inter = np.minimum(w, aw) * np.minimum(h, ah)
    union = w * h + aw * ah - inter
    return (inter / np.maximum(union, 1e-9)).max(axis=1)


def check_anchors(s: SplitData, model, pipeline) -> list[DataFinding]:
    kept = s.box_label >= 0
    if not kept.any() or not hasattr(model, "get"):
        return []
    scale = pipeline_scale(pipeline)
    factor = scale_factors(s, scale)[s.box_image[kept]]
    b = s.boxes[kept]
    wh = np.stack([(b[:, 2] - b[:, 0]) * factor, (b[:, 3] - b[:, 1]) * factor], axis=1)
    out = []
    for key, shapes, thr in anchor_heads(model):
        iou = best_iou(wh, shapes)
        bad = iou < thr
        if bad.mean() < MIN_SHARE:
            continue
        side = np.sqrt(wh[:, 0] * wh[:, 1])
        small = int((bad & (side < np.sqrt(shapes[:, 0] * shapes[:, 1]).min())).sum())
        at = f" at the pipeline's scale {tuple(int(v) for v in scale)}" if scale else ""
        out.append(DataFinding(
            ANCHORS, s.split, key,
            f"{s.split}: {int(bad.sum())} of {int(kept.sum())} objects ({bad.mean():.1%}){at} overlap no anchor "
            f"of {key} at IoU >= {thr:g} ({small} smaller than the smallest anchor, "
            f"{int(bad.sum()) - small} larger or more elongated); anchors span "
            f"{np.sqrt(shapes[:, 0] * shapes[:, 1]).min():.0f}-{np.sqrt(shapes[:, 0] * shapes[:, 1]).max():.0f} px, "
            f"objects {np.percentile(side, 1):.0f}-{np.percentile(side, 99):.0f} px (1st-99th percentile)",
            {"unmatched": int(bad.sum()), "objects": int(kept.sum()), "smaller": small, "pos_iou_thr": thr,
             "scale": list(scale) if scale else None},
            "add smaller anchor scales or strides (or ratios for elongated objects), or resize the images larger"))
    return out
