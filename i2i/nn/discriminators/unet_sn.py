"""U-Net discriminator with spectral norm (Real-ESRGAN, Wang et al. 2021): a real/fake
score for every pixel, so the generator learns where its output looks wrong, not just
whether it does. Encoder of three strided convs, decoder with skip additions, spectral
norm on every conv but the first and the last. Any input size (skips are resized to fit).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from ...registry import DISCRIMINATORS


class UNetDiscriminatorSN(nn.Module):
    has_spectral_norm = True

    def __init__(self, in_ch: int = 3, ndf: int = 64):
        super().__init__()
        sn = spectral_norm
        self.conv0 = nn.Conv2d(in_ch, ndf, 3, padding=1)
        self.down = nn.ModuleList([sn(nn.Conv2d(ndf * 2 ** i, ndf * 2 ** (i + 1), 4, 2, 1, bias=False)) for i in range(3)])
        self.up = nn.ModuleList([sn(nn.Conv2d(ndf * 2 ** (i + 1), ndf * 2 ** i, 3, 1, 1, bias=False)) for i in (2, 1, 0)])
        self.conv7 = sn(nn.Conv2d(ndf, ndf, 3, 1, 1, bias=False))
        self.conv8 = sn(nn.Conv2d(ndf, ndf, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(ndf, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        skips = [act(self.conv0(x))]
        for conv in self.down:
            skips.append(act(conv(skips[-1])))
        feats, h = skips[1:], skips[-1]
        for conv, skip in zip(self.up, reversed(skips[:-1])):
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = act(conv(h)) + skip
            feats.append(h)
        h = act(self.conv8(act(self.conv7(h))))
        return [feats + [self.conv9(h)]]


@DISCRIMINATORS.register("unet_sn")
def unet_sn(in_ch: int, ndf: int = 64) -> UNetDiscriminatorSN:
    """No `norm` (spectral norm is its normalisation) and no depth knob."""
    return UNetDiscriminatorSN(in_ch, ndf)
