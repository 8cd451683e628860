"""InfoGAN (Chen et al., "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets", NeurIPS 2016).

G takes noise z plus latent codes c: one 10-way categorical code and two continuous codes,
uniform in [-1, 1]. A Q head on D's features predicts c back from G(z, c); maximising that
mutual-information bound makes the codes *mean* something without any labels (on digits the
categorical code tends to pick the digit, the continuous ones width and slant):

    min_{G,Q} max_D  V(D, G) - lambda I(c; G(z, c))

The bound is Q's log-likelihood of the codes: cross-entropy for the categorical code
(`loss.info_categorical`, lambda 1) and a unit-variance Gaussian for the continuous ones, half the
squared error (`loss.info_continuous`, lambda 0.1). Q trains with D (it shares D's features), G
through its own step. At sampling, `--class K` (or `code-K`) fixes the categorical code to K.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..registry import PIPELINES
from .from_noise import FromNoise, class_cross_entropy

CATEGORIES, CONTINUOUS = 10, 2


@PIPELINES.register("infogan")
class InfoGAN(FromNoise):
    loss_terms = frozenset({"gan", "info_categorical", "info_continuous"})
    codes = CATEGORIES + CONTINUOUS

    def discriminator_context(self):
        return {"aux_outputs": CATEGORIES + CONTINUOUS}

    def latent_codes(self, n, label, generator=None, device=None):
        """A categorical code (`label`, or drawn) one-hot, then continuous codes ~ U(-1, 1)."""
        if label is None:
            label = torch.randint(0, CATEGORIES, (n,), generator=generator)
        continuous = torch.rand(n, CONTINUOUS, generator=generator) * 2 - 1
        label, continuous = label.to(device), continuous.to(device)
        return {"category": label, "codes": torch.cat([F.one_hot(label, CATEGORIES).float(), continuous], 1)}

    def training_latent(self, batch):
        n, device = batch["A"].size(0), batch["A"].device
        return torch.randn(n, self.z_dim, device=device), self.latent_codes(n, None, device=device)

    def information(self, judged, latent, prefix):
        """Q's negative log-likelihood of the codes G was given."""
        logits, mean = judged.logits[:, :CATEGORIES], judged.logits[:, CATEGORIES:]
        return {f"{prefix}_info_cat": self.w.info_categorical * class_cross_entropy(logits, latent["category"]),
                f"{prefix}_info_cont": self.w.info_continuous * 0.5 * F.mse_loss(mean, latent["codes"][:, CATEGORIES:],
                                                                              reduction="none").sum(1).mean()}

    def extra_generator_terms(self, judged, latent):
        return self.information(judged, latent, "G")

    def extra_discriminator_terms(self, judged_real, judged_fake, latent):
        return self.information(judged_fake, latent, "Q")

    def options(self):
        # the categorical code's values: named apart from any class (a code need not be the digit
        # of the same number), so samples in DIR/code-K/ are never scored as a class
        return {"class": [f"code-{k}" for k in range(CATEGORIES)]}
