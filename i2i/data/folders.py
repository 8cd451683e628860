"""Folder datasets: paired (A/ + B/ with matching stems, or side-by-side AB images),
unpaired (trainA/ + trainB/, or A/ + B/) and super-resolution (a folder of HR photos whose
LR inputs are made on the fly, or LR/ + HR/ with matching stems), each with optional
train/ test/ (val/) splits.

Samples are addressed as (index, seed): `ResumableSampler` hands out that stream, so the
order and the augmentation of step N depend only on (train.seed, N).

Every scan leaves out run folders and the folders passed as `exclude` (see `list_images`);
sizes are checked from headers at start (`check_sizes`); an image whose pixels turn out
unreadable later is skipped with one warning (`FolderDataset`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler
from tqdm import tqdm

from ..errors import UserError
from .degradations import Degradation
from .meta import DataMeta
from .io import RUN_CONFIG, RUN_SUBFOLDERS, image_size, is_run_folder, list_images, read_rgb, to_tensor
from .transforms import apply, crop_flip, dihedral, scale_shorter_side, sub_seeds

SPLIT_NAMES = {"train": ("train",), "test": ("test", "val")}
MIN_SIDE = 16  # px: a smaller training image (a 1x1 export, an icon) is stretched into garbage pairs
# width / height of a side-by-side AB image: two square halves give 2.0 (facades, maps, edges2shoes,
# cityscapes all are); 1.8-2.25 allows halves within about 10% of square, while a 16:9 (1.78) or
# 3:2 (1.5) photo is never cut in two
AB_RATIO = (1.8, 2.25)
PAIRED_LAYOUTS = ("paired data needs {d}/A/ + {d}/B/ with matching names, or side-by-side AB images "
                  f"twice as wide as high (width/height {AB_RATIO[0]}-{AB_RATIO[1]})")


def _dir(root) -> Path:
    if root is None or str(root) == "":  # Path("") is ".": never train on the current folder
        raise UserError("no dataset given: pass --data DIR (or data.root=DIR)")
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"dataset folder not found: {root}")
    return root


def split_dir(root: Path, split: str) -> Path | None:
    for name in SPLIT_NAMES[split]:
        if (root / name).is_dir():
            return root / name
    return root if split == "train" else None


def _images(folder: Path, root: Path | None = None, exclude=()) -> list[Path]:
    """Images under `folder`, never inside `exclude` (the run's --out) or a run folder; when it
    is the dataset root itself, its test/ and val/ splits are left out so held-out images never
    leak into training."""
    exclude = list(exclude)
    if root is not None and folder == root:
        exclude += [root / n for names in SPLIT_NAMES.values() for n in names if n != "train"]
    files = list_images(folder, exclude=exclude)
    if not files and is_run_folder(folder):
        raise UserError(f"{folder} is a training run folder ({RUN_CONFIG} + {'/ or '.join(RUN_SUBFOLDERS)}/), "
                        "not a dataset: pass the folder of training images")
    if not files:
        raise UserError(f"no images in {folder} (looked for .png .jpg .jpeg .bmp .tif .webp, recursively, "
                        "skipping hidden and run folders)")
    return files


def readable(paths: list[Path]) -> list[tuple[int, int]]:
    """(width, height) of every image from its header: an unreadable file is named before
    training starts, not deep inside a loader worker."""
    return [image_size(p) for p in paths]


def check_sizes(sizes: list[tuple[str, tuple[int, int]]], crop: int = 0, what: str = "crop (data.crop_size)",
                fix: str = "use a smaller --crop-size or remove them") -> None:
    """Header-only checks of (label, (width, height)) before training, so a too-small file is
    named now rather than stretched into a useless pair or crashing the random crop mid-run:
    every side >= MIN_SIDE, and, where images are cropped at their own size, >= `crop`."""
    tiny = [(label, w, h) for label, (w, h) in sizes if min(w, h) < MIN_SIDE]
    if tiny:
        label, w, h = tiny[0]
        more = f" ({len(tiny) - 1} more like it)" if len(tiny) > 1 else ""
        raise UserError(f"{label} is {w}x{h}, below the {MIN_SIDE} px minimum side for training "
                        f"images{more}: remove it")
    small = [f"{label} ({w}x{h})" for label, (w, h) in sizes if crop and min(w, h) < crop]
    if small:
        raise UserError(f"{len(small)} image(s) smaller than the {crop} px {what}, e.g. {', '.join(small[:3])}: {fix}")


class UnreadableImage(UserError):
    """An image whose header read at start but whose pixels do not (a file cut off mid-copy)."""

    def __init__(self, message: str, path=None):  # path optional: a DataLoader re-raises from the message
        super().__init__(message)
        self.path = path
        self.why = message.replace(f"cannot read image {path}: ", "", 1) if path is not None else message


def _decode(path: Path) -> np.ndarray:
    try:
        return read_rgb(path)
    except UserError as e:
        raise UnreadableImage(str(e), path) from None


_WARNED: set = set()  # files already reported by this process (each loader worker has its own)


def _warn(line: str) -> None:
    """One line on stderr of its own, not glued to the progress bar: through tqdm in the main
    process; a loader worker (whose copy of tqdm's locks and bars is stale) starts a new line."""
    if torch.utils.data.get_worker_info() is None:
        tqdm.write(line, file=sys.stderr)
    else:
        print("\n" + line, file=sys.stderr, flush=True)


class FolderDataset(Dataset):
    """What every folder dataset shares: a sample whose image cannot be decoded is reported once
    and replaced by the next index (with a seed derived from the same one, so a resumed run sees
    the same stream); one bad file among thousands must not end a long run. Only when no index
    gives a readable sample is the first error raised. Subclasses implement `_sample(i, seed)`.
    `meta` is what the folder says the networks must be sized for (domains, classes, ...)."""

    meta = DataMeta()

    def _sample(self, i: int, seed: int) -> dict:
        raise NotImplementedError

    def _attempts(self) -> int:
        return len(self)

    def __getitem__(self, key):
        i, seed = key if isinstance(key, tuple) else (key, key)
        first = None
        for k in range(max(1, self._attempts())):
            s = seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1)[0]) % 2 ** 31
            try:
                return self._sample((i + k) % len(self), s)
            except UnreadableImage as e:
                if e.path not in _WARNED:
                    _WARNED.add(e.path)
                    _warn(f"warning: skipped unreadable image {e.path}: {e.why}")
                first = first or e
        raise first


def _stem_key(path: Path, base: Path) -> str:
    return str(path.relative_to(base).with_suffix(""))


def match_pairs(a_dir: Path, b_dir: Path, exclude=()) -> list[tuple[Path, Path]]:
    a = {_stem_key(p, a_dir): p for p in _images(a_dir, exclude=exclude)}
    b = {_stem_key(p, b_dir): p for p in _images(b_dir, exclude=exclude)}
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
            img = _decode(path)
            if self.load_size:
                img = scale_shorter_side(img, self.load_size)
            hit = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
            if self.used + hit.size <= self.budget:
                self.store[path] = hit
                self.used += hit.size
        return hit

    def get(self, path: Path) -> np.ndarray:
        return _float(self.raw(path))


class TranslationFolder(FolderDataset):
    """What paired and unpaired folders share: how the config's data keys reach them, and the
    size check (with load_size 0 each image is cropped at its own size, so it must hold the crop)."""

    @classmethod
    def from_config(cls, d, split: str, train: bool, exclude=()) -> Dataset:
        return cls(d.root, split=split, load_size=d.load_size, crop_size=d.crop_size, flip=d.flip,
                   direction=d.direction, max_images=d.max_images, train=train, exclude=exclude)

    @staticmethod
    def _check_sizes(every, cropped, load_size: int, crop_size: int) -> None:
        check_sizes(every)
        check_sizes(cropped, 0 if load_size else crop_size, "crop (data.crop_size) at data.load_size=0 (keep size)",
                    "use a smaller --crop-size, set --load-size, or remove them")


def _unpaired_layout(*folders: Path) -> str | None:
    for d in dict.fromkeys(folders):
        for tag in ("train", "test", "val"):
            if (d / f"{tag}A").is_dir() and (d / f"{tag}B").is_dir():
                return f"found {d / tag}A/ and {d / tag}B/ — that is an unpaired layout, use cyclegan"
    return None


def _check_side_by_side(base: Path, sizes: list[tuple[Path, tuple[int, int]]]) -> None:
    """Only images about twice as wide as high are cut into A and B halves (AB_RATIO)."""
    lo, hi = AB_RATIO
    bad = [(p, w, h) for p, (w, h) in sizes if not lo <= w / max(h, 1) <= hi]
    if bad:
        p, w, h = bad[0]
        raise UserError(f"{PAIRED_LAYOUTS.format(d=base)}; {len(bad)} of {len(sizes)} image(s) in {base} are not, "
                        f"e.g. {p} ({w}x{h})")


class PairedFolder(TranslationFolder):
    def __init__(self, root, split: str = "train", load_size: int = 286, crop_size: int = 256,
                 flip: bool = True, direction: str = "AtoB", max_images: int = 0, train: bool = True,
                 exclude=()):
        root = _dir(root)
        base = split_dir(root, split)
        if base is None:
            raise UserError(f"no {' or '.join(SPLIT_NAMES[split])}/ split in {root}")
        if (base / "A").is_dir() and (base / "B").is_dir():
            self.items = [(a, b) for a, b in match_pairs(base / "A", base / "B", exclude)]
        else:
            found = _unpaired_layout(base, root)
            if found:  # trainA/ + trainB/ photos would otherwise be cut in half as if AB images
                raise UserError(f"{PAIRED_LAYOUTS.format(d=base)}; {found}")
            self.items = [(p, None) for p in _images(base, root, exclude)]  # side-by-side AB
        if max_images:
            self.items = self.items[:max_images]
        paths = [p for pair in self.items for p in pair if p is not None]
        size = dict(zip(paths, readable(paths)))
        if self.items[0][1] is None:
            _check_side_by_side(base, [(p, size[p]) for p, _ in self.items])
            halves = [(f"{p} (each AB half)", (size[p][0] // 2, size[p][1])) for p, _ in self.items]
            self._check_sizes(halves, halves, load_size, crop_size)
        else:  # B is resized to its A, so A alone must hold the crop
            self._check_sizes([(str(p), size[p]) for p in paths], [(str(a), size[a]) for a, _ in self.items],
                              load_size, crop_size)
        self.swap = direction == "BtoA"
        self.crop_size = crop_size
        self.cache = ImageCache(load_size)
        self.transform = crop_flip(crop_size, flip, train)

    def __len__(self):
        return len(self.items)

    def _load_pair(self, i: int):
        a_path, b_path = self.items[i]
        if b_path is None:  # side-by-side: left half A, right half B
            ab = _decode(a_path)
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

    def _sample(self, i: int, seed: int) -> dict:
        a, b = self._load_pair(i)
        a, b = apply(self.transform, seed, a, b)
        return {"A": to_tensor(a), "B": to_tensor(b), "path": str(self.items[i][0])}


class UnpairedFolder(TranslationFolder):
    def __init__(self, root, split: str = "train", load_size: int = 286, crop_size: int = 256,
                 flip: bool = True, direction: str = "AtoB", max_images: int = 0, train: bool = True,
                 exclude=()):
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
        self.a, self.b = _images(dirs[0], exclude=exclude), _images(dirs[1], exclude=exclude)
        if max_images:
            self.a, self.b = self.a[:max_images], self.b[:max_images]
        sizes = list(zip(map(str, self.a + self.b), readable(self.a + self.b)))
        self._check_sizes(sizes, sizes, load_size, crop_size)
        if direction == "BtoA":
            self.a, self.b = self.b, self.a
        self.cache = ImageCache(load_size)
        self.transform = crop_flip(crop_size, flip, train)
        self.train = train

    def __len__(self):
        return len(self.a)

    def _attempts(self) -> int:
        return max(len(self.a), len(self.b))  # a bad B is left behind by the fallback's new seed

    def _sample(self, i: int, seed: int) -> dict:
        # B is drawn at random (seeded) so A/B pairings change every epoch, as unpaired data should
        seed_a, seed_b, seed_j = sub_seeds(seed, 3)
        j = int(np.random.default_rng(seed_j).integers(len(self.b))) if self.train else i % len(self.b)
        a, _ = apply(self.transform, seed_a, self.cache.get(self.a[i]))
        b, _ = apply(self.transform, seed_b, self.cache.get(self.b[j]))
        return {"A": to_tensor(a), "B": to_tensor(b), "path": str(self.a[i])}


class SRFolder(FolderDataset):
    """Super-resolution pairs: A = low-res input, B = high-res target (`crop_size` HR pixels).

    A folder of HR photos (or its HR/ subfolder): each sample is a random HR crop, flipped /
    rotated, then degraded to LR (`Degradation`), so LR and HR are aligned by construction.
    LR/ + HR/ with matching stems: an LR crop and the HR crop at scale x its position.
    """

    def __init__(self, root, split: str = "train", crop_size: int = 128, scale: int = 4, flip: bool = True,
                 rot90: bool = False, blur: float = 0.0, noise: float = 0.0, jpeg: int = 0, max_images: int = 0,
                 train: bool = True, exclude=()):
        root = _dir(root)
        base = split_dir(root, split)
        if base is None:
            raise UserError(f"no {' or '.join(SPLIT_NAMES[split])}/ split in {root}")
        if (base / "LR").is_dir() and (base / "HR").is_dir():
            self.items = match_pairs(base / "LR", base / "HR", exclude)
        else:
            hr = base / "HR" if (base / "HR").is_dir() else base
            self.items = [(None, p) for p in _images(hr, root, exclude)]
        if max_images:
            self.items = self.items[:max_images]
        self.crop, self.scale, self.flip, self.rot90, self.train = crop_size, scale, flip, rot90, train
        self._check_sizes()
        self.cache = ImageCache(0)
        self.degrade = Degradation(scale, blur, noise, jpeg)

    @classmethod
    def from_config(cls, d, split: str, train: bool, exclude=()) -> Dataset:
        return cls(d.root, split=split, crop_size=d.crop_size, scale=d.scale, flip=d.flip, rot90=d.rot90,
                   blur=d.blur, noise=d.noise, jpeg=d.jpeg, max_images=d.max_images, train=train, exclude=exclude)

    def _check_sizes(self) -> None:
        """Header-only checks, so a bad file is named now, not deep inside a loader worker."""
        sizes = []
        for lr_path, hr_path in self.items:
            w, h = image_size(hr_path)
            if lr_path is not None:
                lw, lh = image_size(lr_path)
                if (lw * self.scale, lh * self.scale) != (w, h):
                    raise UserError(f"{hr_path} is {w}x{h} but {lr_path} is {lw}x{lh}: with data.scale={self.scale} "
                                    f"the HR image must be {lw * self.scale}x{lh * self.scale}")
            sizes.append((str(hr_path), (w, h)))
        check_sizes(sizes, self.crop, "HR crop (data.crop_size)")

    def __len__(self):
        return len(self.items)

    def _window(self, rng, h: int, w: int, size: int) -> tuple[int, int]:
        if not self.train:
            return (h - size) // 2, (w - size) // 2
        return int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))

    def _sample(self, i: int, seed: int) -> dict:
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
    """Endless stream of (index, seed), reshuffled each epoch, restartable at any position.
    Distributed: the stream is cut into global batches of world x batch positions and process
    `rank` takes the rank-th batch-sized slice of each (`start` counts global positions), so the
    processes together read what one process with world x batch would."""

    def __init__(self, n: int, seed: int, start: int = 0, shuffle: bool = True, rank: int = 0, world: int = 1,
                 batch: int = 1):
        self.n, self.seed, self.start, self.shuffle = n, seed, start, shuffle
        self.rank, self.world, self.batch = rank, world, batch

    def __iter__(self):
        pos = self.start
        while True:
            epoch, offset = divmod(pos, self.n)
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.n, generator=g).tolist() if self.shuffle else list(range(self.n))
            for k in range(offset, self.n):
                if self.world == 1 or (pos - self.start) // self.batch % self.world == self.rank:
                    yield order[k], (self.seed * 1_000_003 + pos) % (2 ** 31)
                pos += 1


DATASETS = {"paired": PairedFolder, "unpaired": UnpairedFolder, "sr": SRFolder}


def build_dataset(cfg_data, kind: str, split: str = "train", train: bool = True, exclude=()) -> Dataset:
    """`exclude`: folders never scanned for images (train.py passes its --out)."""
    return DATASETS[kind].from_config(cfg_data, split, train, exclude)
