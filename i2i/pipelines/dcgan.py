"""DCGAN (Radford et al., "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016).

G maps z ~ N(0, I) to an image through transposed convolutions with batch norm and ReLU; D is
its mirror with strided convolutions, batch norm and LeakyReLU. The two play the GAN game

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

with G trained on the non-saturating -log D(G(z)) (loss.gan_mode: vanilla; every other mode of
`loss.gan_mode` trains the same networks). Adam 2e-4, beta1 0.5, batch 128, N(0, 0.02) init.
Unconditional: class folders in the data are read as one set of images.
"""
from __future__ import annotations

from ..registry import PIPELINES
from .from_noise import FromNoise


@PIPELINES.register("dcgan")
class DCGAN(FromNoise):
    pass
