# Stage 2: domain fine-tuning on KAIST (infrared) from the stage-1 LLVIP checkpoint, done right.
#
# Differences from stage2_kaist_domain_ft.py (the recipe as first written):
#   * the backbone is truly frozen: ResNet `frozen_stages=4` sets requires_grad=False on the stem
#     and all four stages and `norm_eval=True` keeps its BatchNorm statistics fixed;
#     `FreezeModulesHook` states the same intent for the runner (and would freeze any other
#     backbone type). No `lr_mult=0.0` trick in `paramwise_cfg`.
#   * `load_from` points at the checkpoint stage 1 actually writes: stage1_llvip_pretrain.py
#     saves `work_dirs/stage1_llvip_pretrain/latest.pth` (run stage 1 first).
#   * the backbone has no ImageNet `init_cfg`: all weights come from the stage-1 checkpoint, so
#     nothing is downloaded.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['detector'], allow_failed_imports=False)

# ---------------------------------------------------------------- model
model = dict(
    type='MultiSpectralFasterRCNN',
    primary_modality='infrared',
    backbone=dict(frozen_stages=4, norm_eval=True, init_cfg=None),
    neck=dict(
        type='MSPFPN',
        msp_module=dict(type='MSPReweight', channels=256, kernel_size=3, alpha_init=0.5)),
    roi_head=dict(
        type='MACLRoIHead',
        bbox_head=dict(num_classes=1),
        macl_head=dict(
            type='MACLHead', in_dim=256, hidden_dim=128, proj_dim=128, tau=0.07,
            positive_mode='auto'),
        dhn_sampler=dict(type='DHNSampler', queue_size=8192, top_k=256, momentum=0.99),
        domain_classifier=dict(
            type='DomainClassifier', in_dim=256, hidden_dim=128, domains=('llvip', 'kaist'),
            default_domain='kaist', grl_strength=1.0),
        lambda1=1.0,  # MACL
        lambda2=0.5,  # DHN
        lambda3=0.1,  # domain
    ))

# ---------------------------------------------------------------- data
dataset_type = 'KAISTDataset'
data_root = 'data/KAIST_processed/'
train_pipeline = [
    dict(type='LoadMultiSpectralImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(640, 512), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackMultiSpectralDetInputs'),
]
test_pipeline = [
    dict(type='LoadMultiSpectralImageFromFile'),
    dict(type='Resize', scale=(640, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackMultiSpectralDetInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        modality='infrared',
        return_modality_pair=False,
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        modality='infrared',
        return_modality_pair=False,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        modality='infrared',
        return_modality_pair=False,
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=3e-4, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=12, eta_min=1e-6, by_epoch=True, begin=0, end=12)
]
custom_hooks = [
    dict(type='FreezeModulesHook', modules=['backbone'], norm_eval=True),
    # checkpoints loadable by torch.load(weights_only=True), the default since PyTorch 2.6
    dict(type='WeightsOnlyCheckpointHook'),
]

load_from = './work_dirs/stage1_llvip_pretrain/latest.pth'
