"""Folder datasets: paired (A/ + B/ with matching stems, or side-by-side AB images),
unpaired (trainA/ + trainB/, or A/ + B/) and super-resolution (a folder of HR photos whose
LR inputs are made on the fly, or LR/ + HR/ with matching stems), each with optional
train/ test/ (val/) splits.

Samples are addressed as (index, seed): `ResumableSampler` hands out that stream, so the
order and the augmentation of step N depend only on (train.seed, N).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..errors import UserError
from .degradations import Degradation
from .io import image_size, list_images, read_rgb, to_tensor
from .transforms import apply, crop_flip, dihedral, scale_shorter_side, sub_seeds

SPLIT_NAMES = {"train": ("train",), "test": ("test", "val")}


def _dir(root) -> Path:
    root = Path(root)
    if not str(root):
        raise UserError("no dataset given: pass --data DIR (or data.root=DIR)")
    if not root.is_dir():
        raise UserError(f"dataset folder not found: {root}")
    return root


def split_dir(root: Path, split: str) -> Path | None:
    for name in SPLIT_NAMES[split]:
        if (root / name).is_dir():
            return root / name
    return root if split == "train" else None


def _images(folder: Path, root: Path | None = None) -> list[Path]:
    """Images under `folder`; when it is the dataset root itself, its test/ and val/ splits are
    left out so held-out images never leak into training."""
    files = list_images(folder)
    if root is not None and folder == root:
        held_out = [root / n for names in SPLIT_NAMES.values() for n in names if n != "train"]
        files = [f for f in files if not any(h in f.parents for h in held_out)]
    if not files:
        raise UserError(f"no images in {folder} (looked for .png .jpg .jpeg .bmp .tif .webp, recursively)")
    return files


def readable(paths: list[Path]) -> list[tuple[int, int]]:
    """(width, height) of every image from its header: an unreadable file is named before
    training starts, not deep inside a loader worker."""
    return [image_size(p) for p in paths]


def _stem_key(path: Path, base: Path) -> str:
    return str(path.relative_to(base).with_suffix(""))


def match_pairs(a_dir: Path, b_dir: Path) -> list[tuple[Path, Path]]:
    a = {_stem_key(p, a_dir): p for p in _images(a_dir)}
    b = {_stem_key(p, b_dir): p for p in _images(b_dir)}
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} in {a_dir} without a match in {b_dir} (e.g. {', '.join(only_a[:3])})")
        if only_b:
            parts.append(f"{len(only_b)} in {b_dir} without a match in {a_dir} (e.g. {', '.join(only_b[:3])})")
        raise UserError("unpaired files: " + "; ".join(parts) + " — paired data needs the same file names in A/ and B/")
    return [(a[k], b[k]) for k in sorted(a)]


class ImageCache:
    """Decoded, pre-scaled images kept as uint8 up to a memory budget (per loader process;
    decoding dominates loader time otherwise). load_size 0 keeps the original size (SR)."""

    def __init__(self, load_size: int, budget_bytes: int = 1 << 30):
        self.load_size, self.budget, self.used, self.store = load_size, budget_bytes, 0, {}

    def raw(self, path: Path) -> np.ndarray:
        """H x W x 3 uint8 (cached or not, so results never depend on the cache)."""
        hit = self.store.get(path)
        if hit is None:
            img = read_rgb(path)
            if self.load_size:
                img = scale_shorter_side(img, self.load_size)
            hit = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
            if self.used + hit.size <= self.budget:
                self.store[path] = hit
                self.used += hit.size
        return hit

    def get(self, path: Path) -> np.ndarray:
        return _float(self.raw(path))


class TranslationFolder(Dataset):
    """What paired and unpaired folders share: how the config's data keys reach them."""

    @classmethod
    def from_config(cls, d, split: str, train: bool) -> Dataset:
        return cls(d.root, split=split, load_size=d.load_size, crop_size=d.crop_size, flip=d.flip,
                   direction=d.direction, max_images=d.max_images, train=train)


class PairedFolder(TranslationFolder):
    def __init__(self, root, split: str = "train", load_size: int = 286, crop_size: int = 256,
                 flip: bool = True, direction: str = "AtoB", max_images: int = 0, train: bool = True):
        base = split_dir(_dir(root), split)
        if base is None:
            raise UserError(f"no {' or '.join(SPLIT_NAMES[split])}/ split in {root}")
        if (base / "A").is_dir() and (base / "B").is_dir():
            self.items = [(a, b) for a, b in match_pairs(base / "A", base / "B")]
        else:
            self.items = [(p, None) for p in _images(base, _dir(root))]  # side-by-side AB
        if max_images:
            self.items = self.items[:max_images]
        readable([p for pair in self.items for p in pair if p is not None])
        self.swap = direction == "BtoA"
        self.crop_size = crop_size
        self.cache = ImageCache(load_size)
        self.transform = crop_flip(crop_size, flip, train)

    def __len__(self):
        return len(self.items)

    def _load_pair(self, i: int):
        a_path, b_path = self.items[i]
        if b_path is None:  # side-by-side: left half A, right half B
            ab = read_rgb(a_path)
            w = ab.shape[1] // 2
            if w == 0:
                raise UserError(f"{a_path}: too narrow for a side-by-side AB image")
            size = self.cache.load_size
            a, b = scale_shorter_side(ab[:, :w], size), scale_shorter_side(ab[:, w:2 * w], size)
        else:
            a, b = self.cache.get(a_path), self.cache.get(b_path)
            if a.shape != b.shape:
                import cv2
                b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
        return (b, a) if self.swap else (a, b)

    def __getitem__(self, key):
        i, seed = key if isinstance(key, tuple) else (key, key)
        a, b = self._load_pair(i)
        a, b = apply(self.transform, seed, a, b)
        return {"A": to_tensor(a), "B": to_tensor(b), "path": str(self.items[i][0])}


class UnpairedFolder(TranslationFolder):
    def __init__(self, root, split: str = "train", load_size: int = 286, crop_size: int = 256,
                 flip: bool = True, direction: str = "AtoB", max_images: int = 0, train: bool = True):
        root = _dir(root)
        tag = "train" if split == "train" else "test"
        candidates = [(root / f"{tag}A", root / f"{tag}B")]
        if split == "test":
            candidates.append((root / "valA", root / "valB"))
        sub = split_dir(root, split)
        if sub is not None:
            candidates.append((sub / "A", sub / "B"))
        dirs = next(((a, b) for a, b in candidates if a.is_dir() and b.is_dir()), None)
        if dirs is None:
            raise UserError(f"unpaired data needs {tag}A/ and {tag}B/ (or A/ and B/) in {root}")
        self.a, self.b = _images(dirs[0]), _images(dirs[1])
        if max_images:
            self.a, self.b = self.a[:max_images], self.b[:max_images]
        readable(self.a + self.b)
        if direction == "BtoA":
            self.a, self.b = self.b, self.a
        self.cache = ImageCache(load_size)
        self.transform = crop_flip(crop_size, flip, train)
        self.train = train

    def __len__(self):
        return len(self.a)

    def __getitem__(self, key):
        i, seed = key if isinstance(key, tuple) else (key, key)
        # B is drawn at random (seeded) so A/B pairings change every epoch, as unpaired data should
        seed_a, seed_b, seed_j = sub_seeds(seed, 3)
        j = int(np.random.default_rng(seed_j).integers(len(self.b))) if self.train else i % len(self.b)
        a, _ = apply(self.transform, seed_a, self.cache.get(self.a[i]))
        b, _ = apply(self.transform, seed_b, self.cache.get(self.b[j]))
        return {"A": to_tensor(a), "B": to_tensor(b), "path": str(self.a[i])}


class SRFolder(Dataset):
    """Super-resolution pairs: A = low-res input, B = high-res target (`crop_size` HR pixels).

    A folder of HR photos (or its HR/ subfolder): each sample is a random HR crop, flipped /
    rotated, then degraded to LR (`Degradation`), so LR and HR are aligned by construction.
    LR/ + HR/ with matching stems: an LR crop and the HR crop at scale x its position.
    """

    def __init__(self, root, split: str = "train", crop_size: int = 128, scale: int = 4, flip: bool = True,
                 rot90: bool = False, blur: float = 0.0, noise: float = 0.0, jpeg: int = 0, max_images: int = 0,
                 train: bool = True):
        root = _dir(root)
        base = split_dir(root, split)
        if base is None:
            raise UserError(f"no {' or '.join(SPLIT_NAMES[split])}/ split in {root}")
        if (base / "LR").is_dir() and (base / "HR").is_dir():
            self.items = match_pairs(base / "LR", base / "HR")
        else:
            hr = base / "HR" if (base / "HR").is_dir() else base
            self.items = [(None, p) for p in _images(hr, root)]
        if max_images:
            self.items = self.items[:max_images]
        self.crop, self.scale, self.flip, self.rot90, self.train = crop_size, scale, flip, rot90, train
        self._check_sizes()
        self.cache = ImageCache(0)
        self.degrade = Degradation(scale, blur, noise, jpeg)

    @classmethod
    def from_config(cls, d, split: str, train: bool) -> Dataset:
        return cls(d.root, split=split, crop_size=d.crop_size, scale=d.scale, flip=d.flip, rot90=d.rot90,
                   blur=d.blur, noise=d.noise, jpeg=d.jpeg, max_images=d.max_images, train=train)

    def _check_sizes(self) -> None:
        """Header-only checks, so a bad file is named now, not deep inside a loader worker."""
        small = []
        for lr_path, hr_path in self.items:
            w, h = image_size(hr_path)
            if lr_path is not None:
                lw, lh = image_size(lr_path)
                if (lw * self.scale, lh * self.scale) != (w, h):
                    raise UserError(f"{hr_path} is {w}x{h} but {lr_path} is {lw}x{lh}: with data.scale={self.scale} "
                                    f"the HR image must be {lw * self.scale}x{lh * self.scale}")
            if min(w, h) < self.crop:
                small.append(f"{hr_path.name} ({w}x{h})")
        if small:
            raise UserError(f"{len(small)} image(s) smaller than the {self.crop} px HR crop (data.crop_size), e.g. "
                            f"{', '.join(small[:3])}: use a smaller --crop-size or remove them")

    def __len__(self):
        return len(self.items)

    def _window(self, rng, h: int, w: int, size: int) -> tuple[int, int]:
        if not self.train:
            return (h - size) // 2, (w - size) // 2
        return int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))

    def __getitem__(self, key):
        i, seed = key if isinstance(key, tuple) else (key, key)
        lr_path, hr_path = self.items[i]
        crop_seed, degrade_seed = sub_seeds(seed, 2)
        rng = np.random.default_rng(crop_seed)
        hr, c, s = self.cache.raw(hr_path), self.crop, self.scale  # crop uint8 first: photos are big
        augment = (self.flip and self.train, self.rot90 and self.train)
        if lr_path is None:
            y, x = self._window(rng, hr.shape[0], hr.shape[1], c)
            (hr,) = dihedral([_float(hr[y:y + c, x:x + c])], rng, *augment)
            lr = self.degrade(hr, degrade_seed)
        else:
            lr = self.cache.raw(lr_path)
            y, x = self._window(rng, lr.shape[0], lr.shape[1], c // s)
            lr, hr = _float(lr[y:y + c // s, x:x + c // s]), _float(hr[y * s:y * s + c, x * s:x * s + c])
            lr, hr = dihedral([lr, hr], rng, *augment)
        return {"A": to_tensor(lr), "B": to_tensor(hr), "path": str(hr_path)}


def _float(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) / 255.0


class ResumableSampler(Sampler):
    """Endless stream of (index, seed), reshuffled each epoch, restartable at any position."""

    def __init__(self, n: int, seed: int, start: int = 0, shuffle: bool = True):
        self.n, self.seed, self.start, self.shuffle = n, seed, start, shuffle

    def __iter__(self):
        pos = self.start
        while True:
            epoch, offset = divmod(pos, self.n)
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.n, generator=g).tolist() if self.shuffle else list(range(self.n))
            for k in range(offset, self.n):
                yield order[k], (self.seed * 1_000_003 + pos) % (2 ** 31)
                pos += 1


DATASETS = {"paired": PairedFolder, "unpaired": UnpairedFolder, "sr": SRFolder}


def build_dataset(cfg_data, kind: str, split: str = "train", train: bool = True) -> Dataset:
    return DATASETS[kind].from_config(cfg_data, split, train)
