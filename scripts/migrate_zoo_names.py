"""Which mmdet 3.x config is the same model as a 2.x config: the file-name renames of mmdet 3.0, as data.

mmdet 3.0 renamed most config files: the batch ``8x2`` became ``8xb2``, ``mstrain`` became ``ms``,
``fp16`` became ``amp``, backbone variants moved next to the backbone (``r50_caffe`` ->
``r50-caffe``, ``fpn_dconv_c3-c5`` -> ``r50-dconv-c3-c5_fpn``), the method prefix was spelled out
(``crpn`` -> ``cascade-rpn``), and so on. A name is compared as the multiset of its ``_``/``-``
separated words once the rewrites of RENAMES are applied to the 2.x name, so a reordering needs no
entry; what needs one is a word that changed, appeared or disappeared. A 2.x config is paired only
with a unique 3.x candidate (in its own folder first, then anywhere in the tree); DROPPED says why
a 2.x config has no 3.x counterpart at all.

Used by scripts/migrate_zoo.py; tests/migrate/test_zoo_names.py holds real name pairs of the two
wheels for every entry.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

# (pattern, replacement, why): applied in order to the 2.x file name (lowercase, no '.py')
RENAMES: list[tuple[str, str, str]] = [
    (r"mstrain", "ms", "multi-scale training is written ms"),
    (r"fp16", "amp", "mixed precision is written amp"),
    (r"(?<![\dx])(\d+)x(\d+)(?![\dd])", r"\1xb\2", "the batch NxM (GPUs x images per GPU) is written NxbM"),
    (r"pretrain", "pre", "a pre-trained backbone is written -pre"),
    (r"syncbn-backbone(?!\+)", "syncbn", "SyncBN in the backbone is written syncbn"),
    (r"4conv1f(?!c)", "4conv1fc", "the shared 4-conv 1-fc box head is written 4conv1fc"),
    (r"syncbn-all_rpn-2conv", "syncbn-all_rpn-2conv_4conv1fc",
     "the strong baselines (and copy-paste) name their 4conv1fc box head (Shared4Conv1FCBBoxHead in 2.x too)"),
    (r"^crpn_", "cascade-rpn_", "Cascade RPN's prefix spelled out"),
    (r"^ga_(fast|faster)_", r"ga_\1-rcnn_", "guided anchoring's Fast/Faster R-CNN spelled out"),
    (r"^retinanet_free_anchor_", "freeanchor_", "FreeAnchor's prefix"),
    (r"attention_(\d{4})", r"attn\1", "the attention variant code"),
    (r"^faster_rcnn_r50_fpn_groie", "faste-rcnn_r50_fpn_groie", "3.3's GRoIE Faster R-CNN file is spelled faste-rcnn"),
    (r"^vfnet_r2_101_fpn_mdconv", "vfnet_res2net101_fpn_mdconv", "3.3's VFNet Res2Net-101 with DCN is res2net101"),
    (r"r2_(\d+)", r"res2net-\1", "Res2Net is written res2net-N"),
    (r"r101dcn", "r101-dcn", "the DCN teacher of LD"),
    (r"gn-neck\+head", "gn_head-gn", "RepPoints' GroupNorm in neck and head"),
    (r"^bbox_r50_grid", "reppoints-bbox_r50_grid", "RepPoints' bbox variants are prefixed reppoints"),
    (r"obj365v", "objects365v", "the Objects365 dataset suffix"),
    (r"wider_face", "8xb32_24e_widerface", "WIDER FACE's SSD names its batch and epochs (the 2.x config: 24 epochs)"),
    (r"^lad_(.*)_fpn_coco_1x$", r"lad_\1_fpn_2xb8_coco_1x", "LAD names its batch (2.x: 8 images per GPU)"),
    (r"^yolact_(.*)_coco$", r"yolact_\1_55e_coco", "YOLACT names its 55 epochs (the 2.x config's runner)"),
    (r"^yolov3_d53_", "yolov3_d53_8xb8_", "YOLOv3 DarkNet-53 names its batch (2.x: 8 images per GPU)"),
    (r"^yolov3_mobilenetv2_", "yolov3_mobilenetv2_8xb24_", "YOLOv3 MobileNetV2 names its batch (2.x: 24 per GPU)"),
    (r"^ssdlite_mobilenetv2_scratch_", "ssdlite_mobilenetv2_scratch_8xb24_", "SSDLite names its batch (2.x: 24 per GPU)"),
    (r"^centernet_resnet18(.*)_140e", r"centernet_r18\1_8xb16_crop512_140e",
     "CenterNet: r18, and its batch and 512 crop named (2.x: 16 per GPU, RandomCenterCropPad 512)"),
    (r"^(centripetalnet|cornernet)_hourglass104_mstest_(16xb6|10xb5)_", r"\1_hourglass104_mstest_\2_crop511_",
     "CentripetalNet and CornerNet 10x5 name their 511 crop"),
    (r"^autoassign_r50_fpn_8xb2_", "autoassign_r50_caffe_fpn_",
     "AutoAssign: the batch dropped from the name, its caffe-style backbone named"),
    (r"^(solov2\w*)_3x_coco$", r"\1_ms_3x_coco", "SOLOv2's 3x schedules name their multi-scale training"),
]

# (pattern on the 2.x path inside configs/, reason): 2.x configs whose model has no 3.x config
DROPPED: list[tuple[str, str]] = [
    (r"^_base_/", "a base (inherited by the configs, not a model of its own)"),
    (r"^rfnext/", "RF-Next: no rfnext folder in mmdet 3.3's configs"),
    (r"(^|/)ascend_", "an Ascend NPU variant: none in mmdet 3.3"),
    (r"^(ssd/ssd\d+_fp16|panoptic_fpn/panoptic_fpn_r2_50_fpn_fp16|fcos/fcos_r50_caffe_fpn_gn-head_fp16)",
     "an fp16 variant whose 3.x config (amp) was not kept in mmdet 3.3"),
]


def rewrite(name: str) -> tuple[str, list[int]]:
    """The 2.x file name rewritten to 3.x's words, and the indexes of the RENAMES entries that applied."""
    s = name.lower().removesuffix(".py")
    used = []
    for i, (pattern, repl, _) in enumerate(RENAMES):
        new = re.sub(pattern, repl, s)
        if new != s:
            used.append(i)
            s = new
    return s, used


def words(name: str) -> tuple[str, ...]:
    """A name as the sorted multiset of its words (order-free)."""
    return tuple(sorted(w for w in re.split(r"[_\-]", name.lower().removesuffix(".py")) if w))


def canonical2(name: str) -> tuple[str, ...]:
    return words(rewrite(name)[0])


def dropped(rel: str) -> str | None:
    """Why a 2.x config (path inside configs/) has no 3.x counterpart, when DROPPED says so."""
    for pattern, reason in DROPPED:
        if re.search(pattern, rel):
            return reason
    return None


def match(v2: Path, v3: Path) -> dict:
    """Every 2.x file of the tree accounted for.

    Returns {"same": [(p2, p3)] same name once '-'/'_' are ignored, "renamed": [(p2, p3)] through
    RENAMES, "ambiguous": {rel2: [rel3...]}, "dropped": {rel2: reason}, "unmatched": [rel2]}.
    """
    def rel(p: Path, root: Path) -> str:
        return p.relative_to(root).as_posix()

    files2 = sorted(v2.rglob("*.py"))
    files3 = [p for p in sorted(v3.rglob("*.py")) if "_base_" not in p.parts and "__pycache__" not in p.parts]
    plain3: dict[str, list[Path]] = defaultdict(list)
    for p in files3:
        plain3[p.name.replace("-", "_")].append(p)
    by_folder: dict[tuple[str, tuple], list[Path]] = defaultdict(list)
    anywhere: dict[tuple, list[Path]] = defaultdict(list)
    for p in files3:
        by_folder[(p.parent.name, words(p.name))].append(p)
        anywhere[words(p.name)].append(p)
    out: dict = {"same": [], "renamed": [], "ambiguous": {}, "dropped": {}, "unmatched": []}
    claimed: dict[Path, list[Path]] = defaultdict(list)
    for p2 in files2:
        r2 = rel(p2, v2)
        if "_base_" in p2.parts:
            out["dropped"][r2] = dropped(r2)
            continue
        same = plain3.get(p2.name.replace("-", "_"), [])
        same = [p for p in same if p.parent.name == p2.parent.name] or same
        if len(same) == 1:
            out["same"].append((p2, same[0]))
            claimed[same[0]].append(p2)
            continue
        if len(same) > 1:
            out["ambiguous"][r2] = [rel(p, v3) for p in same]
            continue
        c = canonical2(p2.name)
        found = by_folder.get((p2.parent.name, c)) or anywhere.get(c) or []
        if len(found) > 1:  # the same words: the candidate that has them in the same order, if one does
            in_order = [p for p in found if p.stem.replace("-", "_") == rewrite(p2.name)[0].replace("-", "_")]
            found = in_order if len(in_order) == 1 else found
        if len(found) == 1:
            out["renamed"].append((p2, found[0]))
            claimed[found[0]].append(p2)
        elif len(found) > 1:
            out["ambiguous"][r2] = [rel(p, v3) for p in found]
        elif dropped(r2):
            out["dropped"][r2] = dropped(r2)
        else:
            out["unmatched"].append(r2)
    # a 3.x config claimed by two 2.x configs is no unique pairing for the renamed ones
    for p3, owners in claimed.items():
        if len(owners) > 1:
            for p2 in owners:
                if (p2, p3) in out["renamed"]:
                    out["renamed"].remove((p2, p3))
                    out["ambiguous"][rel(p2, v2)] = [rel(p3, v3) + " (also the pair of another 2.x config)"]
    return out
