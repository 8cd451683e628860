"""Building blocks shared by every network: the norm factory, weight init, spectral norm.

Norms are built by name so a config can choose them; conditional norms (AdaIN, SPADE,
conditional BN) join `NORMS` later behind the same `make_norm(name, channels)` call and take
their condition through `forward(x, cond)`.
"""
from __future__ import annotations

import torch
from torch import nn

NORMS = {
    "batch": lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True),
    "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "layer": lambda c: nn.GroupNorm(1, c),
    "none": lambda c: nn.Identity(),
}


def make_norm(name: str, channels: int) -> nn.Module:
    return NORMS[name](channels)


def conv_bias(norm: str) -> bool:
    """A conv followed by batch norm needs no bias (BN's shift replaces it); others keep one."""
    return norm != "batch"


def upsample_conv(in_ch: int, out_ch: int, mode: str, bias: bool, kernel: int = 3) -> nn.Module:
    """x2 upsampling: the paper's transposed conv, or nearest resize + conv (no checkerboard)."""
    if mode == "transpose":
        if kernel == 4:
            return nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=bias)
        return nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1, bias=bias)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=bias))


def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """The reference GAN init: conv/linear weights by `kind`, norm scales ~ N(1, gain)."""
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
    """Wrap every conv/linear of a discriminator in spectral normalisation (Miyato et al.)."""
    for name, m in list(net.named_modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


class ResidualOutput(nn.Module):
    """output = tanh(atanh(input) + change), change zero at init: training starts from the
    identity ("do no harm") and stays in [-1, 1] with gradients everywhere (a clamp would
    freeze pixels that overshoot)."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body
        self.size_multiple = getattr(body, "size_multiple", 1)
        last = body.output_conv  # every generator names the conv that produces its output
        if isinstance(last, nn.Sequential):  # resize-conv upsampling: Upsample + Conv2d
            last = last[-1]
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(torch.atanh(x.clamp(-0.999, 0.999)) + self.body(x))
