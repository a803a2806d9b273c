"""What a backbone's pretrained source implies (rule DA816), as data: the input convention its
weights were trained with (channel order, normalization), the conversion and key prefix its
file needs to load, and the architecture its file holds. Each fact is read from mmdet 3.3's own
source or model-zoo configs (``source``); ResNet's caffe-vs-pytorch style and the input
convention of torchvision's and Detectron's caffe ResNets are DA814's.

Only the config is read; no checkpoint is opened.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from .config import is_mapping, node_type
from .contracts import Breach

CFG = "mmdet/.mim/configs/"
MEAN = {"imagenet": [123.675, 116.28, 103.53], "zero": [0.0, 0.0, 0.0]}  # RGB order; BGR weights take it reversed
STD = {"ones": [1.0, 1.0, 1.0], "imagenet-rgb": [58.395, 57.12, 57.375], "imagenet-bgr": [57.375, 57.12, 58.395],
       "255": [255.0, 255.0, 255.0]}
RESNETS = ("ResNet", "ResNetV1d", "ResNeXt", "Res2Net", "ResNeSt", "DetectoRS_ResNet", "DetectoRS_ResNeXt")


@dataclass(frozen=True)
class InputConvention:
    """Weights from checkpoints matching ``pattern`` expect ``bgr_to_rgb``, ``std`` and ``mean``."""

    name: str
    pattern: str
    bgr_to_rgb: bool
    std: str
    source: str
    quote: str
    mean: str = "imagenet"


INPUTS: tuple[InputConvention, ...] = (
    InputConvention("regnet-pycls", r"^open-mmlab://regnetx_", False, "imagenet-bgr",
                    CFG + "regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco.py:8",
                    "# The mean and std are used in PyCls when training RegNets"),
    InputConvention("detectron2-resnext-caffe2", r"^open-mmlab://detectron2/resnext", False, "imagenet-bgr",
                    CFG + "faster_rcnn/faster-rcnn_x101-32x8d_fpn_ms-3x_coco.py:3",
                    "# ResNeXt-101-32x8d model trained with Caffe2 at FB,"),
    InputConvention("detectron-gn", r"^open-mmlab://detectron/resnet\d+_gn$", False, "ones",
                    CFG + "gn/mask-rcnn_r50_fpn_gn-all_2x_coco.py:6", "std=[1.0, 1.0, 1.0],"),
    InputConvention("darknet53", r"^open-mmlab://darknet53$", True, "255",
                    CFG + "yolo/yolov3_d53_8xb8-ms-608-273e_coco.py:6", "std=[255., 255., 255.],", "zero"),
    InputConvention("vgg16-caffe", r"^open-mmlab://vgg16_caffe$", True, "ones",
                    CFG + "_base_/models/ssd300.py:8", "std=[1, 1, 1],"),
    InputConvention("cspnext-rsb", r"cspnext[-_].*rsb|cspnext_rsb_pretrain", False, "imagenet-bgr",
                    CFG + "rtmdet/rtmdet_l_8xb32-300e_coco.py:11", "bgr_to_rgb=False,"),
    InputConvention("openmmlab-imagenet-rgb",
                    r"^open-mmlab://(jhu/|contrib/resnet\d+_gn$|resnext\d+_|res2net|mmdet/mobilenet_v2$)", True,
                    "imagenet-rgb", CFG + "_base_/models/faster-rcnn_r50_fpn.py:8", "bgr_to_rgb=True,"),
)


@dataclass(frozen=True)
class LoadConvention:
    """Checkpoints matching ``pattern`` load into backbone types ``types`` only with ``key``."""

    name: str
    pattern: str
    types: tuple[str, ...]   # empty: any backbone
    key: str                 # the backbone key (init_cfg.prefix, convert_weights)
    want: Any
    default: Any             # the constructor's default for ``key``
    source: str
    quote: str
    why: str


LOADS: tuple[LoadConvention, ...] = (
    LoadConvention("swin-original-release", r"github\.com/SwinTransformer/", ("SwinTransformer",),
                   "convert_weights", True, False, "mmdet/models/backbones/swin.py:697", "if self.convert_weights:",
                   "the official Swin release names its keys as the Swin repository does; without the conversion "
                   "none matches mmdet's SwinTransformer and the backbone stays randomly initialised"),
    LoadConvention("pvt-original-release", r"github\.com/whai362/PVT/",
                   ("PyramidVisionTransformer", "PyramidVisionTransformerV2"), "convert_weights", True, True,
                   "mmdet/models/backbones/pvt.py:557", "if self.convert_weights:",
                   "the official PVT release is converted to mmdet's key names when loaded"),
    LoadConvention("openmmlab-full-model", r"download\.openmmlab\.com/(mmclassification|mmpretrain|mmdetection)/",
                   (), "init_cfg.prefix", "'backbone.'", None, "mmengine/model/weight_init.py:474",
                   "backbone of a detector model, we can set ``prefix='backbone.'``.",
                   "an OpenMMLab classifier or detector checkpoint holds the whole model, its backbone's keys "
                   "under 'backbone.': without the prefix none matches the backbone's own names"),
)

# the architecture a checkpoint's file name states, per backbone type
SWIN = {"tiny": (96, [2, 2, 6, 2]), "small": (96, [2, 2, 18, 2]), "base": (128, [2, 2, 18, 2]),
        "large": (192, [2, 2, 18, 2])}
PVT = {"tiny": [2, 2, 2, 2], "small": [3, 4, 6, 3], "medium": [3, 4, 18, 3], "large": [3, 8, 27, 3]}
PVT2 = {"b0": (32, [2, 2, 2, 2]), "b1": (64, [2, 2, 2, 2]), "b2": (64, [3, 4, 6, 3]), "b3": (64, [3, 4, 18, 3]),
        "b4": (64, [3, 8, 27, 3]), "b5": (64, [3, 6, 40, 3])}
ARCH_SOURCE = "mmengine/runner/checkpoint.py:129"
ARCH_QUOTE = "f'missing keys in source state_dict: {\", \".join(missing_keys)}\\n')"


def _close(a, b) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) < 0.05 for x, y in zip(a, b))


def _near(a, b, tolerance: float = 3.0) -> bool:
    """Means within a few grey levels: Detectron's 102.98/115.95/122.77 is the ImageNet mean too."""
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tolerance for x, y in zip(a, b))


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _basename(checkpoint: str) -> str:
    return checkpoint.rstrip("/").rsplit("/", 1)[-1].lower()


def architecture(bb, checkpoint: str) -> Iterator[Breach]:
    """Where the backbone's size settings differ from the architecture the file name states."""
    t, name = node_type(bb), _basename(checkpoint)
    if t in RESNETS:
        m = re.search(r"(?:resnext|resnet|resnest|res2net)(\d+)", name)
        if m and isinstance(bb.get("depth"), int) and int(m.group(1)) != bb["depth"]:
            yield Breach("depth", bb["depth"], m.group(1), "the checkpoint holds another depth")
        m = re.search(r"resnext\d+_(\d+)x(\d+)d", name)
        if m and t in ("ResNeXt", "DetectoRS_ResNeXt"):
            for key, want in (("groups", int(m.group(1))), ("base_width", int(m.group(2)))):
                if isinstance(bb.get(key), int) and bb[key] != want:
                    yield Breach(key, bb[key], str(want), "the checkpoint holds another ResNeXt width")
    elif t == "RegNet":
        m = re.search(r"regnetx_([\d.]+[gm]f)", name)
        if m and isinstance(bb.get("arch"), str) and bb["arch"].lower() != f"regnetx_{m.group(1)}":
            yield Breach("arch", bb["arch"], f"'regnetx_{m.group(1)}'", "the checkpoint holds another RegNet")
    elif t == "SwinTransformer":
        m = re.search(r"swin_(tiny|small|base|large)_", name)
        if m:
            dims, depths = SWIN[m.group(1)]
            if isinstance(bb.get("embed_dims", 96), int) and bb.get("embed_dims", 96) != dims:
                yield Breach("embed_dims", bb.get("embed_dims", 96), str(dims), f"swin-{m.group(1)} is {dims} wide")
            have = bb.get("depths", [2, 2, 6, 2])
            if isinstance(have, (list, tuple)) and list(have)[:len(depths)] != depths:  # extra stages start random
                yield Breach("depths", list(have), str(depths), f"swin-{m.group(1)} has these depths")
    elif t == "HRNet":
        m = re.search(r"hrnetv2_w(\d+)", name)
        width = bb.get("extra", {}).get("stage2", {}).get("num_channels", [None])[0] if is_mapping(
            bb.get("extra", None)) else None
        if m and isinstance(width, int) and width != int(m.group(1)):
            yield Breach("extra.stage2.num_channels", width, f"{m.group(1)} first", "the checkpoint is another width")
    elif t in ("PyramidVisionTransformer", "PyramidVisionTransformerV2"):
        m = re.search(r"pvt_v2_(b\d)", name) or re.search(r"pvt_(tiny|small|medium|large)", name)
        table = PVT2 if t.endswith("V2") else PVT
        if m and m.group(1) in table:
            want = table[m.group(1)]
            layers = want[1] if isinstance(want, tuple) else want
            have = bb.get("num_layers", None)
            if isinstance(have, (list, tuple)) and list(have) != layers:
                yield Breach("num_layers", list(have), str(layers), f"{m.group(1)} has these layers")


def input_breaches(checkpoint: str, pre) -> Iterator[tuple[InputConvention, Breach]]:
    for conv in INPUTS:
        if not re.search(conv.pattern, checkpoint):
            continue
        if "bgr_to_rgb" in pre and bool(pre.get("bgr_to_rgb")) != conv.bgr_to_rgb:
            yield conv, Breach("model.data_preprocessor.bgr_to_rgb", pre.get("bgr_to_rgb"), str(conv.bgr_to_rgb),
                               f"{conv.name} weights were trained on {'RGB' if conv.bgr_to_rgb else 'BGR'} input")
        mean = pre.get("mean", None)
        if isinstance(mean, (list, tuple)) and len(mean) == 3 and all(90 < float(m) < 130 for m in mean) \
                and (float(mean[0]) > float(mean[2])) != conv.bgr_to_rgb:
            order = "RGB (red's 123.675 first)" if conv.bgr_to_rgb else "BGR (blue's 103.53 first)"
            yield conv, Breach("model.data_preprocessor.mean", list(mean), f"the ImageNet mean in {order} order",
                               f"{conv.name} weights take {'RGB' if conv.bgr_to_rgb else 'BGR'} input, and the mean "
                               "is subtracted channel by channel")
        elif isinstance(mean, (list, tuple)) and len(mean) == 3 and _numeric(mean):
            want = MEAN[conv.mean] if conv.bgr_to_rgb else MEAN[conv.mean][::-1]
            if not any(_near(mean, w) for w in (want, want[::-1])):  # the order is the check above's
                yield conv, Breach("model.data_preprocessor.mean", list(mean), str(want),
                                   f"{conv.name} weights were trained on input centred on {want}; a mean of the "
                                   "user's own data shifts every input the pretrained filters see")
        std = pre.get("std", None)
        if isinstance(std, (list, tuple)) and len(std) == 3 and not _close(std, STD[conv.std]):
            yield conv, Breach("model.data_preprocessor.std", list(std), str(STD[conv.std]),
                               f"{conv.name} weights were trained on input divided by {STD[conv.std]}")
        return


def load_breaches(bb, checkpoint: str, init) -> Iterator[tuple[LoadConvention, Breach]]:
    for conv in LOADS:
        if not re.search(conv.pattern, checkpoint) or (conv.types and node_type(bb) not in conv.types):
            continue
        if conv.key == "init_cfg.prefix":
            if not init.get("prefix", None):
                yield conv, Breach("init_cfg.prefix", init.get("prefix", None), conv.want, conv.why)
        elif bool(bb.get(conv.key, conv.default)) != bool(conv.want):
            yield conv, Breach(conv.key, bb.get(conv.key, conv.default), str(conv.want), conv.why)


def pretrained_checkpoint(bb) -> tuple[str, Any] | None:
    init = bb.get("init_cfg", None) if is_mapping(bb) else None
    if isinstance(init, (list, tuple)):
        init = next((i for i in init if is_mapping(i) and node_type(i) == "Pretrained"), None)
    if not is_mapping(init) or node_type(init) != "Pretrained" or not isinstance(init.get("checkpoint"), str):
        return None
    return init["checkpoint"], init
