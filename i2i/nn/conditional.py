"""Conditional norms: a norm whose scale and shift come from a condition vector (a target
domain, a class, a style code) instead of fixed learned parameters.

Why they exist: a condition tiled into constant maps and concatenated with the image (StarGAN's
input) is a constant per channel after the first conv, and instance norm subtracts exactly
that. Only the zero-padded borders keep it, so on images larger than the receptive field the
interior ignores the target. A conditional norm re-injects the condition after every
normalisation, at every pixel (Dumoulin et al. 2017's conditional instance norm; conditional
batch norm of de Vries et al. 2017; AdaIN when the condition is a style code).

Modules that take a condition subclass `Conditional`; `CondSequential` passes the condition
to those and only the image to the rest.
"""
from __future__ import annotations

import torch
from torch import nn


class Conditional(nn.Module):
    """Marker: forward(x, cond)."""


class CondSequential(nn.Sequential, Conditional):
    """nn.Sequential whose forward also takes the condition, handed to `Conditional` members
    (and nested CondSequentials); a plain Sequential's state-dict keys, so swapping one for the
    other keeps checkpoints loadable."""

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:  # noqa: D102
        for m in self:
            x = m(x, cond) if isinstance(m, Conditional) else m(x)
        return x


class ConditionalNorm(Conditional):
    """Normalise without affine parameters, then x * (1 + gamma(c)) + beta(c) with gamma, beta
    linear in the condition. The linear map starts at zero weight, so at initialisation this is
    the plain norm (its bias plays the unconditional affine's part)."""

    def __init__(self, norm: nn.Module, channels: int, cond_dim: int):
        super().__init__()
        self.norm = norm
        self.affine = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if cond is None:
            raise ValueError("a conditional norm was called without its condition")
        gamma, beta = self.affine(cond.to(x.dtype)).chunk(2, dim=1)
        return self.norm(x) * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class AdaptiveInstanceNorm(Conditional):
    """AdaIN (Huang & Belongie 2017; MUNIT): instance norm without parameters of its own; the
    scale and shift are this layer's slice of a vector that a style MLP computes once for the
    whole decoder (MUNIT's layout: one MLP, one output vector, [shift, scale] per layer in
    order). The owning network numbers its AdaIN layers with `adain_parameter_count`."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels, self.offset = channels, 0
        self.norm = nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        o, c = self.offset, self.channels
        shift, scale = params[:, o:o + c, None, None], params[:, o + c:o + 2 * c, None, None]
        return self.norm(x) * scale.to(x.dtype) + shift.to(x.dtype)


def adain_parameter_count(module: nn.Module) -> int:
    """Give each AdaIN layer inside `module` its offset in the style MLP's output (in module
    order) and return the MLP's output size."""
    total = 0
    for m in module.modules():
        if isinstance(m, AdaptiveInstanceNorm):
            m.offset = total
            total += 2 * m.channels
    return total


# name -> the plain norm underneath (built without affine: the condition supplies it), and
# what the condition is: any vector (a domain, a class) or a style MLP's AdaIN parameters
CONDITIONAL_NORMS = {
    "conditional_instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "conditional_batch": lambda c: nn.BatchNorm2d(c, affine=False, track_running_stats=True),
    "adain": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    # SPADE (nn/spade.py): the condition is a label map; its gamma and beta are maps, not vectors
    "spade_batch": lambda c: nn.BatchNorm2d(c, affine=False, track_running_stats=True),
    "spade_instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
}
ADAIN = -1  # make_norm's cond_dim from a network that feeds AdaIN parameters (a style MLP's output)


def make_conditional_norm(name: str, channels: int, cond_dim: int, hidden: int = 128) -> nn.Module:
    if (name == "adain") != (cond_dim == ADAIN):
        raise ValueError(f"norm '{name}' does not fit this network's condition: 'adain' takes a style MLP's "
                         f"parameters (MUNIT's decoder), the other conditional norms a label vector")
    if name == "adain":
        return AdaptiveInstanceNorm(channels)
    if name.startswith("spade_"):
        from .spade import SPADE
        return SPADE(CONDITIONAL_NORMS[name](channels), channels, cond_dim, hidden)
    return ConditionalNorm(CONDITIONAL_NORMS[name](channels), channels, cond_dim)
