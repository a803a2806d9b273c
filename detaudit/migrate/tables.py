"""What MMDetection 2.x wrote and what 3.x reads instead: every mapping ``detaudit migrate`` uses,
as data, in one place (tests/migrate/test_tables.py checks each entry).

Facts from MMDetection's 2.x and 3.x sources and its "Migration from MMDetection 2.x to 3.x"
pages; the 3.x defaults are those of mmdet 3.3's ``configs/_base_``.
"""
from __future__ import annotations

# --------------------------------------------------------------------------- the data preprocessor
# model.data_preprocessor when a config says nothing (mmdet 3.x configs/_base_/models/*):
# ImageNet mean/std in RGB, images read as BGR, batches padded to a multiple of 32.
DEFAULT_DATA_PREPROCESSOR = {
    "type": "DetDataPreprocessor",
    "mean": [123.675, 116.28, 103.53],
    "std": [58.395, 57.12, 57.375],
    "bgr_to_rgb": True,
    "pad_size_divisor": 32,
}
# 2.x transforms whose work the 3.x data preprocessor or PackDetInputs does (removed from pipelines).
TO_PREPROCESSOR = ("Normalize", "Pad", "DefaultFormatBundle", "Collect", "ImageToTensor", "ToTensor",
                   "Transpose", "ToDataContainer", "FormatShape")
# The meta keys 3.x test pipelines pack (mmdet 3.x configs/_base_/datasets/coco_detection.py).
TEST_META_KEYS = ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")

# --------------------------------------------------------------------------- transforms
# 2.x transform type -> 3.x type, when only the name changed.
TRANSFORM_TYPES = {
    "LoadImageFromFile": "LoadImageFromFile",
    "LoadAnnotations": "LoadAnnotations",
    "LoadPanopticAnnotations": "LoadPanopticAnnotations",
    "LoadProposals": "LoadProposals",
    "LoadMultiChannelImageFromFiles": "LoadMultiChannelImageFromFiles",
    "LoadImageFromWebcam": "LoadImageFromNDArray",
    "RandomFlip": "RandomFlip",
    "PhotoMetricDistortion": "PhotoMetricDistortion",
    "Expand": "Expand",
    "MinIoURandomCrop": "MinIoURandomCrop",
    "RandomCrop": "RandomCrop",
    "Mosaic": "Mosaic",
    "MixUp": "MixUp",
    "RandomAffine": "RandomAffine",
    "YOLOXHSVRandomAug": "YOLOXHSVRandomAug",
    "FilterAnnotations": "FilterAnnotations",
    "CutOut": "CutOut",
    "Albu": "Albu",
    "RandomCenterCropPad": "RandomCenterCropPad",
    "CopyPaste": "CopyPaste",
    "SegRescale": "SegRescale",
    "RandomShift": "RandomShift",
    "Corrupt": "Corrupt",
    "InstaBoost": "InstaBoost",
}
# 2.x transform argument -> 3.x argument, per transform ("*": every transform).
TRANSFORM_ARGS = {
    "RandomFlip": {"flip_ratio": "prob"},
    "Resize": {"img_scale": "scale"},
}
# 2.x ``Resize(multiscale_mode=...)`` with several scales -> the 3.x transform and its scale argument.
MULTISCALE = {"range": ("RandomResize", "scale"), "value": ("RandomChoiceResize", "scales")}

# --------------------------------------------------------------------------- datasets and evaluators
# dataset type -> the 3.x evaluator type its 2.x ``evaluation`` becomes.
EVALUATORS = {
    "CocoDataset": "CocoMetric",
    "CityscapesDataset": "CocoMetric",
    "CocoPanopticDataset": "CocoPanopticMetric",
    "LVISV05Dataset": "LVISMetric",
    "LVISV1Dataset": "LVISMetric",
    "LVISDataset": "LVISMetric",
    "VOCDataset": "VOCMetric",
    "WIDERFaceDataset": "VOCMetric",
    "OpenImagesDataset": "OpenImagesMetric",
    "OpenImagesChallengeDataset": "OpenImagesMetric",
    "DeepFashionDataset": "CocoMetric",
    "Objects365V1Dataset": "CocoMetric",
    "Objects365V2Dataset": "CocoMetric",
}
# 2.x ``evaluation`` keys -> the evaluator's argument (None: read elsewhere or dropped).
EVALUATION_KEYS = {"metric": "metric", "classwise": "classwise", "proposal_nums": "proposal_nums",
                   "iou_thrs": "iou_thrs", "jsonfile_prefix": "outfile_prefix", "interval": None,
                   "save_best": None, "rule": None, "gpu_collect": None, "start": None, "by_epoch": None,
                   "dynamic_intervals": None, "efficient_test": None, "iou_thr": "iou_thrs"}
# VOC-style datasets evaluated with "mAP" in 2.x; 3.x's VOCMetric takes eval_mode.
VOC_EVAL_MODE = "11points"
# 2.x dataset arguments -> 3.x (None: dropped).
DATASET_ARGS = {"img_prefix": "data_prefix.img", "seg_prefix": "data_prefix.seg", "classes": "metainfo.classes",
                "filter_empty_gt": "filter_cfg.filter_empty_gt",
                "proposal_file": "proposal_file",
                "ins_ann_file": None}  # 2.x's panoptic datasets: read into the instance evaluator (INSTANCE_METRICS)
# A 2.x panoptic evaluation's metrics that 3.x computes with a second evaluator, on the instance annotations.
INSTANCE_METRICS = ("bbox", "segm")
# 3.x dataloader defaults (mmdet 3.x configs/_base_/datasets/coco_detection.py).
TRAIN_LOADER = {"persistent_workers": True, "sampler": {"type": "DefaultSampler", "shuffle": True},
                "batch_sampler": {"type": "AspectRatioBatchSampler"}}
TEST_LOADER = {"batch_size": 1, "persistent_workers": True, "drop_last": False,
               "sampler": {"type": "DefaultSampler", "shuffle": False}}
# 2.x dataset wrappers and the key that holds the wrapped dataset(s).
WRAPPERS = {"RepeatDataset": "dataset", "ClassBalancedDataset": "dataset", "ConcatDataset": "datasets",
            "MultiImageMixDataset": "dataset"}

# --------------------------------------------------------------------------- schedules
RUNNERS = {"EpochBasedRunner": ("EpochBasedTrainLoop", "max_epochs"),
           "IterBasedRunner": ("IterBasedTrainLoop", "max_iters")}
# lr_config warmup -> the mmengine scheduler that ramps up.
WARMUPS = {"linear": "LinearLR", "constant": "ConstantLR", "exp": "ExponentialLR"}
# lr_config policy -> the mmengine scheduler after warmup.
LR_POLICIES = {"step": "MultiStepLR", "CosineAnnealing": "CosineAnnealingLR", "poly": "PolyLR",
               "Fixed": None, "fixed": None}
# 2.x's YOLOX lr policy warms up quadratically ("exp" in its lr_config): mmdet 3.x's scheduler for that.
YOLOX_WARMUP = "QuadraticWarmupLR"
# optimizer_config hook types -> optim_wrapper settings.
OPTIMIZER_HOOKS = {"OptimizerHook": "OptimWrapper", "Fp16OptimizerHook": "AmpOptimWrapper",
                   "GradientCumulativeOptimizerHook": "OptimWrapper",
                   "GradientCumulativeFp16OptimizerHook": "AmpOptimWrapper"}

# --------------------------------------------------------------------------- runtime
LOGGER_BACKENDS = {"TensorboardLoggerHook": "TensorboardVisBackend", "WandbLoggerHook": "WandbVisBackend",
                   "MlflowLoggerHook": "MLflowVisBackend", "MMDetWandbHook": "WandbVisBackend",
                   "TextLoggerHook": None}
# 2.x custom hooks -> 3.x (None: 3.x has no such hook and needs none).
CUSTOM_HOOKS = {"NumClassCheckHook": "NumClassCheckHook", "SyncNormHook": "SyncNormHook", "YOLOXModeSwitchHook": "YOLOXModeSwitchHook",
                "CheckInvalidLossHook": "CheckInvalidLossHook", "SetEpochInfoHook": "SetEpochInfoHook",
                "MemoryProfilerHook": "MemoryProfilerHook"}
# 2.x EMA hooks -> 3.x EMAHook's ema_type.
EMA_HOOKS = {"ExpMomentumEMAHook": "ExpMomentumEMA", "LinearMomentumEMAHook": "ExpMomentumEMA",
             "EMAHook": "ExponentialMovingAverage"}
# 3.x runtime (mmdet 3.x configs/_base_/default_runtime.py), written where a 2.x runtime was.
DEFAULT_HOOKS = {"timer": {"type": "IterTimerHook"}, "logger": {"type": "LoggerHook", "interval": 50},
                 "param_scheduler": {"type": "ParamSchedulerHook"},
                 "checkpoint": {"type": "CheckpointHook", "interval": 1},
                 "sampler_seed": {"type": "DistSamplerSeedHook"},
                 "visualization": {"type": "DetVisualizationHook"}}
RUNTIME = {"default_scope": "mmdet", "log_processor": {"type": "LogProcessor", "window_size": 50, "by_epoch": True}}
# top-level 2.x keys 3.x has no use for (dropped, with why).
DROPPED = {"workflow": "the loops replace the workflow list", "gpu_ids": "the launcher chooses the GPUs",
           "total_epochs": "read into train_cfg.max_epochs", "img_norm_cfg": "read into model.data_preprocessor",
           "opencv_num_threads": "read into env_cfg.mp_cfg", "mp_start_method": "read into env_cfg.mp_cfg",
           "dist_params": "read into env_cfg.dist_cfg", "cudnn_benchmark": "read into env_cfg",
           "resume_from": "read into resume and load_from", "fp16": "read into optim_wrapper (AmpOptimWrapper)",
           "evaluation": "read into val_evaluator and train_cfg.val_interval",
           "optimizer_config": "read into optim_wrapper", "optimizer": "read into optim_wrapper",
           "lr_config": "read into param_scheduler", "momentum_config": "no 3.x momentum schedule written",
           "runner": "read into train_cfg", "checkpoint_config": "read into default_hooks.checkpoint",
           "log_config": "read into default_hooks.logger and visualizer", "data": "read into the dataloaders"}
# Model arguments a 2.x class took and its 3.x class does not: dropped from the model dict (a 2.x
# config that inherits them, like NAS-FPN's add_extra_convs from FPN, would not build).
# Cascade RPN's stages: 3.x chooses their sampler from train_cfg (a sampler there, else pseudo sampling).
MODEL_ARGS_REMOVED = {"NASFPN": ("add_extra_convs",), "StageCascadeRPNHead": ("sampling",)}
# Model arguments renamed in 3.x, per class.
MODEL_ARGS_RENAMED = {"CTResNetNeck": {"in_channel": "in_channels"},
                      "CenterNetHead": {"in_channel": "in_channels", "feat_channel": "feat_channels"}}
# A 2.x head that 3.x folds into another: detector type -> (2.x head, the 3.x head that takes it over, the
# keys it hands over, what the taking head is told). YOLACT's semantic segmentation head became a branch
# of its mask head (YOLACTProtonet), which takes the head's loss; the branch reads num_classes and
# in_channels from the mask head.
MERGED_HEADS = {"YOLACT": ("segm_head", "mask_head", ("loss_segm",), {"with_seg_branch": True})}
# OpenMMLab packages renamed for the 3.x generation: in custom_imports and in ``scope.Type`` types.
PACKAGES = {"mmcls": "mmpretrain"}
# Model types renamed in 3.x.
MODEL_TYPES = {"MaskHungarianAssigner": "HungarianAssigner"}
# MaskFormer / Mask2Former heads whose 2.x transformer layer sequences 3.x writes as ``layer_cfg``
# (detaudit/migrate/transformer.py), with the operation order of 3.x's encoder and decoder layers there.
_POST_NORM_ENCODER = ("self_attn", "norm", "ffn", "norm")
MASK_HEADS = {
    "MaskFormerHead": {"encoder": _POST_NORM_ENCODER,
                       "decoder": ("self_attn", "norm", "cross_attn", "norm", "ffn", "norm")},
    "Mask2FormerHead": {"encoder": _POST_NORM_ENCODER,
                        "decoder": ("cross_attn", "norm", "self_attn", "norm", "ffn", "norm")},
}
# 2.x types inside those heads that 3.x builds directly (no registry lookup, so no ``type`` key).
MASK_HEAD_BUILT_DIRECTLY = ("DetrTransformerEncoder", "DetrTransformerDecoder", "SinePositionalEncoding")
# 2.x HungarianAssigner costs, one argument each -> 3.x's ``match_costs`` list, in this order.
ASSIGNER_COSTS = ("cls_cost", "reg_cost", "iou_cost", "mask_cost", "dice_cost")
