"""UNIT (Liu et al., "Unsupervised Image-to-Image Translation Networks", NIPS 2017).

Two VAE-GANs whose latent spaces are one: E_A(x_A) and E_B(x_B) land in a shared code z,
and either decoder renders any z in its own domain. The code is the encoder's output plus unit
Gaussian noise (the reference's reduced VAE), so KL = mean of squares. The paper ties the
domains by sharing the encoders' last and the decoders' first layers
(`model.generator.shared_blocks`; 0, the reference's master branch, relies on the cycle term).

    reconstruction   || G_A(E_A(x_A) + n) - x_A ||_1                         (λ 10)
    KL               mean(E_A(x_A)^2)                                        (λ 0.01)
    cycle            || G_A(E_B(G_B(E_A(x_A) + n)) + n') - x_A ||_1          (λ 10)
    cycle KL         mean(E_B(x_AB)^2)                                       (λ 0.01)
    adversarial      D_B judges G_B(E_A(x_A) + n), LSGAN, multiscale D       (λ 1)

One output per input: translation uses the code's mean (no noise).
"""
from __future__ import annotations

import torch

from ..losses import l1
from ..nn import build_generator
from ..registry import PIPELINES
from .munit import TwoDomainAutoEncoders


def kl(h: torch.Tensor) -> torch.Tensor:
    """KL(N(h, I) || N(0, I)) up to constants and scale, as the reference computes it."""
    return h.pow(2).mean()


@PIPELINES.register("unit")
class UNIT(TwoDomainAutoEncoders):
    loss_terms = frozenset({"gan", "reconstruction", "kl", "cycle", "cycle_kl"})

    def build_generators(self) -> None:
        """Both domains' auto-encoders in one module (their shared blocks stored once)."""
        m, d = self.cfg.model, self.cfg.data
        self.generators["G"] = build_generator(m.generator, d.in_channels, d.out_channels, m.init, m.init_gain)

    def generator_step(self, batch):
        A, B = batch["A"], batch["B"]
        G = self.generators["G"]
        h_a, h_b = G.encode(A, "A"), G.encode(B, "B")
        z_a, z_b = h_a + torch.randn_like(h_a), h_b + torch.randn_like(h_b)
        BA, AB = G.decode(z_b, "A", base=B), G.decode(z_a, "B", base=A)
        terms = self.adversarial({"A": BA, "B": AB}, batch)
        if self.w.reconstruction > 0:
            terms["rec_A"] = self.w.reconstruction * l1(G.decode(z_a, "A", base=A), A)
            terms["rec_B"] = self.w.reconstruction * l1(G.decode(z_b, "B", base=B), B)
        if self.w.kl > 0:
            terms["kl"] = self.w.kl * (kl(h_a) + kl(h_b))
        if self.w.cycle > 0 or self.w.cycle_kl > 0:
            h_a_back, h_b_back = G.encode(AB, "B"), G.encode(BA, "A")
            if self.w.cycle > 0:
                terms["cycle_A"] = self.w.cycle * l1(G.decode(h_a_back + torch.randn_like(h_a_back), "A", base=AB), A)
                terms["cycle_B"] = self.w.cycle * l1(G.decode(h_b_back + torch.randn_like(h_b_back), "B", base=BA), B)
            if self.w.cycle_kl > 0:
                terms["cycle_kl"] = self.w.cycle_kl * (kl(h_a_back) + kl(h_b_back))
        return terms, {"A": BA.detach(), "B": AB.detach()}

    def translations(self, batch):
        G = self.generators["G"]
        return {"A": G.decode(G.encode(batch["B"], "B"), "A", base=batch["B"]),
                "B": G.decode(G.encode(batch["A"], "A"), "B", base=batch["A"])}

    def translate(self, x, direction: str = "AtoB"):
        src, dst = ("A", "B") if direction == "AtoB" else ("B", "A")
        G = self.generators["G"]
        return G.decode(G.encode(x, src), dst, base=x)

    def visuals(self, batch):
        with torch.no_grad():
            t = self.translations(batch)
            return {"A": batch["A"], "A->B": t["B"], "B": batch["B"], "B->A": t["A"]}
