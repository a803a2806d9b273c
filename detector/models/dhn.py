"""DHN: dynamic hard negatives from a memory queue of momentum embeddings."""
from typing import Optional, Tuple

import torch
import torch.distributed as torch_dist
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from .macl import build_projection, pool_roi_features, run_projection


def _params_to_buffers(module: nn.Module) -> None:
    """Turn every parameter of ``module`` (recursively) into a buffer of the same name.

    The module still runs (``nn.Linear`` reads ``self.weight`` from wherever it lives), it is
    saved in ``state_dict`` under the same keys, but it has no parameters: optimizers and
    parameter tables do not see it.
    """
    for mod in module.modules():
        for name, param in list(mod._parameters.items()):
            if param is None:
                continue
            del mod._parameters[name]
            mod.register_buffer(name, param.detach().clone())


def _gather_across_ranks(x: Tensor) -> Tensor:
    """Concatenate ``x`` (variable first dimension) from every rank; identity when not distributed."""
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return x
    world = torch_dist.get_world_size()
    if world == 1:
        return x
    size = torch.tensor([x.size(0)], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    torch_dist.all_gather(sizes, size)
    max_size = int(max(int(s) for s in sizes))
    padded = x.new_zeros((max_size, ) + tuple(x.shape[1:]))
    padded[:x.size(0)] = x
    chunks = [torch.zeros_like(padded) for _ in range(world)]
    torch_dist.all_gather(chunks, padded)
    return torch.cat([c[:int(s)] for c, s in zip(chunks, sizes)], dim=0)


@MODELS.register_module()
class DHNSampler(BaseModule):
    """Memory queue of past key embeddings and hard-negative InfoNCE.

    Keys come from a momentum copy of the MACL projection (``key_proj``, an exponential moving
    average with ``momentum``), held as buffers so that the parameter table is unchanged and the
    copy is saved and restored with checkpoints, like the queue itself.

    The queue keeps ``queue_size`` keys with a label each (the class label of the RoI, background
    being ``num_classes``), filled first-in-first-out. For a query with label ``y`` the candidates
    are the queue entries (plus, optionally, the current batch's keys) whose label differs from
    ``y``: entries with the query's own label are positives of the class and never negatives.
    The ``top_k`` most similar candidates are the hard negatives, and the loss is InfoNCE of the
    query against its positive key and these negatives.

    Args:
        in_dim, hidden_dim, proj_dim (int): Shape of the projection to copy; must match
            ``MACLHead`` (``MACLRoIHead`` fills them in from it).
        queue_size (int): Number of stored keys. Default 8192.
        top_k (int): Hard negatives per query. Default 256.
        momentum (float): EMA coefficient of the key projection. Default 0.99.
        temperature (float, optional): Fixed temperature of the DHN loss; ``None`` (default) uses
            the MACL head's learnable ``tau``.
    """

    def __init__(self,
                 in_dim: int = 256,
                 hidden_dim: int = 128,
                 proj_dim: int = 128,
                 queue_size: int = 8192,
                 top_k: int = 256,
                 momentum: float = 0.99,
                 temperature: Optional[float] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if queue_size < 1 or top_k < 1:
            raise ValueError(f'DHNSampler: queue_size and top_k must be positive, got '
                             f'{queue_size} and {top_k}')
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'DHNSampler: momentum must be in [0, 1), got {momentum}')
        if temperature is not None and temperature <= 0:
            raise ValueError(f'DHNSampler: temperature must be positive, got {temperature}')
        self.in_dim = in_dim
        self.hidden_dim = hidden_dim
        self.proj_dim = proj_dim
        self.queue_size = int(queue_size)
        self.top_k = int(top_k)
        self.momentum = float(momentum)
        self.temperature = temperature
        self.key_proj = build_projection(in_dim, hidden_dim, proj_dim)
        _params_to_buffers(self.key_proj)
        self.register_buffer('queue', torch.zeros(self.queue_size, proj_dim))
        self.register_buffer('queue_labels', torch.full((self.queue_size, ), -1, dtype=torch.long))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))
        self.register_buffer('key_initialized', torch.zeros(1, dtype=torch.long))

    # ------------------------------------------------------------------ momentum copy
    @torch.no_grad()
    def momentum_update(self, online: nn.Module) -> None:
        """``key = momentum * key + (1 - momentum) * online`` for every parameter of ``online``.

        The first call copies ``online`` exactly (parameters and normalization statistics).
        """
        params = dict(online.named_parameters())
        keys = dict(self.key_proj.named_buffers())
        missing = [n for n in params if n not in keys or keys[n].shape != params[n].shape]
        if missing:
            raise ValueError(f'DHNSampler: the momentum copy does not match the online projection '
                             f'(mismatched: {missing}); check in_dim/hidden_dim/proj_dim')
        if int(self.key_initialized.item()) == 0:
            for name, buf in online.named_buffers():
                if name in keys:
                    keys[name].copy_(buf)
            for name, param in params.items():
                keys[name].copy_(param.detach())
            self.key_initialized.fill_(1)
            return
        m = self.momentum
        for name, param in params.items():
            keys[name].mul_(m).add_(param.detach(), alpha=1.0 - m)

    @torch.no_grad()
    def encode_keys(self, feats: Tensor) -> Tensor:
        """Key embeddings (L2-normalized, no gradient) of RoI features."""
        return run_projection(self.key_proj, pool_roi_features(feats.detach()))

    # ------------------------------------------------------------------ queue
    @property
    def num_filled(self) -> int:
        return int((self.queue_labels >= 0).sum().item())

    @torch.no_grad()
    def enqueue(self, keys: Tensor, labels: Tensor) -> None:
        """Write keys first-in-first-out (gathered from all ranks), wrapping around the end."""
        keys = _gather_across_ranks(keys.detach())
        labels = _gather_across_ranks(labels.detach().long())
        n = keys.size(0)
        if n == 0:
            return
        if n > self.queue_size:
            keys, labels, n = keys[-self.queue_size:], labels[-self.queue_size:], self.queue_size
        ptr = int(self.queue_ptr.item())
        idx = (ptr + torch.arange(n, device=self.queue.device)) % self.queue_size
        self.queue[idx] = keys.to(self.queue.dtype)
        self.queue_labels[idx] = labels
        self.queue_ptr[0] = (ptr + n) % self.queue_size

    # ------------------------------------------------------------------ mining and loss
    def mine(self,
             queries: Tensor,
             query_labels: Tensor,
             extra_keys: Optional[Tensor] = None,
             extra_labels: Optional[Tensor] = None
             ) -> Optional[Tuple[Tensor, Tensor, Tensor, Tensor]]:
        """Hard negatives of each query among the queue (and ``extra_keys``).

        Returns ``None`` if there is no candidate at all, else ``(neg_sims, valid, index,
        cand_labels)``: the similarities (N, k) of the chosen candidates (differentiable in the
        queries), whether each chosen slot is a real negative (a query may have fewer than ``k``
        candidates of another label), the candidate indices (N, k), and the labels of all
        candidates (queue entries first, then ``extra_keys``).
        """
        filled = self.queue_labels >= 0
        cands = [self.queue[filled]]
        cand_labels = [self.queue_labels[filled]]
        if extra_keys is not None and extra_keys.numel() > 0:
            cands.append(extra_keys.detach())
            cand_labels.append(extra_labels.long())
        cand = torch.cat(cands).to(queries.dtype)
        cand_labels = torch.cat(cand_labels)
        if cand.size(0) == 0 or queries.size(0) == 0:
            return None
        sims = queries @ cand.t()
        allowed = cand_labels[None, :] != query_labels[:, None]
        k = min(self.top_k, cand.size(0))
        with torch.no_grad():
            index = sims.detach().masked_fill(~allowed, float('-inf')).topk(k, dim=1).indices
        return sims.gather(1, index), allowed.gather(1, index), index, cand_labels

    def loss(self,
             queries: Tensor,
             positive_keys: Tensor,
             query_labels: Tensor,
             tau: Optional[Tensor] = None,
             extra_keys: Optional[Tensor] = None,
             extra_labels: Optional[Tensor] = None) -> Tensor:
        """InfoNCE of each query against its positive key and its mined hard negatives."""
        if tau is None:
            if self.temperature is None:
                raise ValueError('DHNSampler.loss: no temperature given and none configured')
            tau = self.temperature
        mined = self.mine(queries, query_labels, extra_keys, extra_labels)
        if mined is None:
            return queries.sum() * 0 + (tau * 0 if torch.is_tensor(tau) else 0)
        neg_sims, valid, _, _ = mined
        pos_sims = (queries * positive_keys.detach()).sum(dim=1, keepdim=True)
        logits = torch.cat([pos_sims, neg_sims], dim=1) / tau
        invalid = torch.cat([torch.zeros_like(valid[:, :1]), ~valid], dim=1)
        logits = logits.masked_fill(invalid, float('-inf'))
        target = torch.zeros(queries.size(0), dtype=torch.long, device=queries.device)
        return F.cross_entropy(logits, target)

    def extra_repr(self) -> str:
        return (f'queue_size={self.queue_size}, top_k={self.top_k}, momentum={self.momentum}, '
                f'temperature={self.temperature}')
