"""MUNIT (Huang et al., "Multimodal Unsupervised Image-to-Image Translation", ECCV 2018).

Each domain has an auto-encoder that splits an image into a content code c (a spatial map,
shared across domains) and a style code s (8 numbers, domain-specific, prior N(0, I)).
Translation A -> B keeps A's content and takes a B style: x_AB = G_B.decode(c_A, s_B), with
s_B drawn from the prior (a different output per draw) or encoded from a reference B image.
The objectives, per domain:

    image reconstruction   || G_A.decode(G_A.encode(x_A)) - x_A ||_1            (λ 10)
    latent reconstruction  || c_A - content(x_AB) ||_1  (λ 1),  || s_B - style(x_AB) ||_1  (λ 1)
    adversarial            D_B judges x_AB (LSGAN, multiscale D)                (λ 1)
    cycle (munit-cycle)    || G_A.decode(content(x_AB), s_A) - x_A ||_1         (λ 0; 10 in munit-cycle)

Adam 1e-4 (0.5, 0.999), weight decay 1e-4, lr halved at fixed fractions of the run; Kaiming
init for G, N(0, 0.02) for D, as the paper's code.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..errors import UserError
from ..losses import l1
from ..nn import build_discriminator, build_generator
from ..registry import PIPELINES
from .base import Pipeline, Request


REFERENCE_SIZE = 512  # --style-from images are encoded at most this large (longer side)


class TwoDomainAutoEncoders(Pipeline):
    """What MUNIT and UNIT share: unpaired A/B data, one multiscale D per domain (judging the
    translations into it), LSGAN, D inits as the references."""
    data_kind = "unpaired"
    directions = ("AtoB", "BtoA")

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        self.build_generators()
        if training:
            m, d = cfg.model, cfg.data
            for name, ch in (("D_A", d.in_channels), ("D_B", d.out_channels)):
                self.discriminators[name] = build_discriminator(m.discriminator, ch, "normal", 0.02)

    def build_generators(self) -> None:
        raise NotImplementedError

    def adversarial(self, fakes: dict, batch: dict) -> dict:
        """G's GAN terms: D_A judges B->A, D_B judges A->B."""
        terms = self.generator_adversarial(self.discriminators["D_A"], fakes["A"], batch["A"], prefix="G_BA")
        terms.update(self.generator_adversarial(self.discriminators["D_B"], fakes["B"], batch["B"], prefix="G_AB"))
        return terms

    def discriminator_step(self, batch, fakes=None):
        if fakes is None:
            with torch.no_grad():
                fakes = self.translations(batch)
        terms = self.discriminator_terms("D_A", self.discriminators["D_A"], batch["A"], fakes["A"])
        terms.update(self.discriminator_terms("D_B", self.discriminators["D_B"], batch["B"], fakes["B"]))
        return terms

    def translations(self, batch: dict) -> dict:
        """{"A": B->A, "B": A->B} for D steps without fakes of their own."""
        raise NotImplementedError


@PIPELINES.register("munit")
class MUNIT(TwoDomainAutoEncoders):
    loss_terms = frozenset({"gan", "reconstruction", "style", "content", "cycle"})

    def build_generators(self) -> None:
        """One auto-encoder per domain (content encoder, style encoder, decoder, style MLP)."""
        m, d = self.cfg.model, self.cfg.data
        for name, ch in (("G_A", d.in_channels), ("G_B", d.out_channels)):
            self.generators[name] = build_generator(m.generator, ch, ch, m.init, m.init_gain)
        self.style_dim = self.generators["G_A"].style_dim

    def prior(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.size(0), self.style_dim, device=x.device)

    def generator_step(self, batch):
        A, B = batch["A"], batch["B"]
        GA, GB = self.generators["G_A"], self.generators["G_B"]
        s_a, s_b = self.prior(A), self.prior(B)                    # styles from the prior
        c_a, s_a_own = GA.encode(A)
        c_b, s_b_own = GB.encode(B)
        BA, AB = GA.decode(c_b, s_a, base=B), GB.decode(c_a, s_b, base=A)
        c_b_back, s_a_back = GA.encode(BA)
        c_a_back, s_b_back = GB.encode(AB)
        terms = self.adversarial({"A": BA, "B": AB}, batch)
        if self.w.reconstruction > 0:
            terms["rec_A"] = self.w.reconstruction * l1(GA.decode(c_a, s_a_own, base=A), A)
            terms["rec_B"] = self.w.reconstruction * l1(GB.decode(c_b, s_b_own, base=B), B)
        if self.w.style > 0:
            terms["style_A"] = self.w.style * l1(s_a_back, s_a)
            terms["style_B"] = self.w.style * l1(s_b_back, s_b)
        if self.w.content > 0:
            terms["content_A"] = self.w.content * l1(c_a_back, c_a)
            terms["content_B"] = self.w.content * l1(c_b_back, c_b)
        if self.w.cycle > 0:
            terms["cycle_A"] = self.w.cycle * l1(GA.decode(c_a_back, s_a_own, base=AB), A)
            terms["cycle_B"] = self.w.cycle * l1(GB.decode(c_b_back, s_b_own, base=BA), B)
        return terms, {"A": BA.detach(), "B": AB.detach()}

    def translations(self, batch):
        A, B = batch["A"], batch["B"]
        GA, GB = self.generators["G_A"], self.generators["G_B"]
        return {"A": GA.decode(GB.encode(B)[0], self.prior(B), base=B),
                "B": GB.decode(GA.encode(A)[0], self.prior(A), base=A)}

    # --- inference --------------------------------------------------------------------
    def options(self):
        return {"direction": list(self.directions), "style": ["random", "reference"]}

    def condition(self, request: Request, n: int) -> dict:
        """One style code for every image (and every tile) of the request: the reference image's,
        encoded by the target domain's style encoder, or a draw from the prior seeded by
        request.seed, so the same command gives the same pictures."""
        self.check_direction(request.direction)
        target = self.generators["G_B" if request.direction == "AtoB" else "G_A"]
        if request.style == "reference":
            if request.reference is None:
                raise UserError("a reference style needs --style-from IMG")
            device = next(target.parameters()).device
            ref = request.reference[None].float()
            if max(ref.shape[-2:]) > REFERENCE_SIZE:  # a style is global statistics: a smaller copy has it
                ref = F.interpolate(ref, scale_factor=REFERENCE_SIZE / max(ref.shape[-2:]), mode="area")
            with torch.no_grad():
                style = target.enc_style(ref.to(device)).cpu()
        elif request.style == "random":
            style = torch.randn(1, self.style_dim, generator=torch.Generator().manual_seed(request.seed))
        else:
            raise UserError(f"unknown style '{request.style}': random or reference")
        return {"direction": request.direction, "style": style.expand(n, -1)}

    def translate(self, x, direction: str, style: torch.Tensor):
        src, dst = ("G_A", "G_B") if direction == "AtoB" else ("G_B", "G_A")
        return self.generators[dst].decode(self.generators[src].encode(x)[0], style.to(x.device), base=x)

    def visuals(self, batch):
        """A, its reconstruction, and A -> B under three fixed prior styles; the same from B."""
        out = {}
        gen = torch.Generator().manual_seed(0)
        styles = [torch.randn(1, self.style_dim, generator=gen) for _ in range(3)]
        with torch.no_grad():
            for src, direction in (("A", "AtoB"), ("B", "BtoA")):
                x = batch[src]
                out[src] = x
                out[f"{src} rec"] = self.generators[f"G_{src}"](x)
                for k, s in enumerate(styles):
                    out[f"{direction} s{k}"] = self.translate(x, direction, s.expand(x.size(0), -1))
        return out
