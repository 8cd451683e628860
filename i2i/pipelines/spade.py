"""SPADE (Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019).

G turns a semantic label map into a photo. It has no encoder of the map: it starts from a
coarse grid and re-reads the label map in every normalisation layer (SPADE: the map sets a
per-pixel scale and shift), so the layout survives every stage. D is pix2pixHD's two-scale
PatchGAN on (label map, photo) with spectral norm. The objective, with the hinge loss:

    L_G = -D(m, G(m)) + 10 L_FM + 10 L_VGG        L_D = hinge(D(m, x), D(m, G(m)))

and TTUR (G 1e-4, D 4e-4, Adam betas (0, 0.9)). With a style encoder E (a VAE): E(x) gives the
mean and log-variance of a 256-d style code z, G(m, z) must reproduce x, and a KL term (0.05)
keeps the codes near N(0, I): at inference z comes from a reference photo (`--style-from`) or a
seeded draw from N(0, I) (`--styles K --seed S`).
"""
from __future__ import annotations

import torch

from ..errors import UserError
from ..nn.generators.spade import SPADEStyleEncoder
from ..nn.layers import init_weights
from ..registry import PIPELINES
from .base import Request
from .from_labels import FromLabels


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the code, averaged over the batch."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.size(0)


@PIPELINES.register("spade")
class SPADE(FromLabels):
    loss_terms = FromLabels.loss_terms | {"kl"}

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        g = cfg.model.generator
        self.z_dim = g.z_dim
        if g.style_encoder:
            self.generators["E"] = init_weights(
                SPADEStyleEncoder(cfg.data.out_channels, g.ngf, g.z_dim, cfg.data.crop_size),
                cfg.model.init, cfg.model.init_gain)

    def generator_context(self) -> dict:
        return {"image_size": self.cfg.data.crop_size}

    @property
    def tile_safe(self) -> bool:
        """A style code becomes G's whole start grid: each tile would get the whole layout of it."""
        return not self.has_style

    @property
    def has_style(self) -> bool:
        return "E" in self.generators

    def generate(self, seg, batch):
        if not self.has_style:
            return self.generators["G"](seg), {}
        mu, logvar = self.generators["E"](batch["B"])
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # the reparameterisation trick
        terms = {"G_kl": self.w.kl * kl_divergence(mu, logvar)} if self.w.kl > 0 else {}
        return self.generators["G"](seg, z), terms

    def options(self):
        return {"style": ["random", "reference"]} if self.has_style else {}

    def condition(self, request: Request, n: int) -> dict:
        """One style code for every image of the request: the reference photo's mean code, or a
        draw from N(0, I) seeded by request.seed (the same command gives the same pictures)."""
        if not self.has_style:
            if request.style == "reference" or request.reference is not None:
                raise UserError("this spade run has no style encoder (train with model.generator.style_encoder="
                                "true for --style-from and --styles)")
            return {}
        if request.style == "reference" or request.reference is not None:
            if request.reference is None:
                raise UserError("a reference style needs --style-from IMG")
            E = self.generators["E"]
            with torch.no_grad():
                ref = request.reference[None].float().to(next(E.parameters()).device)
                z = E(ref)[0].cpu()
        else:
            z = torch.randn(1, self.z_dim, generator=torch.Generator().manual_seed(request.seed))
        return {"z": z.expand(n, -1)}
