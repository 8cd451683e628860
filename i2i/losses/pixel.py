"""Pixel-space reconstruction terms, named for what they measure."""
from torch.nn import functional as F


def l1(pred, target):
    return F.l1_loss(pred, target)


def mse(pred, target):
    """Mean squared error: the PSNR-optimal objective (SRGAN's SRResNet)."""
    return F.mse_loss(pred, target)


def cycle(reconstruction, original):
    """CycleGAN: F(G(x)) should give back x."""
    return F.l1_loss(reconstruction, original)


def identity(mapped, original):
    """CycleGAN: G applied to an image already in its target domain should change nothing."""
    return F.l1_loss(mapped, original)
