"""The Pipeline contract the trainer and the translator rely on (see DESIGN.md)."""
from __future__ import annotations

import torch
from torch import nn

from ..config import Config
from ..errors import UserError
from ..losses import AdversarialLoss, VGGPerceptualLoss, gradient_penalty
from ..registry import PIPELINES


class Pipeline(nn.Module):
    data_kind = "paired"          # which folder dataset feeds it
    directions = ("AtoB",)        # what translate() can do
    direction_hint = ""           # appended to the error for a direction it cannot do

    def __init__(self, cfg: Config, training: bool = True):
        super().__init__()
        self.cfg, self.w = cfg, cfg.loss
        self.generators = nn.ModuleDict()
        self.discriminators = nn.ModuleDict()
        self.training_parts = training
        if training:
            self.gan = AdversarialLoss(cfg.loss.gan_mode)
            if cfg.loss.perceptual > 0:
                self.vgg = VGGPerceptualLoss(cfg.loss.vgg_layers, cfg.loss.vgg_weights or "")

    # --- the contract -------------------------------------------------------------
    def generator_step(self, batch: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def discriminator_step(self, batch: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        raise NotImplementedError

    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def check_direction(self, direction: str) -> None:
        if direction not in self.directions:
            raise UserError(f"this {self.cfg.pipeline} run cannot translate {direction}; it can: "
                            f"{', '.join(self.directions)}{self.direction_hint}")

    @property
    def size_multiple(self) -> int:
        return max(getattr(g, "size_multiple", 1) for g in self.generators.values())

    def extra_state(self) -> dict:
        """Training state beyond weights/optimizers (image pools); saved for --resume."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    # --- shared pieces ------------------------------------------------------------
    def discriminator_terms(self, name: str, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> dict:
        """D's loss on one real and one (detached) fake batch, halved as in the papers' code,
        plus the WGAN-GP penalty when that mode is chosen."""
        fake = fake.detach()
        terms = {f"{name}_real": 0.5 * self.gan(D(real), True),
                 f"{name}_fake": 0.5 * self.gan(D(fake), False)}
        if self.w.gan_mode == "wgan-gp":
            terms[f"{name}_gp"] = self.w.gp * gradient_penalty(D, real, fake)
        return terms

    def generator_adversarial(self, D: nn.Module, fake: torch.Tensor, real: torch.Tensor | None = None,
                              prefix: str = "G") -> dict:
        """GAN term for G, plus feature matching against real when weighted."""
        out_fake = D(fake)
        terms = {f"{prefix}_gan": self.w.gan * self.gan(out_fake, True, for_discriminator=False)}
        if self.w.feature_matching > 0 and real is not None:
            from ..losses import feature_matching
            with torch.no_grad():
                out_real = D(real)
            terms[f"{prefix}_fm"] = self.w.feature_matching * feature_matching(out_fake, out_real)
        return terms

    def reconstruction_terms(self, fake: torch.Tensor, real: torch.Tensor, prefix: str = "G") -> dict:
        """Paired supervision: L1 and perceptual, each only when weighted."""
        from ..losses import l1
        terms = {}
        if self.w.l1 > 0:
            terms[f"{prefix}_l1"] = self.w.l1 * l1(fake, real)
        if self.w.perceptual > 0:
            terms[f"{prefix}_vgg"] = self.w.perceptual * self.vgg(fake, real)
        return terms


def build_pipeline(cfg: Config, training: bool = True) -> Pipeline:
    return PIPELINES.get(cfg.pipeline)(cfg, training=training)
