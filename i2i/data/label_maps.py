"""Semantic label maps for SPADE / pix2pixHD (label map -> photo): DIR/labels/*.png of class ids
beside DIR/images/* (the photos, matching names), optionally DIR/instances/* of object ids
(pix2pixHD's boundary map), each optionally under train/ with test/ or val/ beside it.

A label map's pixels are class ids 0..label_nc-1, 255 = "don't care" (Cityscapes, ADE20K). A
palette PNG keeps its indices, a gray PNG its values, a colour-coded map goes through a palette
file (`read_palette`). Ids are never interpolated: maps are resized by nearest neighbour only
and cropped / flipped with their photo as albumentations mask targets, so a sample holds no id
its map did not.
"""
from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import albumentations as A
import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm import tqdm

from ..errors import UserError
from .folders import (DATASETS, SPLIT_NAMES, FolderDataset, ImageCache, UnreadableImage, _dir, _float, _images,
                      _stem_key, check_sizes, split_dir)
from .io import _reading, image_size, to_tensor
from .meta import DataMeta

DONT_CARE = 255
LAYOUT = "label-map data needs {d}/labels/ + {d}/images/ with matching names (optional {d}/instances/)"
PALETTE_FORMAT = ("'R G B ID [name]' or '#rrggbb ID [name]' (R, G, B, ID 0-255, ID 255 = don't care; "
                  "spaces or commas between)")
LOSSY = {".jpg", ".jpeg"}  # compression blends neighbouring ids into ids that are not there

_HEX = re.compile(r"#([0-9a-fA-F]{6})$")
_COMMENT = re.compile(r"(^|\s)#(\s|$)")          # "# note", also at the end of a colour line
_COLOUR_AT_START = re.compile(r"#[0-9a-fA-F]{6}([\s,]|$)")


# ---------------------------------------------------------------- palettes and maps (numpy)

def read_palette(path) -> dict[tuple[int, int, int], int]:
    """Colour -> class id for colour-coded label maps. One colour a line, `R G B ID` or
    `#rrggbb ID`, an optional name after it; blank lines and `#` comments are skipped. A
    colour listed twice with two ids would make the map ambiguous, so it is an error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"palette not found: {path} (data.palette)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read palette {path}: {e}") from None
    colours: dict[tuple[int, int, int], int] = {}
    first_line: dict[tuple[int, int, int], int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        comment = _COMMENT.search(line)
        if comment:
            line = line[:comment.start()].strip()
        if not line or (line.startswith("#") and not _COLOUR_AT_START.match(line)):
            continue
        parsed = _palette_line(line)
        if parsed is None:
            raise UserError(f"{path}, line {n}: cannot read {raw.strip()!r}: expected {PALETTE_FORMAT}")
        colour, cid = parsed
        if colours.get(colour, cid) != cid:
            raise UserError(f"{path}, line {n}: colour {colour} is already id {colours[colour]} "
                            f"(line {first_line[colour]}): give each colour one id")
        colours[colour] = cid
        first_line.setdefault(colour, n)
    if not colours:
        raise UserError(f"{path}: no colours in this palette: expected lines {PALETTE_FORMAT}")
    return colours


def _palette_line(line: str) -> tuple[tuple[int, int, int], int] | None:
    tokens = [t for t in re.split(r"[\s,]+", line) if t]
    hexed = _HEX.match(tokens[0])
    if hexed:
        h = hexed.group(1)
        colour, rest = [int(h[k:k + 2], 16) for k in (0, 2, 4)], tokens[1:2]
    else:
        colour, rest = [_byte(t) for t in tokens[:3]], tokens[3:4]
    cid = _byte(rest[0]) if rest else None
    if len(colour) != 3 or None in colour or cid is None:
        return None
    return (colour[0], colour[1], colour[2]), cid


def _byte(token: str) -> int | None:
    return int(token) if re.fullmatch(r"\+?\d{1,3}", token) and int(token) <= 255 else None


def _compact(ids: np.ndarray) -> np.ndarray:
    """uint8 where the ids fit (cached maps stay small), else int32."""
    if ids.size and 0 <= ids.min() and ids.max() <= 255:
        return ids.astype(np.uint8, copy=False)
    return ids.astype(np.int32, copy=False)


def _read_raw(path: Path) -> np.ndarray:
    """H x W stored values, or H x W x 3 colours, EXIF-oriented like the photos (`io.read_image`).
    A palette PNG's indices are the ids: it is never converted to RGB."""
    with _reading(path), Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode == "F":
            raise UserError(f"{path} is a floating-point image, not a label map: save the class ids as an "
                            "8- or 16-bit PNG")
        if im.mode in ("LA", "PA"):
            im = im.getchannel(0)
        elif im.mode not in ("1", "L", "P", "RGB", "RGBA") and not im.mode.startswith("I"):
            im = im.convert("RGB")  # CMYK, YCbCr: only ever colours
        a = np.asarray(im)
    if a.ndim == 2:
        return _compact(a.astype(np.uint8) if a.dtype == bool else a)  # 1-bit: classes 0 and 1
    return a[..., :3]


def _gray(rgb: np.ndarray) -> np.ndarray | None:
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return np.ascontiguousarray(rgb[..., 0])
    return None


def read_label_map(path, palette: dict | None = None, colour_fix: str | None = None) -> np.ndarray:
    """H x W class ids (uint8, or int32 for 16/32-bit maps with larger values). Single-channel
    and palette PNGs are read as their values / indices; an RGB map through `palette` when one
    is given (gray colours included: with a palette the maps are colour coded), else as its gray
    values when its three channels are equal. `colour_fix`: what to tell the user when a colour
    image comes without a palette (default: give one; a trained run without one says what it takes)."""
    path = Path(path)
    a = _read_raw(path)
    if a.ndim == 2:
        return a
    if palette is not None:
        return _apply_palette(a, palette, path)
    gray = _gray(a)
    if gray is None:
        raise UserError(f"{path} is a colour image: " + (colour_fix or "if it is a colour-coded label map, give "
                        "its palette (data.palette=FILE, or DIR/palette.txt with lines 'R G B ID')"))
    return gray


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _apply_palette(rgb: np.ndarray, palette: dict, path: Path) -> np.ndarray:
    keys = np.array([(r << 16) | (g << 8) | b for r, g, b in palette], np.int32)
    order = np.argsort(keys)
    keys, ids = keys[order], np.array(list(palette.values()), np.int32)[order]
    packed = _pack(rgb)
    at = np.minimum(np.searchsorted(keys, packed), len(keys) - 1)
    found = keys[at] == packed
    if not found.all():
        missing, counts = np.unique(packed[~found], return_counts=True)
        k = int(missing[np.argmax(counts)])
        colour = (k >> 16, (k >> 8) & 255, k & 255)
        more = f" ({len(missing) - 1} more colour(s) missing)" if len(missing) > 1 else ""
        raise UserError(f"{path}: colour {colour} (#{k:06x}, {int(counts.max())} pixels) is not in the palette"
                        f"{more}: add it as 'R G B ID' or fix the map")
    return _compact(ids[at])


def read_instance_map(path) -> np.ndarray:
    """H x W instance ids: any integers (16-bit maps such as Cityscapes' instanceIds); only
    equality matters (`boundary_map`), so a colour-coded map gets one id per colour."""
    a = _read_raw(Path(path))
    if a.ndim == 2:
        return a
    gray = _gray(a)
    return gray if gray is not None else _pack(a)


def scale_ids(ids: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to `size` by nearest neighbour, to exactly the size `scale_shorter_side` gives
    the photo. Pixel centres are aligned (as cv2's INTER_NEAREST_EXACT; plain INTER_NEAREST is
    shifted by half a source pixel against the photo's area / cubic resampling); numpy indexing
    works for every id dtype."""
    h, w = ids.shape[:2]
    s = size / min(h, w)
    if s == 1:
        return ids
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    rows = np.minimum(((np.arange(nh) + 0.5) * (h / nh)).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(nw) + 0.5) * (w / nw)).astype(np.int64), w - 1)
    return ids[rows[:, None], cols[None, :]]


def label_values(ids: np.ndarray) -> np.ndarray:
    """The sorted distinct ids of a map (bincount for uint8: many times faster than a sort)."""
    if ids.dtype == np.uint8:
        return np.flatnonzero(np.bincount(ids.ravel(), minlength=256))
    return np.unique(ids)


def _binary_mask(path, declared: bool) -> UserError:
    why = "but 2 classes are declared" if declared else \
        "and so do all the label maps, which reads as 1 class + don't care"
    return UserError(f"{path} looks like a 0/255 binary mask {why}: map 255 to 1 (255 means don't care)")


def check_label_values(ids, path, label_nc: int) -> None:
    """Every value is a class 0..label_nc-1 or 255 (don't care). `ids`: a map or its values."""
    if label_nc < 1:
        raise ValueError(f"label_nc must be >= 1, got {label_nc}")
    values = np.unique(np.asarray(ids))
    if label_nc == 2 and values.tolist() == [0, DONT_CARE]:
        raise _binary_mask(path, declared=True)
    bad = values[(values < 0) | ((values >= label_nc) & (values != DONT_CARE))]
    if bad.size and bad.max() < 0:
        raise UserError(f"{path}: label value {int(bad.min())} < 0 (classes are 0..{label_nc - 1}, "
                        f"255 = don't care): fix the map")
    if bad.size:
        raise UserError(f"{path}: label value {int(bad.max())} >= data.label_nc={label_nc} (classes are "
                        f"0..{label_nc - 1}, 255 = don't care): fix the map or raise data.label_nc")


def find_label_nc(values: dict) -> int:
    """label_nc from the maps themselves (path -> their values): the largest class id + 1."""
    union = np.unique(np.concatenate(list(values.values()))) if values else np.array([], np.int64)
    first = next(iter(values), "the label maps")
    if union.size and union.tolist() == [0, DONT_CARE]:
        raise _binary_mask(first, declared=False)
    classes = union[union != DONT_CARE]
    if not classes.size:
        raise UserError(f"{first}: the label maps hold no class ids, only 255 (don't care)")
    for path, v in values.items():
        v = v[v != DONT_CARE]
        if v.size and v.min() < 0:
            raise UserError(f"{path}: label value {int(v.min())} < 0: class ids are 0..254 (255 = don't care)")
        if v.size and v.max() > DONT_CARE:
            raise UserError(f"{path}: label value {int(v.max())}: class ids found from the data are 0..254 (255 = "
                            "don't care); an instance map goes in instances/, or set data.label_nc")
    return int(classes.max()) + 1


# ---------------------------------------------------------------- tensors (pipelines, on the device)

def semantic_channels(label_nc: int, dont_care: bool, instances: bool) -> int:
    """Input channels of the semantic condition: one per class, + don't care, + boundary map."""
    return int(label_nc) + int(bool(dont_care)) + int(bool(instances))


def one_hot_labels(label_map: torch.Tensor, label_nc: int, dont_care: bool) -> torch.Tensor:
    """N x 1 x H x W ids -> N x C x H x W float one-hot, C = label_nc (+ 1: 255 gets its own
    channel when `dont_care`). A value with no channel is a ValueError here, where scatter_ would
    fail with a device assert on CUDA and far from the cause."""
    if label_map.dim() != 4 or label_map.shape[1] != 1:
        raise ValueError(f"label_map must be N x 1 x H x W, got {tuple(label_map.shape)}")
    x = label_map.long()
    channels = label_nc + int(bool(dont_care))
    if dont_care:
        x = x.masked_fill(x == DONT_CARE, label_nc)
    bad = (x < 0) | (x >= channels)
    # a traced graph (ONNX export) cannot stop on a value: translate.py checks ids as it reads a map
    if not torch.compiler.is_compiling() and bool(bad.any()):
        v = int(label_map[bad][0])
        why = "255 (don't care) but the model has no don't-care channel" if v == DONT_CARE else \
            f"{v} outside the classes 0..{label_nc - 1}"
        raise ValueError(f"label value {why}")
    n, _, h, w = x.shape
    return torch.zeros(n, channels, h, w, device=x.device).scatter_(1, x, 1.0)


def boundary_map(instance: torch.Tensor) -> torch.Tensor:
    """pix2pixHD's instance edges: 1 where a pixel's id differs from its left, right, upper or
    lower neighbour (both pixels of such a pair), else 0. N x 1 x H x W -> float, same shape."""
    edge = torch.zeros_like(instance, dtype=torch.bool)
    dx = instance[..., :, 1:] != instance[..., :, :-1]
    dy = instance[..., 1:, :] != instance[..., :-1, :]
    edge[..., :, 1:] |= dx
    edge[..., :, :-1] |= dx
    edge[..., 1:, :] |= dy
    edge[..., :-1, :] |= dy
    return edge.float()


# ---------------------------------------------------------------- the dataset

class _MapCache:
    """Label / instance maps read and scaled (nearest) once, kept up to a memory budget like
    `ImageCache`; a file that fails to read mid-run is skipped like an unreadable photo."""

    def __init__(self, load_size: int, read, budget_bytes: int = 1 << 28):
        self.load_size, self.read, self.budget, self.used, self.store = load_size, read, budget_bytes, 0, {}

    def get(self, path: Path) -> np.ndarray:
        hit = self.store.get(path)
        if hit is None:
            try:
                hit = self.read(path)
            except UserError as e:
                raise UnreadableImage(str(e), path) from None
            if self.load_size:
                hit = scale_ids(hit, self.load_size)
            if self.used + hit.nbytes <= self.budget:
                self.store[path] = hit
                self.used += hit.nbytes
        return hit


def _by_name(folder: Path, what: str, exclude=()) -> dict[str, Path]:
    """Files of `folder` by relative path without extension (as `match_pairs`); two files with
    one name (a.png and a.jpg) would pair by chance, so they are an error."""
    found: dict[str, Path] = {}
    for p in _images(folder, exclude=exclude):
        key = _stem_key(p, folder)
        if key in found:
            raise UserError(f"{found[key]} and {p} have the same name: keep one {what} per name")
        found[key] = p
    return found


def _unmatched(keys: list[str], of: dict, folder: Path, what: str) -> str:
    more = f" ({len(keys) - 1} more like it, e.g. {', '.join(keys[1:4])})" if len(keys) > 1 else ""
    return f"{of[keys[0]]} has no {what} in {folder} (looked for {keys[0]}.*){more}"


def find_palette(palette: str, base: Path, root: Path) -> dict | None:
    """data.palette when given, else a palette.txt beside the split's folders or in the dataset root."""
    if palette:
        return read_palette(palette)
    for d in dict.fromkeys((base, root)):
        if (d / "palette.txt").is_file():
            return read_palette(d / "palette.txt")
    return None


class LabelMapFolder(FolderDataset):
    """Samples {"label_map": long 1 x h x w, "B": the photo (3 x h x w, [-1, 1]), "instance": long
    1 x h x w (only with instances/), "path"}. `meta` says label_nc (data.label_nc, or found from
    the maps), whether 255 = don't care occurs and whether instance maps exist."""

    def __init__(self, root, split: str = "train", load_size: int = 286, crop_size: int = 256, flip: bool = True,
                 max_images: int = 0, train: bool = True, label_nc: int = 0, palette: str = "", exclude=()):
        root = _dir(root)
        base = split_dir(root, split)
        if base is None:
            raise UserError(f"no {' or '.join(SPLIT_NAMES[split])}/ split in {root}")
        if load_size and crop_size > load_size:
            raise UserError(f"data.crop_size ({crop_size}) is larger than data.load_size ({load_size})")
        self.items = self._match(base, exclude)
        if max_images:
            self.items = self.items[:max_images]
        self._check_sizes(load_size, crop_size)
        self.palette = find_palette(palette, base, root)
        self.values = self._scan()
        dont_care = any(DONT_CARE in v for v in self.values.values())
        if label_nc:
            for path, v in self.values.items():
                check_label_values(v, path, label_nc)
        else:
            label_nc = find_label_nc(self.values)
        self.label_nc = label_nc
        self.meta = DataMeta(label_classes=label_nc, label_dont_care=dont_care,
                             label_instances=self.items[0][2] is not None,
                             label_palette=tuple((*rgb, i) for rgb, i in sorted((self.palette or {}).items())))
        self.cache = ImageCache(load_size)
        self.labels = _MapCache(load_size, partial(read_label_map, palette=self.palette))  # picklable: spawned workers
        self.instances = _MapCache(load_size, read_instance_map)
        ops = [A.RandomCrop(crop_size, crop_size)] if train else [A.CenterCrop(crop_size, crop_size)]
        if train and flip:
            ops.append(A.HorizontalFlip(p=0.5))
        # mask targets: albumentations only ever moves their pixels, never blends them
        self.transform = A.Compose(ops, additional_targets={"instance": "mask"})

    @classmethod
    def from_config(cls, d, split: str, train: bool, exclude=()):
        return cls(d.root, split=split, load_size=d.load_size, crop_size=d.crop_size, flip=d.flip,
                   max_images=d.max_images, train=train, label_nc=d.label_nc, palette=d.palette, exclude=exclude)

    @staticmethod
    def _match(base: Path, exclude) -> list[tuple[Path, Path, Path | None]]:
        need = LAYOUT.format(d=base)
        labels_dir, images_dir, inst_dir = base / "labels", base / "images", base / "instances"
        for d in (labels_dir, images_dir):
            if not d.is_dir():
                raise UserError(f"{need}; {d} not found")
        labels = _by_name(labels_dir, "label map", exclude)
        lossy = [p for p in labels.values() if p.suffix.lower() in LOSSY]
        if lossy:
            raise UserError(f"{lossy[0]}: label maps must be lossless (PNG): JPEG blends neighbouring ids into "
                            f"ids that are not there ({len(lossy)} such file(s))")
        images = _by_name(images_dir, "image", exclude)
        for keys, of, folder, what in ((sorted(set(labels) - set(images)), labels, images_dir, "image"),
                                       (sorted(set(images) - set(labels)), images, labels_dir, "label map")):
            if keys:
                raise UserError(f"{_unmatched(keys, of, folder, what)}: {need}")
        instances = {}
        if inst_dir.is_dir():
            instances = _by_name(inst_dir, "instance map", exclude)
            for keys, of, folder, what in ((sorted(set(labels) - set(instances)), labels, inst_dir, "instance map"),
                                           (sorted(set(instances) - set(labels)), instances, labels_dir,
                                            "label map")):
                if keys:
                    raise UserError(f"{_unmatched(keys, of, folder, what)}: with {inst_dir}/ every label map "
                                    "needs its instance map")
        return [(labels[k], images[k], instances.get(k)) for k in sorted(labels)]

    def _check_sizes(self, load_size: int, crop_size: int) -> None:
        """Header-only: a label map must cover its photo pixel for pixel (never resized to fit)."""
        photos = []
        for label, image, inst in self.items:
            lw, lh = image_size(label)
            iw, ih = image_size(image)
            if (lw, lh) != (iw, ih):
                raise UserError(f"{label} is {lw}x{lh} but its image {image} is {iw}x{ih}: label maps must be the "
                                "size of their photo")
            if inst is not None and image_size(inst) != (lw, lh):
                w, h = image_size(inst)
                raise UserError(f"{inst} is {w}x{h} but its label map {label} is {lw}x{lh}: instance maps must be "
                                "the size of their label map")
            photos.append((str(image), (iw, ih)))
        check_sizes(photos)
        check_sizes(photos, 0 if load_size else crop_size, "crop (data.crop_size) at data.load_size=0 (keep size)",
                    "use a smaller --crop-size, set --load-size, or remove them")

    def _scan(self) -> dict[Path, np.ndarray]:
        """Every map's distinct ids, read once at start: a bad value, an unknown colour or an
        unreadable map is named now, and label_nc / don't care come from the whole set."""
        labels = [label for label, _, _ in self.items]
        bar = tqdm(labels, desc="reading label maps", leave=False, disable=len(labels) < 500)
        return {p: label_values(read_label_map(p, self.palette)) for p in bar}

    def __len__(self):
        return len(self.items)

    def _sample(self, i: int, seed: int) -> dict:
        label_path, image_path, inst_path = self.items[i]
        photo, label = self.cache.raw(image_path), self.labels.get(label_path)
        targets = {"image": photo, "mask": label}
        if inst_path is not None:
            targets["instance"] = self.instances.get(inst_path)
        for name, a in targets.items():
            if a.shape[:2] != photo.shape[:2]:
                raise UserError(f"{label_path if name == 'mask' else inst_path} is {a.shape[1]}x{a.shape[0]} but "
                                f"its image {image_path} reads as {photo.shape[1]}x{photo.shape[0]} (after "
                                "data.load_size): label maps must be the size of their photo")
        self.transform.set_random_seed(int(seed) % 2 ** 32)
        out = self.transform(**targets)
        sample = {"label_map": torch.from_numpy(out["mask"].astype(np.int64))[None],
                  "B": to_tensor(_float(out["image"])), "path": str(label_path)}
        if inst_path is not None:
            sample["instance"] = torch.from_numpy(out["instance"].astype(np.int64))[None]
        return sample


DATASETS["labels"] = LabelMapFolder
