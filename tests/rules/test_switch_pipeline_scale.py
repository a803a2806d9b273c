"""DA833's size of the images a training pipeline emits, followed step by step, and the zoo's
PipelineSwitchHook configs, whose switch pipeline emits what the training pipeline does."""
from __future__ import annotations

from pathlib import Path

from rules.da833_train_test_resize_disagree import SWITCH_RATIO, _output_side, _train_output

RTMDET = [dict(type="LoadImageFromFile"), dict(type="CachedMosaic", img_scale=(640, 640)),
          dict(type="RandomResize", scale=(1280, 1280), ratio_range=(0.5, 2.0), keep_ratio=True),
          dict(type="RandomCrop", crop_size=(640, 640)), dict(type="CachedMixUp", img_scale=(640, 640)),
          dict(type="PackDetInputs")]


def test_the_output_size_follows_mosaic_resize_crop_and_pad():
    assert _output_side(RTMDET, "p") == (640, "p.3 (RandomCrop)")
    assert _output_side(RTMDET[:3], "p")[0] == 2560  # the mosaic canvas resized up to twice its scale
    yolox = [dict(type="Mosaic", img_scale=(640, 640)), dict(type="RandomAffine", border=(-320, -320)),
             dict(type="MixUp", img_scale=(640, 640))]
    assert _output_side(yolox, "p")[0] == 640
    padded = [dict(type="Resize", scale=(1333, 800), keep_ratio=True), dict(type="Pad", size=(1344, 1344))]
    assert _output_side(padded, "p") == (1344, "p.1 (Pad)")
    relative = [dict(type="Resize", scale=(1000, 600)),
                dict(type="RandomCrop", crop_type="relative", crop_size=(0.5, 0.5))]
    assert _output_side(relative, "p")[0] == 500
    assert _output_side([dict(type="LoadImageFromFile"), dict(type="RandomFlip")], "p") is None


def test_the_zoo_switches_to_pipelines_of_the_training_scale():
    import mmdet
    from mmengine import Config

    root = Path(mmdet.__file__).parent / ".mim" / "configs" / "rtmdet"
    seen = 0
    for path in sorted(root.glob("rtmdet*.py")):
        try:
            cfg = Config.fromfile(str(path))
        except ImportError:  # custom_imports of a package not installed here (mmpretrain's ConvNeXt)
            continue
        for i, hook in enumerate(cfg.get("custom_hooks", None) or []):
            if hook.get("type") == "PipelineSwitchHook":
                switched = _output_side(hook["switch_pipeline"], f"custom_hooks.{i}.switch_pipeline")
                trained = _train_output(cfg)
                assert switched[0] == trained[0] in (640, 1280), path.name
                seen += 1
    assert seen == 13 and SWITCH_RATIO > 1
