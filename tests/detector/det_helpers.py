"""Helpers of the detector tests: config paths, model building, auditor-style batches."""
import logging
import os.path as osp
import sys

import torch
from mmengine.logging import MMLogger

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'examples', 'configs')
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def quiet_mmengine() -> None:
    """Keep ``init_weights`` from printing one line per parameter."""
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)


def config_path(name: str) -> str:
    return osp.join(CONFIGS, name)


def load_config(name: str):
    from mmengine.config import Config
    cfg = Config.fromfile(config_path(name))
    cfg.model.backbone.init_cfg = None  # never download the ImageNet weights in tests
    return cfg


def build_model(name: str, seed: int = 0, rcnn_samples: int = None):
    """Model of an example config on CPU, initialized, in train mode. ``rcnn_samples`` lowers the
    number of RoIs sampled per image (512 in the configs) to make a test cheaper."""
    from mmdet.registry import MODELS
    quiet_mmengine()
    torch.manual_seed(seed)
    cfg = load_config(name)
    if rcnn_samples is not None:
        cfg.model.train_cfg.rcnn.sampler.num = rcnn_samples
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return model, cfg


def auditor_batch(h: int = 96, w: int = 160, n: int = 2, seed: int = 0, **extra_meta) -> dict:
    """A plain mmdet batch like the auditor's: uint8 images, complete geometric metainfo, no
    ``modality``/``domain`` keys (unless given in ``extra_meta``)."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g))
        meta = dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0), pad_shape=(h, w))
        meta.update(extra_meta)
        ds = DetDataSample(metainfo=meta)
        gt = InstanceData()
        gt.bboxes = torch.tensor([[8.0 + i, 10.0, 48.0, 84.0], [84.0, 6.0, 124.0 - i, 90.0]])
        gt.labels = torch.zeros(2, dtype=torch.long)
        ds.gt_instances = gt
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)
