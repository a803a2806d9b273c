"""Backbone predicates of the component contracts (:mod:`.contract_table`): the channels a
backbone's stages output as its config sets them, and the stage indices that exist."""
from __future__ import annotations

from .config import is_mapping, node_type
from .contracts import Breach, Site, as_list

RESNETS = ("ResNet", "ResNetV1d", "ResNeXt", "Res2Net", "ResNeSt", "DetectoRS_ResNet", "DetectoRS_ResNeXt")
DEPTH_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


# channels of each stage a backbone can output, by out index, as mmdet 3.3 builds them
MOBILENET_V2 = (16, 24, 32, 64, 96, 160, 320)
CSP_ARCH = {"P5": (64, 128, 256, 512, 1024), "P6": (64, 128, 256, 512, 768, 1024)}
DEFAULT_OUT = {"MobileNetV2": (1, 2, 4, 7), "CSPDarknet": (2, 3, 4), "PyramidVisionTransformer": (0, 1, 2, 3),
               "PyramidVisionTransformerV2": (0, 1, 2, 3), "SwinTransformer": (0, 1, 2, 3)}
# necks whose in_channels list the backbone's outputs in the backbone's order
ORDERED_NECKS = ("FPN", "PAFPN", "NASFPN", "FPN_CARAFE", "NASFCOS_FPN", "FPG", "RFP", "HRFPN", "ChannelMapper",
                 "YOLOXPAFPN", "CSPNeXtPAFPN", "SSDNeck", "FPN_DropBlock")


def _make_divisible(value: float, divisor: int = 8) -> int:
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def _resnet_channels(bb) -> list[int] | None:
    depth = bb.get("depth")
    if depth not in DEPTH_BLOCKS:
        return None
    base = bb.get("base_channels", 64)
    expansion = 1 if depth in (18, 34) else 4
    return [expansion * base * 2 ** i for i in range(bb.get("num_stages", 4))]


def backbone_channels(model) -> list[int] | None:
    """The channels of the outputs a backbone can give, indexed as its out_indices are."""
    bb = model.get("backbone")
    if not is_mapping(bb):
        return None
    t = node_type(bb)
    if t in RESNETS:
        return _resnet_channels(bb)
    if t == "SwinTransformer" and isinstance(bb.get("embed_dims", 96), int):
        return [bb.get("embed_dims", 96) * 2 ** i for i in range(len(bb.get("depths", (2, 2, 6, 2))))]
    if t in ("PyramidVisionTransformer", "PyramidVisionTransformerV2"):
        dims, heads = bb.get("embed_dims", 64), bb.get("num_heads", (1, 2, 5, 8))
        return [dims * h for h in heads] if isinstance(dims, int) and as_list(heads) else None
    if t == "MobileNetV2" and isinstance(bb.get("widen_factor", 1.0), (int, float)):
        w = bb.get("widen_factor", 1.0)
        return [_make_divisible(c * w) for c in MOBILENET_V2] + [int(1280 * w) if w > 1.0 else 1280]
    if t == "CSPDarknet" and bb.get("arch", "P5") in CSP_ARCH and isinstance(bb.get("widen_factor", 1.0), (int, float)):
        return [int(c * bb.get("widen_factor", 1.0)) for c in CSP_ARCH[bb.get("arch", "P5")]]
    if t == "HRNet":
        stage4 = bb.get("extra", {}).get("stage4", {}) if is_mapping(bb.get("extra", None)) else {}
        return as_list(stage4.get("num_channels", None)) if is_mapping(stage4) else None
    return None


def out_indices(bb) -> list[int] | None:
    """The backbone's out_indices, when the config sets them or the type's default is known."""
    if node_type(bb) == "HRNet" and "out_indices" not in bb:
        stage4 = bb.get("extra", {}).get("stage4", {}) if is_mapping(bb.get("extra", None)) else {}
        n = len(stage4.get("num_channels", ())) if is_mapping(stage4) else 0
        return list(range(n)) if n and bb.get("multiscale_output", True) else None
    if "out_indices" not in bb and node_type(bb) not in RESNETS + tuple(DEFAULT_OUT):
        return None
    idx = bb.get("out_indices", DEFAULT_OUT.get(node_type(bb), (0, 1, 2, 3)))
    return list(idx) if isinstance(idx, (list, tuple)) else None


def neck_in_channels(site: Site):
    if site.path != "model.neck" and site.path != "model.neck.0":
        return
    have = as_list(site.get("in_channels"))
    bb = site.at("model.backbone")
    if have is None or not is_mapping(bb):
        return
    idx, chans = out_indices(bb), backbone_channels(site.model)
    if idx is None:
        return
    if len(have) != len(idx) and node_type(site.node) not in ("SSDNeck",):
        yield Breach("in_channels", f"{len(have)} levels", f"{len(idx)} (model.backbone.out_indices)",
                     "the neck asserts one input per in_channels entry when it runs (no message)")
    elif chans and node_type(site.node) in ORDERED_NECKS and all(isinstance(i, int) and i < len(chans) for i in idx):
        want = [chans[i] for i in idx]
        if list(have) != want:
            yield Breach("in_channels", list(have), f"{want} (model.backbone, out_indices {tuple(idx)})",
                         f"{node_type(bb)} with these settings outputs {want} channels")


def swin_ranges(site: Site):
    n = len(site.get("depths", (2, 2, 6, 2)))
    idx = as_list(site.get("out_indices", (0, 1, 2, 3)))
    if idx is not None and any(isinstance(i, int) and i >= n for i in idx):
        yield Breach("out_indices", idx, f"indices below {n} (len(depths))",
                     "forward only returns the stages that exist: the missing levels vanish silently")
    fs = site.get("frozen_stages", -1)
    if isinstance(fs, int) and fs > n:
        yield Breach("frozen_stages", fs, f"at most {n} (len(depths))",
                     "_freeze_stages indexes stages[frozen_stages - 1] when training starts")


def resnet_frozen_range(site: Site):
    n, fs = site.get("num_stages", 4), site.get("frozen_stages", -1)
    if isinstance(n, int) and isinstance(fs, int) and fs > n:
        yield Breach("frozen_stages", fs, f"at most {n} (num_stages)",
                     f"_freeze_stages looks up layer1..layer{fs}; there are {n}")
