"""MACL: modality-aware contrastive learning on pooled RoI features."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from ..errors import PairedBatchError

POSITIVE_MODES = ('auto', 'modality', 'instance')


def build_projection(in_dim: int, hidden_dim: int, proj_dim: int) -> nn.Sequential:
    """The projection MLP shared by :class:`MACLHead` and the momentum copy in ``DHNSampler``.

    ``Linear(in_dim, hidden_dim), BatchNorm1d(hidden_dim), ReLU, Linear(hidden_dim, proj_dim)``,
    so the parameter names are ``0.weight``, ``0.bias``, ``1.weight``, ``1.bias``, ``3.weight``,
    ``3.bias``.
    """
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim),
        nn.BatchNorm1d(hidden_dim),
        nn.ReLU(inplace=True),
        nn.Linear(hidden_dim, proj_dim),
    )


def pool_roi_features(feats: Tensor) -> Tensor:
    """(N, C, H, W) RoI features to (N, C) by global average pooling; (N, C) passes through."""
    if feats.dim() == 4:
        return feats.mean(dim=(2, 3))
    if feats.dim() == 2:
        return feats
    raise ValueError(f'RoI features must be (N, C, H, W) or (N, C), got shape {tuple(feats.shape)}')


def run_projection(proj: nn.Module, x: Tensor) -> Tensor:
    """Apply ``proj`` and L2-normalize. A single row in training mode is projected with the
    BatchNorm running statistics instead of failing on a one-element batch."""
    if x.size(0) == 1 and proj.training:
        proj.eval()
        try:
            z = proj(x)
        finally:
            proj.train()
    else:
        z = proj(x)
    return F.normalize(z, dim=1)


@MODELS.register_module()
class MACLHead(BaseModule):
    """Modality-aware contrastive head.

    Projects pooled RoI features through ``proj`` (Linear, BatchNorm1d, ReLU, Linear), L2
    normalizes them and computes an InfoNCE loss with a learnable temperature ``tau``.

    Positives, chosen by ``positive_mode``:

    - ``'modality'``: the same RoI (same proposal box) pooled from the other modality's features.
      The loss is symmetric InfoNCE over the two modalities. Other RoIs of the same ground-truth
      instance are left out of the denominator (they are not negatives). Needs a paired batch.
    - ``'instance'``: RoIs assigned to the same ground-truth instance, including the embedding of
      the ground-truth box itself, so every foreground RoI has at least one positive. Background
      RoIs act as negatives only (supervised-contrastive form). In a paired batch the RoIs of both
      modalities take part.
    - ``'auto'`` (default): ``'modality'`` when the batch is paired, else ``'instance'``.

    Args:
        in_dim (int): Channels of the pooled RoI features. Default 256.
        hidden_dim (int): Hidden width of the projection. Default 128.
        proj_dim (int): Embedding size. Default 128.
        tau (float): Initial temperature. Default 0.07.
        min_tau (float): Lower bound applied to ``tau`` when it is used, keeping it positive.
        max_tau (float): Upper bound applied to ``tau`` when it is used.
        positive_mode (str): ``'auto'``, ``'modality'`` or ``'instance'``.
    """

    def __init__(self,
                 in_dim: int = 256,
                 hidden_dim: int = 128,
                 proj_dim: int = 128,
                 tau: float = 0.07,
                 min_tau: float = 0.01,
                 max_tau: float = 1.0,
                 positive_mode: str = 'auto',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if positive_mode not in POSITIVE_MODES:
            raise ValueError(f'MACLHead: positive_mode must be one of {POSITIVE_MODES}, '
                             f'got {positive_mode!r}')
        if not 0 < min_tau <= tau <= max_tau:
            raise ValueError(f'MACLHead: need 0 < min_tau <= tau <= max_tau, got '
                             f'min_tau={min_tau}, tau={tau}, max_tau={max_tau}')
        self.in_dim = in_dim
        self.hidden_dim = hidden_dim
        self.proj_dim = proj_dim
        self.min_tau = float(min_tau)
        self.max_tau = float(max_tau)
        self.positive_mode = positive_mode
        self.proj = build_projection(in_dim, hidden_dim, proj_dim)
        self.tau = nn.Parameter(torch.tensor(float(tau)))

    @property
    def temperature(self) -> Tensor:
        """``tau`` clamped to ``[min_tau, max_tau]`` (always positive; differentiable inside)."""
        return self.tau.clamp(min=self.min_tau, max=self.max_tau)

    def embed(self, feats: Tensor) -> Tensor:
        """Pool (if needed), project and L2-normalize RoI features: (N, ...) -> (N, proj_dim)."""
        return run_projection(self.proj, pool_roi_features(feats))

    def resolve_mode(self, paired: bool) -> str:
        if self.positive_mode == 'auto':
            return 'modality' if paired else 'instance'
        if self.positive_mode == 'modality' and not paired:
            raise PairedBatchError(
                "MACLHead(positive_mode='modality') needs paired batches (each sample a visible "
                'and an infrared image, e.g. a dataset with return_modality_pair=True), but the '
                "batch holds a single modality; use positive_mode='auto' or 'instance'.")
        return self.positive_mode

    # ------------------------------------------------------------------ losses on embeddings
    def paired_loss(self, z_a: Tensor, z_b: Tensor, instance_ids: Optional[Tensor] = None) -> Tensor:
        """Symmetric InfoNCE: row ``i`` of ``z_a`` has row ``i`` of ``z_b`` as its positive.

        ``instance_ids`` (N,), optional: pairs (i, j != i) with the same non-negative id are
        removed from the denominators.
        """
        if z_a.shape != z_b.shape:
            raise PairedBatchError(f'MACLHead: paired embeddings differ in shape: '
                                   f'{tuple(z_a.shape)} vs {tuple(z_b.shape)}')
        n = z_a.size(0)
        if n == 0:
            return z_a.sum() * 0 + self.tau * 0
        logits = z_a @ z_b.t() / self.temperature
        if instance_ids is not None:
            same = (instance_ids[:, None] == instance_ids[None, :]) & (instance_ids[:, None] >= 0)
            same.fill_diagonal_(False)
            logits = logits.masked_fill(same, float('-inf'))
        target = torch.arange(n, device=z_a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))

    def instance_loss(self, z: Tensor, instance_ids: Tensor, anchor_mask: Tensor) -> Tensor:
        """Supervised-contrastive InfoNCE over candidates ``z`` (M, D).

        Anchors are the rows selected by ``anchor_mask``; the positives of an anchor are the other
        rows with the same instance id; the denominator runs over every other row. Anchors without
        a positive are skipped.
        """
        anchor_idx = anchor_mask.nonzero(as_tuple=False).squeeze(1)
        if anchor_idx.numel() == 0 or z.size(0) < 2:
            return z.sum() * 0 + self.tau * 0
        za = z[anchor_idx]
        logits = za @ z.t() / self.temperature
        rows = torch.arange(anchor_idx.numel(), device=z.device)
        self_mask = torch.zeros_like(logits, dtype=torch.bool)
        self_mask[rows, anchor_idx] = True
        pos = (instance_ids[anchor_idx][:, None] == instance_ids[None, :]) & ~self_mask
        log_prob = logits.masked_fill(self_mask, float('-inf')).log_softmax(dim=1)
        n_pos = pos.sum(dim=1)
        has_pos = n_pos > 0
        if not bool(has_pos.any()):
            return z.sum() * 0 + self.tau * 0
        mean_log_pos = log_prob.masked_fill(~pos, 0.0).sum(dim=1) / n_pos.clamp(min=1)
        return -mean_log_pos[has_pos].mean()

    # ------------------------------------------------------------------ loss on RoI features
    def loss(self,
             roi_feats: Tensor,
             instance_ids: Tensor,
             aux_roi_feats: Optional[Tensor] = None,
             gt_feats: Optional[Tensor] = None,
             gt_ids: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """MACL loss from RoI features.

        Args:
            roi_feats: (N, C[, H, W]) features of the sampled RoIs (primary modality).
            instance_ids: (N,) ground-truth instance id of each RoI (unique over the batch) for
                foreground RoIs, a unique negative id for background RoIs.
            aux_roi_feats: the same RoIs pooled from the other modality (paired batches).
            gt_feats, gt_ids: features and instance ids of the ground-truth boxes (used by the
                instance mode as guaranteed positives).

        Returns:
            (loss, z, z_aux): the unweighted loss and the embeddings of the primary RoIs and, in
            a paired batch, of the other modality's RoIs.
        """
        paired = aux_roi_feats is not None
        mode = self.resolve_mode(paired)
        n = roi_feats.size(0)
        parts = [roi_feats]
        if paired:
            parts.append(aux_roi_feats)
        use_gt = mode == 'instance' and gt_feats is not None and gt_feats.size(0) > 0
        if use_gt:
            parts.append(gt_feats)
        z_all = self.embed(torch.cat(parts, dim=0))
        z = z_all[:n]
        z_aux = z_all[n:2 * n] if paired else None
        if mode == 'modality':
            return self.paired_loss(z, z_aux, instance_ids), z, z_aux
        ids = [instance_ids] + ([instance_ids] if paired else [])
        anchors = [instance_ids >= 0] + ([instance_ids >= 0] if paired else [])
        if use_gt:
            ids.append(gt_ids)
            anchors.append(torch.zeros_like(gt_ids, dtype=torch.bool))
        loss = self.instance_loss(z_all, torch.cat(ids), torch.cat(anchors))
        return loss, z, z_aux

    def extra_repr(self) -> str:
        return f'positive_mode={self.positive_mode!r}, min_tau={self.min_tau}, max_tau={self.max_tau}'
