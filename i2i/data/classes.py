"""Data for GANs that make images from noise: one folder of images (DCGAN, InfoGAN) or a folder
per class (cGAN, ACGAN: `DIR/<class>/*`, the folder names are the class names, sorted and saved
with the run so `python -m i2i sample RUN --class NAME` knows them). Optionally under train/
with test/ or val/ beside it, never trained on.

A folder with two or more subfolders of images is read as class folders; anything else as one
unlabelled set (every image under it, recursively, label 0).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import UserError
from .domains import DomainFolder
from .folders import DATASETS, SPLIT_NAMES, FolderDataset, ImageCache, _dir, _images, check_sizes, readable, split_dir
from .io import list_images, to_tensor
from .meta import DataMeta
from .transforms import apply, crop_flip


def class_folders(base: Path, held_out=()) -> list[Path]:
    """The subfolders of `base` that hold images (held-out splits and run folders left out)."""
    return [d for d in DomainFolder._domain_dirs(base, list(held_out)) if list_images(d)]


class ImageClasses(FolderDataset):
    """Images with a class index (`label`, long; 0 for unlabelled data)."""

    def __init__(self, root, split: str = "train", load_size: int = 64, crop_size: int = 64, flip: bool = False,
                 max_images: int = 0, train: bool = True, exclude=()):
        root = _dir(root)
        base = split_dir(root, split)
        if base is None:
            raise UserError(f"no {' or '.join(SPLIT_NAMES[split])}/ split in {root}")
        held_out = [root / n for names in SPLIT_NAMES.values() for n in names if n != "train"]
        dirs = class_folders(base, held_out)
        if len(dirs) >= 2:
            self.items = [(p, k) for k, d in enumerate(dirs) for p in _images(d, exclude=exclude)]
            self.meta = DataMeta(classes=len(dirs), class_names=tuple(d.name for d in dirs))
        else:
            self.items = [(p, 0) for p in _images(base, root, exclude=exclude)]
            self.meta = DataMeta()
        if max_images:  # an even share of every class, not the first classes only
            step = max(1, len(self.items) // max_images)
            self.items = self.items[::step][:max_images]
        paths = [p for p, _ in self.items]
        check_sizes(list(zip(map(str, paths), readable(paths))), 0 if load_size else crop_size)
        self.cache = ImageCache(load_size)
        self.transform = crop_flip(crop_size, flip, train)

    @classmethod
    def from_config(cls, d, split: str, train: bool, exclude=()):
        return cls(d.root, split=split, load_size=d.load_size, crop_size=d.crop_size, flip=d.flip,
                   max_images=d.max_images, train=train, exclude=exclude)

    def __len__(self):
        return len(self.items)

    def _sample(self, i: int, seed: int) -> dict:
        path, label = self.items[i]
        image, _ = apply(self.transform, seed, self.cache.get(path))
        return {"A": to_tensor(image), "label": torch.tensor(label), "path": str(path)}


DATASETS["images"] = ImageClasses
