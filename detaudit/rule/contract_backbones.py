"""Backbone predicates of the component contracts (:mod:`.contract_table`): the channels a
backbone's stages output as its config sets them, and the stage indices that exist."""
from __future__ import annotations

from .config import is_mapping, node_type
from .contracts import Breach, Site, as_list

RESNETS = ("ResNet", "ResNetV1d", "ResNeXt", "Res2Net", "ResNeSt", "DetectoRS_ResNet", "DetectoRS_ResNeXt")
DEPTH_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def _resnet_channels(bb) -> list[int] | None:
    depth = bb.get("depth")
    if depth not in DEPTH_BLOCKS:
        return None
    base = bb.get("base_channels", 64)
    if node_type(bb) in ("ResNeSt",) and "stem_channels" in bb and bb.get("base_channels") is None:
        base = 64
    expansion = 1 if depth in (18, 34) else 4
    n = bb.get("num_stages", 4)
    return [expansion * base * 2 ** i for i in range(n)]


def backbone_channels(model) -> list[int] | None:
    bb = model.get("backbone")
    if not is_mapping(bb):
        return None
    t = node_type(bb)
    if t in RESNETS:
        return _resnet_channels(bb)
    if t == "SwinTransformer" and isinstance(bb.get("embed_dims", 96), int):
        n = len(bb.get("depths", (2, 2, 6, 2)))
        return [bb.get("embed_dims", 96) * 2 ** i for i in range(n)]
    return None


def out_indices(bb) -> list[int] | None:
    """The backbone's out_indices, when the config sets them or the type's default is known."""
    if "out_indices" not in bb and node_type(bb) not in RESNETS + ("SwinTransformer",):
        return None
    idx = bb.get("out_indices", (0, 1, 2, 3))
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
    elif chans and all(isinstance(i, int) and i < len(chans) for i in idx):
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
