"""What the model's data preprocessor records on a batch as the pipeline packs it.

mmdet's detectors read ``batch_input_shape`` and ``pad_shape`` from each data sample, and only
the data preprocessor records them (``PackDetInputs`` packs neither): a preprocessor made for
another task normalizes and pads but leaves them out, and the first training iteration fails.
The synthetic passes give every sample complete metainfo, so this is read on its own batch."""
from __future__ import annotations

RECORDED = ("batch_input_shape", "pad_shape")


def recorded_metainfo(model) -> dict | None:
    """{"type", "recorded", "missing"} for the model's data preprocessor, run in eval mode on one
    packed sample; None when the model has none, is no mmdet detector, or the call fails (the
    forward reports that)."""
    import torch
    from mmdet.models.detectors import BaseDetector
    from mmdet.structures import DetDataSample

    pre = getattr(model, "data_preprocessor", None)
    if pre is None or not isinstance(model, BaseDetector):
        return None
    mean = getattr(pre, "mean", None)
    channels = int(mean.numel()) if isinstance(mean, torch.Tensor) and mean.dim() > 0 else 3
    sample = DetDataSample(metainfo=dict(img_id=0, img_path="synthetic.png", ori_shape=(60, 80), img_shape=(60, 80),
                                         scale_factor=(1.0, 1.0), flip=False, flip_direction=None))
    data = {"inputs": [torch.zeros((channels, 60, 80), dtype=torch.uint8)], "data_samples": [sample]}
    try:
        with torch.no_grad():
            out = pre(data, False)
    except Exception:  # noqa: BLE001 - the synthetic forward reports a preprocessor that fails
        return None
    samples = out.get("data_samples") if isinstance(out, dict) else None
    if not samples:
        return None
    keys = set(samples[0].metainfo_keys())
    return {"type": type(pre).__name__, "module": type(pre).__module__,
            "recorded": [k for k in RECORDED if k in keys], "missing": [k for k in RECORDED if k not in keys]}
