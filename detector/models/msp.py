"""MSP: multi-scale pattern reweighting of FPN outputs."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.necks import FPN
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class MSPReweight(BaseModule):
    """Spatial attention from local average and local max patterns.

    Two 1x1 convolutions map ``channels`` to one channel: one reads a local-average-pooled view
    of the feature map, the other a local-max-pooled view. ``A = sigmoid(conv_avg + conv_max)``
    and the output is ``F * (1 + alpha * A)`` with a learnable scalar ``alpha``.

    At 256 channels the module has exactly 515 parameters: ``alpha`` (1) and two convolutions
    of 256 weights plus a bias each.

    Args:
        channels (int): Channels of the feature maps. Default 256.
        kernel_size (int): Window of the local pooling (odd, stride 1, same size). Default 3.
        alpha_init (float): Initial value of ``alpha``. Default 0.5.
    """

    def __init__(self,
                 channels: int = 256,
                 kernel_size: int = 3,
                 alpha_init: float = 0.5,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'MSPReweight: kernel_size must be odd and positive, got {kernel_size}')
        self.channels = channels
        self.kernel_size = kernel_size
        self.alpha = nn.Parameter(torch.tensor(float(alpha_init)))
        self.avg_conv = nn.Conv2d(channels, 1, kernel_size=1)
        self.max_conv = nn.Conv2d(channels, 1, kernel_size=1)

    def attention(self, x: Tensor) -> Tensor:
        """The spatial attention map ``A`` in (0, 1), shape (N, 1, H, W)."""
        k = self.kernel_size
        pad = k // 2
        avg = F.avg_pool2d(x, k, stride=1, padding=pad, count_include_pad=False)
        mx = F.max_pool2d(x, k, stride=1, padding=pad)
        return torch.sigmoid(self.avg_conv(avg) + self.max_conv(mx))

    def forward(self, x: Tensor) -> Tensor:
        return x * (1 + self.alpha * self.attention(x))


@MODELS.register_module()
class MSPFPN(FPN):
    """mmdet's :class:`FPN` with one shared :class:`MSPReweight` applied to every output level.

    Takes every argument of ``FPN`` plus ``msp_module`` (a config dict; ``channels`` defaults to
    ``out_channels``). Set ``msp_module=None`` to get a plain FPN.
    """

    def __init__(self, *args, msp_module: Optional[dict] = dict(type='MSPReweight'), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if msp_module is not None:
            msp_cfg = dict(msp_module)
            msp_cfg.setdefault('type', 'MSPReweight')
            msp_cfg.setdefault('channels', self.out_channels)
            self.msp_module = MODELS.build(msp_cfg)
        else:
            self.msp_module = None

    def forward(self, inputs: Tuple[Tensor]) -> tuple:
        outs = super().forward(inputs)
        if self.msp_module is None:
            return outs
        return tuple(self.msp_module(out) for out in outs)
