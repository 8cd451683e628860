"""MUNIT and UNIT: AdaIN semantics, the paper-sized parameter counts, styles (seeded, random,
from a reference image), UNIT's shared blocks stored once, tiny models that train on real
photos with falling losses, and translate.py's --styles / --seed / --style-from."""
import numpy as np
import pytest
import torch
from safetensors import safe_open

from conftest import save_png
from helpers import make_trainer
from i2i import config
from i2i.cli import translate_main
from i2i.data.io import read_image
from i2i.errors import UserError
from i2i.inference import Translator
from i2i.nn.conditional import AdaptiveInstanceNorm
from i2i.nn.layers import count_parameters
from i2i.pipelines import Request, build_pipeline

TINY_MUNIT = ["model.generator.ngf=8", "model.generator.num_blocks=1", "model.generator.mlp_dim=32",
              "model.discriminator.ndf=8", "model.discriminator.n_layers=2", "model.discriminator.num_D=2",
              "data.num_workers=0", "data.load_size=32", "data.crop_size=32", "train.batch_size=4",
              "train.log_every=5", "train.sample_every=1000", "train.lr=0.001", "train.lr_policy=constant"]
TINY_UNIT = [o for o in TINY_MUNIT if "mlp_dim" not in o]


def test_adain_output_moments_are_the_styles_shift_and_scale():
    norm = AdaptiveInstanceNorm(4)
    norm.offset = 2  # its slice of a longer parameter vector
    x = torch.randn(3, 4, 16, 16) * 5 + 2
    params = torch.randn(3, 2 + 8)
    y = norm(x, params)
    shift, scale = params[:, 2:6], params[:, 6:10]
    assert torch.allclose(y.mean((2, 3)), shift, atol=1e-4)
    assert torch.allclose(y.std((2, 3), unbiased=False), scale.abs(), atol=1e-2)


def test_paper_parameter_counts():
    """edges2shoes setting: dim 64, 2 downsamplings, 4 residual blocks, style 8, MLP 256, 256 px."""
    p = build_pipeline(config.load("munit", []))
    g = p.generators["G_A"]
    assert count_parameters(g) == 15_026_187
    assert [count_parameters(m) for m in (g.enc_style, g.enc_content, g.dec, g.mlp)] == [
        2_764_936, 5_385_856, 5_754_627, 1_120_768]
    assert count_parameters(p.discriminators["D_A"]) == 8_271_171
    u = build_pipeline(config.load("unit", []))
    assert u.generators["G"].domain_parameters("A") == 11_140_483
    assert count_parameters(u.discriminators["D_B"]) == 8_271_171


def test_styles_change_the_output_and_seeds_repeat_it():
    p = build_pipeline(config.load("munit", TINY_MUNIT), training=False).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = {s: p.translate(x, **p.condition(Request(seed=s), 2)) for s in (0, 1)}
    again = p.translate(x, **p.condition(Request(seed=0), 2))
    assert torch.equal(out[0], again)
    assert (out[0] - out[1]).abs().mean() > 1e-3
    ref = p.condition(Request(style="reference", reference=torch.rand(3, 40, 40) * 2 - 1), 2)["style"]
    assert ref.shape == (2, 8) and torch.equal(ref[0], ref[1])  # one style for every image of the request
    with pytest.raises(UserError, match="cannot translate"):
        p.condition(Request(direction="AtoA"), 1)


def test_unit_shared_blocks_are_stored_once(tmp_path, unpaired_photos):
    cfg = config.load("unit", TINY_UNIT + ["model.generator.num_blocks=2", "model.generator.shared_blocks=1",
                                           f"data.root={unpaired_photos}", "train.iters=1"])
    t = make_trainer(cfg, tmp_path / "run")
    t.fit()
    with safe_open(tmp_path / "run" / "weights" / "latest.safetensors", "pt") as f:
        keys = list(f.keys())
    shared = [k for k in keys if "shared_enc" in k]
    assert shared and len(shared) == len({k.split("shared_enc", 1)[1] for k in shared})
    g = t.pipeline.generators["G"]
    assert g.domain_parameters("A") + g.domain_parameters("B") > count_parameters(g)  # counted once in the file


@pytest.fixture(scope="module")
def unpaired_photos(tmp_path_factory):
    """Domain A: crops of real photos; domain B: *other* crops under random colour grades."""
    from skimage import data
    root = tmp_path_factory.mktemp("unpaired")
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.stereo_motorcycle()[0]]
    rng = np.random.default_rng(0)
    for k in range(24):
        img = photos[k % len(photos)].astype(np.float32) / 255
        y, x = rng.integers(0, img.shape[0] - 96), rng.integers(0, img.shape[1] - 96)
        crop = img[y:y + 96:3, x:x + 96:3][:32, :32]
        if k % 2:
            crop = np.clip(crop * rng.uniform(0.6, 1.3, 3), 0, 1)
        save_png(root / "train" / ("B" if k % 2 else "A") / f"{k}.png", np.round(crop * 255).astype(np.uint8))
    return root


def windowed_fall(t, key: str, steps: int, every: int = 5) -> tuple[float, float]:
    vals = [t.fit(until=k)[key] for k in range(every, steps + 1, every)]
    n = max(2, len(vals) // 4)
    return float(np.mean(vals[:n])), float(np.mean(vals[-n:]))


@pytest.mark.parametrize("name", ["munit", "unit"])
def test_tiny_model_trains_end_to_end(name, tmp_path, unpaired_photos):
    tiny = TINY_MUNIT if name == "munit" else TINY_UNIT
    cfg = config.load(name, tiny + [f"data.root={unpaired_photos}", "train.iters=60"])
    t = make_trainer(cfg, tmp_path / "run")
    first, last = windowed_fall(t, "rec_A", 60)
    assert last < 0.7 * first, (first, last)
    tr = Translator.from_run(tmp_path / "run", "cpu")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    y = tr.translate_tensor(x, tr.condition(Request(direction="BtoA"), 1))
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_translate_style_flags(tmp_path, unpaired_photos, capsys):
    cfg = config.load("munit", TINY_MUNIT + [f"data.root={unpaired_photos}", "train.iters=1"])
    make_trainer(cfg, tmp_path / "run").fit()
    src = unpaired_photos / "train" / "A"
    assert translate_main([str(tmp_path / "run"), str(src / "0.png"), "--out", str(tmp_path / "k"),
                           "--styles", "3", "--seed", "7"]) == 0
    names = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert names == ["0_style-0.png", "0_style-1.png", "0_style-2.png"]
    assert translate_main([str(tmp_path / "run"), str(src / "0.png"), "--out", str(tmp_path / "again"),
                           "--seed", "8"]) == 0  # --seed 8 alone = the second of --styles 3 --seed 7
    assert (tmp_path / "again" / "0.png").read_bytes() == (tmp_path / "k" / "0_style-1.png").read_bytes()
    ref = unpaired_photos / "train" / "B" / "1.png"
    assert translate_main([str(tmp_path / "run"), str(src), "--out", str(tmp_path / "ref"),
                           "--style-from", str(ref)]) == 0
    with pytest.raises(UserError, match="input not found|not found"):
        translate_main([str(tmp_path / "run"), str(src / "0.png"), "--out", str(tmp_path / "x"),
                        "--style-from", str(tmp_path / "missing.png")])


@pytest.fixture(scope="module")
def two_looks(tmp_path_factory):
    """A: crops of real photos; B: other crops under one of two strong casts (red or blue)."""
    from skimage import data
    root = tmp_path_factory.mktemp("looks")
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.stereo_motorcycle()[0]]
    rng = np.random.default_rng(1)
    casts = {"red": np.array([1.25, 0.9, 0.6]), "blue": np.array([0.6, 0.9, 1.25])}
    for k in range(48):
        img = photos[k % len(photos)].astype(np.float32) / 255
        y, x = rng.integers(0, img.shape[0] - 96), rng.integers(0, img.shape[1] - 96)
        crop = img[y:y + 96:3, x:x + 96:3][:32, :32]
        if k % 2:
            look = "red" if k % 4 == 1 else "blue"
            crop = np.clip(crop * casts[look], 0, 1)
            save_png(root / "train" / "B" / f"{look}_{k}.png", np.round(crop * 255).astype(np.uint8))
        else:
            save_png(root / "train" / "A" / f"{k}.png", np.round(crop * 255).astype(np.uint8))
    return root


def test_style_from_a_reference_moves_the_colours_towards_it(tmp_path, two_looks):
    """A tiny MUNIT trained on photos (A) and red- or blue-cast photos (B): translating with the
    style of a red reference gives a redder output than with the style of a blue one. (The paper's
    decoder: a residual one reconstructs its own image without needing any style, so its styles
    carry little colour this early.)"""
    cfg = config.load("munit", TINY_MUNIT + [f"data.root={two_looks}", "train.iters=150"])
    make_trainer(cfg, tmp_path / "run").fit()
    tr = Translator.from_run(tmp_path / "run", "cpu")
    b = two_looks / "train" / "B"
    x = torch.stack([tr.prepare(read_image(p)) for p in sorted((two_looks / "train" / "A").glob("*.png"))[:6]])

    def warmth(ref_glob: str) -> float:
        refs = sorted(b.glob(ref_glob))[:3]
        vals = []
        for r in refs:
            y = tr.translate_tensor(x, tr.condition(Request(style="reference", reference=tr.prepare(read_image(r))), len(x)))
            vals.append((y[:, 0] - y[:, 2]).mean().item())
        return float(np.mean(vals))

    red, blue = warmth("red_*.png"), warmth("blue_*.png")
    assert red > blue + 0.05, (red, blue)
