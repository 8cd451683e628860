"""Build the embedded demo datasets from real photos that ship with scikit-image.

    python datasets/build_demo.py [OUT_DIR]        (default: datasets/demo_data)

paired/   restoration task: A = degraded photo (colour cast, faded contrast, sensor noise),
          B = the clean photo; train/ and test/ hold *different* photos.
unpaired/ colour-grading task: trainA = photos, trainB = *other* photos with a warm
          "film" grade; testA + testB_truth = held-out photos and their graded truth.
sr/       x4 super-resolution: train = the clean training tiles (low-res inputs are made
          on the fly); test/LR + test/HR = the held-out photos bicubic-downscaled and their
          truth; test/bicubic = the baseline every model must beat.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TRAIN = ["astronaut", "coffee", "rocket", "motorcycle_left", "immunohistochemistry", "hubble_deep_field", "retina"]
TEST = ["chelsea", "motorcycle_right"]


def photo(name: str, max_side: int = 600) -> np.ndarray:
    import skimage.data
    if name.startswith("motorcycle_"):
        img = skimage.data.stereo_motorcycle()[0 if name.endswith("left") else 1]
    else:
        img = getattr(skimage.data, name)()
    pil = Image.fromarray(img[..., :3])
    if max(pil.size) > max_side:  # keep big scans from dominating the tiles
        s = max_side / max(pil.size)
        pil = pil.resize((round(pil.width * s), round(pil.height * s)), Image.LANCZOS)
    return np.asarray(pil).astype(np.float32) / 255.0


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What an old scan or a cheap sensor does: faded contrast, a colour cast, noise."""
    out = 0.75 * img + 0.125                      # faded
    out = out * np.array([1.08, 0.97, 0.82])      # yellow cast
    out = out + rng.normal(0, 0.03, img.shape)    # sensor noise
    return np.clip(out, 0, 1).astype(np.float32)


def grade(img: np.ndarray) -> np.ndarray:
    """A warm film look: lifted blacks, warm mid-tones, slightly desaturated."""
    gray = img.mean(axis=2, keepdims=True)
    out = 0.7 * img + 0.3 * gray
    out = np.power(np.clip(out, 0, 1), np.array([0.7, 0.9, 1.35]))
    return np.clip(0.85 * out + 0.08, 0, 1).astype(np.float32)


def save(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)


def tiles(img: np.ndarray, size: int = 128, stride: int = 96):
    """Overlapping crops so a handful of photos gives a training set with some variety."""
    h, w = img.shape[:2]
    for y in range(0, h - size + 1, stride):
        for x in range(0, w - size + 1, stride):
            yield f"{y:04d}_{x:04d}", img[y:y + size, x:x + size]


def build(out: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, names in (("train", TRAIN), ("test", TEST)):
        for name in names:
            img = photo(name)
            if split == "train":
                for key, crop in tiles(img):
                    save(out / "paired/train/A" / f"{name}_{key}.png", degrade(crop, rng))
                    save(out / "paired/train/B" / f"{name}_{key}.png", crop)
            else:
                save(out / "paired/test/A" / f"{name}.png", degrade(img, rng))
                save(out / "paired/test/B" / f"{name}.png", img)
    # unpaired: split the training photos' tiles in two disjoint halves so no B is a graded A
    for i, name in enumerate(TRAIN):
        for j, (key, crop) in enumerate(tiles(photo(name))):
            if (i + j) % 2 == 0:
                save(out / "unpaired/trainA" / f"{name}_{key}.png", crop)
            else:
                save(out / "unpaired/trainB" / f"{name}_{key}.png", grade(crop))
    for name in TEST:
        save(out / "unpaired/testA" / f"{name}.png", photo(name))
        save(out / "unpaired/testB_truth" / f"{name}.png", grade(photo(name)))
    build_sr(out)
    return out


def build_sr(out: Path, scale: int = 4) -> None:
    from i2i.data.degradations import downscale, mod_crop, upscale
    (out / "sr/train").mkdir(parents=True, exist_ok=True)
    for p in sorted((out / "paired/train/B").iterdir()):  # the clean tiles, as they are
        shutil.copyfile(p, out / "sr/train" / p.name)
    for name in TEST:
        hr = mod_crop(photo(name), scale)
        lr = downscale(hr, scale)
        save(out / "sr/test/HR" / f"{name}.png", hr)
        save(out / "sr/test/LR" / f"{name}.png", lr)
        save(out / "sr/test/bicubic" / f"{name}.png", upscale(lr, scale))


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "datasets/demo_data")
    build(out)
    print(f"demo datasets written to {out}")
