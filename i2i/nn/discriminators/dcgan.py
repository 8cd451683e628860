"""DCGAN discriminator (Radford et al. 2016): stride-2 4x4 convs doubling the channels from ndf
down to a 4x4 map, batch norm (not on the first) and LeakyReLU 0.2, no biases, then a 4x4 conv
to one realness logit. 64 px, ndf 64, RGB: 2,765,568 parameters. `num_classes` adds a projection
term, `aux_outputs` ACGAN's class logits or InfoGAN's Q outputs (class_condition.ClassHeads)."""
from __future__ import annotations

import torch
from torch import nn

from ...registry import DISCRIMINATORS
from ..attention import attention_at, check_attention
from ..class_condition import ClassHeads, Judgement
from ..generators.dcgan import doubling_stages
from ..layers import make_norm


class DCGANDiscriminator(nn.Module):
    def __init__(self, in_ch: int, image_size: int, ndf: int = 64, norm: str = "batch", attention: int = 0,
                 num_classes: int = 0, aux_outputs: int = 0):
        super().__init__()
        stages = doubling_stages(image_size)
        check_attention(attention, [image_size // 2 ** k for k in range(1, stages + 1)], "discriminator")
        bias = norm == "none"
        ch, size = ndf, image_size // 2
        layers = [nn.Conv2d(in_ch, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True), *attention_at(size, attention, ch)]
        for _ in range(stages - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=bias), make_norm(norm, ch * 2), nn.LeakyReLU(0.2, True)]
            ch, size = ch * 2, size // 2
            layers += attention_at(size, attention, ch)
        self.body = nn.Sequential(*layers)
        self.realness = nn.Conv2d(ch, 1, 4, 1, 0, bias=False)
        self.heads = ClassHeads(ch, num_classes, aux_outputs)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> Judgement:
        h = self.body(x)
        realness, logits = self.heads(self.realness(h), h.sum((2, 3)), label)
        return Judgement([[h, realness]], logits)


@DISCRIMINATORS.register("dcgan")
def dcgan_discriminator(in_ch: int, image_size: int = 64, num_classes: int = 0, aux_outputs: int = 0,
                        ndf: int = 64, norm: str = "batch", attention: int = 0) -> DCGANDiscriminator:
    return DCGANDiscriminator(in_ch, image_size, ndf, norm, attention, num_classes, aux_outputs)
