"""Discriminator feature matching (pix2pixHD): L1 between D's features of real and fake.

The papers' convention (pix2pixHD, SPADE): within one scale of D the layers' L1 distances are
summed, and the scales are averaged, so `loss.feature_matching: 10` is their lambda_FM."""
import torch
from torch.nn import functional as F


def feature_matching(fake_outputs, real_outputs) -> torch.Tensor:
    total = 0.0
    for fake_feats, real_feats in zip(fake_outputs, real_outputs):
        for f, r in zip(fake_feats[:-1], real_feats[:-1]):  # prediction map excluded
            total = total + F.l1_loss(f, r.detach())
    return total / max(len(fake_outputs), 1)
