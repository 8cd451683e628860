"""Label-map data made from real photos: each pixel's label is its nearest of K fixed cluster
centres of (luminance, local texture), the centres learned once on the training photos, so a
label means the same kind of surface in every photo (dark smooth, bright textured, ...).

    python datasets/build_labels.py PHOTOS_DIR OUT_DIR [--k 8] [--size 256] [--test 0.2]

writes OUT_DIR/train/{labels,images}/ and OUT_DIR/test/{labels,images}/ (index PNGs, value =
cluster id, and the photo crops) and OUT_DIR/centres.json. It is what the SPADE / pix2pixHD
tests and benchmarks train on: real photos whose true picture for each held-out map is known.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

TEXTURE_WEIGHT = 3.0  # local standard deviations are small next to luminance: weigh them up


def features(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 in [0, 1] -> H x W x 2: smoothed luminance and the local (7 x 7) standard
    deviation of luminance, weighted."""
    lum = (rgb[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
    mean = cv2.blur(lum, (7, 7))
    std = np.sqrt(np.maximum(cv2.blur(lum * lum, (7, 7)) - mean * mean, 0))
    return np.stack([cv2.blur(lum, (3, 3)), TEXTURE_WEIGHT * std], -1)


def fit_centres(photos: list[np.ndarray], k: int, seed: int = 0, samples: int = 40000) -> np.ndarray:
    """k-means (k-means++ start, 30 Lloyd steps) on pixels drawn from every photo; centres sorted
    by luminance so ids read dark -> bright."""
    rng = np.random.default_rng(seed)
    pix = np.concatenate([f.reshape(-1, 2) for f in map(features, photos)])
    pix = pix[rng.choice(len(pix), min(samples, len(pix)), replace=False)]
    centres = [pix[rng.integers(len(pix))]]
    for _ in range(1, k):
        d = np.min(((pix[:, None] - np.array(centres)[None]) ** 2).sum(-1), 1)
        centres.append(pix[rng.choice(len(pix), p=d / d.sum())])
    centres = np.array(centres)
    for _ in range(30):
        ids = np.argmin(((pix[:, None] - centres[None]) ** 2).sum(-1), 1)
        centres = np.array([pix[ids == j].mean(0) if (ids == j).any() else centres[j] for j in range(k)])
    return centres[np.argsort(centres[:, 0])].astype(np.float32)


def label_map(rgb: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """H x W uint8: each pixel's nearest centre."""
    f = features(rgb)
    d = ((f[:, :, None, :] - centres[None, None]) ** 2).sum(-1)
    return np.argmin(d, -1).astype(np.uint8)


def write_split(out: Path, photos: list[tuple[str, np.ndarray]], centres: np.ndarray) -> None:
    for name, rgb in photos:
        for sub, arr in (("images", np.round(rgb * 255).astype(np.uint8)), ("labels", label_map(rgb, centres))):
            (out / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(out / sub / f"{name}.png")


def build(out: Path, train: list[tuple[str, np.ndarray]], test: list[tuple[str, np.ndarray]], k: int = 8) -> np.ndarray:
    """Write the two splits under `out`; the centres come from the training photos only."""
    centres = fit_centres([rgb for _, rgb in train], k)
    write_split(out / "train", train, centres)
    write_split(out / "test", test, centres)
    (out / "centres.json").write_text(json.dumps(centres.tolist()))
    return centres


def load_photos(folder: Path, size: int) -> list[tuple[str, np.ndarray]]:
    """Every photo under `folder`, its shorter side scaled to `size`, centre-cropped square."""
    out = []
    for p in sorted(q for q in folder.rglob("*") if q.suffix.lower() in (".png", ".jpg", ".jpeg")):
        im = Image.open(p).convert("RGB")
        s = size / min(im.size)
        im = im.resize((max(size, round(im.width * s)), max(size, round(im.height * s))), Image.LANCZOS)
        x, y = (im.width - size) // 2, (im.height - size) // 2
        out.append((p.stem, np.asarray(im.crop((x, y, x + size, y + size))).astype(np.float32) / 255))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--k", type=int, default=8, help="label classes (cluster centres)")
    ap.add_argument("--size", type=int, default=256, help="square crop side in pixels")
    ap.add_argument("--test", type=float, default=0.2, help="fraction of photos held out")
    a = ap.parse_args(argv)
    photos = load_photos(a.photos, a.size)
    if len(photos) < 5:
        print(f"need at least 5 photos in {a.photos}", file=sys.stderr)
        return 2
    n_test = max(1, round(len(photos) * a.test))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(photos))
    test = [photos[i] for i in sorted(order[:n_test])]
    train = [photos[i] for i in sorted(order[n_test:])]
    build(a.out, train, test, a.k)
    print(f"wrote {len(train)} training and {len(test)} held-out label maps ({a.k} classes) to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
