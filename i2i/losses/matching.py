"""Discriminator feature matching (pix2pixHD): L1 between D's features of real and fake."""
import torch
from torch.nn import functional as F


def feature_matching(fake_outputs, real_outputs) -> torch.Tensor:
    total, n = 0.0, 0
    for fake_feats, real_feats in zip(fake_outputs, real_outputs):
        for f, r in zip(fake_feats[:-1], real_feats[:-1]):  # prediction map excluded
            total = total + F.l1_loss(f, r.detach())
            n += 1
    return total / max(n, 1)
