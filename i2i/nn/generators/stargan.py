"""StarGAN's generator (Choi et al. 2018): one network for every domain. The target domain
(or attribute vector) is tiled into constant maps and concatenated with the image, then the
CycleGAN-style body runs: 7x7 conv, two stride-2 downsamplings, residual blocks, two
upsamplings, 7x7 conv, tanh. Instance norm with learned affine parameters, no conv biases
(as the paper's code): 8,430,528 parameters for 5 attributes at 64 channels and 6 blocks.

`norm: conditional_instance` also feeds the target to every norm layer (i2i/nn/conditional.py):
the paper's instance norm erases the tiled label maps everywhere but within a few pixels of the
borders, so on images wider than the receptive field the interior ignores the target."""
from __future__ import annotations

import torch
from torch import nn

from ..conditional import CondSequential, Conditional
from ..layers import make_norm, upsample_conv
from ...registry import GENERATORS


class StarResidualBlock(Conditional):
    def __init__(self, ch: int, norm: str, cond_dim: int):
        super().__init__()
        self.body = CondSequential(nn.Conv2d(ch, ch, 3, padding=1, bias=False), make_norm(norm, ch, cond_dim),
                                   nn.ReLU(True),
                                   nn.Conv2d(ch, ch, 3, padding=1, bias=False), make_norm(norm, ch, cond_dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return x + self.body(x, c)


class StarGANGenerator(nn.Module):
    size_multiple = 4  # two stride-2 stages

    def __init__(self, in_ch: int = 3, out_ch: int = 3, cond_dim: int = 5, ngf: int = 64, num_blocks: int = 6,
                 norm: str = "instance_affine", upsample: str = "transpose", final_act: str = "tanh"):
        super().__init__()

        def norm_(ch):
            return make_norm(norm, ch, cond_dim)

        layers = [nn.Conv2d(in_ch + cond_dim, ngf, 7, padding=3, bias=False), norm_(ngf), nn.ReLU(True)]
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 4, stride=2, padding=1, bias=False), norm_(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [StarResidualBlock(ch, norm, cond_dim) for _ in range(num_blocks)]
        for _ in range(2):
            layers += [upsample_conv(ch, ch // 2, upsample, bias=False, kernel=4), norm_(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers.append(nn.Conv2d(ch, out_ch, 7, padding=3, bias=False))
        if final_act == "tanh":
            layers.append(nn.Tanh())
        self.model = CondSequential(*layers)

    @property
    def output_conv(self) -> nn.Module:
        return next(m for m in reversed(self.model) if isinstance(m, nn.Conv2d))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x: N x C x H x W image; c: N x cond_dim target (one-hot domain or attribute vector)."""
        maps = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.size(2), x.size(3))
        return self.model(torch.cat([x, maps], dim=1), c.to(x.dtype))


@GENERATORS.register("stargan")
def stargan_generator(in_ch: int = 3, out_ch: int = 3, cond_dim: int = 5, ngf: int = 64, num_blocks: int = 0,
                      norm: str = "instance_affine", upsample: str = "transpose",
                      final_act: str = "tanh") -> StarGANGenerator:
    """num_blocks 0 = the paper's 6."""
    return StarGANGenerator(in_ch, out_ch, cond_dim, ngf, num_blocks or 6, norm, upsample, final_act)
