"""pix2pix (Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks").

A generator G maps x -> y. A PatchGAN D judges (x, y) pairs, so it learns whether the
output fits *this* input. The objective is  G* = arg min_G max_D  L_cGAN(G, D) + λ L1(G),
the L1 term carrying the low frequencies and the GAN the high-frequency realism (λ = 100).
"""
from __future__ import annotations

import torch

from ..nn import build_discriminator, build_generator
from ..registry import PIPELINES
from .base import Pipeline


@PIPELINES.register("pix2pix")
class Pix2Pix(Pipeline):
    data_kind = "paired"
    loss_terms = frozenset({"gan", "l1", "mse", "perceptual", "feature_matching"})
    direction_hint = (" (a pix2pix run translates one way only, the way it was trained; "
                      "for the reverse, train another run with data.direction flipped)")

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        m, d = cfg.model, cfg.data
        self.generators["G"] = build_generator(m.generator, d.in_channels, d.out_channels, m.init, m.init_gain)
        if training:
            self.discriminators["D"] = build_discriminator(
                m.discriminator, d.in_channels + d.out_channels, m.init, m.init_gain)

    def generator_step(self, batch):
        real_A, real_B = batch["A"], batch["B"]
        fake_B = self.generators["G"](real_A)
        D = self.discriminators["D"]
        terms = self.generator_adversarial(D, torch.cat([real_A, fake_B], 1), torch.cat([real_A, real_B], 1))
        terms.update(self.reconstruction_terms(fake_B, real_B))
        return terms, {"B": fake_B.detach()}

    def discriminator_step(self, batch, fakes=None):
        real_A, real_B = batch["A"], batch["B"]
        if fakes is None:
            with torch.no_grad():
                fakes = {"B": self.generators["G"](real_A)}
        fake_B = fakes["B"]
        return self.discriminator_terms("D", self.discriminators["D"],
                                        torch.cat([real_A, real_B], 1), torch.cat([real_A, fake_B], 1))

    def translate(self, x, direction: str = "AtoB"):
        self.check_direction(direction)
        return self.generators["G"](x)

    def visuals(self, batch):
        with torch.no_grad():
            return {"input": batch["A"], "output": self.generators["G"](batch["A"]), "target": batch["B"]}
