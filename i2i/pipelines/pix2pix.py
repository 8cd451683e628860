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
    direction_hint = (" (a pix2pix run translates one way only, the way it was trained; "
                      "for the reverse, train another run with data.direction flipped)")

    def __init__(self, cfg, training: bool = True):
        super().__init__(cfg, training)
        m, d = cfg.model, cfg.data
        self.generators["G"] = build_generator(m.generator, d.in_channels, d.out_channels, m.init, m.init_gain)
        if training:
            self.discriminators["D"] = build_discriminator(
                m.discriminator, d.in_channels + d.out_channels, m.init, m.init_gain)
        self._fake_B = None

    def generator_step(self, batch):
        real_A, real_B = batch["A"], batch["B"]
        fake_B = self.generators["G"](real_A)
        self._fake_B = fake_B.detach()
        D = self.discriminators["D"]
        terms = self.generator_adversarial(D, torch.cat([real_A, fake_B], 1), torch.cat([real_A, real_B], 1))
        terms.update(self.reconstruction_terms(fake_B, real_B))
        return terms

    def discriminator_step(self, batch):
        real_A, real_B = batch["A"], batch["B"]
        fake_B = self._fake_B if self._fake_B is not None else self.generators["G"](real_A)
        return self.discriminator_terms("D", self.discriminators["D"],
                                        torch.cat([real_A, real_B], 1), torch.cat([real_A, fake_B], 1))

    def translate(self, x, direction: str = "AtoB"):
        self.check_direction(direction)
        return self.generators["G"](x)

    def visuals(self, batch):
        with torch.no_grad():
            return {"input": batch["A"], "output": self.generators["G"](batch["A"]), "target": batch["B"]}
