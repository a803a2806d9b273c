import os

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, transforms_in, type_name
from detaudit.rule.merge import where

RESIZES = ("Resize", "RandomResize", "RandomChoiceResize", "FixShapeResize")
# Test images this many times larger than the largest training image: on the zoo's 700 configs
# whose train and test pipelines both resize, the test scale's long side is at most 1.04 times
# the training's largest (RTMDet tests at a quarter of its largest training scale).
LARGEST_TEST_RATIO = 1.5
DEFAULT_RESAMPLING = ("cv2", "bilinear")
# A PipelineSwitchHook's pipeline whose images are this much smaller or larger than the training
# pipeline's it replaces: on the zoo (RTMDet's 13 configs with one) both emit the same size.
SWITCH_RATIO = 1.1
MOSAICS = ("Mosaic", "CachedMosaic")  # a 2 x 2 canvas of img_scale


def _long_sides(value) -> list[float]:
    """The long side of each (w, h) or int scale in ``value`` (a scale, or a list of them)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [float(max(value))]
        return [s for v in value for s in _long_sides(v)]
    return []


def _resize_sides(kind: str, t) -> list[float]:
    """The long sides a resize step ``t`` of type ``kind`` resizes to (``ratio_range`` applied)."""
    if kind == "RandomChoiceResize":
        return _long_sides(t.get("scales", None))
    if kind == "FixShapeResize":
        return _long_sides((t.get("width", None), t.get("height", None)))
    sides = _long_sides(t.get("scale", None))
    ratio = t.get("ratio_range", None)
    if kind == "RandomResize" and sides and isinstance(ratio, (list, tuple)) and len(ratio) == 2:
        sides = [sides[0] * r for r in ratio if isinstance(r, (int, float))]
    return sides


def _resizes(cfg, loader: str):
    """(key path, type, long sides, (backend, interpolation)) of each resize step of the loader."""
    for _, pipe_path, _, pipeline in dataloader_pipelines(cfg, (loader,)):
        for path, t in transforms_in(pipeline, pipe_path):
            kind = type_name(t.get("type", None)) or ""
            if kind not in RESIZES:
                continue
            yield path, kind, _resize_sides(kind, t), (t.get("backend", DEFAULT_RESAMPLING[0]),
                                                       t.get("interpolation", DEFAULT_RESAMPLING[1]))


def _shown(resampling) -> str:
    return ", ".join(f"{backend}/{interpolation}" for backend, interpolation in sorted(resampling, key=str))


@rule(code="DA833", name="train-test-resize-disagree", severity="warning", tier="static", needs=("source_map",))
def train_test_resize_disagree(ctx):
    """The test pipeline, or the one a ``PipelineSwitchHook`` switches to, resizes images unlike the training pipeline.

    ## What it does
    Reads the resize steps (``Resize``, ``RandomResize``, ``RandomChoiceResize``,
    ``FixShapeResize``, nested test-time augmentation included) of the training and the test
    (else validation) pipelines and reports:

    - a test scale whose long side is more than 1.5 times the largest the training produces
      (``ratio_range`` applied); on the zoo the test scale is at most 1.04 times it;
    - training and test resizing with no resampling in common (``backend``/``interpolation``:
      Pillow's Lanczos for training, the default cv2 bilinear for testing); no zoo config does;
    - a ``PipelineSwitchHook`` (``custom_hooks``) whose ``switch_pipeline`` emits images more
      than 1.1 times larger or smaller than the training pipeline it replaces at ``switch_epoch``.
      The size a pipeline emits is followed step by step: resizes, mosaic canvases (twice
      ``img_scale``), ``RandomAffine`` borders, crops, and padding to a fixed ``size``. On the zoo's
      13 configs with such a hook (RTMDet) both pipelines emit the same size (640 or 1280 px).
      A ``switch_epoch`` the training never reaches is DA824's;
    - a training pipeline the audited config writes while the hook's ``switch_pipeline`` still comes
      from a base, with augmentations the new training pipeline leaves out (mosaic, random crops,
      colour jitter): the last epochs train with the base's pipeline. No zoo config does.

    ## Why is this bad?
    A detector learns objects at the sizes training shows it; tested at four times the
    scale, every object is four times larger than anything it saw, and boxes and scores
    degrade with no error. Images resampled by another library and kernel differ in
    sharpness and aliasing from the ones the weights were trained on; the evaluation
    measures that difference, not the model. RTMDet's configs build the switch pipeline
    from the base's ``train_pipeline_stage2``: a child that changes the training scale
    (640 to 1024) without it trains its last epochs, the ones that settle the weights, at
    the base's scale.

    ## Example
    ```python
    train_pipeline = [..., dict(type='Resize', scale=(512, 512), keep_ratio=True), ...]
    test_pipeline = [..., dict(type='Resize', scale=(2000, 2000), keep_ratio=True), ...]
    ```

    ```python
    _base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
    train_pipeline = [..., dict(type='RandomCrop', crop_size=(1024, 1024)), ...,
                      dict(type='Pad', size=(1024, 1024), pad_val=dict(img=(114, 114, 114))), ...]
    train_dataloader = dict(dataset=dict(pipeline=train_pipeline))  # custom_hooks: the base's, at 640
    ```

    ## Use instead
    ```python
    test_pipeline = [..., dict(type='Resize', scale=(512, 512), keep_ratio=True), ...]
    ```
    ```python
    train_pipeline_stage2 = [..., dict(type='RandomCrop', crop_size=(1024, 1024)), ...]
    custom_hooks = [dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
                         priority=49),
                    dict(type='PipelineSwitchHook', switch_epoch=280, switch_pipeline=train_pipeline_stage2)]
    ```
    """
    cfg = ctx.cfg
    train = list(_resizes(cfg, "train_dataloader"))
    test_loader = "test_dataloader" if cfg.get("test_dataloader", None) is not None else "val_dataloader"
    test = list(_resizes(cfg, test_loader))
    if not train or not test:
        return
    train_long = [s for _, _, sides, _ in train for s in sides]
    test_steps = [(p, k, max(sides)) for p, k, sides, _ in test if sides]
    if train_long and test_steps:
        path, kind, longest = max(test_steps, key=lambda t: t[2])
        if longest > LARGEST_TEST_RATIO * max(train_long):
            yield Violation(
                message=(f"{path} ({kind}) tests at a long side of {longest:g} px, {longest / max(train_long):.1f} "
                         f"times the largest training produces ({max(train_long):g} px): objects are that much "
                         "larger than any the detector saw in training"),
                key_path=f"{path}.scale" if kind in ("Resize", "RandomResize") else path,
                evidence={"test_long_side": longest, "train_long_sides": sorted(set(train_long))[:8],
                          "ratio": round(longest / max(train_long), 2), "zoo_largest_ratio": 1.04},
                fix="test at the scale the detector was trained at (or train at the scale it is tested at)")
    train_resampling = {r for *_, r in train}
    test_resampling = {r for *_, r in test}
    if not train_resampling & test_resampling:
        path = test[0][0]
        yield Violation(
            message=(f"training resizes with {_shown(train_resampling)} ({train[0][0]}) but {test_loader}'s "
                     f"pipeline with {_shown(test_resampling)} ({path}): evaluation sees images resampled "
                     "otherwise than the ones the weights were trained on"),
            key_path=path, evidence={"train": sorted(map(list, train_resampling)),
                                     "test": sorted(map(list, test_resampling))},
            fix=f"give {path} the training's backend and interpolation")
    scaled = list(_switch_scale(cfg))
    yield from scaled
    if not scaled:
        yield from _switch_from_base(ctx)


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _output_side(pipeline, path: str):
    """(long side, key path of the step that decides it) of the images a training pipeline emits,
    followed step by step: resizes, mosaic canvases (twice ``img_scale``), ``RandomAffine``
    borders, crops, and padding to a fixed ``size``; None when no step says."""
    side, where = None, None
    for p, t in transforms_in(pipeline, path):
        kind = type_name(t.get("type", None)) or ""
        new = None
        if kind in RESIZES:
            new = max(_resize_sides(kind, t), default=None)
        elif kind in MOSAICS:
            new = max(_long_sides(t.get("img_scale", (640, 640))), default=0) * 2 or None
        elif kind == "RandomAffine" and side is not None:
            border = _long_sides(t.get("border", (0, 0)))
            new = side + 2 * min(border) if border else None
        elif kind in ("RandomCrop", "RandomCenterCropPad"):
            crop = _long_sides(t.get("crop_size", None))
            crop_type = t.get("crop_type", "absolute") if kind == "RandomCrop" else "absolute"
            if crop and crop_type in ("relative", "relative_range"):
                new = side * max(crop) if side is not None else None
            elif crop:
                new = max(crop) if side is None else min(side, max(crop))
        elif kind == "Pad" and t.get("size", None) is not None:
            new = max(_long_sides(t.get("size", None)), default=None)
        if new is not None and new > 0:
            side, where = new, f"{p} ({kind})"
    return (side, where) if side is not None else None


def _train_output(cfg):
    """The output of the pipeline a PipelineSwitchHook replaces: that of the training set the
    loader holds (mmdet sets ``train_dataloader.dataset.pipeline``), else of the first training
    pipeline that says."""
    for _, path, _, pipeline in dataloader_pipelines(cfg, ("train_dataloader",)):
        out = _output_side(pipeline, path)
        if out is not None:
            return out
    return None


def _switch_hooks(cfg):
    """(key of its switch_pipeline, the hook, when it switches) of every PipelineSwitchHook."""
    hooks = cfg.get("custom_hooks", None)
    for i, hook in enumerate(hooks if isinstance(hooks, (list, tuple)) else []):
        if is_mapping(hook) and type_name(hook.get("type", None)) == "PipelineSwitchHook":
            at = _num(hook.get("switch_epoch", None))
            yield (f"custom_hooks.{i}.switch_pipeline", hook,
                   f"from epoch {at:g} on" if at is not None else "for its last epochs")


def _switch_scale(cfg):
    train = None
    for key, hook, when in _switch_hooks(cfg):
        switched = _output_side(hook.get("switch_pipeline", None), key)
        train = train or _train_output(cfg)
        if switched is None or train is None:
            continue
        ratio = switched[0] / train[0]
        if 1 / SWITCH_RATIO <= ratio <= SWITCH_RATIO:
            continue
        yield Violation(
            message=(f"{key} (PipelineSwitchHook, {when}) emits images with a long side of {switched[0]:g} px "
                     f"({switched[1]}), but the training pipeline it replaces emits {train[0]:g} px ({train[1]}): "
                     f"the last epochs train at {ratio:.2f} times the scale of the others (a switch pipeline "
                     "taken from the base, like its train_pipeline_stage2, keeps the base's scale)"),
            key_path=key,
            evidence={"switch_long_side": switched[0], "train_long_side": train[0], "ratio": round(ratio, 3),
                      "switch_step": switched[1], "train_step": train[1], "zoo_ratio": 1.0},
            fix=f"give {key} the training pipeline's scale (img_scale, resize scale, crop and pad size)")


# steps every pipeline has, whichever the augmentation
PLUMBING = {"LoadImageFromFile", "LoadAnnotations", "PackDetInputs", "LoadImageFromNDArray", "FilterAnnotations"}


def _switch_from_base(ctx):
    """A training pipeline the audited config writes while the switch pipeline still comes from a
    base: the hook brings back, for the last epochs, augmentations the new training pipeline left out."""
    cfg, sm = ctx.cfg, ctx.source_map
    own = _file(ctx.config_path) if ctx.config_path is not None else None
    train = next(((path, pipeline) for _, path, _, pipeline in dataloader_pipelines(cfg, ("train_dataloader",))), None)
    if own is None or train is None:
        return
    train_at = sm.locate(train[0])
    if train_at is None or _file(getattr(train_at, "file", "")) != own:
        return
    kept = {type_name(t.get("type", None)) for _, t in transforms_in(train[1], train[0])}
    for key, hook, when in _switch_hooks(cfg):
        switch_at = sm.locate(key)
        if switch_at is None or _file(getattr(switch_at, "file", "")) == own:
            continue
        brought = sorted({type_name(t.get("type", None)) for _, t in transforms_in(hook.get("switch_pipeline"), key)}
                         - kept - PLUMBING - {None})
        if not brought:
            continue
        yield Violation(
            message=(f"{key} comes from {where(switch_at)} while this config writes the training pipeline "
                     f"({train[0]}, {where(train_at)}): {when} the PipelineSwitchHook trains with the base's "
                     f"pipeline, bringing back {', '.join(brought)} that the new training pipeline leaves out"),
            key_path=key, evidence={"switch_from": where(switch_at), "train_from": where(train_at),
                                    "brought_back": brought},
            fix=f"set {key} to the pipeline the last epochs should train with (or remove the hook)")


def _file(path) -> str:
    return os.path.realpath(str(path))
