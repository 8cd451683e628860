"""Adversarial objectives over discriminator outputs.

Discriminator outputs are lists (scales) of lists (features, prediction last); every loss
here averages the prediction term over scales so single- and multi-scale Ds mix freely.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..nn.cpu_convs import twice_differentiable

MODES = ("vanilla", "vanilla-saturating", "lsgan", "hinge", "wgan", "wgan-gp", "relativistic",
         "relativistic-standard", "relativistic-lsgan")
RELATIVISTIC = ("relativistic", "relativistic-standard", "relativistic-lsgan")


def _predictions(outputs) -> list[torch.Tensor]:
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [o[-1] if isinstance(o, (list, tuple)) else o for o in outputs]


def detach_outputs(outputs):
    """Discriminator outputs with the graph cut (a reference that must not be trained through)."""
    return [p.detach() for p in _predictions(outputs)]


class AdversarialLoss(nn.Module):
    """`loss(outputs, real: bool, for_discriminator: bool, reference=None)`.

    vanilla: BCE with logits, G non-saturating (-log D(G(z)), what everyone trains);
    vanilla-saturating: G minimises log(1 - D(G(z))) as in Goodfellow et al.'s minimax (weak
    gradients while D wins); lsgan: least squares to 1/0; hinge: max(0, 1 -/+ x) for D and -x
    for G; wgan / wgan-gp: -x / +x (wgan: clip D's weights after each update, `clip_weights`;
    wgan-gp: add `gradient_penalty`). Relativistic (Jolicoeur-Martineau 2019), where
    `reference` is D's output for the other side (fakes when judging reals and vice versa):
    relativistic (average: RaGAN, ESRGAN) BCE on x - mean(reference), "more realistic than the
    average fake"; relativistic-standard (RSGAN) BCE on x - reference, pair by pair;
    relativistic-lsgan (RaLSGAN) least squares of x - mean(reference) to +1 / -1.
    """

    def __init__(self, mode: str = "lsgan"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown gan mode {mode}; known: {MODES}")
        self.mode = mode

    def _one(self, x: torch.Tensor, real: bool, for_d: bool) -> torch.Tensor:
        if self.mode == "vanilla-saturating" and real and not for_d:
            return -F.binary_cross_entropy_with_logits(x, torch.zeros_like(x))  # log(1 - D(G(z))), minimised
        if self.mode in ("vanilla", "vanilla-saturating", "relativistic", "relativistic-standard"):
            return F.binary_cross_entropy_with_logits(x, torch.full_like(x, 1.0 if real else 0.0))
        if self.mode == "lsgan":
            return F.mse_loss(x, torch.full_like(x, 1.0 if real else 0.0))
        if self.mode == "relativistic-lsgan":
            return F.mse_loss(x, torch.full_like(x, 1.0 if real else -1.0))
        if self.mode == "hinge" and for_d:
            return F.relu(1.0 - x).mean() if real else F.relu(1.0 + x).mean()
        return -x.mean() if real else x.mean()  # hinge G step, wgan

    def forward(self, outputs, real: bool, for_discriminator: bool = True, reference=None) -> torch.Tensor:
        preds = _predictions(outputs)
        if self.mode in RELATIVISTIC:
            if reference is None:
                raise ValueError("the relativistic GAN loss needs D's outputs for the other side as reference")
            pairwise = self.mode == "relativistic-standard"
            preds = [p - (r if pairwise else r.mean()) for p, r in zip(preds, _predictions(reference))]
        return sum(self._one(p, real, for_discriminator) for p in preds) / len(preds)


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 on random interpolates."""
    alpha = torch.rand(real.size(0), 1, 1, 1, device=real.device)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    with twice_differentiable():
        out = sum(p.sum() for p in _predictions(D(x_hat)))
    (grad,) = torch.autograd.grad(out, x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(D, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): the squared gradient norm of D at real images, 0.5 * E|grad|^2
    (the caller weights it by gamma); it keeps D flat on the data, which stabilises any mode."""
    x = real.detach().requires_grad_(True)
    with twice_differentiable():
        out = sum(p.sum() for p in _predictions(D(x)))
    (grad,) = torch.autograd.grad(out, x, create_graph=True)
    return 0.5 * grad.flatten(1).pow(2).sum(1).mean()


@torch.no_grad()
def clip_weights(net: nn.Module, clip: float) -> None:
    """WGAN (Arjovsky et al. 2017): every weight of the critic in [-clip, clip] keeps it roughly
    Lipschitz."""
    for p in net.parameters():
        p.clamp_(-clip, clip)
