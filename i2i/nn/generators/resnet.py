"""ResNet generator (Johnson et al. 2016, as used by CycleGAN): downsample twice, residual
blocks at 1/4 resolution, upsample twice; reflection padding keeps borders clean."""
from __future__ import annotations

import torch
from torch import nn

from ..layers import conv_bias, make_norm, upsample_conv
from ...registry import GENERATORS


class ResnetBlock(nn.Module):
    def __init__(self, ch: int, norm: str, dropout: float, bias: bool):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=bias), make_norm(norm, ch), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=bias), make_norm(norm, ch)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, num_blocks: int = 9,
                 norm: str = "instance", dropout: float = 0.0, upsample: str = "transpose",
                 final_act: str = "tanh", n_down: int = 2):
        super().__init__()
        bias = conv_bias(norm)
        self.size_multiple = 2 ** n_down
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, bias=bias), make_norm(norm, ngf), nn.ReLU(True)]
        ch = ngf
        for _ in range(n_down):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1, bias=bias), make_norm(norm, ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch, norm, dropout, bias) for _ in range(num_blocks)]
        for _ in range(n_down):
            layers += [upsample_conv(ch, ch // 2, upsample, bias), make_norm(norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_ch, 7)]
        if final_act == "tanh":
            layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)

    @property
    def output_conv(self) -> nn.Module:
        return [m for m in self.model if isinstance(m, nn.Conv2d)][-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


# The builders' parameters are the knobs `model.generator` may set for them (plus the context
# the pipeline passes: in_ch, out_ch, final_act); num_blocks 0 means the name's default.
@GENERATORS.register("resnet")
def resnet(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, norm: str = "instance", dropout: float = 0.0,
           upsample: str = "transpose", num_blocks: int = 0, final_act: str = "tanh") -> ResnetGenerator:
    return ResnetGenerator(in_ch, out_ch, ngf, num_blocks or 9, norm=norm, dropout=dropout, upsample=upsample,
                           final_act=final_act)


@GENERATORS.register("resnet_6blocks")
def resnet_6blocks(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, norm: str = "instance", dropout: float = 0.0,
                   upsample: str = "transpose", num_blocks: int = 0, final_act: str = "tanh") -> ResnetGenerator:
    return ResnetGenerator(in_ch, out_ch, ngf, num_blocks or 6, norm=norm, dropout=dropout, upsample=upsample,
                           final_act=final_act)


@GENERATORS.register("resnet_9blocks")
def resnet_9blocks(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, norm: str = "instance", dropout: float = 0.0,
                   upsample: str = "transpose", num_blocks: int = 0, final_act: str = "tanh") -> ResnetGenerator:
    return ResnetGenerator(in_ch, out_ch, ngf, num_blocks or 9, norm=norm, dropout=dropout, upsample=upsample,
                           final_act=final_act)
