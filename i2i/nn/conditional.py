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


# name -> the plain norm underneath (built without affine: the condition supplies it)
CONDITIONAL_NORMS = {
    "conditional_instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "conditional_batch": lambda c: nn.BatchNorm2d(c, affine=False, track_running_stats=True),
}


def make_conditional_norm(name: str, channels: int, cond_dim: int) -> ConditionalNorm:
    return ConditionalNorm(CONDITIONAL_NORMS[name](channels), channels, cond_dim)
