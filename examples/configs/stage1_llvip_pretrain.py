# Stage 1: pretraining on LLVIP (paired visible + infrared, low light) with every module on:
# MSP in the neck, MACL with cross-modal positives, DHN hard negatives, domain classifier.
#
# Training samples are visible/infrared pairs that go through the pipeline together (stacked on
# the channel axis, so Resize/RandomFlip act identically on both); detection losses use the
# infrared image, MACL/DHN/domain losses the RoIs of both. Validation runs on infrared only.
#
# The checkpoint is saved as `<work_dir>/latest.pth` (overwritten each epoch; with the default
# work dir: work_dirs/stage1_llvip_pretrain/latest.pth), which stage 2 loads.
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
    modalities=('visible', 'infrared'),
    data_preprocessor=dict(type='MultiSpectralDataPreprocessor'),
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
            default_domain='llvip', grl_strength=1.0),
        lambda1=1.0,  # MACL
        lambda2=0.5,  # DHN
        lambda3=0.1,  # domain
    ))

# ---------------------------------------------------------------- data
dataset_type = 'LLVIPDataset'
data_root = 'data/LLVIP/'
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
        return_modality_pair=True,
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
        split='test',
        modality='infrared',
        return_modality_pair=False,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
# schedule_1x: 12 epochs, linear warm-up, steps at epochs 8 and 11; lr scaled from 0.02 @ 16 images.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0025, momentum=0.9, weight_decay=1e-4))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, filename_tmpl='latest.pth'))
# checkpoints loadable by torch.load(weights_only=True), the default since PyTorch 2.6
custom_hooks = [dict(type='WeightsOnlyCheckpointHook')]
