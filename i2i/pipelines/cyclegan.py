"""CycleGAN (Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks").

Two generators G: A -> B and F: B -> A, two discriminators D_B and D_A. Without pairs, the
adversarial terms only say "looks like the other domain"; cycle consistency F(G(a)) ≈ a and
G(F(b)) ≈ b (λ_cycle = 10) ties each output to its input, and the identity term
G(b) ≈ b (λ_identity = 0.5 λ_cycle) keeps colours when nothing needs changing.
D trains on a pool of 50 past fakes. LSGAN objective.
"""
from __future__ import annotations

import torch

from ..losses import cycle, identity
from ..nn import build_discriminator, build_generator
from ..registry import PIPELINES
from .base import Pipeline
from .pool import ImagePool


@PIPELINES.register("cyclegan")
class CycleGAN(Pipeline):
    data_kind = "unpaired"
    directions = ("AtoB", "BtoA")
    loss_terms = frozenset({"gan", "cycle", "identity", "feature_matching"})

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        m, d = cfg.model, cfg.data
        self.generators["G_AB"] = build_generator(m.generator, d.in_channels, d.out_channels, m.init, m.init_gain)
        self.generators["G_BA"] = build_generator(m.generator, d.out_channels, d.in_channels, m.init, m.init_gain)
        if training:
            self.discriminators["D_A"] = build_discriminator(m.discriminator, d.in_channels, m.init, m.init_gain)
            self.discriminators["D_B"] = build_discriminator(m.discriminator, d.out_channels, m.init, m.init_gain)
        self.pools = {"A": ImagePool(cfg.train.pool_size), "B": ImagePool(cfg.train.pool_size)}

    def generator_step(self, batch):
        A, B = batch["A"], batch["B"]
        G, F = self.generators["G_AB"], self.generators["G_BA"]
        idt, cyc = self.w.identity > 0, self.w.cycle > 0
        # each generator once on all it translates now: G(a), G(b); F(b), F(a), F(G(a))
        by_G = self.stacked(G, fake=A, same=B if idt else None)
        fake_B = by_G["fake"]
        by_F = self.stacked(F, fake=B, same=A if idt else None, back=fake_B if cyc else None)
        fake_A = by_F["fake"]
        terms = {}
        terms.update(self.generator_adversarial(self.discriminators["D_B"], fake_B, B, prefix="G_AB"))
        terms.update(self.generator_adversarial(self.discriminators["D_A"], fake_A, A, prefix="G_BA"))
        if cyc:
            terms["cycle_A"] = self.w.cycle * cycle(by_F["back"], A)
            terms["cycle_B"] = self.w.cycle * cycle(G(fake_A), B)
        if idt:
            lam = self.w.identity * self.w.cycle
            terms["idt_A"] = lam * identity(by_F["same"], A)
            terms["idt_B"] = lam * identity(by_G["same"], B)
        return terms, {"A": fake_A.detach(), "B": fake_B.detach()}

    def discriminator_step(self, batch, fakes=None):
        if fakes is None:
            with torch.no_grad():
                fakes = {"A": self.generators["G_BA"](batch["B"]), "B": self.generators["G_AB"](batch["A"])}
        terms = self.discriminator_terms("D_A", self.discriminators["D_A"], batch["A"], self.pools["A"].query(fakes["A"]))
        terms.update(self.discriminator_terms("D_B", self.discriminators["D_B"], batch["B"], self.pools["B"].query(fakes["B"])))
        return terms

    def translate(self, x, direction: str = "AtoB"):
        return self.generators["G_AB" if direction == "AtoB" else "G_BA"](x)

    def visuals(self, batch):
        with torch.no_grad():
            fake_B = self.generators["G_AB"](batch["A"])
            return {"A": batch["A"], "A->B": fake_B, "A->B->A": self.generators["G_BA"](fake_B),
                    "B": batch["B"], "B->A": self.generators["G_BA"](batch["B"])}

    def extra_state(self):
        return {f"pool_{k}": p.state_dict() for k, p in self.pools.items()}

    def load_extra_state(self, state):
        device = next(self.parameters()).device
        for k, p in self.pools.items():
            if f"pool_{k}" in state:
                p.load_state_dict(state[f"pool_{k}"], device)
