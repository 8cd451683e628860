"""What every GAN that makes images from noise shares (DCGAN, cGAN, ACGAN, InfoGAN): G(z[, y])
against D(x[, y]) under any `loss.gan_mode`, the same trainer, checkpoints and EMA as the
translation pipelines, and seeded sampling instead of translation.

Real images come from one folder (or a folder per class, `data/classes.py`); a
class-conditional pipeline makes each step's fakes for the batch's own labels, so real and fake
batches hold the same classes (the class balance of the data, and D's pairs compare like with
like under projection, gradient penalties and the relativistic modes). Subclasses say what else
G and D take (`generator_context`, `discriminator_context`) and add their terms
(`extra_generator_terms`, `extra_discriminator_terms`).

Sampling: output k uses the seed `seed + k` for its noise (and codes), so `sample --seed S`
gives the same pictures whatever --n; `truncation` t redraws every noise value with |z| > t
(the truncation trick: better single pictures, less variety).
"""
from __future__ import annotations

import functools

import torch
from torch.nn import functional as F

from ..errors import UserError
from ..nn import build_discriminator, build_generator
from ..nn.build import builder_parameters
from ..registry import GENERATORS
from .base import Pipeline, Request


class FromNoise(Pipeline):
    data_kind = "images"
    input_kind = "none"
    directions = ()
    loss_terms = frozenset({"gan"})
    class_conditional = False  # G and D take the class label
    codes = 0                  # latent codes appended to z (InfoGAN)

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        m, d = cfg.model, cfg.data
        self.class_names = list(self.meta.class_names)
        if self.class_conditional and len(self.class_names) < 2:
            raise UserError(f"{cfg.pipeline} is class-conditional: --data needs a folder per class (DIR/<class>/*, "
                            f"at least two; the folder names are the class names)")
        if "z_dim" not in builder_parameters(GENERATORS, m.generator.name):
            raise UserError(f"generator '{m.generator.name}' translates images; {cfg.pipeline} makes images from "
                            f"noise: use model.generator.name=dcgan or sngan")
        self.channels, self.z_dim = d.out_channels, m.generator.z_dim
        self.projection = bool(self.discriminator_context().get("num_classes"))  # D takes the label
        self.generators["G"] = build_generator(m.generator, 0, self.channels, m.init, m.init_gain,
                                               image_size=d.crop_size, codes=self.codes, **self.generator_context())
        if training:
            try:
                self.discriminators["D"] = build_discriminator(m.discriminator, self.channels, m.init, m.init_gain,
                                                               image_size=d.crop_size, **self.discriminator_context())
            except (TypeError, ValueError) as e:
                raise UserError(f"model.discriminator ({m.discriminator.name}) cannot judge {cfg.pipeline}'s "
                                f"images: {e} (use dcgan or sngan)") from None

    # --- what subclasses change ------------------------------------------------------
    def generator_context(self) -> dict:
        return {"num_classes": len(self.class_names)} if self.class_conditional else {}

    def discriminator_context(self) -> dict:
        return {}

    def extra_generator_terms(self, judged, latent: dict) -> dict:
        return {}

    def extra_discriminator_terms(self, judged_real, judged_fake, latent: dict) -> dict:
        return {}

    def latent_codes(self, n: int, label: torch.Tensor | None, generator=None, device=None) -> dict:
        """What G takes besides z: {"label": ...} for class-conditional G, codes for InfoGAN."""
        return {"label": label} if self.class_conditional else {}

    # --- pieces ------------------------------------------------------------------------
    def real(self, batch: dict) -> torch.Tensor:
        return batch["A"][:, :self.channels]  # grayscale data is read as three equal channels

    def generate(self, z: torch.Tensor, latent: dict) -> torch.Tensor:
        codes = latent.get("codes")
        z = z if codes is None else torch.cat([z, codes], 1)
        return self.generators["G"](z, latent.get("label"))

    def judge(self, label: torch.Tensor | None):
        """D as a function of the image alone (a projection D with the labels bound)."""
        D = self.discriminators["D"]
        return functools.partial(D, label=label) if self.projection else D

    def training_latent(self, batch: dict) -> tuple[torch.Tensor, dict]:
        real = batch["A"]
        n, device = real.size(0), real.device
        label = batch["label"] if self.class_conditional else None
        return torch.randn(n, self.z_dim, device=device), self.latent_codes(n, label, device=device)

    # --- the two steps ------------------------------------------------------------------
    def generator_step(self, batch):
        real = self.real(batch)
        z, latent = self.training_latent(batch)
        fake = self.generate(z, latent)
        D = self.judge(latent.get("label"))
        judged = D(fake)
        judged_real = None
        if self.relativistic:
            with torch.no_grad():
                judged_real = D(real)
        terms = {"G_gan": self.w.gan * self.adversarial_g_term(judged, judged_real),
                 **self.extra_generator_terms(judged, latent)}
        return terms, {"fake": fake.detach(), **{k: v for k, v in latent.items() if torch.is_tensor(v)}}

    def discriminator_step(self, batch, fakes=None):
        real = self.real(batch)
        if fakes is None:
            with torch.no_grad():
                z, latent = self.training_latent(batch)
                fakes = {"fake": self.generate(z, latent), **latent}
        latent = {k: v for k, v in fakes.items() if k != "fake"}
        D = self.judge(latent.get("label"))
        judged_real, judged_fake = D(real), D(fakes["fake"])
        return {**self.adversarial_d_terms("D", judged_real, judged_fake),
                **self.penalty_terms("D", D, real, fakes["fake"]),
                **self.extra_discriminator_terms(judged_real, judged_fake, latent)}

    def network_inputs(self, name, x):
        n = x.size(0)
        label = torch.zeros(n, dtype=torch.long, device=x.device) if self.class_conditional else None
        if name == "G":
            return torch.zeros(n, self.z_dim + self.codes, device=x.device), label
        return (x[:, :self.channels], label) if label is not None else (x[:, :self.channels],)

    # --- inference ------------------------------------------------------------------------
    def options(self) -> dict:
        return {"class": self.class_names} if self.class_conditional else {}

    def check_direction(self, direction: str) -> None:
        raise UserError(f"this {self.cfg.pipeline} run makes images from noise; it does not translate them: "
                        f"use python -m i2i sample RUN --n 64 --out DIR")

    def translate(self, x, **cond):
        self.check_direction("")

    def condition(self, request: Request, n: int) -> dict:
        """Noise (and label / codes) for n samples; sample k from seed + k. Without a class,
        samples go round the classes (sample k is class k mod the number of classes)."""
        if request.label is not None and not self.options():
            raise UserError(f"this {self.cfg.pipeline} run is not class-conditional: leave out --class")
        classes = len(self.options().get("class", []))
        rows = []
        for k in range(n):
            g = torch.Generator().manual_seed(request.seed + k)
            label = torch.tensor([request.label if request.label is not None else k % max(1, classes)])
            rows.append({"z": truncated_normal(self.z_dim, request.truncation, g)[None],
                         **self.latent_codes(1, label, generator=g)})
        return {key: torch.cat([r[key] for r in rows]) if rows[0][key] is not None else None for key in rows[0]}

    def sample(self, n: int, **cond) -> torch.Tensor:
        device = next(self.generators.parameters()).device
        cond = {k: v.to(device) if torch.is_tensor(v) else v for k, v in cond.items()}
        return self.generate(cond.pop("z")[:n], cond)

    def visuals(self, batch):
        """Real images, then fakes from fixed noise (the same every time, so grids show progress):
        for class-conditional runs a column per class (the first eight)."""
        n = min(4, batch["A"].size(0))
        device = batch["A"].device
        z = torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(0)).to(device)
        out = {"real": self.real(batch)[:n]}
        with torch.no_grad():
            if not self.options():
                return {**out, "fake": self.generate(z, self.latent_codes(n, None, torch.Generator().manual_seed(0), device))}
            for k, name in enumerate(self.options()["class"][:8]):
                label = torch.full((n,), k, dtype=torch.long)
                latent = self.latent_codes(n, label, torch.Generator().manual_seed(0))
                out[name] = self.generate(z, {key: v.to(device) for key, v in latent.items()})
        return out


def truncated_normal(size: int, truncation: float | None, generator: torch.Generator) -> torch.Tensor:
    """N(0, 1) noise; with a truncation t every value with |z| > t is drawn again (BigGAN)."""
    z = torch.randn(size, generator=generator)
    if truncation:
        if truncation <= 0:
            raise UserError(f"--truncation must be > 0 (e.g. 0.7; smaller: cleaner but less varied), got {truncation}")
        for _ in range(1000):
            out = z.abs() > truncation
            if not out.any():
                break
            z[out] = torch.randn(int(out.sum()), generator=generator)
    return z


def class_cross_entropy(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Class logits go into cross-entropy as they are (a softmax in front would be applied twice)."""
    return F.cross_entropy(logits, label)
