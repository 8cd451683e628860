"""How a class label enters networks that make images from noise, and the class heads of their
discriminators.

Generator side (`ClassInput`): through every conditional norm as a one-hot vector (conditional
batch norm, de Vries et al. 2017 / Miyato & Koyama 2018) when the generator's norm is a
conditional one, otherwise as a learned embedding concatenated to z (cGAN, Mirza & Osindero
2014). Discriminator side (`ClassHeads`): a projection term <embed(y), phi(x)> added to the
realness (Miyato & Koyama 2018), and/or auxiliary outputs on the same features: ACGAN's class
logits (Odena et al. 2017; logits go into cross-entropy as they are, never through a softmax
first) or InfoGAN's Q head (Chen et al. 2016: the latent codes' logits and means).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .conditional import CONDITIONAL_NORMS


class Judgement(list):
    """A discriminator's usual output (scales of features, prediction last) that also carries
    auxiliary logits (domains, classes, latent codes), so every adversarial loss reads it unchanged."""

    def __init__(self, scales, logits: torch.Tensor | None = None):
        super().__init__(scales)
        self.logits = logits


CLASS_INPUTS = ("concat", "multiply")


class ClassInput(nn.Module):
    """(z, label) -> (the generator's input vector, the condition for its conditional norms).

    `mode` (when the norm is not a conditional one): concat, the embedding appended to z (the
    cGAN paper); multiply, z scaled elementwise by an embedding of its own size. With concat a
    generator can drown z by growing the embedding's weights, and the class alone then fixes the
    picture (measured on digits with ACGAN's class loss: every sample of a class the same image);
    a product keeps every z dimension in play."""

    def __init__(self, num_classes: int, norm: str, z_size: int = 0, mode: str = "concat"):
        super().__init__()
        if mode not in CLASS_INPUTS:
            raise ValueError(f"class_input '{mode}': choose one of {', '.join(CLASS_INPUTS)}")
        self.num_classes, self.mode = num_classes, mode
        self.through_norm = bool(num_classes) and norm in CONDITIONAL_NORMS
        size = z_size if mode == "multiply" else min(num_classes, 128)
        self.embed = nn.Embedding(num_classes, size) if num_classes and not self.through_norm else None
        self.cond_dim = num_classes if self.through_norm else 0

    @property
    def extra_inputs(self) -> int:
        return self.embed.embedding_dim if self.embed is not None and self.mode == "concat" else 0

    def forward(self, z: torch.Tensor, label: torch.Tensor | None):
        if not self.num_classes:
            return z, None
        if label is None:
            raise ValueError("this generator is class-conditional: it needs a label for every z")
        if self.embed is not None:
            e = self.embed(label)
            return (torch.cat([z, e], 1) if self.mode == "concat" else z * e), None
        return z, F.one_hot(label, self.num_classes).to(z.dtype)


class ClassHeads(nn.Module):
    """Projection and auxiliary outputs on a discriminator's pooled features (N x `features`)."""

    def __init__(self, features: int, num_classes: int = 0, aux_outputs: int = 0):
        super().__init__()
        self.projection = nn.Embedding(num_classes, features) if num_classes else None
        if self.projection is not None:  # small at first, like the realness layer's N(0, 0.02) weights
            nn.init.normal_(self.projection.weight, 0.0, 0.02)
        self.aux = nn.Linear(features, aux_outputs) if aux_outputs else None

    def forward(self, realness: torch.Tensor, pooled: torch.Tensor, label: torch.Tensor | None):
        if self.projection is not None:
            if label is None:
                raise ValueError("this projection discriminator is class-conditional: it needs the label")
            realness = realness + (self.projection(label) * pooled).sum(1).view(-1, *[1] * (realness.dim() - 1))
        return realness, None if self.aux is None else self.aux(pooled)
