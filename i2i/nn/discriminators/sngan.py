"""ResNet discriminator of SNGAN (Miyato et al. 2018) with the projection head of Miyato &
Koyama 2018: an optimised first block (3x3 conv-ReLU-3x3 conv-avg pool, plus avg pool-1x1 conv
shortcut), residual blocks that halve the size down to 4x4 (ReLU-conv-ReLU-conv-avg pool, 1x1
shortcut) doubling the channels up to 8 x ndf, one more block without pooling, ReLU, sum over
positions, a linear realness output. Spectral norm on every layer, always (the method's point);
no other normalisation."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...registry import DISCRIMINATORS
from ..attention import attention_at, check_attention
from ..class_condition import ClassHeads, Judgement
from ..generators.dcgan import doubling_stages
from ..layers import apply_spectral_norm


class DownBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, down: bool, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.conv1, self.conv2 = nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch or down else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))  # the first block sees the image
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.shortcut is not None:  # pool after the 1x1 conv, except on the image (pool first: cheaper)
            s = self.shortcut(F.avg_pool2d(s, 2)) if self.first else self.shortcut(s)
            if self.down and not self.first:
                s = F.avg_pool2d(s, 2)
        return h + s


class SNGANDiscriminator(nn.Module):
    has_spectral_norm = True

    def __init__(self, in_ch: int, image_size: int, ndf: int = 64, attention: int = 0, num_classes: int = 0,
                 aux_outputs: int = 0):
        super().__init__()
        stages = doubling_stages(image_size)
        check_attention(attention, [image_size // 2 ** k for k in range(1, stages + 1)], "discriminator")
        ch, size = ndf, image_size // 2
        layers = [DownBlock(in_ch, ch, down=True, first=True), *attention_at(size, attention, ch)]
        for _ in range(stages - 1):
            out = min(ch * 2, ndf * 8)
            layers += [DownBlock(ch, out, down=True)]
            ch, size = out, size // 2
            layers += attention_at(size, attention, ch)
        layers += [DownBlock(ch, ch, down=False), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.realness = nn.Linear(ch, 1)
        self.heads = ClassHeads(ch, num_classes, aux_outputs)
        apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> Judgement:
        h = self.body(x)
        pooled = h.sum((2, 3))
        realness, logits = self.heads(self.realness(pooled), pooled, label)
        return Judgement([[h, realness]], logits)


@DISCRIMINATORS.register("sngan")
def sngan_discriminator(in_ch: int, image_size: int = 32, num_classes: int = 0, aux_outputs: int = 0,
                        ndf: int = 64, attention: int = 0) -> SNGANDiscriminator:
    return SNGANDiscriminator(in_ch, image_size, ndf, attention, num_classes, aux_outputs)
