"""Reading and writing images at the edge of the system: everything inside is float RGB.

`read_image` accepts anything Pillow reads (8/16-bit, grayscale, palette, RGBA, CMYK),
applies the EXIF orientation, and keeps what is needed to write the result back the
way it came (alpha, bit depth, grayscale, ICC profile). Failures are `UserError`s that
name the file.
"""
from __future__ import annotations

import os
import struct
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import UserError
from ..files import atomic_write

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"}
Image.MAX_IMAGE_PIXELS = 40_000 ** 2  # photos of any size (SR), but still refuse absurd bombs


@dataclass
class ImageData:
    rgb: np.ndarray                 # H x W x C float32 in [0, 1]; C = 3, or 1 if grayscale
    alpha: np.ndarray | None        # H x W float32 in [0, 1]
    bits: int                       # 8 or 16
    icc: bytes | None

    @property
    def grayscale(self) -> bool:
        return self.rgb.shape[2] == 1


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


RUN_CONFIG, RUN_SUBFOLDERS = "config.yaml", ("weights", "samples")  # what train.py writes in --out
GALLERY_MANIFEST, GALLERY_FOLDER = "gallery.json", "gallery"  # what translate.py --html writes in --out


def is_run_folder(path) -> bool:
    """A training run folder (config.yaml beside weights/ or samples/): its sample grids are
    never data, so a run kept inside a dataset or an input folder is not read back."""
    path = Path(path)
    return (path / RUN_CONFIG).is_file() and any((path / d).is_dir() for d in RUN_SUBFOLDERS)


def list_images(folder: Path, recursive: bool = True, exclude=()) -> list[Path]:
    """Image files under `folder`, sorted. Pruned during the walk, never entered: hidden folders
    (.git, .venv), run folders (`is_run_folder`), a gallery's thumbnails and copies (gallery/
    beside gallery.json) and the folders in `exclude` (held-out splits, an output folder); a
    run's own samples must not become its training or translation inputs, nor a page's pictures
    outputs to score.
    Symlinked folders are followed (as rglob did), each real folder once."""
    folder = Path(folder)
    skip = {os.path.realpath(e) for e in exclude}
    if is_run_folder(folder) or os.path.realpath(folder) in skip:
        return []
    found, seen = [], set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop, or a second link to a folder already listed
            dirnames[:] = []
            continue
        seen.add(real)
        gallery = os.path.isfile(os.path.join(dirpath, GALLERY_MANIFEST))
        dirnames[:] = [d for d in dirnames if recursive and not d.startswith(".")
                       and os.path.realpath(os.path.join(dirpath, d)) not in skip
                       and not is_run_folder(os.path.join(dirpath, d)) and not (gallery and d == GALLERY_FOLDER)]
        found += [Path(dirpath, f) for f in filenames
                  if is_image(Path(f)) and os.path.isfile(os.path.join(dirpath, f))]
    return sorted(found)


@contextmanager
def _reading(path: Path):
    """Whatever goes wrong while reading becomes one line naming the file."""
    try:
        yield
    except FileNotFoundError:
        raise UserError(f"image not found: {path}") from None
    except Image.DecompressionBombError:
        raise UserError(f"{path}: image is larger than {Image.MAX_IMAGE_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        why = str(e).splitlines()[0] if str(e) else "corrupt or truncated"
        raise UserError(f"cannot read image {path}: {why}") from None


def read_image(path) -> ImageData:
    path = Path(path)
    with _reading(path):
        deep = _read_16bit(path)
        with Image.open(path) as im:
            icc = im.info.get("icc_profile")
            if deep is not None:
                return _split_alpha(_orient(deep, _orientation(im)), 16, icc)
            im = ImageOps.exif_transpose(im)
            return _split_alpha(_pil_to_array(im), 8, icc)


def _orientation(im: Image.Image) -> int:
    """EXIF orientation without decoding pixels (Pillow's getexif() on a PNG loads the image)."""
    if im.format == "PNG":
        raw = im.info.get("exif")
        if not raw:
            return 1
        exif = Image.Exif()
        exif.load(raw)
        return exif.get(0x0112, 1)
    return im.getexif().get(0x0112, 1)


def image_size(path) -> tuple[int, int]:
    """(width, height) as `read_image` will return it (EXIF rotation applied), from the header only."""
    path = Path(path)
    with _reading(path), Image.open(path) as im:
        w, h = im.size
        if _orientation(im) in (5, 6, 7, 8):  # rotated by 90 degrees
            w, h = h, w
        return w, h


def _read_16bit(path: Path) -> np.ndarray | None:
    """16-bit PNG/TIFF through OpenCV (Pillow reduces 16-bit RGB to 8 bits)."""
    ext = path.suffix.lower()
    if ext == ".png":
        with open(path, "rb") as f:
            head = f.read(25)
        if len(head) < 25 or head[24] != 16:  # IHDR bit depth
            return None
    elif ext not in (".tif", ".tiff"):
        return None
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None or a.dtype != np.uint16:
        return None
    a = a.astype(np.float32) / 65535.0
    if a.ndim == 2:
        return a[..., None]
    return a[..., [2, 1, 0, 3][: a.shape[2]]]  # BGR(A) -> RGB(A)


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an H x W x C array, as ImageOps.exif_transpose does
    for the 8-bit path (OpenCV's 16-bit reader ignores the tag)."""
    ops = {2: lambda x: x[:, ::-1], 3: lambda x: x[::-1, ::-1], 4: lambda x: x[::-1],
           5: lambda x: x.swapaxes(0, 1), 6: lambda x: np.rot90(x, -1),
           7: lambda x: x[::-1, ::-1].swapaxes(0, 1), 8: lambda x: np.rot90(x, 1)}
    return np.ascontiguousarray(ops[orientation](a)) if orientation in ops else a


def _png_with_icc(png: bytes, icc: bytes) -> bytes:
    """Insert an iCCP chunk after IHDR (OpenCV, which writes 16-bit PNGs, cannot)."""
    data = b"ICC profile\0\0" + zlib.compress(icc)
    chunk = struct.pack(">I", len(data)) + b"iCCP" + data + struct.pack(">I", zlib.crc32(b"iCCP" + data))
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length + type, IHDR data, CRC
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def _pil_to_array(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.clip(np.asarray(im).astype(np.float32) / 65535.0, 0, 1)[..., None]
    if im.mode == "F":
        return np.clip(np.asarray(im).astype(np.float32), 0, 1)[..., None]
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")  # 1, CMYK, YCbCr, ...
    a = np.asarray(im).astype(np.float32) / 255.0
    return a[..., None] if a.ndim == 2 else a


def _split_alpha(a: np.ndarray, bits: int, icc) -> ImageData:
    if a.shape[2] in (2, 4):
        return ImageData(np.ascontiguousarray(a[..., :-1]), np.ascontiguousarray(a[..., -1]), bits, icc)
    return ImageData(a, None, bits, icc)


def read_rgb(path) -> np.ndarray:
    """For training: H x W x 3 float32 in [0, 1]; grayscale is repeated, alpha dropped."""
    img = read_image(path)
    if img.grayscale:
        return np.repeat(img.rgb, 3, axis=2)
    return img.rgb


def write_image(path, rgb: np.ndarray, alpha: np.ndarray | None = None, bits: int = 8,
                icc: bytes | None = None) -> None:
    """Write atomically (temp file + rename, `i2i.files`). 16-bit goes through OpenCV (Pillow can't)."""
    path = Path(path)
    a = np.concatenate([rgb, alpha[..., None]], axis=2) if alpha is not None else np.array(rgb, np.float32)
    np.clip(a, 0, 1, out=a)  # one working copy, scaled in place below (SR outputs are large)

    def write(tmp: str) -> None:
        if bits == 16:
            q = np.round(np.multiply(a, 65535, out=a), out=a).astype(np.uint16)
            if q.shape[2] >= 3:
                q = q[..., [2, 1, 0, 3][: q.shape[2]]]  # RGB(A) -> BGR(A) for OpenCV
            if not cv2.imwrite(tmp, q[..., 0] if q.shape[2] == 1 else q):
                raise UserError(f"cannot write {path}")
            if icc and _format(path) == "PNG":
                with open(tmp, "rb") as f:
                    png = f.read()
                with open(tmp, "wb") as f:
                    f.write(_png_with_icc(png, icc))
        else:
            q = np.round(np.multiply(a, 255, out=a), out=a).astype(np.uint8)
            mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[q.shape[2]]
            img = Image.fromarray(q[..., 0] if q.shape[2] == 1 else q, mode)
            kwargs = {"icc_profile": icc} if icc else {}
            img.save(tmp, format=_format(path), **kwargs)

    atomic_write(path, write)


def _format(path: Path) -> str:
    ext = path.suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".webp": "WEBP"}.get(ext, "PNG")


def to_tensor(a: np.ndarray):
    """H x W x C [0,1] -> C x H x W [-1,1]."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) * 2 - 1


def to_numpy(t) -> np.ndarray:
    """C x H x W [-1,1] -> H x W x C [0,1]."""
    a = t.detach().float().cpu().clamp(-1, 1)  # a new tensor: finished in place (big SR outputs)
    return a.add_(1).div_(2).permute(1, 2, 0).numpy()
