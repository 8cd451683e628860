"""Building blocks shared by every network: the norm factory, weight init, spectral norm.

Norms are built by name so a config can choose them; conditional norms (i2i/nn/conditional.py)
share the same `make_norm(name, channels, cond_dim)` call and take their condition through
`forward(x, cond)` inside a `CondSequential`.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .conditional import CONDITIONAL_NORMS, make_conditional_norm


class UnbiasedLayerNorm(nn.Module):
    """The MUNIT/UNIT reference's layer norm: per sample over (C, H, W), divided by the unbiased
    standard deviation plus eps, then a scale and shift per channel. It differs from
    GroupNorm(1, C) (`layer`) only in those two details; imported reference weights use it so their
    outputs are the reference's to float precision."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        shape = (-1,) + (1,) * (x.dim() - 1)
        x = (x - flat.mean(1).view(shape)) / (flat.std(1).view(shape) + self.eps)
        return x * self.gamma.view(1, -1, *shape[2:]) + self.beta.view(1, -1, *shape[2:])


def kaiming_scaled_(conv: nn.Module, scale: float = 0.1) -> None:
    """ESRGAN's / BasicSR's init for residual SR networks: Kaiming, scaled down so each residual
    branch starts small (deep bodies then train stably), zero bias."""
    nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
    conv.weight.data.mul_(scale)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


NORMS = {
    "batch": lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True),
    "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    # with a learned scale and shift per channel (StarGAN); statistics always from the image itself
    "instance_affine": lambda c: nn.InstanceNorm2d(c, affine=True, track_running_stats=False),
    "layer": lambda c: nn.GroupNorm(1, c),
    "none": lambda c: nn.Identity(),
    # the MUNIT/UNIT reference's instance norm keeps running statistics and its test script
    # normalises with them (eval mode); and its layer norm: for its imported weights
    "instance_running": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=True),
    "layer_unbiased": UnbiasedLayerNorm,
    **CONDITIONAL_NORMS,
}


def make_norm(name: str, channels: int, cond_dim: int = 0, hidden: int = 128) -> nn.Module:
    """`cond_dim`: the size of the condition a conditional network passes (0: none); `hidden`:
    the width of SPADE's conv that reads the label map."""
    if name in CONDITIONAL_NORMS:
        if not cond_dim:
            raise ValueError(f"norm '{name}' needs a condition; only conditional generators (stargan) take it")
        return make_conditional_norm(name, channels, cond_dim, hidden)
    return NORMS[name](channels)


def conv_bias(norm: str) -> bool:
    """A conv followed by batch norm needs no bias (BN's shift replaces it); others keep one."""
    return norm != "batch"


def upsample_conv(in_ch: int, out_ch: int, mode: str, bias: bool, kernel: int = 3, factor: int = 2) -> nn.Module:
    """Upsampling by `factor` (2 or 3): the pix2pix/CycleGAN transposed conv, nearest resize +
    conv (ESRGAN; no checkerboard), or conv + pixel shuffle (SRGAN's sub-pixel convolution)."""
    if mode == "transpose":
        if factor != 2:
            raise ValueError("transposed-conv upsampling is x2 only")
        if kernel == 4:
            return nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=bias)
        return nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1, bias=bias)
    if mode == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(in_ch, out_ch * factor ** 2, 3, padding=1, bias=bias), nn.PixelShuffle(factor))
    return nn.Sequential(nn.Upsample(scale_factor=factor, mode="nearest"),
                         nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=bias))


def upsample_factors(scale: int) -> list[int]:
    """x2 stages for powers of two, one x3 stage for 3 (how SR networks reach their scale)."""
    if scale == 3:
        return [3]
    if scale < 1 or scale & (scale - 1):
        raise ValueError(f"unsupported scale {scale}")
    return [2] * (scale.bit_length() - 1)


def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """The reference GAN init: conv/linear weights by `kind`, norm scales ~ N(1, gain).
    `default` keeps the architecture's own init (the SR networks scale their residual
    branches as their papers' code does). A spectral-normed layer keeps PyTorch's init, as in
    the SPADE/SAGAN references: its weight is computed from `original`, and W / sigma(W) does not
    depend on W's scale, so the gain would change nothing."""
    if kind == "default":
        return net
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = m.weight
            if kind == "normal":
                nn.init.normal_(w, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(w, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(w, a=0, mode="fan_in")
            elif kind == "orthogonal":
                nn.init.orthogonal_(w, gain=gain)
            else:
                raise ValueError(kind)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def apply_spectral_norm(net: nn.Module) -> nn.Module:
    """Wrap every conv/linear of a network in spectral normalisation (Miyato et al.; SAGAN puts
    it on G too). A transposed conv's output channels are its weight's dim 1."""
    for name, m in list(net.named_modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)
        elif isinstance(m, nn.ConvTranspose2d):
            nn.utils.parametrizations.spectral_norm(m, dim=1)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def zero_output_conv(last: nn.Module) -> None:
    """Zero a generator's output conv (every generator names it `output_conv`), so a residual
    output starts as its base image."""
    if isinstance(last, nn.Sequential):  # resize-conv upsampling: Upsample + Conv2d
        last = [m for m in last if isinstance(m, nn.Conv2d)][-1]
    nn.init.zeros_(last.weight)
    if last.bias is not None:
        nn.init.zeros_(last.bias)


def residual_tanh(base: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
    """tanh(atanh(base) + change): the base image plus a change, bounded to [-1, 1] with gradients
    everywhere (a clamp would freeze pixels that overshoot)."""
    return torch.tanh(torch.atanh(base.clamp(-0.999, 0.999)) + change)


class ResidualOutput(nn.Module):
    """output = tanh(atanh(base) + change), change zero at init, where base is the input (or,
    for super-resolution, its bicubic upscaling): training starts from the identity / bicubic
    ("do no harm")."""

    def __init__(self, body: nn.Module, scale: int = 1):
        super().__init__()
        self.body, self.scale = body, scale
        self.size_multiple = getattr(body, "size_multiple", 1)
        zero_output_conv(body.output_conv)

    def forward(self, x: torch.Tensor, *cond) -> torch.Tensor:
        """`cond`: what a conditional generator takes besides the image (a target domain, ...)."""
        base = x if self.scale == 1 else F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return residual_tanh(base, self.body(x, *cond))
