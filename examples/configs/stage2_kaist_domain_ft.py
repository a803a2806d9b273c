# Stage 2: domain fine-tuning on KAIST (infrared), starting from the stage-1 LLVIP checkpoint.
#
# This is the configuration as it was written for the audited run, defects included:
#   * the backbone is "frozen" only through `paramwise_cfg` `lr_mult=0.0`: its parameters still
#     require gradients (frozen_stages=1 freezes just the stem and layer1, 0.23 M of 23.51 M), so
#     they take part in backward (time and memory) and only the zero learning rate of this one
#     optimizer group keeps them fixed;
#   * `load_from` names `epoch_latest.pth`, a file mmengine never writes (its CheckpointHook
#     writes `epoch_{N}.pth`), so a run stops at start-up when it tries to load it.
# It builds and runs; `stage2_kaist_domain_ft_fixed.py` is the corrected recipe.
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
    # backbone: the stock ResNet-50 (frozen_stages=1, norm_eval=True, torchvision init)
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
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=3e-4, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0)}))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=12, eta_min=1e-6, by_epoch=True, begin=0, end=12)
]

load_from = './work_dirs/stage1_llvip_pretrain/epoch_latest.pth'
