"""PatchGAN and PixelGAN discriminators (pix2pix): classify each N x N patch as real/fake.

Every discriminator returns a list over scales of lists of features whose last entry is
the prediction map, so adversarial losses and feature matching treat all of them alike.
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers import conv_bias, make_norm
from ...registry import DISCRIMINATORS


class FeatureSequence(nn.Module):
    """Runs stages in order and keeps every stage's output (for feature matching)."""

    def __init__(self, stages: list[nn.Module]):
        super().__init__()
        self.stages = nn.ModuleList(nn.Sequential(*s) if isinstance(s, list) else s for s in stages)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return [feats]


HEADS = ("pix2pix", "munit", "pix2pixhd", "spade")


@DISCRIMINATORS.register("patch")
def patch_discriminator(in_ch: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch",
                        head: str = "pix2pix") -> FeatureSequence:
    """n_layers=3 gives the 70x70 PatchGAN. `head`: pix2pix (a stride-1 4x4 conv stage, then a
    4x4 conv to the prediction), munit (MUNIT/UNIT: n_layers stride-2 convs, then a 1x1 conv),
    pix2pixhd (pix2pix's layers with padding 2, every conv with a bias) or spade (pix2pixhd's,
    the normed convs without bias and with spectral norm; SPADE's n_layers_D 4 counts the
    stride-1 stage, so it is n_layers 3 here)."""
    if head not in HEADS:
        raise ValueError(f"head '{head}': choose {', '.join(HEADS)}")
    bias = conv_bias(norm)
    pad = 2 if head in ("pix2pixhd", "spade") else 1
    if head == "pix2pixhd":
        bias = True
    elif head == "spade":
        bias = norm == "none"
    sn = nn.utils.parametrizations.spectral_norm if head == "spade" else (lambda m: m)
    stages = [[nn.Conv2d(in_ch, ndf, 4, stride=2, padding=pad), nn.LeakyReLU(0.2, True)]]
    if head == "munit":
        for n in range(1, n_layers):
            stages.append([nn.Conv2d(ndf * 2 ** (n - 1), ndf * 2 ** n, 4, stride=2, padding=1, bias=bias),
                           make_norm(norm, ndf * 2 ** n), nn.LeakyReLU(0.2, True)])
        stages.append([nn.Conv2d(ndf * 2 ** (n_layers - 1), 1, 1)])
        return FeatureSequence(stages)
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2 ** n, 8)
        stride = 2 if n < n_layers else 1
        stages.append([sn(nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=pad, bias=bias)),
                       make_norm(norm, ndf * mult), nn.LeakyReLU(0.2, True)])
    stages.append([nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=pad)])
    net = FeatureSequence(stages)
    net.has_spectral_norm = head == "spade"
    return net


@DISCRIMINATORS.register("pixel")
def pixel_discriminator(in_ch: int, ndf: int = 64, norm: str = "batch") -> FeatureSequence:
    """1x1 PatchGAN: judges colour statistics only, no spatial structure."""
    bias = conv_bias(norm)
    return FeatureSequence([
        [nn.Conv2d(in_ch, ndf, 1), nn.LeakyReLU(0.2, True)],
        [nn.Conv2d(ndf, ndf * 2, 1, bias=bias), make_norm(norm, ndf * 2), nn.LeakyReLU(0.2, True)],
        [nn.Conv2d(ndf * 2, 1, 1, bias=bias)],
    ])
