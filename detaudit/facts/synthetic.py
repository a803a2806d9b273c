"""The synthetic batch: small images, at least one ground-truth box per image, and complete
metainfo (img_shape, ori_shape, scale_factor, pad_shape, and the border a test-time center
crop records), passed through the model's own
data preprocessor, which adds batch_input_shape."""
from __future__ import annotations

from typing import Any

from ..rule.config import config_pipelines, node_type
from ..rule.explain_sizes import STRIDE, exact_step


def _pipelines(cfg):
    """Every test/val pipeline, dataloaders' first, then the top-level ones."""
    yield from (pipeline for _, pipeline in config_pipelines(cfg))
    for key in ("test_pipeline", "val_pipeline"):
        if isinstance(cfg.get(key, None), (list, tuple)):
            yield cfg[key]


def test_resize(cfg) -> tuple[int, int, bool]:
    """(width, height, keep_ratio) of the first Resize in the test/val pipeline
    (mmdet 3.x scales are (width, height)); mmdet's 1333x800 when there is none."""
    for pipeline in _pipelines(cfg):
        for t in pipeline:
            if isinstance(t, dict) and "Resize" in node_type(t) and t.get("scale") is not None:
                scale = t["scale"]
                keep = bool(t.get("keep_ratio", False))
                if isinstance(scale, (list, tuple)) and len(scale) == 2 and all(isinstance(s, (int, float)) for s in scale):
                    return int(scale[0]), int(scale[1]), keep
                if isinstance(scale, (int, float)):
                    return int(scale), int(scale), keep
                break
        break
    return 1333, 800, True





def derive_input_size(cfg, model, long_side: int) -> tuple[int, int]:
    """(H, W): the aspect ratio of the test pipeline's resize, long side ``long_side``, rounded
    to the preprocessor's pad divisor (at least 32). When the test pipeline makes every image one
    exact size that the preprocessor does not pad to a multiple of 32 (a 1280x720 camera frame, SSD's
    300), the small size keeps that size's remainder: the feature maps then round as they will in
    training, where a neck joining upsampled maps meets one row too many or too few."""
    w, h, _ = test_resize(cfg)
    pad = int(getattr(getattr(model, "data_preprocessor", None), "pad_size_divisor", 1) or 1)
    divisor = max(pad, STRIDE)
    if w >= h:
        W, H = long_side, long_side * h / w
    else:
        H, W = long_side, long_side * w / h

    def snap(x):
        return max(divisor, int(x / divisor + 0.5) * divisor)
    exact = exact_size(cfg)
    if exact is None:
        return snap(H), snap(W)
    rest_h, rest_w = (-(-side // pad) * pad % STRIDE for side in exact)  # what is left once padded
    return snap(H) + rest_h, snap(W) + rest_w


def exact_size(cfg) -> tuple[int, int] | None:
    """(H, W) of every image of the first test/val pipeline when it ends at one exact size: a
    ``Pad`` to a fixed ``size`` or a ``Resize`` without ``keep_ratio`` (mmdet writes (width, height))."""
    for pipeline in _pipelines(cfg):
        step = exact_step(list(pipeline))
        return (step[1][1], step[1][0]) if step else None
    return None


def fixed_input_size(cfg) -> tuple[int, int] | None:
    """(H, W) of a test pipeline that resizes to one exact size (keep_ratio=False, as SSD and
    YOLO do): architectures tuned to it may need exactly that size."""
    w, h, keep = test_resize(cfg)
    return None if keep else (h, w)


def _num_classes(model) -> int:
    found = []
    for name, m in model.named_modules():
        n = getattr(m, "num_classes", None)
        if isinstance(n, int) and n > 0 and "rpn" not in name:
            found.append(n)
    return min(found) if found else 1


def _config_asks_for(cfg, keys: tuple[str, ...], flag: str) -> bool:
    """Whether the model config has a part named by one of ``keys``, or the model or training
    pipeline sets ``flag=True`` (a loader's ``with_mask``/``with_seg``)."""
    def walk(node):
        if isinstance(node, dict):
            if any(k in node for k in keys) or node.get(flag) is True:
                return True
            return any(walk(v) for v in node.values())
        if isinstance(node, (list, tuple)):
            return any(walk(v) for v in node)
        return False
    return walk(cfg.get("model", None)) or walk(cfg.get("train_pipeline", None))


def _needs_masks(cfg) -> bool:
    return _config_asks_for(cfg, ("mask_head", "mask_roi_extractor"), "with_mask")


def _needs_sem_seg(cfg) -> bool:
    """Semantic and panoptic branches (HTC, SCNet, Panoptic FPN, Mask2Former panoptic) train on
    a segmentation map, and batch augments that pad it read it."""
    return _config_asks_for(cfg, ("semantic_head", "semantic_roi_extractor", "panoptic_head"), "with_seg")


def _reads_proposals(model) -> bool:
    """A two-stage detector without an RPN (Fast R-CNN) takes its proposals from the data."""
    return hasattr(model, "roi_head") and getattr(model, "with_rpn", True) is False


def unsupported_input(model) -> str | None:
    """Why the synthetic batch cannot stand for this model's input, or None."""
    pre = getattr(model, "data_preprocessor", None)
    if any(c.__name__ == "TrackDataPreprocessor" for c in type(pre).__mro__):
        return ("the model takes video clips (TrackDataPreprocessor) and the synthetic batch holds single "
                "images: predict and loss were not run")
    return None


# Counts and sizes a config sets for full-resolution images, capped for the synthetic passes: a
# 160-px image has ~5,000 anchors, and the RoI head's cost is linear in these counts whatever the
# image size (Faster R-CNN's 1,000 test proposals and 512 sampled RoIs per image were over half
# of an audit's forward and backward); a fixed-size batch pad (LSJ's 1024x1024) would run the
# model at full size whatever the synthetic input. The code paths are the same; the rules read
# the config's own values, which the caps never touch.
DEFAULT_LONG_SIDE = 160  # the synthetic input's long side before any retry
PROPOSAL_CAPS = {"nms_pre": 200, "max_per_img": 100, "max_num": 100, "nms_post": 100}
SAMPLED_ROIS_CAP = 64


def cap_for_synthetic_input(model_cfg) -> list[tuple[str, Any, Any]]:
    """Cap, in place, the proposal counts of every ``rpn``/``rpn_proposal`` block, the ``num``
    of every sampler and the ``size`` of a ``BatchFixedSizePad`` in a model config. Returns
    (key path, value, capped value)."""
    changed = []

    def cap(node, key, limit, path):
        value = node.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            node[key] = limit
            changed.append((f"{path}.{key}", value, limit))

    def walk(node, path, parent_key):
        if isinstance(node, dict):
            if parent_key in ("rpn", "rpn_proposal"):
                for key, limit in PROPOSAL_CAPS.items():
                    cap(node, key, limit, path)
            kind = node_type(node)
            if kind.endswith("Sampler"):
                cap(node, "num", SAMPLED_ROIS_CAP, path)
            pad = node.get("size")
            too_big = isinstance(pad, (list, tuple)) and max(pad, default=0) > DEFAULT_LONG_SIDE
            if kind == "BatchFixedSizePad" and too_big:
                node["size"] = (DEFAULT_LONG_SIDE, DEFAULT_LONG_SIDE)
                changed.append((f"{path}.size", tuple(pad), node["size"]))
            for key, value in node.items():
                walk(value, f"{path}.{key}", key)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f"{path}.{i}", parent_key)

    walk(model_cfg, "model", None)
    return changed


def make_batch(cfg, model, size, batch_size: int, *, training: bool, seed: int = 0):
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    H, W = size
    gen = torch.Generator().manual_seed(seed)
    pre = getattr(model, "data_preprocessor", None)
    mean = getattr(pre, "mean", None)
    channels = int(mean.numel()) if mean is not None and mean.dim() > 0 else 3
    num_classes = _num_classes(model)
    masks = _needs_masks(cfg)
    sem_seg = _needs_sem_seg(cfg)
    proposals = _reads_proposals(model)
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(torch.randint(0, 256, (channels, H, W), generator=gen, dtype=torch.uint8))
        sample = DetDataSample()
        sample.set_metainfo(dict(img_id=i, img_path=f"synthetic_{i}.png", ori_shape=(H, W), img_shape=(H, W),
                                 pad_shape=(H, W), scale_factor=(1.0, 1.0), flip=False, flip_direction=None,
                                 border=(0, H, 0, W)))  # what a test-time center crop records
        boxes = []
        for j in range(2):
            bw = float(torch.randint(W // 4, W // 2 + 1, (1,), generator=gen))
            bh = float(torch.randint(H // 4, H // 2 + 1, (1,), generator=gen))
            x0 = float(torch.randint(0, max(1, int(W - bw)), (1,), generator=gen))
            y0 = float(torch.randint(0, max(1, int(H - bh)), (1,), generator=gen))
            boxes.append([x0, y0, x0 + bw, y0 + bh])
        gt = InstanceData()
        gt.bboxes = torch.tensor(boxes, dtype=torch.float32)
        gt.labels = torch.tensor([j % num_classes for j in range(len(boxes))], dtype=torch.long)
        if masks:
            import numpy as np
            from mmdet.structures.mask import BitmapMasks

            bitmap = np.zeros((len(boxes), H, W), dtype=np.uint8)
            for k, (x0, y0, x1, y1) in enumerate(boxes):
                bitmap[k, int(y0):int(y1), int(x0):int(x1)] = 1
            gt.masks = BitmapMasks(bitmap, H, W)
        sample.gt_instances = gt
        if sem_seg:  # class 0 everywhere: a valid label for every semantic head, never all-ignored
            from mmengine.structures import PixelData

            sample.gt_sem_seg = PixelData(sem_seg=torch.zeros((1, H, W), dtype=torch.uint8),
                                          metainfo=dict(ignore_index=255))
        if proposals:  # what LoadProposals + PackDetInputs give: the boxes, then random ones
            corner = torch.rand((30, 2), generator=gen) * torch.tensor([W / 2, H / 2])
            extent = (torch.rand((30, 2), generator=gen) * 0.4 + 0.1) * torch.tensor([W, H])
            extra = torch.cat([corner, corner + extent], dim=1)
            bboxes = torch.cat([gt.bboxes, extra])
            sample.proposals = InstanceData(bboxes=bboxes, scores=torch.rand((len(bboxes),), generator=gen))
        ignored = InstanceData()
        ignored.bboxes = torch.zeros((0, 4))
        ignored.labels = torch.zeros((0,), dtype=torch.long)
        sample.ignored_instances = ignored
        samples.append(sample)
    data = {"inputs": inputs, "data_samples": samples}
    if training and type(pre).__name__ == "MultiBranchDataPreprocessor":
        data = _branches(data, cfg)
    if pre is not None:
        data = pre(data, training)
    return data


def _branches(data: dict, cfg) -> dict:
    """Semi-supervised training batches come as one batch per branch (``sup``,
    ``unsup_teacher``, ``unsup_student``); the same images serve every branch, each sample
    carrying the identity ``homography_matrix`` its branch pipeline would record."""
    import copy

    import numpy as np

    names = _branch_names(cfg) or ["sup", "unsup_teacher", "unsup_student"]
    inputs, samples = {}, {}
    for name in names:
        inputs[name] = [img.clone() for img in data["inputs"]]
        samples[name] = []
        for s in data["data_samples"]:
            s = copy.deepcopy(s)
            s.set_metainfo({"homography_matrix": np.eye(3, dtype=np.float32)})
            samples[name].append(s)
    return {"inputs": inputs, "data_samples": samples}


def _branch_names(cfg) -> list[str]:
    """Branch names from the training pipeline's MultiBranch transforms."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if node_type(node) == "MultiBranch":
                found.extend(k for k in node if k not in ("type", "branch_field") and k not in found)
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    walk(cfg.get("train_dataloader", None))
    return found
