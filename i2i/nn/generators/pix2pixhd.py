"""pix2pixHD generators (Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation
with Conditional GANs", CVPR 2018).

G1, the global generator, is CycleGAN's ResNet generator made deeper: 4 stride-2 downsamplings
and 9 residual blocks at 1/16 resolution (ngf 64, so 1024 channels there), instance norm,
transposed-conv upsampling. G2, the local enhancer, wraps it: G1 sees the input at half size
and its last feature map (before its output conv) is *added* to G2's own half-size features of
the full-size input, then G2's residual blocks and upsampling make the full-size image. A
bigger picture adds resolution without retraining the coarse structure from nothing.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...registry import GENERATORS
from ..layers import conv_bias, make_norm, upsample_conv
from .resnet import ResnetBlock, ResnetGenerator


class LocalEnhancer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int = 3, ngf: int = 32, norm: str = "instance",
                 global_blocks: int = 9, global_down: int = 4, local_blocks: int = 3, upsample: str = "transpose"):
        super().__init__()
        bias = conv_bias(norm)
        g = ResnetGenerator(in_ch, out_ch, 2 * ngf, global_blocks, norm=norm, upsample=upsample, n_down=global_down)
        self.global_features = nn.Sequential(*list(g.model)[:-3])  # G1 without its output pad, conv, tanh
        self.down = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, bias=bias), make_norm(norm, ngf), nn.ReLU(True),
            nn.Conv2d(ngf, 2 * ngf, 3, stride=2, padding=1, bias=bias), make_norm(norm, 2 * ngf), nn.ReLU(True))
        self.up = nn.Sequential(
            *[ResnetBlock(2 * ngf, norm, 0.0, bias) for _ in range(local_blocks)],
            upsample_conv(2 * ngf, ngf, upsample, bias), make_norm(norm, ngf), nn.ReLU(True),
            nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh())
        self.size_multiple = 2 ** (global_down + 1)

    @property
    def output_conv(self) -> nn.Module:
        return self.up[-2]

    def coarse_state(self, tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
        """Coarse-to-fine: a trained global generator's weights (`prefix` + "model.<i>...", as a
        pix2pixhd_global run saves them) renamed for G1 inside this enhancer; its output layers,
        which the enhancer drops, are left out."""
        out = {}
        for name in self.global_features.state_dict():
            key = f"{prefix}model.{name}"
            if key not in tensors:
                raise ValueError(f"the global generator has no {key}")
            out[f"{prefix}global_features.{name}"] = tensors[key]
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coarse = self.global_features(F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
        return self.up(self.down(x) + coarse)


@GENERATORS.register("pix2pixhd_global")
def pix2pixhd_global(in_ch: int, out_ch: int = 3, ngf: int = 64, norm: str = "instance", num_blocks: int = 0,
                     num_downs: int = 0, upsample: str = "transpose", final_act: str = "tanh") -> ResnetGenerator:
    """G1 alone (pix2pixHD's `global`): 4 downsamplings (num_downs, the reference's
    n_downsample_global: fewer for small pictures, so the bottleneck keeps a layout), 9 blocks."""
    return ResnetGenerator(in_ch, out_ch, ngf, num_blocks or 9, norm=norm, upsample=upsample,
                           final_act=final_act, n_down=num_downs or 4)


@GENERATORS.register("pix2pixhd_local")
def pix2pixhd_local(in_ch: int, out_ch: int = 3, ngf: int = 32, norm: str = "instance", num_blocks: int = 0,
                    num_downs: int = 0, upsample: str = "transpose") -> LocalEnhancer:
    """G1 + G2 (pix2pixHD's `local`): ngf is G2's width (32); G1 has twice it (64), 9 blocks
    (num_blocks) and 4 downsamplings (num_downs); G2 has 3 blocks."""
    return LocalEnhancer(in_ch, out_ch, ngf, norm, num_blocks or 9, num_downs or 4, 3, upsample)
