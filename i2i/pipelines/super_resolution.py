"""Single-image super-resolution with GANs: SRGAN (Ledig et al. 2017) and ESRGAN (Wang et al. 2018).

A generator G maps a low-resolution image x to y = G(x), `data.scale` times larger. Both
papers train in two stages:

1. PSNR-oriented: G alone, with a pixel loss (SRGAN's SRResNet: MSE; ESRGAN: L1). This
   gives the best PSNR but smooth textures. `loss.gan: 0` builds no discriminator at all.
2. Perceptual: start from stage 1 (`init_from=RUN`) and add a discriminator D and a
   perceptual loss on VGG19 features. SRGAN: VGG relu5_4 (MSE, weight 0.006) + vanilla
   GAN (1e-3). ESRGAN: VGG conv5_4 *before* activation (L1, weight 1) + L1 (0.01) +
   relativistic average GAN (0.005), whose D asks "is this real image more realistic than
   the average fake?", and an exponential moving average of G's weights for inference.

Everything that differs between the two is configuration (presets `srresnet`, `srgan`,
`esrgan-psnr`, `esrgan`); this file only says what one step computes.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..nn import build_discriminator, build_generator
from ..registry import PIPELINES
from .base import Pipeline


class SuperResolution(Pipeline):
    data_kind = "sr"
    keeps_grayscale = True
    image_range = 1.0  # ESRGAN's L1 0.01 and SRGAN's MSE are weights for [0, 1] images
    default_tile = 256
    loss_terms = frozenset({"gan", "l1", "mse", "perceptual", "feature_matching"})
    direction_hint = " (super-resolution works one way: low resolution in, high resolution out)"

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        m, d = cfg.model, cfg.data
        self.generators["G"] = build_generator(m.generator, d.in_channels, d.out_channels, m.init, m.init_gain,
                                               scale=d.scale)
        if training and cfg.loss.gan > 0:
            self.discriminators["D"] = build_discriminator(m.discriminator, d.out_channels, m.init, m.init_gain)

    @property
    def scale(self) -> int:
        return self.cfg.data.scale

    def generator_step(self, batch):
        lr, hr = batch["A"], batch["B"]
        sr = self.generators["G"](lr)
        terms = self.reconstruction_terms(sr, hr)
        if "D" in self.discriminators:
            terms.update(self.generator_adversarial(self.discriminators["D"], sr, hr))
        return terms, {"B": sr.detach()}

    def discriminator_step(self, batch, fakes=None):
        if fakes is None:
            with torch.no_grad():
                fakes = {"B": self.generators["G"](batch["A"])}
        return self.discriminator_terms("D", self.discriminators["D"], batch["B"], fakes["B"])

    def translate(self, x, direction: str = "AtoB"):
        self.check_direction(direction)
        return self.generators["G"](x)

    def visuals(self, batch):
        with torch.no_grad():
            lr = batch["A"]
            return {"input (nearest)": F.interpolate(lr, scale_factor=self.scale, mode="nearest"),
                    "bicubic": F.interpolate(lr, scale_factor=self.scale, mode="bicubic").clamp(-1, 1),
                    "output": self.generators["G"](lr), "target": batch["B"]}


@PIPELINES.register("srgan")
class SRGAN(SuperResolution):
    """SRGAN and its PSNR stage SRResNet (preset `srresnet`)."""


@PIPELINES.register("esrgan")
class ESRGAN(SuperResolution):
    """ESRGAN and its PSNR stage (preset `esrgan-psnr`)."""
