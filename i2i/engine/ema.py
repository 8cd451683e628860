"""Exponential moving average of the generators' weights (ESRGAN; Karras et al.).

GAN training makes G's weights oscillate; their running average is a smoother, usually
better generator, and it is what inference uses when present. The decay ramps up as
min(decay, (1 + t) / (10 + t)) so short runs are not dominated by the random init
(with a fixed 0.999, a 2000-step run would still hold 13% of it).
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, generators: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(generators).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, generators: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for e, p in zip(self.shadow.parameters(), generators.parameters()):
            e.lerp_(p, 1.0 - d)
        for e, b in zip(self.shadow.buffers(), generators.buffers()):
            e.copy_(b)  # batch-norm statistics are not averaged

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int) -> None:
        self.shadow.load_state_dict(state)
        self.updates = updates
