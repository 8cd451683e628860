"""StarGAN's generator (Choi et al. 2018): one network for every domain. The target domain
(or attribute vector) is tiled into constant maps and concatenated with the image, then the
CycleGAN-style body runs: 7x7 conv, two stride-2 downsamplings, residual blocks, two
upsamplings, 7x7 conv, tanh. Instance norm with learned affine parameters, no conv biases
(as the paper's code): 8,430,528 parameters for 5 attributes at 64 channels and 6 blocks."""
from __future__ import annotations

import torch
from torch import nn

from ..layers import make_norm, upsample_conv
from ...registry import GENERATORS


class StarResidualBlock(nn.Module):
    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1, bias=False), make_norm(norm, ch), nn.ReLU(True),
                                  nn.Conv2d(ch, ch, 3, padding=1, bias=False), make_norm(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StarGANGenerator(nn.Module):
    size_multiple = 4  # two stride-2 stages

    def __init__(self, in_ch: int = 3, out_ch: int = 3, cond_dim: int = 5, ngf: int = 64, num_blocks: int = 6,
                 norm: str = "instance_affine", upsample: str = "transpose", final_act: str = "tanh"):
        super().__init__()
        layers = [nn.Conv2d(in_ch + cond_dim, ngf, 7, padding=3, bias=False), make_norm(norm, ngf), nn.ReLU(True)]
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 4, stride=2, padding=1, bias=False), make_norm(norm, ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [StarResidualBlock(ch, norm) for _ in range(num_blocks)]
        for _ in range(2):
            layers += [upsample_conv(ch, ch // 2, upsample, bias=False, kernel=4), make_norm(norm, ch // 2),
                       nn.ReLU(True)]
            ch //= 2
        layers.append(nn.Conv2d(ch, out_ch, 7, padding=3, bias=False))
        if final_act == "tanh":
            layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)

    @property
    def output_conv(self) -> nn.Module:
        return next(m for m in reversed(self.model) if isinstance(m, nn.Conv2d))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x: N x C x H x W image; c: N x cond_dim target (one-hot domain or attribute vector)."""
        maps = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.size(2), x.size(3))
        return self.model(torch.cat([x, maps], dim=1))


@GENERATORS.register("stargan")
def stargan_generator(in_ch: int = 3, out_ch: int = 3, cond_dim: int = 5, ngf: int = 64, num_blocks: int = 0,
                      norm: str = "instance_affine", upsample: str = "transpose",
                      final_act: str = "tanh") -> StarGANGenerator:
    """num_blocks 0 = the paper's 6."""
    return StarGANGenerator(in_ch, out_ch, cond_dim, ngf, num_blocks or 6, norm, upsample, final_act)
