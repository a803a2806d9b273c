"""A model and a dataset small enough to train in a real mmengine Runner in about a second:
the rule fixtures of the training tier (DA9xx) run DetAuditHook inside such a training
(``tests/fixtures/rules/_base_/tiny_training.py``).

``TinyRunModel`` is a two-layer regressor with a BatchNorm in its ``backbone``, a main
``head`` (``loss_reg``) and an ``aux`` head (``loss_aux``); its options make the run go
wrong in the ways the rules look for.
"""
from __future__ import annotations

import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, MODELS
from torch import nn
from torch.utils.data import Dataset


@MODELS.register_module()
class TinyRunModel(BaseModel):
    """Args:
        frozen_backbone: ``requires_grad=False`` on the backbone and its BatchNorm in eval.
        norm_eval: the backbone's BatchNorm in eval mode (its statistics do not move).
        unused_head: an extra head whose output no loss uses.
        nan_from: from this iteration (1-based) on, ``loss_reg`` is NaN.
        aux_weight: the weight of ``loss_aux`` (0 keeps it at exactly 0.0).
        aux_until: after this iteration, ``loss_aux`` is no longer returned.
    """

    def __init__(self, frozen_backbone=False, norm_eval=False, unused_head=False, nan_from=None, aux_weight=1.0,
                 aux_until=None, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        torch.manual_seed(0)
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
        self.head = nn.Linear(8, 1)
        self.aux = nn.Linear(8, 1)
        self.unused = nn.Linear(8, 1) if unused_head else None
        self.frozen_backbone, self.norm_eval = frozen_backbone, norm_eval or frozen_backbone
        self.nan_from, self.aux_weight, self.aux_until = nan_from, aux_weight, aux_until
        if frozen_backbone:
            for p in self.backbone.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.norm_eval:
            self.backbone.eval()
        return self

    def forward(self, inputs, targets=None, mode="tensor"):
        x = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        feats = self.backbone(x)
        pred = self.head(feats).squeeze(1)
        if mode != "loss":
            return pred
        iteration = (MessageHub.get_current_instance().get_info("iter") or 0) + 1
        target = torch.stack(targets) if isinstance(targets, (list, tuple)) else targets
        losses = {"loss_reg": ((pred - target) ** 2).mean()}
        if self.nan_from is not None and iteration >= self.nan_from:
            losses["loss_reg"] = losses["loss_reg"] * float("nan")
        if self.aux_until is None or iteration <= self.aux_until:
            losses["loss_aux"] = self.aux(feats).pow(2).mean() * self.aux_weight
        return losses


@DATASETS.register_module()
class TinyRunDataset(Dataset):
    def __init__(self, length: int = 32):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(length, 4, generator=g)
        self.y = self.x.sum(1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])
