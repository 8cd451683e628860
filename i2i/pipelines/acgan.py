"""ACGAN (Odena et al., "Conditional Image Synthesis with Auxiliary Classifier GANs", ICML 2017).

G(z, c) makes an image of class c; D judges realness and, through an auxiliary head on the same
features, predicts the class. With L_S the realness loss and L_C the class log-likelihood

    L_C = log P(C = c | x_real) + log P(C = c | x_fake)

D maximises L_S + L_C and G maximises L_C - L_S: D learns to classify real *and* generated
images, G to make images D classifies as the class they were made for. The head's logits go into
cross-entropy directly (a softmax fed to cross-entropy, as in a popular reference
implementation, squashes the gradients). `loss.classification` weighs L_C (1 in the paper).
"""
from __future__ import annotations

from ..registry import PIPELINES
from .from_noise import FromNoise, class_cross_entropy


@PIPELINES.register("acgan")
class ACGAN(FromNoise):
    class_conditional = True
    loss_terms = frozenset({"gan", "classification", "fake_classification"})

    def discriminator_context(self):
        return {"aux_outputs": len(self.class_names)}

    def extra_generator_terms(self, judged, latent):
        return {"G_cls": self.w.classification * class_cross_entropy(judged.logits, latent["label"])}

    def extra_discriminator_terms(self, judged_real, judged_fake, latent):
        label = latent["label"]  # fakes were made for the real batch's labels
        terms = {"D_cls": self.w.classification * class_cross_entropy(judged_real.logits, label)}
        if self.w.fake_classification > 0:
            terms["D_cls_fake"] = self.w.fake_classification * class_cross_entropy(judged_fake.logits, label)
        return terms
