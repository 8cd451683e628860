"""StarGAN's discriminator: a PatchGAN that also classifies the domain (an auxiliary
classifier, Odena et al. 2017). Stride-2 4x4 convs with LeakyReLU 0.01 and no norm, then two
heads on the last features: a 3x3 conv giving the realness map, and a conv whose kernel
covers the whole map (image size / 2^n_layers) giving one logit per domain or attribute.
44,762,048 parameters at 128 px, 64 channels, 6 layers, 5 attributes."""
from __future__ import annotations

import torch
from torch import nn

from ...registry import DISCRIMINATORS
from ..class_condition import Judgement


class StarGANDiscriminator(nn.Module):
    def __init__(self, in_ch: int, num_classes: int, image_size: int, ndf: int = 64, n_layers: int = 6):
        super().__init__()
        kernel = image_size // 2 ** n_layers
        if kernel < 1 or image_size % 2 ** n_layers:
            raise ValueError(f"{n_layers} stride-2 layers need crops that are a multiple of {2 ** n_layers} px "
                             f"(got {image_size}); use fewer layers (model.discriminator.n_layers) or another crop")
        layers, ch = [nn.Conv2d(in_ch, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.01)], ndf
        for _ in range(1, n_layers):
            layers += [nn.Conv2d(ch, ch * 2, 4, stride=2, padding=1), nn.LeakyReLU(0.01)]
            ch *= 2
        self.main = nn.Sequential(*layers)
        self.realness = nn.Conv2d(ch, 1, 3, padding=1, bias=False)
        self.classify = nn.Conv2d(ch, num_classes, kernel, bias=False)

    def forward(self, x: torch.Tensor) -> Judgement:
        h = self.main(x)
        return Judgement([[h, self.realness(h)]], self.classify(h).flatten(1))


@DISCRIMINATORS.register("stargan")
def stargan_discriminator(in_ch: int, num_classes: int = 5, image_size: int = 128, ndf: int = 64,
                          n_layers: int = 6) -> StarGANDiscriminator:
    return StarGANDiscriminator(in_ch, num_classes, image_size, ndf, n_layers)
