"""Domain alignment: a domain classifier behind a gradient reversal layer."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor


class _GradientReversal(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor, strength: float) -> Tensor:
        ctx.strength = strength
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        return grad_output.neg() * ctx.strength, None


def grad_reverse(x: Tensor, strength: float = 1.0) -> Tensor:
    """Identity in the forward pass; multiplies the gradient by ``-strength`` in the backward pass."""
    return _GradientReversal.apply(x, float(strength))


class GradientReversalLayer(nn.Module):
    """Module form of :func:`grad_reverse`. ``strength`` may be changed during training."""

    def __init__(self, strength: float = 1.0) -> None:
        super().__init__()
        self.strength = float(strength)

    def forward(self, x: Tensor) -> Tensor:
        return grad_reverse(x, self.strength)

    def extra_repr(self) -> str:
        return f'strength={self.strength}'


@MODELS.register_module()
class DomainClassifier(BaseModule):
    """Tells the domain of pooled RoI features apart through a gradient reversal layer.

    ``classifier`` = Linear(in_dim, hidden_dim), ReLU, Dropout, Linear(hidden_dim, len(domains)).
    The classifier is trained to recognise the domain; the reversed gradient reaching the
    features pushes them toward domain invariance.

    Args:
        in_dim (int): Channels of the pooled RoI features. Default 256.
        hidden_dim (int): Hidden width. Default 128.
        domains (sequence of str): Domain names, matched against the ``domain`` metainfo of each
            sample. Default ``('llvip', 'kaist')``.
        default_domain (str or int): Domain of samples without ``domain`` metainfo. Default
            ``'kaist'``.
        grl_strength (float): Gradient reversal strength. Default 1.0.
        dropout (float): Dropout probability in the MLP. Default 0.
    """

    def __init__(self,
                 in_dim: int = 256,
                 hidden_dim: int = 128,
                 domains: Sequence[str] = ('llvip', 'kaist'),
                 default_domain: Union[str, int] = 'kaist',
                 grl_strength: float = 1.0,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.domains = tuple(str(d).lower() for d in domains)
        if len(self.domains) < 2:
            raise ValueError(f'DomainClassifier: needs at least two domains, got {self.domains}')
        if len(set(self.domains)) != len(self.domains):
            raise ValueError(f'DomainClassifier: duplicate domain names in {self.domains}')
        self.default_domain = self.domain_index(default_domain)
        self.in_dim = in_dim
        self.grl = GradientReversalLayer(grl_strength)
        self.classifier = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, len(self.domains)),
        )

    @property
    def num_domains(self) -> int:
        return len(self.domains)

    def domain_index(self, domain: Union[str, int, None]) -> int:
        """Index of a domain name (case-insensitive) or index; ``None`` gives the default."""
        if domain is None:
            return self.default_domain
        if isinstance(domain, int) and not isinstance(domain, bool):
            if 0 <= domain < len(self.domains):
                return domain
            raise ValueError(f'DomainClassifier: domain index {domain} out of range for '
                             f'domains {self.domains}')
        name = str(domain).lower()
        if name not in self.domains:
            raise ValueError(f'DomainClassifier: unknown domain {domain!r}; configured domains are '
                             f'{self.domains} (set domain_classifier.domains)')
        return self.domains.index(name)

    def forward(self, feats: Tensor) -> Tensor:
        """Domain logits (N, num_domains) of (N, in_dim) features, through gradient reversal."""
        return self.classifier(self.grl(feats))

    def loss(self, feats: Tensor, domain_labels: Tensor) -> Tensor:
        if feats.size(0) == 0:
            return sum(p.sum() * 0 for p in self.parameters())
        return F.cross_entropy(self(feats), domain_labels)
