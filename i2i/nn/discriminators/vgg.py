"""VGG-style discriminator (SRGAN; ESRGAN's VGG128): one real/fake score per image.

Stages of conv3x3 + strided conv4x4 (width doubling up to 8 x ndf, batch norm after all but
the first conv), then two dense layers. The reference works on 128 px crops only (its
first dense layer expects 4x4 features); an adaptive average pool to 4x4 in front of it
keeps the weights identical at 128 px with n_layers = 5 and lets any input size through.
"""
from __future__ import annotations

from torch import nn

from ...registry import DISCRIMINATORS
from ..layers import conv_bias, make_norm
from .patch import FeatureSequence


@DISCRIMINATORS.register("vgg")
def vgg_discriminator(in_ch: int, ndf: int = 64, n_layers: int = 5, norm: str = "batch") -> FeatureSequence:
    bias = conv_bias(norm)
    act = nn.LeakyReLU(0.2, True)
    stages, prev = [], in_ch
    for i in range(n_layers):
        ch = ndf * min(2 ** i, 8)
        first = [nn.Conv2d(prev, ch, 3, padding=1, bias=True), act] if i == 0 else \
                [nn.Conv2d(prev, ch, 3, padding=1, bias=bias), make_norm(norm, ch), act]
        stages.append(first + [nn.Conv2d(ch, ch, 4, stride=2, padding=1, bias=bias), make_norm(norm, ch), act])
        prev = ch
    stages.append([nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(prev * 16, 100), act, nn.Linear(100, 1)])
    return FeatureSequence(stages)
