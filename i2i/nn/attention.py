"""Self-attention (SAGAN, Zhang et al. 2019): every position of a feature map attends to every
other, so distant parts of an image can agree (a digit's two ends, a face's two eyes) where
convolutions only see a neighbourhood. Inserted after the stage of one named resolution
(`model.generator.attention: 32`); its output scale gamma starts at 0, so the block starts as
the identity and the network learns how much to use it."""
from __future__ import annotations

import torch
from torch import nn


class SelfAttention(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        inner = max(1, channels // 8)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.query(x).flatten(2), self.key(x).flatten(2), self.value(x).flatten(2)
        attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # N x HW x HW: where each position looks
        return x + self.gamma * (v @ attention.transpose(1, 2)).view(n, c, h, w)


def attention_at(resolution: int, wanted: int, channels: int) -> list[nn.Module]:
    """[SelfAttention] when a stage ending at `resolution` is where the config wants one."""
    return [SelfAttention(channels)] if wanted == resolution else []


def check_attention(wanted: int, resolutions: list[int], kind: str) -> None:
    """A resolution the network has no stage at is a mistake, not a silent no-op."""
    if wanted and wanted not in resolutions:
        raise ValueError(f"attention={wanted}: this {kind}'s stages end at {', '.join(map(str, resolutions))} px; "
                         f"choose one of those (or 0 for none)")
