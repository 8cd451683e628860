"""SPADE generator and its VAE style encoder (Park et al. 2019).

The generator has no encoder: it starts from a small grid (the label map downsampled by
nearest neighbour through a 3x3 conv, or, with a style encoder, a linear map of a style code)
and upsamples through SPADE residual blocks, each re-reading the label map at its resolution.
`upsampling_layers`: normal (5 x2 stages: a 256 px map starts at 8 x 8), more (6), most (7, and
one more block at half width). The start grid is the input size / 2^stages, so any map whose
sides divide by 2^stages works, not only the training size.

With `style_encoder`, an image-guided style: the encoder maps a photo (resized to 256 px) to the
mean and log-variance of a 256-d Gaussian; G starts from a sample of it (KL 0.05 keeps it near
N(0, I), so random styles are draws from N(0, I)).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...registry import GENERATORS
from ..spade import SPADEResBlock

STAGES = {"normal": 5, "more": 6, "most": 7}


class SPADEGenerator(nn.Module):
    def __init__(self, label_nc: int, out_ch: int = 3, ngf: int = 64, norm: str = "spade_batch",
                 upsampling_layers: str = "normal", z_dim: int = 256, style_encoder: bool = False,
                 image_size: int = 256, spade_hidden: int = 128):
        super().__init__()
        if upsampling_layers not in STAGES:
            raise ValueError(f"upsampling_layers '{upsampling_layers}': choose {', '.join(STAGES)}")
        if not norm.startswith("spade_"):
            raise ValueError(f"norm '{norm}': the SPADE generator takes spade_batch or spade_instance")
        self.mode, self.z_dim, self.style_encoder = upsampling_layers, z_dim, style_encoder
        self.size_multiple = 2 ** STAGES[upsampling_layers]
        if image_size % self.size_multiple:
            raise ValueError(f"the crop size {image_size} must divide by {self.size_multiple} "
                             f"(2^{STAGES[upsampling_layers]} for upsampling_layers {upsampling_layers})")
        self.grid = image_size // self.size_multiple  # the training start grid (style-code path)
        nf = ngf
        if style_encoder:
            self.fc = nn.Linear(z_dim, 16 * nf * self.grid ** 2)
        else:
            self.fc = nn.Conv2d(label_nc, 16 * nf, 3, padding=1)

        def block(fin, fout):
            return SPADEResBlock(fin, fout, norm, label_nc, spade_hidden)

        self.head_0 = block(16 * nf, 16 * nf)
        self.G_middle_0 = block(16 * nf, 16 * nf)
        self.G_middle_1 = block(16 * nf, 16 * nf)
        self.up_0, self.up_1 = block(16 * nf, 8 * nf), block(8 * nf, 4 * nf)
        self.up_2, self.up_3 = block(4 * nf, 2 * nf), block(2 * nf, nf)
        final = nf
        if upsampling_layers == "most":
            self.up_4 = block(nf, nf // 2)
            final = nf // 2
        self.conv_img = nn.Conv2d(final, out_ch, 3, padding=1)

    @property
    def output_conv(self) -> nn.Module:
        return self.conv_img

    def start(self, segmap: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        h, w = segmap.shape[-2] // self.size_multiple, segmap.shape[-1] // self.size_multiple
        if not self.style_encoder:
            return self.fc(F.interpolate(segmap, size=(h, w), mode="nearest"))
        if z is None:  # a random style
            z = torch.randn(segmap.size(0), self.z_dim, device=segmap.device)
        x = self.fc(z.to(segmap.dtype)).view(segmap.size(0), -1, self.grid, self.grid)
        if (h, w) != (self.grid, self.grid):  # another size than trained: the same style, resampled
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        return x

    def forward(self, segmap: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """segmap: N x label_nc x H x W (one-hot classes, don't care, boundaries), H and W
        divisible by `size_multiple`; z: N x z_dim style codes (style-encoder runs)."""
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
        x = self.head_0(self.start(segmap, z), segmap)
        x = up(x)
        x = self.G_middle_0(x, segmap)
        if self.mode in ("more", "most"):
            x = up(x)
        x = self.G_middle_1(x, segmap)
        for blk in (self.up_0, self.up_1, self.up_2, self.up_3):
            x = blk(up(x), segmap)
        if self.mode == "most":
            x = self.up_4(up(x), segmap)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class SPADEStyleEncoder(nn.Module):
    """SPADE's ConvEncoder: six stride-2 3x3 convs (five below 256 px) with spectral norm and
    instance norm (the normed convs carry no bias), on the photo resized to 256 x 256, then two
    linear heads: the mean and log-variance of the style code."""

    def __init__(self, in_ch: int = 3, ndf: int = 64, z_dim: int = 256, image_size: int = 256):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        widths = [ndf, 2 * ndf, 4 * ndf, 8 * ndf, 8 * ndf] + ([8 * ndf] if image_size >= 256 else [])
        layers, prev = [], in_ch
        for w in widths:
            layers += [sn(nn.Conv2d(prev, w, 3, stride=2, padding=1, bias=False)),
                       nn.InstanceNorm2d(w, affine=False), nn.LeakyReLU(0.2)]
            prev = w
        self.body = nn.Sequential(*layers)
        self.grid = 256 // 2 ** len(widths)
        self.fc_mu = nn.Linear(prev * self.grid ** 2, z_dim)
        self.fc_var = nn.Linear(prev * self.grid ** 2, z_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of the style code of each image in [-1, 1]."""
        if image.shape[-2:] != (256, 256):
            image = F.interpolate(image, size=(256, 256), mode="bilinear", align_corners=False)
        h = self.body(image).flatten(1)
        return self.fc_mu(h), self.fc_var(h)


@GENERATORS.register("spade")
def spade(in_ch: int, out_ch: int = 3, ngf: int = 64, norm: str = "spade_batch", upsampling_layers: str = "normal",
          z_dim: int = 256, style_encoder: bool = False, spade_hidden: int = 128,
          image_size: int = 256) -> SPADEGenerator:
    """in_ch: the label map's channels (classes + don't care + instance boundaries)."""
    return SPADEGenerator(in_ch, out_ch, ngf, norm, upsampling_layers, z_dim, style_encoder, image_size,
                          spade_hidden)
