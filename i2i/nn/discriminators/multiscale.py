"""Multiscale discriminator (pix2pixHD, Wang et al. 2018): the same PatchGAN at num_D scales,
each judging a 2x average-pooled copy of the previous scale's input."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...registry import DISCRIMINATORS
from .patch import patch_discriminator


class MultiscaleDiscriminator(nn.Module):
    def __init__(self, in_ch: int, num_D: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
                 head: str = "pix2pix"):
        super().__init__()
        self.scales = nn.ModuleList(patch_discriminator(in_ch, ndf, n_layers, norm, head) for _ in range(num_D))
        self.has_spectral_norm = head == "spade"  # its own, on the normed convs only

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        out = []
        for i, d in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out += d(x)
        return out


@DISCRIMINATORS.register("multiscale")
def multiscale(in_ch: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
               num_D: int = 3, head: str = "pix2pix") -> MultiscaleDiscriminator:
    """head munit, n_layers 4, norm none, num_D 3: MUNIT's and UNIT's D (8,271,171 parameters);
    head pix2pixhd, norm instance, num_D 2: pix2pixHD's; head spade, the same with spectral norm:
    SPADE's (see patch_discriminator)."""
    return MultiscaleDiscriminator(in_ch, num_D, ndf, n_layers, norm, head)
