"""DCGAN generator (Radford et al. 2016): z as a 1x1 map, a 4x4 transposed conv to 4x4, then
stride-2 4x4 transposed convs, each halving the channels and doubling the size, batch norm and
ReLU between, no biases, tanh out. 64 px, nz 100, ngf 64, RGB: 3,576,704 parameters; any
power-of-two size >= 8 (32 px digits: three x2 stages). Class-conditional through `ClassInput`
(an embedding concatenated to z, or conditional batch norm when norm=conditional_batch); InfoGAN
codes are extra inputs (`codes`)."""
from __future__ import annotations

import torch
from torch import nn

from ...registry import GENERATORS
from ..attention import attention_at, check_attention
from ..class_condition import ClassInput
from ..conditional import CondSequential
from ..layers import make_norm


def doubling_stages(image_size: int) -> int:
    """x2 stages from 4x4 to image_size (a power of two >= 8)."""
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image size {image_size} px: networks that grow from 4x4 need a power of two >= 8 "
                         f"(e.g. --crop-size 32 or 64)")
    return image_size.bit_length() - 3


class DCGANGenerator(nn.Module):
    def __init__(self, out_ch: int, image_size: int, z_dim: int = 100, ngf: int = 64, norm: str = "batch",
                 attention: int = 0, num_classes: int = 0, codes: int = 0, class_input: str = "concat"):
        super().__init__()
        stages = doubling_stages(image_size)
        check_attention(attention, [4 * 2 ** k for k in range(stages)], "generator")
        self.z_dim, self.codes = z_dim, codes
        self.label = ClassInput(num_classes, norm, z_dim + codes, class_input)
        ch, size = ngf * 2 ** (stages - 1), 4
        bias = norm == "none"  # every other norm has its own shift
        layers = [nn.ConvTranspose2d(z_dim + codes + self.label.extra_inputs, ch, 4, 1, 0, bias=bias),
                  make_norm(norm, ch, self.label.cond_dim), nn.ReLU(True), *attention_at(size, attention, ch)]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=bias), make_norm(norm, ch // 2, self.label.cond_dim),
                       nn.ReLU(True)]
            ch, size = ch // 2, size * 2
            layers += attention_at(size, attention, ch)
        self.body = CondSequential(*layers)
        self.output_conv = nn.ConvTranspose2d(ch, out_ch, 4, 2, 1, bias=False)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        z, cond = self.label(z, label)
        return torch.tanh(self.output_conv(self.body(z[:, :, None, None], cond)))


@GENERATORS.register("dcgan")
def dcgan_generator(out_ch: int, image_size: int = 64, num_classes: int = 0, codes: int = 0, z_dim: int = 100,
                    ngf: int = 64, norm: str = "batch", attention: int = 0, class_input: str = "concat") -> DCGANGenerator:
    return DCGANGenerator(out_ch, image_size, z_dim, ngf, norm, attention, num_classes, codes, class_input)
