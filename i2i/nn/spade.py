"""SPADE (Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019).

A plain norm washes a label map out: a one-hot map of one class is a constant, and batch or
instance norm subtracts constants. SPADE therefore normalises without parameters of its own
and re-injects the layout *per pixel* after every norm: the label map, resized to the
activation (nearest neighbour: ids never blend), goes through a small conv net to a gamma and
a beta map, and out = norm(x) * (1 + gamma) + beta.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .conditional import Conditional


class SPADE(Conditional):
    """`norm`: the parameter-free norm underneath; `label_nc`: the label map's channels (classes,
    don't care, instance boundaries); `hidden`: the shared conv's width (128 in the paper)."""

    def __init__(self, norm: nn.Module, channels: int, label_nc: int, hidden: int = 128):
        super().__init__()
        self.norm = norm
        self.shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        if segmap is None:
            raise ValueError("a SPADE norm was called without its label map")
        seg = F.interpolate(segmap.to(x.dtype), size=x.shape[-2:], mode="nearest")
        actv = self.shared(seg)
        return self.norm(x) * (1 + self.gamma(actv)) + self.beta(actv)


class SPADEResBlock(Conditional):
    """The SPADE residual block: (SPADE, LeakyReLU 0.2, 3x3 conv) twice, the middle width
    min(fin, fout); when the width changes, a learned shortcut (SPADE, 1x1 conv without bias).
    Spectral norm on the block's own convs (not on SPADE's), as in the paper's generator."""

    def __init__(self, fin: int, fout: int, norm: str, label_nc: int, hidden: int = 128, spectral: bool = True):
        super().__init__()
        from .layers import make_norm  # layers imports this module's siblings; avoid the cycle at import
        fmid = min(fin, fout)
        self.learned_shortcut = fin != fout
        sn = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
        self.norm_0, self.conv_0 = make_norm(norm, fin, label_nc, hidden), sn(nn.Conv2d(fin, fmid, 3, padding=1))
        self.norm_1, self.conv_1 = make_norm(norm, fmid, label_nc, hidden), sn(nn.Conv2d(fmid, fout, 3, padding=1))
        if self.learned_shortcut:
            self.norm_s, self.conv_s = make_norm(norm, fin, label_nc, hidden), sn(nn.Conv2d(fin, fout, 1, bias=False))

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return shortcut + dx

