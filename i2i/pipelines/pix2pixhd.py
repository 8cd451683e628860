"""pix2pixHD (Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation with
Conditional GANs", CVPR 2018).

G maps a semantic label map (plus instance boundaries) to a photo: the global generator G1 (a
deep ResNet generator), optionally wrapped by the local enhancer G2 for twice the resolution
(`pix2pixhd_local`), trained coarse-to-fine: G1 first on half-size maps, then G2 around it
(init_from the G1 run; `LocalEnhancer.coarse_state`).
Two PatchGANs judge (label map, photo) at full and half resolution. The objective:

    min_G ( max_{D1,D2} sum_k L_GAN(G, D_k) ) + 10 sum_k L_FM(G, D_k) + 10 L_VGG

with LSGAN's least squares, L_FM the L1 distance of D's features of real and fake photos
(each D's layers summed, the scales averaged), and L_VGG the perceptual loss.
"""
from __future__ import annotations

from ..registry import PIPELINES
from .from_labels import FromLabels


@PIPELINES.register("pix2pixhd")
class Pix2PixHD(FromLabels):
    pass
