"""Shared fixtures: small datasets built from real photos that ship with scikit-image."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasets.build_demo import build  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _same_threads_for_every_test():
    """train_main/translate_main pick a thread count from the processes running beside them;
    results that depend on the count (bit-exact fingerprints) must not depend on test order."""
    yield
    torch.set_num_threads(2)


# The suite's figures (bit-exact resume, fingerprints, tolerances) are the CPU's, where CI runs:
# on a machine with a GPU, `device=auto`, every fixture of any scope and every subprocess still
# take the CPU. Tests marked `cuda` (tests/test_cuda.py) are the GPU's own; they get it back.
_cuda_is_available, _cuda_visible = torch.cuda.is_available, os.environ.get("CUDA_VISIBLE_DEVICES")
GPUS = torch.cuda.device_count() if _cuda_is_available() else 0  # counted before they are hidden
if GPUS:
    torch.cuda.init()  # this process keeps its GPUs; the variable below hides them from children
torch.cuda.is_available = lambda: False
os.environ["CUDA_VISIBLE_DEVICES"] = ""


@pytest.fixture(autouse=True)
def _gpu_for_cuda_tests(request):
    if "cuda" not in request.keywords:
        yield
        return
    if not _cuda_is_available():
        pytest.skip("needs a CUDA GPU")
    with pytest.MonkeyPatch.context() as mp:  # not the test's own monkeypatch: its undo() keeps this
        mp.setattr(torch.cuda, "is_available", _cuda_is_available)
        if _cuda_visible is None:
            mp.delenv("CUDA_VISIBLE_DEVICES")
        else:
            mp.setenv("CUDA_VISIBLE_DEVICES", _cuda_visible)
        yield


def subprocess_env(**extra: str) -> dict:
    """os.environ for a child Python that imports i2i from this checkout (PYTHONPATH prepended,
    not replaced: an environment may need its own entries)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """paired/{train,test}/{A,B} and unpaired/{trainA,trainB,testA,testB_truth}."""
    return build(tmp_path_factory.mktemp("demo_data"))


def save_png(path: Path, array: np.ndarray) -> Path:
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def draw_digits(root: Path, per_class: int = 40, size: int = 16, seed: int = 0) -> Path:
    """root/<digit>/*.png: the digits 0-9 drawn in Pillow's built-in font, white on black, at
    random offsets and sizes: ten visibly different classes for the GAN and metric tests."""
    from PIL import Image, ImageDraw, ImageFont
    r = np.random.default_rng(seed)
    for digit in range(10):
        for k in range(per_class):
            font = ImageFont.load_default(size=int(r.integers(size * 5 // 8, size * 7 // 8)))
            im = Image.new("L", (size, size), 0)
            draw = ImageDraw.Draw(im)
            left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font)
            x = (size - (right - left)) / 2 - left + r.uniform(-1.5, 1.5)
            y = (size - (bottom - top)) / 2 - top + r.uniform(-1.5, 1.5)
            draw.text((x, y), str(digit), fill=int(r.integers(200, 256)), font=font)
            save_png(root / str(digit) / f"{digit}_{k:03d}.png", np.asarray(im))
    return root


@pytest.fixture(scope="session")
def digits(tmp_path_factory) -> Path:
    """Ten class folders of 16 px drawn digits (see draw_digits)."""
    return draw_digits(tmp_path_factory.mktemp("digits"))
