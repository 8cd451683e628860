"""How low-resolution inputs are made from high-resolution photos (super-resolution data).

The classical model y = JPEG(noise(downscale(blur(x)))): optional Gaussian blur, bicubic
downscaling with antialiasing (MATLAB's `imresize`, the SR papers' "bicubic degradation"),
optional Gaussian noise and JPEG. Blur, noise and JPEG are albumentations transforms seeded
per sample, so a resumed run sees the same inputs.
"""
from __future__ import annotations

import albumentations as A
import numpy as np
import torch
from torch.nn import functional as F

from .transforms import sub_seeds


def bicubic(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """H x W x C float32 -> height x width x C; antialiased when shrinking (as MATLAB's imresize
    and Pillow do), so downscaling does not alias fine texture."""
    t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
    shrink = height < img.shape[0] or width < img.shape[1]
    out = F.interpolate(t, size=(height, width), mode="bicubic", align_corners=False, antialias=shrink)
    return out[0].numpy().transpose(1, 2, 0).clip(0, 1)


def mod_crop(img: np.ndarray, scale: int) -> np.ndarray:
    """Trim the bottom/right so both sides are multiples of `scale` (HR <-> LR sizes then match)."""
    h, w = img.shape[0] - img.shape[0] % scale, img.shape[1] - img.shape[1] % scale
    return img[:h, :w]


def downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The plain bicubic degradation used for evaluation: HR (mod-cropped) -> LR."""
    hr = mod_crop(hr, scale)
    return bicubic(hr, hr.shape[0] // scale, hr.shape[1] // scale)


def upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic baseline every SR model must beat."""
    return bicubic(lr, lr.shape[0] * scale, lr.shape[1] * scale)


class Degradation:
    """One albumentations Compose per random op, each with its own seed: a shared seed would
    tie the noise strength to the JPEG quality."""

    def __init__(self, scale: int, blur: float = 0.0, noise: float = 0.0, jpeg: int = 0):
        self.scale = scale
        self.blur = A.Compose([A.GaussianBlur(sigma_limit=(min(0.2, blur), blur), blur_limit=0, p=1.0)]) \
            if blur > 0 else None
        self.after = []
        if noise > 0:
            self.after.append(A.Compose([A.GaussNoise(std_range=(0.0, noise / 255.0), mean_range=(0.0, 0.0), p=1.0)]))
        if jpeg > 0:
            self.after.append(A.Compose([A.ImageCompression(quality_range=(jpeg, 95), compression_type="jpeg", p=1.0)]))

    def __call__(self, hr: np.ndarray, seed: int) -> np.ndarray:
        """HR crop (sides multiples of scale) -> LR, aligned pixel for pixel with the HR grid."""
        seeds = sub_seeds(seed, 3)
        if self.blur is not None:
            self.blur.set_random_seed(seeds[0])
            hr = self.blur(image=hr)["image"]
        lr = bicubic(hr, hr.shape[0] // self.scale, hr.shape[1] // self.scale)
        for op, s in zip(self.after, seeds[1:]):
            op.set_random_seed(s)
            lr = np.clip(op(image=lr)["image"], 0, 1)
        return lr.astype(np.float32)
