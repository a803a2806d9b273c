"""The strides a detector config declares for its feature levels, and where they disagree (DA846).

A stride is declared in several places that mmdet never compares: a dense head's prior generator
(``anchor_generator``, ``prior_generator``, the guided-anchoring heads' ``approx_anchor_generator``
and ``square_anchor_generator``), a point head's own ``strides``, and each RoI extractor's
``featmap_strides``. All of them describe the same feature maps, the ones the neck outputs.
``scripts/zoo_strides.py`` checks on every zoo config that the invariants below hold.
"""
from __future__ import annotations

from detaudit.rule.config import is_mapping, node_type, walk_dicts

PRIOR_KEYS = ("anchor_generator", "prior_generator", "approx_anchor_generator", "square_anchor_generator",
              "point_generator")
# Heads whose ``strides`` are not the strides of the feature maps they read (SOLO's are grid
# scales, and repeat: [8, 8, 16, 32, 32]).
NOT_FEATURE_STRIDES = ("SOLOHead", "DecoupledSOLOHead", "DecoupledSOLOLightHead", "SOLOV2Head")
# RoI extractors that read another head's feature map, not the neck's pyramid (HTC's, SCNet's
# semantic feature at stride 8).
OWN_FEATURE_EXTRACTORS = ("semantic_roi_extractor",)
# Necks whose outputs form a pyramid, each level half the size of the one before; BFP and DyHead
# keep the levels of the pyramid they follow.
PYRAMIDS = ("FPN", "PAFPN", "FPN_CARAFE", "FPN_DropBlock", "NASFPN", "NASFCOS_FPN", "RFP", "FPG", "HRFPN",
            "CSPNeXtPAFPN", "YOLOXPAFPN", "BFP", "DyHead")
KEEPS_LEVELS = ("BFP", "DyHead")
# Necks that take ``start_level`` (the first backbone output they read) as FPN does.
START_LEVEL_NECKS = ("FPN", "PAFPN", "FPN_CARAFE", "FPN_DropBlock", "NASFPN", "RFP")
# Backbones whose stage i (out_indices) has stride 4 * 2**i unless the config changes
# their strides or dilations.
STAGE_STRIDE_BACKBONES = ("ResNet", "ResNetV1d", "ResNeXt", "Res2Net", "RegNet", "ResNeSt", "DetectoRS_ResNet",
                          "DetectoRS_ResNeXt", "SwinTransformer", "PyramidVisionTransformer",
                          "PyramidVisionTransformerV2")
# How far from twice the previous a level's stride may be: YOLACT writes the stride of each level
# as 550 / its feature size (7.97, 15.71, 30.56, 61.11, 110.0), ratios from 1.8 to 2.0.
RATIO_RANGE = (1.75, 2.25)
FIRST_TOLERANCE = 0.1  # of the expected first stride (YOLACT's 7.97 for 8)


class Declared:
    """One declared list of strides: its key, the values and whose they are (``head``, ``rpn``, ``roi``)."""

    def __init__(self, key: str, values: list, role: str):
        self.key, self.values, self.role = key, values, role

    @property
    def scalars(self) -> list[float] | None:
        """The strides as numbers (a square ``(s, s)`` pair as ``s``); None when one is not."""
        out = []
        for v in self.values:
            if isinstance(v, (list, tuple)) and len(v) == 2 and v[0] == v[1]:
                v = v[0]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                return None
            out.append(v)
        return out

    def shown(self) -> str:
        return "[" + ", ".join(_num(v) for v in (self.scalars or self.values)) + "]"


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else repr(v)


def roots(model) -> list[tuple[str, object]]:
    """(key, dict) of each detector in the model config: ``model``, or the ``detector`` a wrapper holds."""
    found = []
    if is_mapping(model):
        for key, node in (("model", model), ("model.detector", model.get("detector", None))):
            if is_mapping(node) and is_mapping(node.get("backbone", None)):
                found.append((key, node))
    return found


def declared(root, key: str) -> list[Declared]:
    """Every list of feature strides the detector ``root`` declares, outside its backbone and necks."""
    found = []
    for path, node in walk_dicts(root, key):
        rel = path[len(key) + 1:]
        if rel.split(".")[0] in ("backbone", "neck", "data_preprocessor", "train_cfg", "test_cfg"):
            continue
        role = "rpn" if rel.startswith("rpn_head") else "head"
        for k in PRIOR_KEYS:
            gen = node.get(k, None)
            if is_mapping(gen) and isinstance(gen.get("strides", None), (list, tuple)):
                found.append(Declared(f"{path}.{k}.strides", list(gen["strides"]), role))
        strides = node.get("strides", None)
        if isinstance(strides, (list, tuple)) and node_type(node) and node_type(node) not in NOT_FEATURE_STRIDES \
                and not any(k in PRIOR_KEYS for k in path.split(".")):
            found.append(Declared(f"{path}.strides", list(strides), role))
        fs = node.get("featmap_strides", None)
        if isinstance(fs, (list, tuple)):
            slot = ".".join(p for p in rel.split(".") if not p.isdigit()).split(".")[-1]
            if slot.endswith("roi_extractor"):
                if slot not in OWN_FEATURE_EXTRACTORS:
                    found.append(Declared(f"{path}.featmap_strides", list(fs), "roi"))
            else:
                found.append(Declared(f"{path}.featmap_strides", list(fs), role))
    return found


def pyramid(root, key: str) -> tuple[str, object] | None:
    """(key, dict) of the detector's pyramid neck (the first of its necks, the others keeping its
    levels), or None when its necks are not a pyramid."""
    neck = root.get("neck", None)
    necks = [(f"{key}.neck", neck)] if is_mapping(neck) else (
        [(f"{key}.neck.{i}", n) for i, n in enumerate(neck)] if isinstance(neck, (list, tuple)) else [])
    if not necks or not all(is_mapping(n) for _, n in necks):
        return None
    if node_type(necks[0][1]) not in PYRAMIDS or any(node_type(n) not in KEEPS_LEVELS for _, n in necks[1:]):
        return None
    return necks[0]


def first_stride(root, key: str) -> tuple[float, str] | None:
    """The stride of the pyramid's first level and how it follows from the config, when the
    backbone's stage strides are the standard ones: stage i at 4 * 2**i, the neck reading one input
    per stage ``out_indices`` selects and starting at ``out_indices[start_level]``."""
    neck = pyramid(root, key)
    backbone = root.get("backbone", None)
    if neck is None or node_type(neck[1]) not in START_LEVEL_NECKS or node_type(backbone) not in STAGE_STRIDE_BACKBONES:
        return None
    if any(backbone.get(k, None) is not None for k in ("strides", "dilations", "stage_with_dcn_strides")):
        return None
    out = backbone.get("out_indices", (0, 1, 2, 3))
    start = neck[1].get("start_level", 0)
    ins = neck[1].get("in_channels", None)
    if isinstance(ins, (list, tuple)) and isinstance(out, (list, tuple)) and len(ins) != len(out):
        return None  # the neck does not read the stages the backbone gives: DA815's, the levels are unknown
    if not isinstance(out, (list, tuple)) or not isinstance(start, int) or not 0 <= start < len(out) \
            or not isinstance(out[start], int) or isinstance(out[start], bool):
        return None
    stride = 4 * 2 ** out[start]
    how = (f"{node_type(backbone)} stage {out[start]} has stride {stride} and {neck[0]} starts there "
           f"(out_indices[start_level={start}])")
    return stride, how


def breaches(model):
    """(key, message, evidence) for each declared stride list that disagrees with the pyramid or
    with the RPN it shares the feature maps with; one per key."""
    seen = set()
    for key, root in roots(model):
        lists = declared(root, key)
        neck = pyramid(root, key)
        first = first_stride(root, key)
        for d in lists:
            s = d.scalars
            if neck is None or s is None or len(s) < 2 or d.key in seen:
                continue
            bad = [i for i in range(1, len(s)) if not RATIO_RANGE[0] <= s[i] / s[i - 1] <= RATIO_RANGE[1]]
            if bad:
                i = bad[0]
                seen.add(d.key)
                yield d.key, (f"{d.key} = {d.shown()} is not a pyramid's strides: level {i} has stride "
                              f"{_num(s[i])} after {_num(s[i - 1])}, but each level of {neck[0]} "
                              f"({node_type(neck[1])}) is half the size of the one before, so its stride is twice "
                              "the previous; a stride names a feature level, not an anchor size"), {
                    "declared": d.values, "neck": node_type(neck[1]), "level": i, "invariant": "pyramid-doubling"}
        for d in lists:
            s = d.scalars
            if first is None or not s or d.key in seen:
                continue
            if abs(s[0] - first[0]) > FIRST_TOLERANCE * first[0]:
                want = [first[0] * 2 ** i for i in range(len(s))]
                seen.add(d.key)
                yield d.key, (f"{d.key} = {d.shown()} but the feature maps it is laid on have strides "
                              f"[{', '.join(_num(w) for w in want)}]: {first[1]}; "
                              + _consequence(s[0], first[0], d.role)), {
                    "declared": d.values, "feature_strides": want, "invariant": "pyramid-first-stride"}
        yield from _rpn_vs_roi(lists, seen)


def _consequence(declared: float, real: float, role: str) -> str:
    if role == "roi":
        return (f"the extractor scales each box by 1/{_num(declared)} on a stride-{_num(real)} map, so it pools "
                f"features from {_num(real / declared)} times the box's place and size on the map")
    if declared < real:
        return (f"priors laid {_num(declared)} px apart on a stride-{_num(real)} map cover only the top-left "
                f"{100 * (declared / real) ** 2:.0f}% of the image, and objects elsewhere match no prior")
    return (f"priors laid {_num(declared)} px apart on a stride-{_num(real)} map run past the image and "
            "leave it sampled more coarsely than the map")


def _rpn_vs_roi(lists: list[Declared], seen: set):
    rpn = next((d for d in lists if d.role == "rpn" and d.scalars and ".stages." not in d.key), None)
    rois = [d for d in lists if d.role == "roi" and d.scalars]
    if rpn is None or not rois:
        return
    def agrees(d):
        return d.scalars == rpn.scalars[:len(d.scalars)]
    odd = [d for d in rois if not agrees(d)]
    if not odd or rpn.key in seen or any(d.key in seen for d in odd):
        return
    multi = [d for d in rois if len(d.scalars) > 1]
    blame_rpn = len(odd) == len(rois) and all(d.scalars == multi[0].scalars for d in multi) and multi
    for d in ([rpn] if blame_rpn else odd):
        other = multi[0] if blame_rpn else rpn
        seen.add(d.key)
        yield d.key, (f"{d.key} = {d.shown()} but {other.key} = {other.shown()}: the RPN's proposals and the "
                      "RoI extractor read the same feature maps, so the RoI extractor's strides are the RPN's "
                      "first levels; boxes are then pooled from the wrong level or at the wrong scale"), {
            "declared": d.values, "other_key": other.key, "other": other.values, "invariant": "rpn-vs-roi"}
