"""Class-conditional GAN: G(z, y) and D(x, y) (Mirza & Osindero, "Conditional Generative
Adversarial Nets", 2014), with the conditioning of later work.

G takes the class as a learned embedding concatenated to z (the paper's input conditioning), or
through conditional batch norm when `model.generator.norm=conditional_batch` (every norm's scale
and shift a function of y). D takes it by projection (Miyato & Koyama 2018): its realness gets
the term <embed(y), phi(x)>, so D asks "is this a real image *of class y*", and G is pushed to
make each class recognisable. Objectives are the unconditional GAN's, each image judged with its
class; a step's fakes are made for the real batch's labels.
"""
from __future__ import annotations

from ..registry import PIPELINES
from .from_noise import FromNoise


@PIPELINES.register("cgan")
class ConditionalGAN(FromNoise):
    class_conditional = True

    def discriminator_context(self):
        return {"num_classes": len(self.class_names)}
