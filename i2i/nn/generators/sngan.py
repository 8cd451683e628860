"""ResNet generator of SNGAN (Miyato et al. 2018) / the projection-discriminator paper: z through
a linear layer to a 4x4 map, then residual blocks that each upsample x2 (BN-ReLU-nearest
upsample-3x3 conv-BN-ReLU-3x3 conv, plus an upsampled 1x1-conv shortcut), then BN-ReLU-3x3
conv-tanh. Channels halve per block from ngf * 2^blocks to ngf; any power-of-two size >= 8.
Class-conditional through conditional batch norm (norm=conditional_batch, as in the paper) or an
embedding concatenated to z."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...registry import GENERATORS
from ..attention import attention_at, check_attention
from ..class_condition import ClassInput
from ..conditional import CONDITIONAL_NORMS, CondSequential, Conditional
from ..layers import make_norm
from .dcgan import doubling_stages


class UpBlock(Conditional):
    def __init__(self, in_ch: int, out_ch: int, norm: str, cond_dim: int):
        super().__init__()
        self.main = CondSequential(make_norm(norm, in_ch, cond_dim), nn.ReLU(), nn.Upsample(scale_factor=2),
                                   nn.Conv2d(in_ch, out_ch, 3, padding=1), make_norm(norm, out_ch, cond_dim),
                                   nn.ReLU(), nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(x, cond) + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class SNGANGenerator(nn.Module):
    def __init__(self, out_ch: int, image_size: int, z_dim: int = 100, ngf: int = 64, norm: str = "batch",
                 attention: int = 0, num_classes: int = 0, codes: int = 0, class_input: str = "concat"):
        super().__init__()
        blocks = doubling_stages(image_size)
        check_attention(attention, [8 * 2 ** k for k in range(blocks)], "generator")
        self.z_dim, self.codes = z_dim, codes
        self.label = ClassInput(num_classes, norm, z_dim + codes, class_input)
        ch = ngf * 2 ** blocks
        self.start_channels = ch
        self.linear = nn.Linear(z_dim + codes + self.label.extra_inputs, 16 * ch)
        layers, size = [], 4
        for _ in range(blocks):
            layers.append(UpBlock(ch, ch // 2, norm, self.label.cond_dim))
            ch, size = ch // 2, size * 2
            layers += attention_at(size, attention, ch)
        layers += [make_norm("batch" if norm in CONDITIONAL_NORMS else norm, ch), nn.ReLU()]  # the last norm is unconditional
        self.body = CondSequential(*layers)
        self.output_conv = nn.Conv2d(ch, out_ch, 3, padding=1)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        z, cond = self.label(z, label)
        h = self.linear(z).view(z.size(0), self.start_channels, 4, 4)
        return torch.tanh(self.output_conv(self.body(h, cond)))


@GENERATORS.register("sngan")
def sngan_generator(out_ch: int, image_size: int = 32, num_classes: int = 0, codes: int = 0, z_dim: int = 100,
                    ngf: int = 64, norm: str = "batch", attention: int = 0, class_input: str = "concat") -> SNGANGenerator:
    return SNGANGenerator(out_ch, image_size, z_dim, ngf, norm, attention, num_classes, codes, class_input)
