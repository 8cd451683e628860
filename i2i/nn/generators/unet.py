"""U-Net generator (pix2pix, Isola et al. 2017): encoder-decoder with skips at every scale.

Layer for layer the reference implementation (so parameter counts match): 4x4 stride-2
convs down, LeakyReLU(0.2) in the encoder, ReLU in the decoder, no norm on the outermost
and innermost downsampling, dropout on the innermost decoder blocks.
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers import conv_bias, make_norm, upsample_conv
from ...registry import GENERATORS


class UNetGenerator(nn.Module):
    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, num_downs: int = 8,
                 norm: str = "batch", dropout: float = 0.0, upsample: str = "transpose",
                 final_act: str = "tanh"):
        super().__init__()
        if num_downs < 5:
            raise ValueError("U-Net needs num_downs >= 5")
        bias = conv_bias(norm)
        # channel widths from outermost (level 0) to innermost, as in the reference
        widths = [ngf, ngf * 2, ngf * 4] + [ngf * 8] * (num_downs - 3)
        self.size_multiple = 2 ** num_downs
        self.downs = nn.ModuleList()
        self.ups = nn.ModuleList()
        for i in range(num_downs):
            cin = in_ch if i == 0 else widths[i - 1]
            layers = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(cin, widths[i], 4, stride=2, padding=1, bias=bias))
            if 0 < i < num_downs - 1:
                layers.append(make_norm(norm, widths[i]))
            self.downs.append(nn.Sequential(*layers))
        for i in range(num_downs):  # ups[i] mirrors downs[i]
            cin = widths[i] if i == num_downs - 1 else widths[i] * 2
            cout = out_ch if i == 0 else widths[i - 1]
            layers = [nn.ReLU(True), upsample_conv(cin, cout, upsample, bias=True if i == 0 else bias, kernel=4)]
            if i == 0:
                if final_act == "tanh":
                    layers.append(nn.Tanh())
            else:
                layers.append(make_norm(norm, cout))
                # the reference puts dropout on the blocks between innermost and the last 4 levels
                if dropout > 0 and 4 <= i < num_downs - 1:
                    layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))

    @property
    def output_conv(self) -> nn.Module:
        return self.ups[0][1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[-1](skips[-1])
        for i in range(len(self.ups) - 2, -1, -1):
            x = self.ups[i](torch.cat([skips[i], x], 1))
        return x


# The builders' parameters are the knobs `model.generator` may set for them (plus the context
# the pipeline passes: in_ch, out_ch, final_act); num_downs 0 means the name's default.
@GENERATORS.register("unet")
def unet(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, norm: str = "batch", dropout: float = 0.0,
         upsample: str = "transpose", num_downs: int = 8, final_act: str = "tanh") -> UNetGenerator:
    return UNetGenerator(in_ch, out_ch, ngf, num_downs or 8, norm=norm, dropout=dropout, upsample=upsample,
                         final_act=final_act)


@GENERATORS.register("unet_128")
def unet_128(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, norm: str = "batch", dropout: float = 0.0,
             upsample: str = "transpose", num_downs: int = 0, final_act: str = "tanh") -> UNetGenerator:
    return UNetGenerator(in_ch, out_ch, ngf, num_downs or 7, norm=norm, dropout=dropout, upsample=upsample,
                         final_act=final_act)


@GENERATORS.register("unet_256")
def unet_256(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, norm: str = "batch", dropout: float = 0.0,
             upsample: str = "transpose", num_downs: int = 0, final_act: str = "tanh") -> UNetGenerator:
    return UNetGenerator(in_ch, out_ch, ngf, num_downs or 8, norm=norm, dropout=dropout, upsample=upsample,
                         final_act=final_act)
