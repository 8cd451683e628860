"""Augmentation with albumentations; every image of a sample gets identical parameters
(the same crop window and flip for A and B), and each sample's randomness comes from a
seed the sampler hands out, so a resumed run sees exactly the crops it would have seen."""
from __future__ import annotations

import albumentations as A
import cv2
import numpy as np


def sub_seeds(seed: int, n: int) -> list[int]:
    """n independent seeds from one sample seed. Consecutive sample seeds (N, N + 1) must not
    reuse each other's streams, and neither may two random ops of one sample."""
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(n)]


def scale_shorter_side(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = size / min(h, w)
    if s == 1:
        return img
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def crop_flip(crop_size: int, flip: bool, train: bool) -> A.Compose:
    ops = [A.RandomCrop(crop_size, crop_size)] if train else [A.CenterCrop(crop_size, crop_size)]
    if train and flip:
        ops.append(A.HorizontalFlip(p=0.5))
    return A.Compose(ops, additional_targets={"target": "image"})


def apply(transform: A.Compose, seed: int, image: np.ndarray, target: np.ndarray | None = None):
    transform.set_random_seed(int(seed) % 2 ** 32)
    if target is None:
        return transform(image=image)["image"], None
    out = transform(image=image, target=target)
    return out["image"], out["target"]


def dihedral(images: list[np.ndarray], rng: np.random.Generator, flip: bool, rot90: bool) -> list[np.ndarray]:
    """The same random flips / 90-degree rotation for every image (ESRGAN's augmentation); works
    on images of different sizes (an LR crop and its HR crop), unlike a crop-sharing Compose."""
    hflip, vflip, transpose = (rng.random(3) < 0.5) & np.array([flip, rot90, rot90])
    out = []
    for im in images:
        if hflip:
            im = im[:, ::-1]
        if vflip:
            im = im[::-1]
        if transpose:
            im = im.transpose(1, 0, 2)
        out.append(np.ascontiguousarray(im))
    return out
