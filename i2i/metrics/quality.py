"""Full-reference quality: PSNR and SSIM on images in [0, 1] (H x W x C numpy arrays),
on RGB or on the BT.601 luma (Y) channel as super-resolution papers report."""
from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 'studio swing' luma in [16/255, 235/255], as MATLAB's rgb2ycbcr (SR convention)."""
    if img.shape[2] == 1:
        return img[..., 0]
    return (16.0 + 65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.0


def _prep(a, b, y_channel: bool, crop_border: int):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    if crop_border:
        a, b = a[crop_border:-crop_border, crop_border:-crop_border], b[crop_border:-crop_border, crop_border:-crop_border]
    if y_channel:
        a, b = rgb_to_y(a)[..., None], rgb_to_y(b)[..., None]
    return a, b


def psnr(a, b, y_channel: bool = False, crop_border: int = 0) -> float:
    a, b = _prep(a, b, y_channel, crop_border)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def ssim(a, b, y_channel: bool = False, crop_border: int = 0) -> float:
    a, b = _prep(a, b, y_channel, crop_border)
    return float(structural_similarity(a, b, channel_axis=2, data_range=1.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))
