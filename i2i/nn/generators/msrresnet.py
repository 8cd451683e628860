"""MSRResNet: BasicSR's "modified SRResNet", the network behind its released SRResNet and
SRGAN weights (`MSRResNet_x4`, `MSRGAN_x4`).

It is not SRGAN's paper network (nn/generators/srresnet.py): a 3x3 head, residual blocks
without batch norm (conv-ReLU-conv, as EDSR), no long skip or mid conv, LeakyReLU 0.1 around
the sub-pixel upsampling, an extra 3x3 conv before the output, and the input upscaled
bilinearly added to the result. Kept separate so those files import exactly.

`residual` switches that bilinear base (BasicSR: always on; the import sets it); `unit_range`
maps i2i's [-1, 1] to the [0, 1] the released weights were trained on. Init as BasicSR's:
Kaiming scaled by 0.1, zero biases.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...registry import GENERATORS
from ..layers import kaiming_scaled_, upsample_conv, upsample_factors


class ResBlockNoBN(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(ch, ch, 3, padding=1), nn.Conv2d(ch, ch, 3, padding=1)
        kaiming_scaled_(self.conv1), kaiming_scaled_(self.conv2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class MSRResNet(nn.Module):
    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, num_blocks: int = 16, scale: int = 4,
                 residual: bool = True, unit_range: bool = False):
        super().__init__()
        if residual and in_ch != out_ch:
            raise ValueError("the bilinear base needs equal input/output channels")
        self.scale, self.size_multiple, self.residual, self.unit_range = scale, 1, residual, unit_range
        self.conv_first = nn.Conv2d(in_ch, ngf, 3, padding=1)
        self.body = nn.Sequential(*(ResBlockNoBN(ngf) for _ in range(num_blocks)))
        self.ups = nn.ModuleList(upsample_conv(ngf, ngf, "pixelshuffle", bias=True, factor=f)
                                 for f in upsample_factors(scale))
        self.conv_hr = nn.Conv2d(ngf, ngf, 3, padding=1)
        self.conv_last = nn.Conv2d(ngf, out_ch, 3, padding=1)
        for conv in [self.conv_first, self.conv_hr, self.conv_last] + [up[0] for up in self.ups]:
            kaiming_scaled_(conv)

    @property
    def output_convs(self) -> list[nn.Module]:
        return [self.conv_last]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unit_range:  # weights trained on [0, 1] images (BasicSR's releases)
            x = (x + 1) * 0.5
        out = self.body(F.leaky_relu(self.conv_first(x), 0.1))
        for up in self.ups:
            out = F.leaky_relu(up(out), 0.1)
        out = self.conv_last(F.leaky_relu(self.conv_hr(out), 0.1))
        if self.residual:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out * 2 - 1 if self.unit_range else out


@GENERATORS.register("msrresnet")
def msrresnet(in_ch: int = 3, out_ch: int = 3, scale: int = 4, ngf: int = 64, num_blocks: int = 0,
              residual: bool = True, unit_range: bool = False) -> MSRResNet:
    """No `norm`, `upsample` (always sub-pixel) or `dropout`; num_blocks 0 = 16."""
    return MSRResNet(in_ch, out_ch, ngf, num_blocks or 16, scale=scale, residual=residual, unit_range=unit_range)
