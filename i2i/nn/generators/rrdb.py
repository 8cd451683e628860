"""RRDBNet (ESRGAN, Wang et al. 2018): residual-in-residual dense blocks, no batch norm.

Each dense block feeds every conv the concatenation of all earlier features (growth `gc`
channels per conv); three of them form an RRDB, and both levels scale their residual by 0.2
so a deep (23-block) body trains stably. The body runs at the input's resolution; the
output is reached by x2 (or x3) upsampling stages. For x1 / x2 the input can first be
pixel-unshuffled (Real-ESRGAN) so the body runs at a quarter of the output size, which is
what makes those scales affordable.

Width and depth are `model.generator.ngf` (ESRGAN's nf, default 64) and `num_blocks` (nb,
default 23); the growth is ngf / 2 (ESRGAN's gc = 32 at nf = 64).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...registry import GENERATORS
from ..layers import kaiming_scaled_, upsample_conv, upsample_factors

RESIDUAL_SCALE = 0.2


class ResidualDenseBlock(nn.Module):
    def __init__(self, nf: int, gc: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(nf + i * gc, gc if i < 4 else nf, 3, padding=1) for i in range(5))
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        for conv in self.convs:  # the reference init: kaiming scaled by 0.1
            kaiming_scaled_(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs[:-1]:
            feats.append(self.lrelu(conv(torch.cat(feats, 1))))
        return x + RESIDUAL_SCALE * self.convs[-1](torch.cat(feats, 1))


class RRDB(nn.Module):
    def __init__(self, nf: int, gc: int):
        super().__init__()
        self.blocks = nn.Sequential(*(ResidualDenseBlock(nf, gc) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.blocks(x)


class RRDBNet(nn.Module):
    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, num_blocks: int = 23, scale: int = 4,
                 upsample: str = "resize", pixel_unshuffle: bool = False, final_act: str = "none",
                 unit_range: bool = False):
        super().__init__()
        self.unit_range = unit_range
        if scale == 1 or (pixel_unshuffle and scale == 2):
            self.unshuffle = 4 // scale
        elif pixel_unshuffle:
            raise ValueError(f"pixel_unshuffle is for scale 1 or 2, not {scale}")
        else:
            self.unshuffle = 1
        self.scale, self.size_multiple = scale, self.unshuffle
        nf = ngf
        self.conv_first = nn.Conv2d(in_ch * self.unshuffle ** 2, nf, 3, padding=1)
        self.body = nn.Sequential(*(RRDB(nf, max(nf // 2, 1)) for _ in range(num_blocks)))
        self.conv_body = nn.Conv2d(nf, nf, 3, padding=1)
        self.ups = nn.ModuleList(upsample_conv(nf, nf, upsample, bias=True, factor=f)
                                 for f in upsample_factors(scale * self.unshuffle))
        self.conv_hr = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_last = nn.Conv2d(nf, out_ch, 3, padding=1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        self.final_act = final_act

    @property
    def output_conv(self) -> nn.Module:
        return self.conv_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unit_range:  # weights trained on [0, 1] images (the peers' releases)
            x = (x + 1) * 0.5
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for up in self.ups:
            feat = self.lrelu(up(feat))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        if self.unit_range:
            out = out * 2 - 1
        return torch.tanh(out) if self.final_act == "tanh" else out


@GENERATORS.register("rrdb")
def rrdb(in_ch: int = 3, out_ch: int = 3, scale: int = 4, ngf: int = 64, upsample: str = "resize",
         num_blocks: int = 0, pixel_unshuffle: bool = False, final_act: str = "none",
         unit_range: bool = False) -> RRDBNet:
    """No `norm` (ESRGAN removed batch norm) and no `dropout`; num_blocks 0 = 23. Taking
    `scale` makes it a super-resolution generator (nn/build.py)."""
    return RRDBNet(in_ch, out_ch, ngf, num_blocks or 23, scale=scale, upsample=upsample,
                   pixel_unshuffle=pixel_unshuffle, final_act=final_act, unit_range=unit_range)
