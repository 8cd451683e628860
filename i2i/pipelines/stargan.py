"""StarGAN (Choi et al., "StarGAN: Unified Generative Adversarial Networks for Multi-Domain
Image-to-Image Translation", CVPR 2018).

One generator G(x, c) translates an image x into any target domain c (a one-hot domain, or a
vector of binary attributes). One discriminator D judges realness and, through an auxiliary
head, classifies the domain of what it sees. The objectives:

    L_D = -L_adv + λ_cls L_cls(real)                 D learns to classify real images' domains
    L_G =  L_adv + λ_cls L_cls(fake) + λ_rec L_rec   G's outputs must be classified as the target

where L_rec = || x - G(G(x, c_target), c_original) ||_1 keeps the content (a cycle through the
original domain). Not in the paper, off in the preset: λ_id || x - G(x, c_original) ||_1
(`loss.identity`, CycleGAN's identity loss), which keeps colours the target does not ask to
change. Adversarial loss: WGAN-GP (λ_gp = 10). Domain classification: cross-entropy
for one-domain-per-image data, binary cross-entropy per attribute for attribute tables.
λ_cls = 1, λ_rec = 10; D is updated 5 times per G update; targets are drawn at random per batch.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..errors import UserError
from ..losses import l1
from ..nn import build_discriminator, build_generator
from ..registry import PIPELINES
from .base import Pipeline, Request


@PIPELINES.register("stargan")
class StarGAN(Pipeline):
    data_kind = "domains"
    directions = ()
    loss_terms = frozenset({"gan", "classification", "cycle", "identity"})

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        self.names = list(self.meta.domains or self.meta.attrs)
        if len(self.names) < (1 if self.multi_label else 2):
            raise UserError("StarGAN needs data with at least two domains (a folder per domain) or one attribute")
        m, d = cfg.model, cfg.data
        self.generators["G"] = build_generator(m.generator, d.in_channels, d.out_channels, m.init, m.init_gain,
                                               cond_dim=len(self.names))
        if training:
            try:
                self.discriminators["D"] = build_discriminator(m.discriminator, d.out_channels, m.init, m.init_gain,
                                                               num_classes=len(self.names), image_size=d.crop_size)
            except ValueError as e:
                raise UserError(f"model.discriminator ({m.discriminator.name}): {e}") from None

    @property
    def multi_label(self) -> bool:
        """Attribute tables: any combination of labels; domain folders: exactly one domain."""
        return bool(self.meta.attrs)

    # --- labels ---------------------------------------------------------------------
    def one_hot(self, label: torch.Tensor) -> torch.Tensor:
        """The label as G's condition vector: attributes as they are, a domain index one-hot."""
        return label.float() if self.multi_label else F.one_hot(label, len(self.names)).float()

    def random_targets(self, label: torch.Tensor) -> torch.Tensor:
        """Target labels drawn at random per batch: a uniform domain, or (attributes) another image's
        attribute vector from the batch, so combinations stay ones that occur."""
        if not self.multi_label:
            return torch.randint(0, len(self.names), label.shape, device=label.device)
        if label.size(0) > 1:
            return label[torch.randperm(label.size(0), device=label.device)]
        return torch.randint(0, 2, label.shape, device=label.device).float()

    def classification(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        if self.multi_label:  # summed over attributes, averaged over images (the paper's code)
            return F.binary_cross_entropy_with_logits(logits, label, reduction="sum") / logits.size(0)
        return F.cross_entropy(logits, label)

    # --- the two steps ----------------------------------------------------------------
    def generator_step(self, batch):
        x, label = batch["A"], batch["label"]
        G, D = self.generators["G"], self.discriminators["D"]
        target = self.random_targets(label)
        fake = G(x, self.one_hot(target))
        judged = D(fake)
        terms = {"G_gan": self.w.gan * self.gan(judged, True, for_discriminator=False),
                 "G_cls": self.w.classification * self.classification(judged.logits, target)}
        if self.w.cycle > 0:
            terms["G_rec"] = self.w.cycle * l1(G(fake, self.one_hot(label)), x)
        if self.w.identity > 0:  # not in the paper: asked for its own domain, G leaves the image alone
            terms["G_id"] = self.w.identity * l1(G(x, self.one_hot(label)), x)
        return terms, {"fake": fake.detach()}

    def discriminator_step(self, batch, fakes=None):
        x, label = batch["A"], batch["label"]
        D = self.discriminators["D"]
        if fakes is None:
            with torch.no_grad():
                fakes = {"fake": self.generators["G"](x, self.one_hot(self.random_targets(label)))}
        real = D(x)
        terms = {"D_real": self.gan(real, True), "D_fake": self.gan(D(fakes["fake"]), False),
                 "D_cls": self.w.classification * self.classification(real.logits, label)}
        return {**terms, **self.penalty_terms("D", D, x, fakes["fake"])}

    def network_inputs(self, name, x):
        if name == "G":
            x = x[:, :self.cfg.data.in_channels]
            return x, torch.zeros(x.size(0), len(self.names), device=x.device)
        return (x,)

    # --- inference --------------------------------------------------------------------
    def options(self):
        return {"attrs": self.names} if self.multi_label else {"domain": self.names}

    def condition(self, request: Request, n: int) -> dict:
        if self.multi_label:
            if request.domain is not None:
                raise UserError(f"this run was trained on attributes, not domains: use --attrs NAME=0|1,... "
                                f"(attributes: {', '.join(self.names)})")
            attrs = request.attrs or {}
            unknown = [a for a in attrs if a not in self.names]
            if unknown:
                raise UserError(f"--attrs: unknown attribute {unknown[0]}; this run knows: {', '.join(self.names)}")
            vec = torch.tensor([[float(attrs.get(a, 0)) for a in self.names]])
        else:
            if request.attrs:
                raise UserError(f"this run was trained on domains, not attributes: use --to DOMAIN or --all-domains "
                                f"(domains: {', '.join(self.names)})")
            if request.domain is None:
                raise UserError(f"say which domain to translate to: --to DOMAIN or --all-domains "
                                f"(domains: {', '.join(self.names)})")
            if request.domain not in self.names:
                raise UserError(f"--to {request.domain}: unknown domain; this run knows: {', '.join(self.names)}")
            vec = F.one_hot(torch.tensor([self.names.index(request.domain)]), len(self.names)).float()
        return {"c": vec.expand(n, -1)}

    def translate(self, x, c):
        return self.generators["G"](x, c.to(x.device))

    def visuals(self, batch):
        """Each input, then its translation to every domain (the first eight)."""
        x = batch["A"]
        out = {"input": x}
        with torch.no_grad():
            for k, name in enumerate(self.names[:8]):
                if self.multi_label:  # flip one attribute at a time
                    c = batch["label"].float().clone()
                    c[:, k] = 1 - c[:, k]
                else:
                    c = F.one_hot(torch.full((x.size(0),), k, device=x.device), len(self.names)).float()
                out[f"to {name}" if not self.multi_label else f"flip {name}"] = self.generators["G"](x, c)
        return out
