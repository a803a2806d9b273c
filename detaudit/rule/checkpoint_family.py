"""The backbone family a pretrained checkpoint's name states, and the family of a backbone type
(rule DA816).

Names are those of mmdet 3.3's model-zoo ``init_cfg.checkpoint`` values and of mmcv/mmengine's
``open-mmlab://`` and ``torchvision://`` model zoos: ``open-mmlab://resnext101_32x4d``,
``torchvision://resnet50``, ``open-mmlab://msra/hrnetv2_w32``, ``swin_tiny_patch4_window7_224.pth``,
a detector's ``..._x101-32x4d_fpn_...pth``. A name that states no family, or more than one,
states none. On the zoo every backbone type agrees with its checkpoint's family.

Only the config is read; no checkpoint is opened.
"""
from __future__ import annotations

import re

from .config import type_name

# family -> the pattern a checkpoint's name (its last path part, lower case) matches
NAME_FAMILIES: tuple[tuple[str, str], ...] = (
    ("ResNeXt", r"resnext|(?<![a-z0-9])x(?:50|101|152)[-_]\d+x\d+d"),
    ("Res2Net", r"res2net"),
    ("ResNeSt", r"resnest"),
    ("ResNet", r"(?<![a-z])resnet(?:18|34|50|101|152)(?!\d)"),
    ("RegNet", r"regnet"),
    ("HRNet", r"hrnet"),
    ("Swin", r"(?<![a-z])swin"),
    ("PVT", r"(?<![a-z])pvt"),
    ("ConvNeXt", r"convnext"),
    ("MobileNet", r"mobilenet"),
    ("VGG", r"(?<![a-z])vgg"),
    ("Darknet", r"(?<![a-z])darknet"),
    ("CSPNeXt", r"cspnext"),
    ("EfficientNet", r"efficientnet"),
)

# backbone type -> family (ResNeXt subclasses ResNet, but their weights do not fit each other)
TYPE_FAMILIES: dict[str, str] = {
    "ResNet": "ResNet", "ResNetV1d": "ResNet", "DetectoRS_ResNet": "ResNet", "TridentResNet": "ResNet",
    "ResNeXt": "ResNeXt", "DetectoRS_ResNeXt": "ResNeXt",
    "Res2Net": "Res2Net", "ResNeSt": "ResNeSt", "RegNet": "RegNet", "HRNet": "HRNet",
    "SwinTransformer": "Swin", "PyramidVisionTransformer": "PVT", "PyramidVisionTransformerV2": "PVT",
    "ConvNeXt": "ConvNeXt", "MobileNetV2": "MobileNet", "MobileNetV3": "MobileNet", "SSDVGG": "VGG",
    "Darknet": "Darknet", "CSPNeXt": "CSPNeXt", "EfficientNet": "EfficientNet",
}


def checkpoint_family(checkpoint: str) -> str | None:
    """The one backbone family the checkpoint's name states, else None."""
    name = checkpoint.rstrip("/").rsplit("/", 1)[-1].lower()
    found = {family for family, pattern in NAME_FAMILIES if re.search(pattern, name)}
    return found.pop() if len(found) == 1 else None


def type_family(backbone_type) -> str | None:
    """The family of a backbone type (``'mmpretrain.ConvNeXt'`` -> ``'ConvNeXt'``), else None."""
    return TYPE_FAMILIES.get(type_name(backbone_type) or "")
