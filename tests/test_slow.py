"""Longer checks (`pytest -m slow`): the paper-sized presets train (the SR presets both in their
default bicubic-residual form and as published, `-paper`), and tiling holds for the paper-sized
RRDB (23 blocks: a receptive field far larger than the tile overlap)."""
import pytest
import skimage.data
import torch

from helpers import make_trainer
from i2i import config
from i2i.data.io import to_tensor
from i2i.inference import Translator
from i2i.pipelines import build_pipeline

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preset,data,extra", [
    ("pix2pix", "paired", ["data.load_size=286", "data.crop_size=256"]),
    ("cyclegan", "unpaired", ["data.load_size=128", "data.crop_size=128"]),
    *[(preset + paper, "paired/train/B", extra) for paper in ("", "-paper") for preset, extra in [
        ("esrgan-psnr", ["data.crop_size=128"]),
        ("srresnet", ["data.crop_size=96"]),
        ("esrgan", ["loss.perceptual=0"]),  # (VGG19 weights are not on CI machines)
        ("srgan", ["loss.perceptual=0"]),
    ]],
])
def test_paper_sized_presets_train(demo_data, tmp_path, preset, data, extra):
    cfg = config.load(preset, [f"data.root={demo_data / data}", "train.iters=2", "train.batch_size=2",
                               "data.num_workers=0", *extra])
    t = make_trainer(cfg, tmp_path / "run")
    losses = t.fit()
    assert t.step == 2 and losses and all(v == v for v in losses.values())  # finite, not NaN


def test_paper_sized_rrdb_tiles_like_the_whole_image():
    torch.manual_seed(0)
    cfg = config.load("esrgan-psnr-paper")  # the network's own output: at init, the default's is plain bicubic
    tr = Translator(build_pipeline(cfg, training=False), cfg, torch.device("cpu"))
    x = to_tensor(skimage.data.astronaut()[100:196, 100:196].astype("float32") / 255)[None]
    whole = tr.translate_tensor(x)
    assert (tr.translate_tensor(x, tile=32, overlap=16) - whole).abs().max().item() / 2 <= 1 / 255
    assert (tr.translate_tensor(x, tile=32, overlap=0) - whole).abs().max().item() / 2 > 1 / 255
