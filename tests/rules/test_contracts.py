"""The contract tables of DA815 (detaudit/rule/contract_table.py) and DA816
(detaudit/rule/conventions.py): for every entry a minimal model config where it fires and one
where it stays quiet, and the mmdet line each entry cites says what the entry quotes."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from detaudit.rule.contract_table import CONTRACTS
from detaudit.rule.contracts import breaches, key_of
from detaudit.rule.conventions import (INPUTS, LOADS, architecture, input_breaches, load_breaches,
                                       pretrained_checkpoint)

RPN = dict(type='RPNHead', in_channels=256, feat_channels=256,
           anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                 strides=[4, 8, 16, 32, 64]),
           bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
           loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True), loss_bbox=dict(type='L1Loss'))
EXTRACTOR = dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                 out_channels=256, featmap_strides=[4, 8, 16, 32])
BOX = dict(type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024, roi_feat_size=7, num_classes=3,
           bbox_coder=dict(type='DeltaXYWHBBoxCoder'), reg_class_agnostic=False,
           loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False), loss_bbox=dict(type='L1Loss'))
MASK_EXTRACTOR = dict(EXTRACTOR, roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0))
MASK = dict(type='FCNMaskHead', num_convs=4, in_channels=256, conv_out_channels=256, num_classes=3,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
FRCNN = dict(
    type='MaskRCNN',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3), frozen_stages=1, style='pytorch'),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5),
    rpn_head=RPN,
    roi_head=dict(type='StandardRoIHead', bbox_roi_extractor=EXTRACTOR, bbox_head=BOX,
                  mask_roi_extractor=MASK_EXTRACTOR, mask_head=MASK),
    train_cfg=dict(rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3)),
                   rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5),
                             mask_size=28)))
CASCADE = dict(FRCNN, roi_head=dict(type='CascadeRoIHead', num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
                                    bbox_roi_extractor=EXTRACTOR, bbox_head=[BOX, BOX, BOX]),
               train_cfg=dict(rpn=FRCNN['train_cfg']['rpn'], rcnn=[dict(), dict(), dict()]))
RETINA = dict(type='RetinaNet', backbone=FRCNN['backbone'], neck=dict(FRCNN['neck'], start_level=1),
              bbox_head=dict(type='RetinaHead', num_classes=3, in_channels=256,
                             anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                                                   ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
                             loss_cls=dict(type='FocalLoss', use_sigmoid=True), loss_bbox=dict(type='L1Loss')))
FCOS = dict(type='FCOS', backbone=FRCNN['backbone'], neck=dict(FRCNN['neck'], start_level=1),
            bbox_head=dict(type='FCOSHead', num_classes=3, in_channels=256, strides=[8, 16, 32, 64, 128],
                           loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True)))
SSD = dict(type='SingleStageDetector', backbone=dict(type='SSDVGG', depth=16, out_indices=(3, 4)),
           neck=dict(type='SSDNeck', in_channels=(512, 1024), out_channels=(512, 1024, 512, 256, 256, 256),
                     level_strides=(2, 2, 1, 1), level_paddings=(1, 1, 0, 0)),
           bbox_head=dict(type='SSDHead', in_channels=(512, 1024, 512, 256, 256, 256), num_classes=3,
                          anchor_generator=dict(type='SSDAnchorGenerator', strides=[8, 16, 32, 64, 100, 300]),
                          loss_bbox=dict(type='SmoothL1Loss')))
DETR_LOSS = dict(type='FocalLoss', use_sigmoid=True)
DDETR = dict(type='DeformableDETR', num_feature_levels=4, backbone=dict(FRCNN['backbone'], out_indices=(1, 2, 3)),
             neck=dict(type='ChannelMapper', in_channels=[512, 1024, 2048], out_channels=256, num_outs=4),
             encoder=dict(layer_cfg=dict(self_attn_cfg=dict(num_levels=4))),
             decoder=dict(layer_cfg=dict(cross_attn_cfg=dict(num_levels=4))),
             bbox_head=dict(type='DeformableDETRHead', num_classes=3, loss_cls=DETR_LOSS),
             train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
                 dict(type='FocalLossCost', weight=2.0), dict(type='BBoxL1Cost', weight=5.0)])))
M2F = dict(type='Mask2Former', backbone=FRCNN['backbone'],
           panoptic_head=dict(type='Mask2FormerHead', num_things_classes=3, num_stuff_classes=2,
                              loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                            class_weight=[1.0] * 5 + [0.1])),
           panoptic_fusion_head=dict(type='MaskFormerFusionHead', num_things_classes=3, num_stuff_classes=2))
GRID = dict(FRCNN, roi_head=dict(type='GridRoIHead', bbox_roi_extractor=EXTRACTOR, bbox_head=BOX,
                                 grid_roi_extractor=MASK_EXTRACTOR,
                                 grid_head=dict(type='GridHead', grid_points=9, in_channels=256)))
HTC = dict(CASCADE, roi_head=dict(CASCADE['roi_head'], type='HybridTaskCascadeRoIHead',
                                  semantic_roi_extractor=dict(EXTRACTOR, featmap_strides=[8]),
                                  semantic_head=dict(type='FusedSemanticHead', conv_out_channels=256)))
POINTREND = dict(FRCNN, roi_head=dict(FRCNN['roi_head'], type='PointRendRoIHead',
                                      point_head=dict(type='MaskPointHead', num_classes=3)))
SOLO = dict(type='SOLO', backbone=FRCNN['backbone'], neck=FRCNN['neck'],
            mask_head=dict(type='SOLOHead', num_classes=3, in_channels=256, strides=[8, 8, 16, 32, 32],
                           scale_ranges=((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048)),
                           num_grids=[40, 36, 24, 16, 12]))
DETR = dict(type='DETR', num_queries=100, backbone=dict(FRCNN['backbone'], out_indices=(3, )),
            neck=dict(type='ChannelMapper', in_channels=[2048], out_channels=256, num_outs=1),
            bbox_head=dict(type='DETRHead', num_classes=3, loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False)),
            test_cfg=dict(max_per_img=100))
SWIN = dict(FRCNN, backbone=dict(type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2], out_indices=(0, 1, 2, 3)),
            neck=dict(FRCNN['neck'], in_channels=[96, 192, 384, 768]))


def edit(model, **paths):
    """A deep copy of ``model`` with ``a__b__0__c=value`` set (``__`` separates keys)."""
    out = copy.deepcopy(model)
    for path, value in paths.items():
        node, parts = out, path.split("__")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return out


GIOU = dict(type='GIoULoss', loss_weight=10.0)
# contract -> (model where it fires, the key it reports, model where it stays quiet)
CASES = {
    "iou-loss-needs-decoded-boxes": (edit(FRCNN, rpn_head__loss_bbox=GIOU), "model.rpn_head.reg_decoded_bbox",
                                     edit(FRCNN, rpn_head__loss_bbox=GIOU, rpn_head__reg_decoded_bbox=True)),
    "ssd-iou-loss-needs-decoded-boxes": (edit(SSD, bbox_head__loss_bbox=GIOU), "model.bbox_head.reg_decoded_bbox",
                                         edit(SSD, bbox_head__loss_bbox=GIOU, bbox_head__reg_decoded_bbox=True)),
    "roi-iou-loss-needs-decoded-boxes": (
        edit(FRCNN, roi_head__bbox_head__loss_bbox=GIOU), "model.roi_head.bbox_head.reg_decoded_bbox",
        edit(FRCNN, roi_head__bbox_head__loss_bbox=GIOU, roi_head__bbox_head__reg_decoded_bbox=True)),
    "roi-sigmoid-scored-with-softmax": (
        edit(FRCNN, roi_head__bbox_head__loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True)),
        "model.roi_head.bbox_head.loss_cls.use_sigmoid", FRCNN),
    "centerness-needs-sigmoid": (edit(FCOS, bbox_head__loss_centerness=dict(type='CrossEntropyLoss')),
                                 "model.bbox_head.loss_centerness.use_sigmoid", FCOS),
    "mask-loss-needs-use-mask": (edit(FRCNN, roi_head__mask_head__loss_mask=dict(type='CrossEntropyLoss')),
                                 "model.roi_head.mask_head.loss_mask.use_mask", FRCNN),
    "class-weight-length": (
        edit(FRCNN, roi_head__bbox_head__loss_cls=dict(type='CrossEntropyLoss', class_weight=[1.0] * 3)),
        "model.roi_head.bbox_head.loss_cls.class_weight",
        edit(FRCNN, roi_head__bbox_head__loss_cls=dict(type='CrossEntropyLoss', class_weight=[1.0] * 4))),
    "maskformer-class-weight-length": (
        edit(M2F, panoptic_head__loss_cls=dict(type='CrossEntropyLoss', class_weight=[1.0] * 80 + [0.1])),
        "model.panoptic_head.loss_cls.class_weight", M2F),
    "panoptic-fusion-classes": (edit(M2F, panoptic_fusion_head__num_things_classes=80),
                                "model.panoptic_fusion_head.num_things_classes", M2F),
    "mask-head-num-classes": (edit(FRCNN, roi_head__mask_head__num_classes=80),
                              "model.roi_head.mask_head.num_classes", FRCNN),
    "cascade-stage-num-classes": (edit(CASCADE, roi_head__bbox_head__2=dict(BOX, num_classes=80)),
                                  "model.roi_head.bbox_head.2.num_classes", CASCADE),
    "cascade-stage-loss-weights": (edit(CASCADE, roi_head__stage_loss_weights=[1, 0.5]),
                                   "model.roi_head.stage_loss_weights", CASCADE),
    "cascade-train-cfg-stages": (edit(CASCADE, train_cfg__rcnn=dict(mask_size=28)), "model.train_cfg.rcnn",
                                 CASCADE),
    "head-strides-vs-neck-levels": (edit(RETINA, neck__num_outs=4), "model.bbox_head.anchor_generator.strides",
                                    RETINA),
    "solo-strides-vs-neck-levels": (edit(SOLO, neck__num_outs=4), "model.mask_head.strides", SOLO),
    "detr-max-per-img-vs-queries": (edit(DETR, test_cfg__max_per_img=300), "model.test_cfg.max_per_img",
                                    edit(DETR, test_cfg__max_per_img=300, bbox_head__loss_cls=DETR_LOSS)),
    "regress-ranges-per-stride": (edit(FCOS, bbox_head__regress_ranges=[(-1, 64), (64, 128), (128, 1e8)]),
                                  "model.bbox_head.regress_ranges", FCOS),
    "head-in-channels-vs-neck": (edit(RETINA, bbox_head__in_channels=512), "model.bbox_head.in_channels", RETINA),
    "roi-extractor-channels-vs-neck": (edit(FRCNN, roi_head__bbox_roi_extractor__out_channels=128),
                                       "model.roi_head.bbox_roi_extractor.out_channels", FRCNN),
    "roi-head-in-channels-vs-extractor": (edit(FRCNN, roi_head__mask_head__in_channels=128),
                                          "model.roi_head.mask_head.in_channels", FRCNN),
    "roi-output-size-vs-roi-feat-size": (
        edit(FRCNN, roi_head__bbox_roi_extractor=dict(EXTRACTOR, roi_layer=dict(type='RoIAlign', output_size=14))),
        "model.roi_head.bbox_head.roi_feat_size", FRCNN),
    "grid-roi-size": (edit(GRID, roi_head__grid_head__roi_feat_size=7), "model.roi_head.grid_head.roi_feat_size",
                      GRID),
    "htc-semantic-channels": (edit(HTC, roi_head__semantic_head__conv_out_channels=128),
                              "model.roi_head.semantic_head.conv_out_channels", HTC),
    "mask-size-vs-mask-prediction": (edit(FRCNN, train_cfg__rcnn__mask_size=14), "model.train_cfg.rcnn.mask_size",
                                     FRCNN),
    "roi-extractor-levels-vs-neck": (edit(FRCNN, neck__num_outs=3, rpn_head__anchor_generator__strides=[4, 8, 16]),
                                     "model.roi_head.bbox_roi_extractor.featmap_strides", FRCNN),
    "coder-four-values": (edit(FRCNN, rpn_head__bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_stds=[1.0, 1.0, 1.0])),
                          "model.rpn_head.bbox_coder.target_stds", FRCNN),
    "tblr-normalizer-four-values": (
        edit(FRCNN, rpn_head__bbox_coder=dict(type='TBLRBBoxCoder', normalizer=[4.0, 4.0])),
        "model.rpn_head.bbox_coder.normalizer",
        edit(FRCNN, rpn_head__bbox_coder=dict(type='TBLRBBoxCoder', normalizer=[4.0, 4.0, 4.0, 4.0]))),
    "max-iou-thresholds": (edit(FRCNN, train_cfg__rpn__assigner__neg_iou_thr=0.8),
                           "model.train_cfg.rpn.assigner.neg_iou_thr", FRCNN),
    "match-cost-vs-cls-loss": (edit(DDETR, bbox_head__loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False)),
                               "model.train_cfg.assigner.match_costs.0.type", DDETR),
    "detr-feature-levels": (edit(DDETR, num_feature_levels=5), "model.num_feature_levels", DDETR),
    "neck-in-channels-vs-backbone": (edit(FRCNN, backbone__depth=18), "model.neck.in_channels", FRCNN),
    "swin-stage-ranges": (edit(SWIN, backbone__out_indices=(1, 2, 3, 4)), "model.backbone.out_indices", SWIN),
    "resnet-frozen-stages-range": (edit(FRCNN, backbone__frozen_stages=5), "model.backbone.frozen_stages", FRCNN),
}


def _found(model):
    return {(c.name, key_of(s, b)) for c, s, b in breaches(CONTRACTS, model, {"model": model})}


def test_every_contract_has_a_case_and_there_are_at_least_25():
    assert len(CONTRACTS) >= 25
    assert sorted(CASES) == sorted(c.name for c in CONTRACTS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract_fires_at_its_key_and_stays_quiet(name):
    fires, key, quiet = CASES[name]
    assert (name, key) in _found(fires), _found(fires)
    assert not {k for n, k in _found(quiet) if n == name}, _found(quiet)


def test_the_base_models_break_no_contract():
    for model in (FRCNN, CASCADE, RETINA, FCOS, SSD, DDETR, M2F, SWIN, SOLO, DETR, GRID, HTC, POINTREND):
        assert not _found(model), (model["type"], _found(model))


def test_the_ssd512_model_given_the_ssd300_neck_is_named_at_the_neck():
    ssd512 = edit(SSD, bbox_head__in_channels=(512, 1024, 512, 256, 256, 256, 256),
                  bbox_head__anchor_generator__strides=[8, 16, 32, 64, 128, 256, 512])
    keys = {k for _, k in _found(ssd512)}
    assert "model.bbox_head.in_channels" in keys and "model.bbox_head.anchor_generator.strides" in keys


def test_a_point_head_classifies_the_box_heads_classes():
    found = _found(edit(POINTREND, roi_head__point_head__num_classes=80))
    assert ("mask-head-num-classes", "model.roi_head.point_head.num_classes") in found


def _site_packages() -> Path:
    import mmdet  # noqa: F401 - the installed version the table cites

    return Path(mmdet.__file__).parents[1]


@pytest.mark.parametrize("entry", list(CONTRACTS) + list(INPUTS) + list(LOADS), ids=lambda e: e.name)
def test_the_cited_mmdet_line_says_it(entry):
    path, line = entry.source.rsplit(":", 1)
    lines = (_site_packages() / path).read_text().splitlines()
    assert entry.quote in lines[int(line) - 1], f"{entry.source}: {lines[int(line) - 1]!r}"


# ------------------------------------------------------------------ DA816's conventions
REGNET = dict(type='RegNet', arch='regnetx_400mf',
              init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://regnetx_400mf'))
BGR_PRE = dict(mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], bgr_to_rgb=False)
RGB_PRE = FRCNN['data_preprocessor']
CONVENTIONS = {  # name -> (checkpoint, preprocessor where it fires, the key, preprocessor where it is quiet)
    "regnet-pycls": ("open-mmlab://regnetx_400mf", RGB_PRE, "model.data_preprocessor.bgr_to_rgb", BGR_PRE),
    "detectron2-resnext-caffe2": ("open-mmlab://detectron2/resnext101_32x8d", RGB_PRE,
                                  "model.data_preprocessor.std", BGR_PRE),
    "detectron-gn": ("open-mmlab://detectron/resnet50_gn", RGB_PRE, "model.data_preprocessor.std",
                     dict(BGR_PRE, std=[1.0, 1.0, 1.0])),
    "darknet53": ("open-mmlab://darknet53", RGB_PRE, "model.data_preprocessor.std",
                  dict(mean=[0, 0, 0], std=[255., 255., 255.], bgr_to_rgb=True)),
    "vgg16-caffe": ("open-mmlab://vgg16_caffe", RGB_PRE, "model.data_preprocessor.std",
                    dict(RGB_PRE, std=[1, 1, 1])),
    "cspnext-rsb": ("https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/"
                    "cspnext-s_imagenet_600e.pth", RGB_PRE, "model.data_preprocessor.bgr_to_rgb", BGR_PRE),
    "openmmlab-imagenet-rgb": ("open-mmlab://resnext101_64x4d", BGR_PRE, "model.data_preprocessor.bgr_to_rgb",
                               RGB_PRE),
}


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_input_convention(name, ):
    checkpoint, fires, key, quiet = CONVENTIONS[name]
    assert (name, key) in {(c.name, b.key) for c, b in input_breaches(checkpoint, fires)}
    assert not list(input_breaches(checkpoint, quiet))


def test_a_mean_in_the_other_channel_order_is_named():
    pre = dict(BGR_PRE, mean=[123.675, 116.28, 103.53])
    found = {b.key for _, b in input_breaches("open-mmlab://regnetx_400mf", pre)}
    assert found == {"model.data_preprocessor.mean"}


def test_every_input_convention_is_tested():
    assert sorted(CONVENTIONS) == sorted(c.name for c in INPUTS)


SWIN_URL = "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth"
PVT_URL = "https://github.com/whai362/PVT/releases/download/v2/pvt_small.pth"
MMCLS = "https://download.openmmlab.com/mmclassification/v0/convnext/convnext-tiny_in1k.pth"
LOAD_CASES = {  # name -> (backbone where it fires, its key, backbone where it is quiet)
    "swin-original-release": (dict(type='SwinTransformer', init_cfg=dict(type='Pretrained', checkpoint=SWIN_URL)),
                              "convert_weights", dict(type='SwinTransformer', convert_weights=True,
                                                      init_cfg=dict(type='Pretrained', checkpoint=SWIN_URL))),
    "pvt-original-release": (dict(type='PyramidVisionTransformer', convert_weights=False,
                                  init_cfg=dict(type='Pretrained', checkpoint=PVT_URL)), "convert_weights",
                             dict(type='PyramidVisionTransformer', init_cfg=dict(type='Pretrained', checkpoint=PVT_URL))),
    "openmmlab-full-model": (dict(type='ConvNeXt', init_cfg=dict(type='Pretrained', checkpoint=MMCLS)),
                             "init_cfg.prefix", dict(type='ConvNeXt', init_cfg=dict(type='Pretrained', checkpoint=MMCLS,
                                                                                    prefix='backbone.'))),
}


@pytest.mark.parametrize("name", sorted(LOAD_CASES))
def test_load_convention(name):
    fires, key, quiet = LOAD_CASES[name]
    ck, init = pretrained_checkpoint(fires)
    assert (name, key) in {(c.name, b.key) for c, b in load_breaches(fires, ck, init)}
    ck, init = pretrained_checkpoint(quiet)
    assert not list(load_breaches(quiet, ck, init))


def test_every_load_convention_is_tested():
    assert sorted(LOAD_CASES) == sorted(c.name for c in LOADS)


@pytest.mark.parametrize("backbone,checkpoint,key", [
    (dict(type='ResNet', depth=101), "torchvision://resnet50", "depth"),
    (dict(type='ResNeXt', depth=101, groups=64, base_width=4), "open-mmlab://resnext101_32x4d", "groups"),
    (dict(type='RegNet', arch='regnetx_3.2gf'), "open-mmlab://regnetx_400mf", "arch"),
    (dict(type='SwinTransformer', embed_dims=128, depths=[2, 2, 18, 2]), SWIN_URL, "embed_dims"),
    (dict(type='HRNet', extra=dict(stage2=dict(num_channels=(18, 36)))), "open-mmlab://msra/hrnetv2_w32",
     "extra.stage2.num_channels"),
    (dict(type='PyramidVisionTransformer', num_layers=[2, 2, 2, 2]), PVT_URL, "num_layers"),
])
def test_checkpoint_architecture(backbone, checkpoint, key):
    assert key in {b.key for b in architecture(backbone, checkpoint)}
    assert not list(architecture(dict(type='ResNet', depth=50), "torchvision://resnet50"))
    # a Swin with an extra stage beyond the checkpoint's (RTMDet's P6 Swin) starts that stage at random
    assert not list(architecture(dict(type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2, 1]), SWIN_URL))


def test_the_mined_inventory_is_current_and_holds_the_contracts_the_tables_cite():
    import importlib.util

    script = Path(__file__).parents[2] / "scripts" / "mine_contracts.py"
    spec = importlib.util.spec_from_file_location("mine_contracts", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    entries = mod.mine(_site_packages())
    assert (Path(__file__).parents[2] / "docs" / "contracts.md").read_text() == mod.render(entries)
    kinds = {e["kind"] for e in entries}
    assert kinds == {"assert", "raise", "docstring"}
    mined = {(e["file"], e["line"]) for e in entries}
    # the docstring sentences DA815's reg_decoded_bbox contracts cite are in the inventory
    assert ("mmdet/models/dense_heads/anchor_head.py", 35) in mined
    assert ("mmdet/models/dense_heads/ssd_head.py", 46) in mined


@pytest.mark.parametrize("backbone,neck,right,wrong", [
    (dict(type='MobileNetV2', out_indices=(2, 4, 6)), 'FPN', [32, 96, 320], [24, 64, 320]),
    (dict(type='MobileNetV2', out_indices=(4, 7)), 'SSDNeck', [96, 1280], [96, 320]),
    (dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.5), 'YOLOXPAFPN', [128, 256, 512], [256, 512, 1024]),
    (dict(type='PyramidVisionTransformerV2', embed_dims=32, num_layers=[2, 2, 2, 2]), 'FPN', [32, 64, 160, 256],
     [64, 128, 320, 512]),
    (dict(type='HRNet', extra=dict(stage4=dict(num_channels=(18, 36, 72, 144)))), 'HRFPN', [18, 36, 72, 144],
     [32, 64, 128, 256]),
    (dict(type='ResNet', depth=50, base_channels=32), 'FPN', [128, 256, 512, 1024], [256, 512, 1024, 2048]),
])
def test_neck_in_channels_against_each_backbone(backbone, neck, right, wrong):
    def model(chans):
        return dict(type='SingleStageDetector', backbone=backbone, neck=dict(type=neck, in_channels=chans))

    assert not _found(model(right))
    assert ("neck-in-channels-vs-backbone", "model.neck.in_channels") in _found(model(wrong))


def test_a_neck_that_lists_the_levels_in_reverse_is_left_alone():
    bb = dict(type='MobileNetV2', out_indices=(2, 4, 6))
    assert not _found(dict(type='YOLOV3', backbone=bb, neck=dict(type='YOLOV3Neck', in_channels=[320, 96, 32])))
