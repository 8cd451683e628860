"""Shared fixtures: small datasets built from real photos that ship with scikit-image."""
from __future__ import annotations

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
