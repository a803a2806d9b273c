"""detaudit.migrate.convert on small 2.x configs, one conversion each (no mmdet needed)."""
from __future__ import annotations

import pytest

from detaudit.migrate.convert import convert
from detaudit.migrate.write import override, render

NORM = dict(type='Normalize', mean=[1.0, 2.0, 3.0], std=[4.0, 5.0, 6.0], to_rgb=False)
TRAIN = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
         dict(type='Resize', img_scale=(1333, 800), keep_ratio=True), dict(type='RandomFlip', flip_ratio=0.5),
         NORM, dict(type='Pad', size_divisor=32), dict(type='DefaultFormatBundle'),
         dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
MODEL = dict(type='RetinaNet', backbone=dict(type='ResNet', depth=50))


def _types(pipeline):
    return [t["type"] for t in pipeline]


def test_pipeline_and_preprocessor():
    out, notes = convert(dict(model=MODEL, train_pipeline=TRAIN))
    assert _types(out["train_pipeline"]) == ["LoadImageFromFile", "LoadAnnotations", "Resize", "RandomFlip",
                                             "PackDetInputs"]
    assert out["train_pipeline"][2] == dict(type='Resize', scale=(1333, 800), keep_ratio=True)
    assert out["train_pipeline"][3] == dict(type='RandomFlip', prob=0.5)
    assert out["model"]["data_preprocessor"] == dict(type='DetDataPreprocessor', mean=[1.0, 2.0, 3.0],
                                                     std=[4.0, 5.0, 6.0], bgr_to_rgb=False, pad_size_divisor=32)
    assert list(out["model"])[:2] == ["type", "data_preprocessor"] and not notes


@pytest.mark.parametrize("mode,kind,arg", [("value", "RandomChoiceResize", "scales"), ("range", "RandomResize", "scale")])
def test_multiscale_resize(mode, kind, arg):
    pipe = [dict(type='Resize', img_scale=[(1333, 640), (1333, 800)], multiscale_mode=mode, keep_ratio=True)]
    out, _ = convert(dict(train_pipeline=pipe))
    assert out["train_pipeline"][0] == {"type": kind, arg: [(1333, 640), (1333, 800)], "keep_ratio": True}


def test_multiscaleflipaug_flattened_with_annotations_after_resize():
    test = [dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(1333, 800), flip=False,
                 transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'), NORM,
                             dict(type='Pad', size_divisor=32), dict(type='ImageToTensor', keys=['img']),
                             dict(type='Collect', keys=['img'])])]
    out, notes = convert(dict(test_pipeline=test))
    assert _types(out["test_pipeline"]) == ["LoadImageFromFile", "Resize", "LoadAnnotations", "PackDetInputs"]
    assert out["test_pipeline"][1]["scale"] == (1333, 800)
    assert "meta_keys" in out["test_pipeline"][-1] and not notes
    flipped = [dict(type='MultiScaleFlipAug', img_scale=[(1333, 800), (666, 400)], flip=True, transforms=[])]
    _, notes = convert(dict(test_pipeline=flipped))
    assert len(notes) == 2  # several scales, and flipping: both said


def test_fixed_size_pad_and_no_normalize():
    pipe = [dict(type='LoadImageFromFile'), dict(type='Pad', size=(640, 640))]
    out, _ = convert(dict(model=MODEL, train_pipeline=pipe))
    pre = out["model"]["data_preprocessor"]
    assert pre["batch_augments"] == [dict(type='BatchFixedSizePad', size=(640, 640))]
    assert pre["mean"] is None and pre["std"] is None and pre["bgr_to_rgb"] is False


def test_proposals_go_through_the_broadcaster():
    pipe = [dict(type='LoadImageFromFile'), dict(type='LoadProposals', num_max_proposals=2000),
            dict(type='LoadAnnotations', with_bbox=True), dict(type='Resize', img_scale=(1333, 800), keep_ratio=True),
            dict(type='RandomFlip', flip_ratio=0.5), dict(type='Collect', keys=['img', 'proposals'])]
    out, _ = convert(dict(train_pipeline=pipe))
    assert _types(out["train_pipeline"]) == ["LoadImageFromFile", "LoadProposals", "LoadAnnotations",
                                             "ProposalBroadcaster", "PackDetInputs"]
    assert _types(out["train_pipeline"][3]["transforms"]) == ["Resize", "RandomFlip"]


def test_data_becomes_dataloaders():
    data = dict(samples_per_gpu=4, workers_per_gpu=3,
                train=dict(type='RepeatDataset', times=2, dataset=dict(
                    type='CocoDataset', ann_file='data/c/a/train.json', img_prefix='data/c/train/',
                    classes=['a', 'b'], pipeline=TRAIN)),
                val=dict(type='CocoDataset', ann_file='data/c/a/val.json', img_prefix='data/c/val/', pipeline=[]),
                test=dict(type='CocoDataset', ann_file='other/val.json', img_prefix='data/c/val/', pipeline=[]))
    out, _ = convert(dict(data_root='data/c/', data=data, evaluation=dict(interval=2, metric=['bbox'])))
    train = out["train_dataloader"]
    assert (train["batch_size"], train["num_workers"]) == (4, 3)
    inner = train["dataset"]["dataset"]
    assert inner["data_root"] == "data/c/" and inner["ann_file"] == "a/train.json"
    assert inner["data_prefix"] == {"img": "train/"} and inner["metainfo"] == {"classes": ("a", "b")}
    assert inner["filter_cfg"] == {"filter_empty_gt": True, "min_size": 32}
    assert out["val_dataloader"]["dataset"]["test_mode"] is True and out["val_dataloader"]["batch_size"] == 1
    test = out["test_dataloader"]["dataset"]  # a path not under data_root: no data_root, paths as written
    assert "data_root" not in test and test["ann_file"] == "other/val.json"
    assert out["val_evaluator"] == dict(type='CocoMetric', ann_file='data/c/a/val.json', metric=['bbox'],
                                        format_only=False)


def test_voc_dataset_and_evaluator():
    data = dict(train=dict(type='VOCDataset', ann_file=['d/VOC2007/t.txt', 'd/VOC2012/t.txt'],
                           img_prefix=['d/VOC2007/', 'd/VOC2012/'], pipeline=[]),
                val=dict(type='VOCDataset', ann_file='d/VOC2007/test.txt', img_prefix='d/VOC2007/', pipeline=[]))
    out, _ = convert(dict(data_root='d/', data=data, evaluation=dict(interval=1, metric='mAP')))
    parts = out["train_dataloader"]["dataset"]["datasets"]
    assert out["train_dataloader"]["dataset"]["type"] == "ConcatDataset" and len(parts) == 2
    assert parts[1]["data_prefix"] == {"sub_data_root": "VOC2012/"}
    assert out["val_evaluator"] == dict(type='VOCMetric', metric='mAP', eval_mode='11points')


def test_schedule_optimizer_runtime():
    cfg = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4,
                              paramwise_cfg=dict(norm_decay_mult=0.0)),
               optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2)), fp16=dict(loss_scale=512.0),
               lr_config=dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.001, step=[8, 11]),
               runner=dict(type='EpochBasedRunner', max_epochs=12),
               checkpoint_config=dict(interval=1), log_config=dict(interval=50, hooks=[dict(type='TextLoggerHook')]),
               dist_params=dict(backend='nccl'), resume_from=None, workflow=[('train', 1)],
               custom_hooks=[dict(type='NumClassCheckHook'), dict(type='ExpMomentumEMAHook', momentum=0.0001)])
    out, notes = convert(cfg)
    assert out["optim_wrapper"] == dict(type='AmpOptimWrapper', loss_scale=512.0,
                                        clip_grad=dict(max_norm=35, norm_type=2),
                                        optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                                        paramwise_cfg=dict(norm_decay_mult=0.0))
    assert out["optim_wrapper"]["clip_grad"] == dict(max_norm=35, norm_type=2)
    assert out["param_scheduler"] == [
        dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
        dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)]
    assert out["train_cfg"] == dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
    assert out["default_hooks"]["checkpoint"] == dict(type='CheckpointHook', interval=1)
    assert out["env_cfg"]["dist_cfg"] == dict(backend='nccl') and out["resume"] is False
    assert out["custom_hooks"] == [dict(type='NumClassCheckHook'),
                                   dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001)]
    for legacy in ("optimizer", "optimizer_config", "lr_config", "runner", "checkpoint_config", "log_config",
                   "workflow", "fp16", "dist_params", "resume_from"):
        assert legacy not in out
    assert not notes


@pytest.mark.parametrize("lr,expect", [
    (dict(policy='CosineAnnealing', min_lr_ratio=0.01), dict(type='CosineAnnealingLR', eta_min_ratio=0.01)),
    (dict(policy='step', step=3, gamma=0.5), dict(type='StepLR', step_size=3, gamma=0.5)),
    (dict(policy='poly', power=0.9, min_lr=1e-4), dict(type='PolyLR', power=0.9, eta_min=1e-4)),
])
def test_lr_policies(lr, expect):
    out, _ = convert(dict(lr_config=lr, runner=dict(type='IterBasedRunner', max_iters=1000)))
    last = out["param_scheduler"][-1]
    assert {k: last[k] for k in expect} == expect and last["by_epoch"] is False and last["end"] == 1000
    assert out["train_cfg"] == dict(type='IterBasedTrainLoop', max_iters=1000)


def test_unknown_policy_kept_with_a_note():
    out, notes = convert(dict(lr_config=dict(policy='OneCycle'), runner=dict(type='EpochBasedRunner', max_epochs=2)))
    assert out["lr_config"] == dict(policy='OneCycle') and "param_scheduler" not in out
    assert [n.key for n in notes] == ["lr_config"]


def test_yolox_schedule_and_model():
    out, _ = convert(dict(lr_config=dict(policy='YOLOX', warmup='exp', warmup_iters=5, num_last_epochs=15,
                                         min_lr_ratio=0.05), runner=dict(type='EpochBasedRunner', max_epochs=300),
                          model=dict(type='YOLOX', input_size=(640, 640), random_size_range=(15, 25),
                                     random_size_interval=10)))
    assert [s["type"] for s in out["param_scheduler"]] == ["QuadraticWarmupLR", "CosineAnnealingLR", "ConstantLR"]
    assert out["param_scheduler"][1]["end"] == 285
    assert "random_size_range" not in out["model"]
    assert out["model"]["data_preprocessor"]["batch_augments"][0]["random_size_range"] == (480, 800)


def test_model_fixups():
    model = dict(type='SparseRCNN', pretrained='torchvision://resnet50', backbone=dict(type='ResNet'),
                 neck=dict(type='NASFPN', add_extra_convs=True),
                 train_cfg=dict(assigner=dict(type='HungarianAssigner', cls_cost=dict(type='FocalLossCost'),
                                              reg_cost=dict(type='BBoxL1Cost'), iou_cost=dict(type='IoUCost'))),
                 roi_head=dict(semantic_head=dict(type='FusedSemanticHead')))
    out, _ = convert(dict(model=model, train_pipeline=[dict(type='SegRescale', scale_factor=0.125)]))
    m = out["model"]
    assert "pretrained" not in m and m["backbone"]["init_cfg"] == dict(type='Pretrained', checkpoint='torchvision://resnet50')
    assert "add_extra_convs" not in m["neck"]
    assert m["train_cfg"]["assigner"] == dict(type='HungarianAssigner', match_costs=[
        dict(type='FocalLossCost'), dict(type='BBoxL1Cost'), dict(type='IoUCost')])
    assert m["roi_head"]["semantic_head"]["seg_scale_factor"] == 0.125


def test_override_and_render():
    base = dict(a=dict(x=1, y=2), b=[1, 2], c='s')
    assert override(dict(a=dict(x=1, y=3), b=[1, 2], c='s'), base) == dict(a=dict(y=3))
    assert override(dict(a=dict(x=1), b=[1], c='s', d=1), base) == dict(a=dict(_delete_=True, x=1), b=[1], d=1)
    # a base's list of evaluators, a child's one evaluator: mmengine reads the child only with _delete_
    assert override(dict(b=dict(type='CocoMetric')), base) == dict(b=dict(_delete_=True, type='CocoMetric'))
    assert render(('a',)) == "('a', )" and render({'a b': 1}) == "{'a b': 1}"
    long = render(dict(k=['x' * 40, 'y' * 40, 'z' * 40]), 0, 10)
    assert long.startswith("dict(\n    k=[\n        'x") and eval(long) == dict(k=['x' * 40, 'y' * 40, 'z' * 40])


def test_renamed_packages():
    out, _ = convert(dict(custom_imports=dict(imports=['mmcls.models'], allow_failed_imports=False),
                          model=dict(type='RetinaNet', backbone=dict(type='mmcls.TIMMBackbone'))))
    assert out["custom_imports"]["imports"] == ["mmpretrain.models"]
    assert out["model"]["backbone"]["type"] == "mmpretrain.TIMMBackbone"


def test_transformer_heads_are_kept_with_a_note():
    model = dict(type='DETR', bbox_head=dict(type='DETRHead', transformer=dict(type='Transformer')))
    out, notes = convert(dict(model=model))
    assert out["model"]["bbox_head"] == model["bbox_head"]
    assert [n.key for n in notes] == ["model"] and "DETR family" in notes[0].message


def test_model_fixups_reach_a_partial_model():
    # a child config's partial model (no type, no pipeline of its own), as Cascade RPN's Faster R-CNN writes it
    stage = dict(type='StageCascadeRPNHead', in_channels=256, sampling=True)
    out, _ = convert(dict(model=dict(rpn_head=dict(_delete_=True, type='CascadeRPNHead', stages=[stage]),
                                     neck=dict(type='NASFPN', add_extra_convs=True))))
    m = out["model"]
    assert m["rpn_head"]["stages"] == [dict(type='StageCascadeRPNHead', in_channels=256)]
    assert "add_extra_convs" not in m["neck"] and "data_preprocessor" not in m


def test_renamed_args_and_merged_heads():
    out, _ = convert(dict(model=dict(
        type='YOLACT', neck=dict(type='CTResNetNeck', in_channel=512),
        mask_head=dict(type='YOLACTProtonet', num_classes=80),
        segm_head=dict(type='YOLACTSegmHead', num_classes=80, in_channels=256,
                       loss_segm=dict(type='CrossEntropyLoss', use_sigmoid=True)))))
    m = out["model"]
    assert m["neck"] == dict(type='CTResNetNeck', in_channels=512)
    assert "segm_head" not in m
    assert m["mask_head"] == dict(type='YOLACTProtonet', num_classes=80, with_seg_branch=True,
                                  loss_segm=dict(type='CrossEntropyLoss', use_sigmoid=True))


def test_a_square_pad_in_test_time_augmentation_is_kept():
    pad = dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0)))
    test = [dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(416, 416), flip=False, transforms=[
                dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'), pad,
                dict(type='Pad', size_divisor=32), dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img'])])]
    out, _ = convert(dict(test_pipeline=test))
    assert [t["type"] for t in out["test_pipeline"]] == ["LoadImageFromFile", "Resize", "LoadAnnotations", "Pad",
                                                         "PackDetInputs"]
    assert out["test_pipeline"][3] == pad


def test_a_panoptic_evaluation_of_boxes_and_masks_gets_an_instance_evaluator():
    val = dict(type='CocoPanopticDataset', ann_file='a/panoptic_val.json', img_prefix='val/', seg_prefix='a/pan/',
               ins_ann_file='a/instances_val.json', pipeline=[])
    out, _ = convert(dict(data=dict(val=val, test=val), evaluation=dict(interval=1, metric=['PQ', 'bbox', 'segm'])))
    assert out["val_evaluator"] == [
        dict(type='CocoPanopticMetric', ann_file='a/panoptic_val.json', seg_prefix='a/pan/'),
        dict(type='CocoMetric', ann_file='a/instances_val.json', metric=['bbox', 'segm'], format_only=False)]
    assert "ins_ann_file" not in out["val_dataloader"]["dataset"]
    out, _ = convert(dict(data=dict(val=val), evaluation=dict(metric='PQ')))
    assert out["val_evaluator"]["type"] == "CocoPanopticMetric"
