"""SRResNet (SRGAN, Ledig et al. 2017): 16 residual blocks at low resolution, then sub-pixel
convolution (conv + pixel shuffle) to upscale.

A 9x9 conv and PReLU lift the input to 64 features; each block is conv-BN-PReLU-conv-BN
plus its input; a long skip adds the first features back after the blocks. With
`norm: none` it is the batch-norm-free variant (EDSR, ESRGAN's finding that BN brings
artefacts and costs generalisation). Width/depth: `model.generator.ngf` / `num_blocks`.
"""
from __future__ import annotations

import torch
from torch import nn

from ...registry import GENERATORS
from ..layers import conv_bias, make_norm, upsample_conv, upsample_factors


class SRResBlock(nn.Module):
    def __init__(self, ch: int, norm: str):
        super().__init__()
        bias = conv_bias(norm)
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1, bias=bias), make_norm(norm, ch), nn.PReLU(),
                                  nn.Conv2d(ch, ch, 3, padding=1, bias=bias), make_norm(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, num_blocks: int = 16, scale: int = 4,
                 norm: str = "batch", upsample: str = "pixelshuffle", final_act: str = "none"):
        super().__init__()
        self.scale, self.size_multiple, self.final_act = scale, 1, final_act
        self.head = nn.Sequential(nn.Conv2d(in_ch, ngf, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*(SRResBlock(ngf, norm) for _ in range(num_blocks)))
        self.mid = nn.Sequential(nn.Conv2d(ngf, ngf, 3, padding=1, bias=conv_bias(norm)), make_norm(norm, ngf))
        ups = []
        for f in upsample_factors(scale):
            ups += [upsample_conv(ngf, ngf, upsample, bias=True, factor=f), nn.PReLU()]
        self.ups = nn.Sequential(*ups)
        self.conv_last = nn.Conv2d(ngf, out_ch, 9, padding=4)

    @property
    def output_conv(self) -> nn.Module:
        return self.conv_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        out = self.conv_last(self.ups(feat + self.mid(self.blocks(feat))))
        return torch.tanh(out) if self.final_act == "tanh" else out


@GENERATORS.register("srresnet")
def srresnet(in_ch: int = 3, out_ch: int = 3, scale: int = 4, ngf: int = 64, norm: str = "batch",
             upsample: str = "pixelshuffle", num_blocks: int = 0, final_act: str = "none") -> SRResNet:
    """No `dropout`; num_blocks 0 = 16. Taking `scale` makes it a super-resolution generator."""
    return SRResNet(in_ch, out_ch, ngf, num_blocks or 16, scale=scale, norm=norm, upsample=upsample,
                    final_act=final_act)
