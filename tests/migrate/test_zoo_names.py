"""The 2.x -> 3.x config renames of scripts/migrate_zoo_names.py, on real file names of the mmdet 2.28.2 and
3.3.0 wheels (no wheel needed: the names are here)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "migrate_zoo_names", Path(__file__).resolve().parents[2] / "scripts" / "migrate_zoo_names.py")
names = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(names)

# (2.x file, 3.x file of the same model): real names of the two wheels
PAIRS = [
    ("cascade_mask_rcnn_r50_caffe_fpn_mstrain_3x_coco.py", "cascade-mask-rcnn_r50-caffe_fpn_ms-3x_coco.py"),
    ("mask_rcnn_regnetx-4GF_fpn_mstrain-poly_3x_coco.py", "mask-rcnn_regnetx-4GF_fpn_ms-poly-3x_coco.py"),
    ("faster_rcnn_r50_fpn_fp16_1x_coco.py", "faster-rcnn_r50_fpn_amp-1x_coco.py"),
    ("autoassign_r50_fpn_8x2_1x_coco.py", "autoassign_r50-caffe_fpn_1x_coco.py"),
    ("fcos_r50_caffe_fpn_gn-head_4x4_1x_coco.py", "fcos_r50-caffe_fpn_gn-head_4xb4-1x_coco.py"),
    ("retinanet_r18_fpn_1x8_1x_coco.py", "retinanet_r18_fpn_1xb8-1x_coco.py"),
    ("mask2former_r50_lsj_8x2_50e_coco-panoptic.py", "mask2former_r50_8xb2-lsj-50e_coco-panoptic.py"),
    ("faster_rcnn_r50_fpn_tnr-pretrain_1x_coco.py", "faster-rcnn_r50-tnr-pre_fpn_1x_coco.py"),
    ("mask_rcnn_r50_fpn_mocov2-pretrain_ms-2x_coco.py", "mask-rcnn_r50-mocov2-pre_fpn_ms-2x_coco.py"),
    ("mask_rcnn_r50_fpn_syncbn-backbone_r16_gcb_c3-c5_1x_coco.py", "mask-rcnn_r50-syncbn-gcb-r16-c3-c5_fpn_1x_coco.py"),
    ("cascade_mask_rcnn_x101_32x4d_fpn_syncbn-backbone_dconv_c3-c5_r4_gcb_c3-c5_1x_coco.py",
     "cascade-mask-rcnn_x101-32x4d-syncbn-dconv-c3-c5-r4-gcb-c3-c5_fpn_1x_coco.py"),
    ("cascade_mask_rcnn_convnext-t_p4_w7_fpn_giou_4conv1f_fp16_ms-crop_3x_coco.py",
     "cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py"),
    ("mask_rcnn_r50_caffe_fpn_syncbn-all_rpn-2conv_lsj_100e_fp16_coco.py",
     "mask-rcnn_r50-caffe_fpn_rpn-2conv_4conv1fc_syncbn-all_amp-lsj-100e_coco.py"),
    ("crpn_fast_rcnn_r50_caffe_fpn_1x_coco.py", "cascade-rpn_fast-rcnn_r50-caffe_fpn_1x_coco.py"),
    ("ga_faster_x101_32x4d_fpn_1x_coco.py", "ga-faster-rcnn_x101-32x4d_fpn_1x_coco.py"),
    ("retinanet_free_anchor_x101_32x4d_fpn_1x_coco.py", "freeanchor_x101-32x4d_fpn_1x_coco.py"),
    ("faster_rcnn_r50_fpn_attention_0010_dcn_1x_coco.py", "faster-rcnn_r50-attn0010-dcn_fpn_1x_coco.py"),
    ("faster_rcnn_r50_fpn_groie_1x_coco.py", "faste-rcnn_r50_fpn_groie_1x_coco.py"),
    ("vfnet_r2_101_fpn_mdconv_c3-c5_mstrain_2x_coco.py", "vfnet_res2net101-mdconv-c3-c5_fpn_ms-2x_coco.py"),
    ("vfnet_r2_101_fpn_mstrain_2x_coco.py", "vfnet_res2net-101_fpn_ms-2x_coco.py"),
    ("ld_r101_gflv1_r101dcn_fpn_coco_2x.py", "ld_r101-gflv1-r101-dcn_fpn_2x_coco.py"),
    ("reppoints_moment_r101_fpn_dconv_c3-c5_gn-neck+head_2x_coco.py", "reppoints-moment_r101-dconv-c3-c5_fpn-gn_head-gn_2x_coco.py"),
    ("bbox_r50_grid_center_fpn_gn-neck+head_1x_coco.py", "reppoints-bbox_r50-center_fpn-gn_head-gn-grid_1x_coco.py"),
    ("faster_rcnn_r50_fpn_syncbn_1350k_obj365v1.py", "faster-rcnn_r50-syncbn_fpn_1350k_objects365v1.py"),
    ("ssd300_wider_face.py", "ssd300_8xb32-24e_widerface.py"),
    ("lad_r101_paa_r50_fpn_coco_1x.py", "lad_r101-paa-r50_fpn_2xb8_coco_1x.py"),
    ("yolact_r50_8x8_coco.py", "yolact_r50_8xb8-55e_coco.py"),
    ("yolov3_d53_fp16_mstrain-608_273e_coco.py", "yolov3_d53_8xb8-amp-ms-608-273e_coco.py"),
    ("yolov3_mobilenetv2_mstrain-416_300e_coco.py", "yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py"),
    ("ssdlite_mobilenetv2_scratch_600e_coco.py", "ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py"),
    ("centernet_resnet18_dcnv2_140e_coco.py", "centernet_r18-dcnv2_8xb16-crop512-140e_coco.py"),
    ("cornernet_hourglass104_mstest_10x5_210e_coco.py", "cornernet_hourglass104_10xb5-crop511-210e-mstest_coco.py"),
    ("cornernet_hourglass104_mstest_32x3_210e_coco.py", "cornernet_hourglass104_32xb3-210e-mstest_coco.py"),
    ("solov2_light_r50_dcn_fpn_3x_coco.py", "solov2-light_r50-dcn_fpn_ms-3x_coco.py"),
    ("cascade_mask_rcnn_r2_101_fpn_20e_coco.py", "cascade-mask-rcnn_res2net-101_fpn_20e_coco.py"),
    ("cascade_rcnn_s50_fpn_syncbn-backbone+head_mstrain-range_1x_coco.py",
     "cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py"),
    ("htc_x101_64x4d_fpn_dconv_c3-c5_mstrain_400_1400_16x1_20e_coco.py",
     "htc_x101-64x4d-dconv-c3-c5_fpn_ms-400-1400-16xb1-20e_coco.py"),
]

# 2.x files that must not be read as each other's or as these 3.x files
DISTINCT = [
    ("cornernet_hourglass104_mstest_8x6_210e_coco.py", "cornernet_hourglass104_32xb3-210e-mstest_coco.py"),
    ("faster_rcnn_x101_32x4d_fpn_1x_coco.py", "faster-rcnn_x101-32xb4d_fpn_1x_coco.py"),  # 32x4d is no batch
    ("solov2_r50_fpn_1x_coco.py", "solov2_r50_fpn_ms-3x_coco.py"),
    ("mask_rcnn_r50_fpn_1x_coco.py", "mask-rcnn_r50_fpn_amp-1x_coco.py"),
]


@pytest.mark.parametrize("v2,v3", PAIRS)
def test_a_renamed_config_reads_as_its_3x_name(v2, v3):
    assert names.canonical2(v2) == names.words(v3)


@pytest.mark.parametrize("v2,v3", DISTINCT)
def test_other_models_stay_apart(v2, v3):
    assert names.canonical2(v2) != names.words(v3)


def test_every_rename_is_shown_by_a_real_pair():
    used = {i for v2, v3 in PAIRS for i in names.rewrite(v2)[1] if names.canonical2(v2) == names.words(v3)}
    unused = [names.RENAMES[i][0] for i in range(len(names.RENAMES)) if i not in used]
    assert not unused


def test_dropped_reasons():
    assert names.dropped("rfnext/rfnext_search_mask_rcnn_pvtv2-b0_fpn_1x_coco.py").startswith("RF-Next")
    assert "Ascend" in names.dropped("retinanet/ascend_retinanet_r18_fpn_1x8_1x_coco.py")
    assert "fp16" in names.dropped("ssd/ssd300_fp16_coco.py")
    assert "fp16" in names.dropped("panoptic_fpn/panoptic_fpn_r2_50_fpn_fp16_1x_coco.py")
    assert "base" in names.dropped("_base_/models/retinanet_r50_fpn.py")
    assert names.dropped("retinanet/retinanet_r50_fpn_1x_coco.py") is None


def _tree(root: Path, files: list[str]) -> Path:
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("")
    return root


def test_match_accounts_for_every_2x_file(tmp_path):
    v2 = _tree(tmp_path / "v2", [
        "_base_/models/faster_rcnn_r50_fpn.py",
        "atss/atss_r50_fpn_1x_coco.py",                      # same name
        "yolox/yolox_s_8x8_300e_coco.py",                    # renamed
        "lad/lad_r101_paa_r50_fpn_coco_1x.py",               # same words as the other LAD: their order decides
        "lad/lad_r50_paa_r101_fpn_coco_1x.py",
        "rfnext/rfnext_search_mask_rcnn_pvtv2-b0_fpn_1x_coco.py",  # dropped
        "misc/foo_r50_fpn_1x_coco.py",                       # two 3.x candidates
        "misc/nothing_like_it.py",                           # nothing
    ])
    v3 = _tree(tmp_path / "v3", [
        "_base_/models/faster-rcnn_r50_fpn.py",
        "atss/atss_r50_fpn_1x_coco.py",
        "yolox/yolox_s_8xb8-300e_coco.py",
        "lad/lad_r101-paa-r50_fpn_2xb8_coco_1x.py",
        "lad/lad_r50-paa-r101_fpn_2xb8_coco_1x.py",
        "a/foo_r50_fpn_1x_coco.py", "b/foo-r50_fpn-1x_coco.py",
    ])
    m = names.match(v2, v3)
    rel = {(p2.relative_to(v2).as_posix(), p3.relative_to(v3).as_posix()) for p2, p3 in m["same"] + m["renamed"]}
    assert rel == {("atss/atss_r50_fpn_1x_coco.py", "atss/atss_r50_fpn_1x_coco.py"),
                   ("yolox/yolox_s_8x8_300e_coco.py", "yolox/yolox_s_8xb8-300e_coco.py"),
                   ("lad/lad_r101_paa_r50_fpn_coco_1x.py", "lad/lad_r101-paa-r50_fpn_2xb8_coco_1x.py"),
                   ("lad/lad_r50_paa_r101_fpn_coco_1x.py", "lad/lad_r50-paa-r101_fpn_2xb8_coco_1x.py")}
    assert set(m["dropped"]) == {"_base_/models/faster_rcnn_r50_fpn.py",
                                 "rfnext/rfnext_search_mask_rcnn_pvtv2-b0_fpn_1x_coco.py"}
    assert sorted(m["ambiguous"]["misc/foo_r50_fpn_1x_coco.py"]) == ["a/foo_r50_fpn_1x_coco.py",
                                                                      "b/foo-r50_fpn-1x_coco.py"]
    assert m["unmatched"] == ["misc/nothing_like_it.py"]
    assert len(rel) + len(m["dropped"]) + len(m["ambiguous"]) + len(m["unmatched"]) == 8
