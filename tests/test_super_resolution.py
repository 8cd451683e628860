"""Super-resolution: architectures, relativistic GAN, on-the-fly degradation, tiling, image
round trips through translate.py, Y-PSNR, two-stage training, and a tiny run that beats bicubic."""
import math

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import save_png
from helpers import make_trainer
from i2i import config
from i2i.__main__ import downscale_main, evaluate_main
from i2i.cli import run_cli, train_main, translate_main
from i2i.config import DiscriminatorConfig, GeneratorConfig
from i2i.data.degradations import Degradation, bicubic, upscale
from i2i.data.folders import SRFolder
from i2i.data.io import read_image, read_rgb, to_numpy, to_tensor, write_image
from i2i.engine import checkpoint as ckpt
from i2i.errors import UserError
from i2i.inference import Translator
from i2i.losses import AdversarialLoss
from i2i.metrics import evaluate_folders, mean_scores, psnr
from i2i.nn import build_discriminator, build_generator
from i2i.nn.layers import count_parameters
from i2i.pipelines import build_pipeline

TINY_SR = ["model.generator.ngf=16", "model.generator.num_blocks=1", "data.num_workers=0", "data.crop_size=64",
           "train.batch_size=8", "train.log_every=10", "train.lr=0.001"]


def sr_config(root, iters, *extra, preset="esrgan-psnr"):
    return config.load(preset, TINY_SR + [f"data.root={root}", f"train.iters={iters}", *extra])


@pytest.fixture(scope="module")
def hr_dir(demo_data):
    """High-resolution training photos: the demo's clean 128 px tiles of skimage photos."""
    return demo_data / "paired/train/B"


@pytest.fixture(scope="module")
def sr_run(hr_dir, tmp_path_factory):
    """A tiny x2 RRDB, residual over bicubic, trained briefly; shared by the translate tests."""
    out = tmp_path_factory.mktemp("sr") / "run"
    cfg = sr_config(hr_dir, 100, "data.scale=2", "model.generator.residual=true", "train.ema=0.9")
    make_trainer(cfg, out).fit()
    return out


# ------------------------------------------------------------------------------ networks
def test_rrdbnet_default_is_esrgan_size():
    g = build_generator(GeneratorConfig(name="rrdb", ngf=64), 3, 3, "default", scale=4)
    assert count_parameters(g) == 16_697_987  # ESRGAN's RRDB_ESRGAN_x4


@pytest.mark.parametrize("scale", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("upsample", ["resize", "pixelshuffle"])
def test_rrdbnet_output_shapes(scale, upsample):
    g = build_generator(GeneratorConfig(name="rrdb", ngf=8, num_blocks=1, upsample=upsample), 3, 3, "default",
                        scale=scale)
    assert g(torch.randn(2, 3, 12, 20)).shape == (2, 3, 12 * scale, 20 * scale)


def test_rrdbnet_x2_by_pixel_unshuffle_runs_body_at_quarter_size():
    g = build_generator(GeneratorConfig(name="rrdb", ngf=8, num_blocks=1, pixel_unshuffle=True), 3, 3, "default",
                        scale=2)
    seen = []
    g.body.register_forward_hook(lambda m, i, o: seen.append(o.shape[-2:]))
    assert g(torch.randn(1, 3, 16, 24)).shape == (1, 3, 32, 48)
    assert seen == [(8, 12)] and g.size_multiple == 2


def test_srresnet_with_and_without_batch_norm():
    bn = build_generator(GeneratorConfig(name="srresnet", ngf=16, num_blocks=3, norm="batch"), 3, 3, "default", scale=4)
    free = build_generator(GeneratorConfig(name="srresnet", ngf=16, num_blocks=3, norm="none"), 3, 3, "default", scale=4)
    x = torch.randn(2, 3, 10, 14)
    assert bn(x).shape == free(x).shape == (2, 3, 40, 56)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in bn.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in free.modules())
    assert len(bn.blocks) == 3


def test_msrresnet_is_basicsr_size_and_starts_at_its_bilinear_base():
    g = build_generator(GeneratorConfig(name="msrresnet"), 3, 3, "default", scale=4)
    assert count_parameters(g) == 1_517_571  # BasicSR's MSRResNet_x4 (nf 64, 16 blocks)
    tiny = build_generator(GeneratorConfig(name="msrresnet", ngf=8, num_blocks=1, residual=True), 3, 3, "default",
                           scale=3)
    x = torch.rand(1, 3, 10, 14) * 2 - 1
    with torch.no_grad():
        want = torch.nn.functional.interpolate(x, scale_factor=3, mode="bilinear", align_corners=False)
        assert torch.equal(tiny(x), want)  # residual: the output conv starts at zero (do no harm)
        assert not torch.equal(g(x), torch.nn.functional.interpolate(x, scale_factor=4, mode="bilinear"))


def test_non_sr_generator_refuses_a_scale():
    with pytest.raises(UserError, match="does not upscale.*rrdb, srresnet"):
        build_generator(GeneratorConfig(name="unet_128"), 3, 3, scale=4)


def test_vgg_discriminator_is_vgg128_and_takes_any_size():
    d = build_discriminator(DiscriminatorConfig(name="vgg", ndf=64, n_layers=5, norm="batch"), 3)
    assert count_parameters(d) == 14_499_401  # ESRGAN's VGGStyleDiscriminator128
    for hw in [(128, 128), (96, 80), (200, 64)]:
        assert d(torch.randn(2, 3, *hw))[0][-1].shape == (2, 1)


def test_unet_discriminator_judges_every_pixel_with_spectral_norm():
    d = build_discriminator(DiscriminatorConfig(name="unet_sn", ndf=64, spectral_norm=True), 3)
    assert count_parameters(d) == 4_376_897  # Real-ESRGAN's UNetDiscriminatorSN
    assert d(torch.randn(1, 3, 64, 52))[0][-1].shape == (1, 1, 64, 52)
    sn = [m for m in d.modules() if hasattr(m, "parametrizations")]
    assert len(sn) == 8 and all(len(m.parametrizations.weight) == 1 for m in sn)  # not wrapped twice


# ------------------------------------------------------------------------------ losses
def test_relativistic_loss_known_values():
    loss = AdversarialLoss("relativistic")
    real, fake = torch.full((2, 1), 2.0), torch.tensor([[0.0], [1.0]])  # mean(fake) = 0.5, mean(real) = 2
    # D: real should beat the average fake: BCE(2 - 0.5, 1) = log(1 + e^-1.5)
    assert loss(real, True, reference=fake).item() == pytest.approx(math.log1p(math.exp(-1.5)))
    expected = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-1.0))) / 2  # BCE(fake - 2, 0)
    assert loss(fake, False, reference=real).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="reference"):
        loss(real, True)


def test_relativistic_generator_step_trains_through_both_sides(hr_dir):
    # the published generator: the default's residual output starts with a zero last conv, so no
    # gradient reaches conv_first on the first step
    cfg = sr_config(hr_dir, 1, "loss.gan=1", "loss.perceptual=0", "model.discriminator.name=vgg",
                    "model.discriminator.ndf=8", "model.discriminator.n_layers=3", preset="esrgan-paper")
    p = build_pipeline(cfg)
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 64, 64) * 2 - 1}
    g, fakes = p.generator_step(batch)
    assert set(g) == {"G_l1", "G_gan"} and fakes["B"].shape == batch["B"].shape and not fakes["B"].requires_grad
    g["G_gan"].backward()
    assert p.generators["G"].conv_first.weight.grad.abs().sum() > 0
    d = p.discriminator_step(batch, fakes)
    assert set(d) == {"D_real", "D_fake"} and all(torch.isfinite(v) for v in d.values())


# ------------------------------------------------------------------------------ data
def _best_shift(a: np.ndarray, b: np.ndarray, r: int = 2) -> tuple[int, int]:
    """The integer shift of a against b (within r px) with the smallest error."""
    h, w = b.shape[:2]
    errs = {(dy, dx): np.mean((a[r + dy:h - r + dy, r + dx:w - r + dx] - b[r:h - r, r:w - r]) ** 2)
            for dy in range(-r, r + 1) for dx in range(-r, r + 1)}
    return min(errs, key=errs.get)


def test_on_the_fly_lr_is_aligned_with_hr(hr_dir):
    ds = SRFolder(hr_dir, crop_size=64, scale=4, rot90=True)
    for seed in range(4):
        s = ds[(seed * 7, seed)]
        lr, hr = to_numpy(s["A"]), to_numpy(s["B"])
        assert lr.shape == (16, 16, 3) and hr.shape == (64, 64, 3)
        assert _best_shift(upscale(lr, 4), hr) == (0, 0)
        assert psnr(upscale(lr, 4), hr) > psnr(np.roll(upscale(lr, 4), 2, axis=1), hr)


def test_explicit_lr_hr_folders_crop_the_same_place(tmp_path):
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 255, (96, 80, 3), dtype=np.uint8)
    save_png(tmp_path / "HR/a.png", hr)
    block_mean = lambda a: a.reshape(a.shape[0] // 4, 4, a.shape[1] // 4, 4, 3).mean(axis=(1, 3))  # noqa: E731
    save_png(tmp_path / "LR/a.png", np.round(block_mean(hr.astype(np.float32))).astype(np.uint8))
    ds = SRFolder(tmp_path, crop_size=32, scale=4, rot90=True)  # flips/rotations commute with block means
    for seed in range(8):
        s = ds[(0, seed)]
        lr, hr_crop = to_numpy(s["A"]), to_numpy(s["B"])
        assert np.abs(lr - block_mean(hr_crop)).max() <= 0.5 / 255 + 1e-6


def test_mismatched_and_small_images_are_named(tmp_path):
    save_png(tmp_path / "p/HR/a.png", np.zeros((64, 64, 3), np.uint8))
    save_png(tmp_path / "p/LR/a.png", np.zeros((15, 16, 3), np.uint8))
    with pytest.raises(UserError, match=r"a\.png is 64x64 but .*a\.png is 16x15.*must be 64x60"):
        SRFolder(tmp_path / "p", crop_size=32, scale=4)
    save_png(tmp_path / "s/tiny.png", np.zeros((40, 50, 3), np.uint8))
    with pytest.raises(UserError, match=r"1 image\(s\) smaller than the 64 px HR crop.*tiny\.png \(50x40\)"):
        SRFolder(tmp_path / "s", crop_size=64, scale=4)


def test_held_out_split_never_trains(tmp_path):
    for name in ("a", "b"):
        save_png(tmp_path / f"{name}.png", np.zeros((64, 64, 3), np.uint8))
    save_png(tmp_path / "test/held.png", np.zeros((64, 64, 3), np.uint8))
    assert sorted(p.name for _, p in SRFolder(tmp_path, crop_size=32, scale=2).items) == ["a.png", "b.png"]


def test_degradations_are_seeded_and_change_the_input():
    import skimage.data
    hr = skimage.data.astronaut()[:128, :128].astype(np.float32) / 255
    plain = Degradation(4)(hr, 0)
    heavy = Degradation(4, blur=2.0, noise=10, jpeg=30)
    a, b = heavy(hr, 5), heavy(hr, 5)
    assert a.shape == plain.shape == (32, 32, 3) and np.array_equal(a, b)
    assert np.abs(a - plain).mean() > 0.01 and not np.array_equal(heavy(hr, 6), a)
    assert np.abs(plain - bicubic(hr, 32, 32)).max() == 0


def test_y_psnr_matches_a_hand_computation():
    rng = np.random.default_rng(0)
    a, b = rng.random((10, 12, 3)), rng.random((10, 12, 3))
    ya = (16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255
    yb = (16 + 65.481 * b[..., 0] + 128.553 * b[..., 1] + 24.966 * b[..., 2]) / 255
    mse = np.mean((ya[2:-2, 2:-2] - yb[2:-2, 2:-2]) ** 2)
    assert psnr(a, b, y_channel=True, crop_border=2) == pytest.approx(10 * math.log10(1 / mse), abs=1e-9)
    assert psnr(a, b, y_channel=True) != pytest.approx(psnr(a, b))


# ------------------------------------------------------------------------------ inference
def test_tiled_equals_whole_image(sr_run, demo_data):
    tr = Translator.from_run(sr_run, "cpu")
    x = to_tensor(read_rgb(demo_data / "paired/test/B/chelsea.png")[:150, :170])[None]
    whole = tr.translate_tensor(x)
    assert whole.shape == (1, 3, 300, 340)
    tiled = tr.translate_tensor(x, tile=48, overlap=16)
    assert (tiled - whole).abs().max().item() / 2 <= 1 / 255
    seams = tr.translate_tensor(x, tile=48, overlap=0)  # the check has teeth: no context -> seams
    assert (seams - whole).abs().max().item() / 2 > 1 / 255


def test_translate_round_trips_alpha_16bit_grayscale_icc_exif(sr_run, tmp_path):
    from PIL import ImageCms
    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    rgba = rng.integers(0, 255, (21, 30, 4), dtype=np.uint8)
    save_png(src / "rgba.png", rgba)
    cv2.imwrite(str(src / "deep.png"), rng.integers(0, 65535, (17, 23, 3), dtype=np.uint16))
    save_png(src / "gray.png", rng.integers(0, 255, (19, 25), dtype=np.uint8))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(rng.integers(0, 255, (16, 18, 3), dtype=np.uint8)).save(src / "icc.png", icc_profile=icc)
    rotated = Image.fromarray(rng.integers(0, 255, (10, 14, 3), dtype=np.uint8))
    exif = rotated.getexif()
    exif[0x0112] = 6
    rotated.save(src / "exif.jpg", exif=exif)
    out = tmp_path / "out"
    assert translate_main([str(sr_run), str(src), "--out", str(out), "--tile", "8", "--tile-overlap", "4"]) == 0
    res = {p.stem: read_image(p) for p in out.iterdir()}
    assert res["rgba"].rgb.shape == (42, 60, 3) and res["rgba"].alpha.shape == (42, 60)
    expected_alpha = bicubic(rgba[..., 3:].astype(np.float32) / 255, 42, 60)[..., 0]
    assert np.abs(res["rgba"].alpha - expected_alpha).max() <= 1 / 255
    assert res["deep"].bits == 16 and res["deep"].rgb.shape == (34, 46, 3)
    assert res["gray"].grayscale and res["gray"].rgb.shape == (38, 50, 1)
    assert res["icc"].icc == icc
    assert res["exif"].rgb.shape[:2] == (28, 20)  # rotated upright, then x2


def test_sixteen_bit_output_keeps_more_than_8_bits(sr_run, tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (24, 1))
    cv2.imwrite(str(tmp_path / "ramp.png"), np.stack([ramp] * 3, axis=2))
    translate_main([str(sr_run), str(tmp_path / "ramp.png"), "--out", str(tmp_path / "o")])
    out = cv2.imread(str(tmp_path / "o/ramp.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and len(np.unique(out[..., 0])) > 256 // 2


def test_ema_weights_are_what_translate_uses(sr_run):
    tensors, meta = ckpt.read_weights(sr_run / ckpt.WEIGHTS)
    ema = [k for k in tensors if k.startswith("ema.generators.G.")]
    assert ema and int(meta["ema_updates"]) == 100
    k = ema[0]
    assert not torch.equal(tensors[k], tensors[k[len("ema."):]])  # the average differs from the last weights
    tr = Translator.from_run(sr_run, "cpu")
    assert torch.equal(tr.pipeline.state_dict()[k[len("ema."):]], tensors[k])


# ------------------------------------------------------------------------------ training
def test_tiny_training_beats_bicubic_on_held_out_photos(sr_run, demo_data, tmp_path):
    """Held-out photos (chelsea, motorcycle_right), LR made by `python -m i2i downscale`, scored
    by `python -m i2i evaluate` on Y with the scale cropped from the border (SR convention)."""
    assert downscale_main([str(demo_data / "paired/test/B"), "--scale", "2", "--out", str(tmp_path / "pairs")]) == 0
    assert translate_main([str(sr_run), str(tmp_path / "pairs/LR"), "--out", str(tmp_path / "sr")]) == 0
    for p in (tmp_path / "pairs/LR").iterdir():
        write_image(tmp_path / "bicubic" / p.name, upscale(read_image(p).rgb, 2))
    ours = mean_scores(evaluate_folders(tmp_path / "sr", tmp_path / "pairs/HR", y_channel=True, crop_border=2))
    base = mean_scores(evaluate_folders(tmp_path / "bicubic", tmp_path / "pairs/HR", y_channel=True, crop_border=2))
    print(f"x2 Y-PSNR on held-out photos: bicubic {base['psnr']:.2f} dB, tiny RRDB {ours['psnr']:.2f} dB")
    assert ours["psnr"] > base["psnr"] + 0.3
    assert evaluate_main([str(tmp_path / "sr"), str(tmp_path / "pairs/HR"), "--y-channel", "--crop-border", "2"]) == 0


def test_gan_stage_starts_from_psnr_stage_and_inherits_its_generator(sr_run, hr_dir, tmp_path, capsys):
    out = tmp_path / "gan"
    args = ["esrgan", "--data", str(hr_dir), "--out", str(out), "--iters", "3", "--batch-size", "2",
            "--crop-size", "32", f"init_from={sr_run}", "loss.perceptual=0", "model.discriminator.ndf=8",
            "model.discriminator.n_layers=3", "data.num_workers=0"]
    assert train_main(args) == 0
    saved = config.from_dict(config.read_yaml(out / "config.yaml"))
    assert (saved.data.scale, saved.model.generator.ngf, saved.model.generator.residual) == (2, 16, True)
    assert saved.loss.gan_mode == "relativistic"
    tensors, _ = ckpt.read_weights(out / ckpt.WEIGHTS)
    assert any(k.startswith("discriminators.D.") for k in tensors)
    assert run_cli(train_main, args[:4] + [str(tmp_path / "x")] + args[5:] + ["model.generator.ngf=32"]) == 2
    assert "contradicts init_from" in capsys.readouterr().err


def test_psnr_stage_has_no_discriminator_and_resumes_exactly(hr_dir, tmp_path):
    cfg = sr_config(hr_dir, 6, "data.scale=4", "train.ema=0.9", "train.batch_size=2")
    straight = make_trainer(cfg, tmp_path / "straight")
    assert len(straight.pipeline.discriminators) == 0 and set(straight.optimizers) == {"G"}
    straight.fit()
    first = make_trainer(cfg, tmp_path / "split")
    first.fit(until=3)
    second = make_trainer(cfg, tmp_path / "split", resume=True)
    second.fit()
    a, _ = ckpt.read_weights(tmp_path / "straight" / ckpt.WEIGHTS)
    b, _ = ckpt.read_weights(tmp_path / "split" / ckpt.WEIGHTS)
    assert a.keys() == b.keys() and any(k.startswith("ema.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_lr_policies(hr_dir, tmp_path):
    from i2i.engine.trainer import lr_lambda
    cos = lr_lambda(sr_config(hr_dir, 100, "train.lr_policy=cosine"))
    assert (cos(0), cos(50), cos(100)) == (1.0, pytest.approx(0.5), pytest.approx(0.0))
    ms = lr_lambda(sr_config(hr_dir, 100, "train.lr_policy=multistep", "train.milestones=[0.5, 0.75]", "train.gamma=0.1"))
    assert [ms(s) for s in (0, 49, 50, 74, 75)] == [1.0, 1.0, pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.01)]


@pytest.mark.parametrize("override,message", [
    ("data.crop_size=66", "must be a multiple of data.scale"),
    ("data.scale=5", "choose one of: 1, 2, 3, 4, 8"),
    ("train.ema=1.5", "train.ema must be in"),
    ("model.generator.name=unet_128", "does not upscale"),
])
def test_sr_config_errors(hr_dir, override, message):
    with pytest.raises(UserError, match=message):
        cfg = sr_config(hr_dir, 1, override)
        build_pipeline(cfg)


# ------------------------------------------------------------------------------ review fixes
def test_init_from_clash_in_a_user_yaml_is_an_error(sr_run, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(f"pipeline: esrgan\ninit_from: {sr_run}\ndata: {{scale: 4}}\n")
    with pytest.raises(UserError, match=r"data.scale=4 contradicts init_from"):
        config.load(str(path))


def test_crop_must_fit_the_generators_size_multiple(hr_dir, tmp_path):
    cfg = sr_config(hr_dir, 1, "data.scale=1", "data.crop_size=66")  # x1 RRDB unshuffles by 4
    with pytest.raises(UserError, match=r"needs a multiple of 4: use --crop-size 64"):
        make_trainer(cfg, tmp_path / "r")


def test_small_blur_and_independent_seeds():
    from i2i.data.transforms import sub_seeds
    hr = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    assert Degradation(4, blur=0.1)(hr, 3).shape == (8, 8, 3)
    a, b = sub_seeds(7, 3), sub_seeds(8, 3)
    assert len(set(a + b)) == 6  # no stream shared within a sample or with the next one


def test_pixel_losses_use_the_sr_papers_units(hr_dir):
    """Networks see [-1, 1]; ESRGAN's weights are for [0, 1] images, where L1 is half as large."""
    p = build_pipeline(sr_config(hr_dir, 1, "loss.l1=1", "loss.mse=1"))
    fake, real = torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.5)
    terms = p.reconstruction_terms(fake, real)
    assert terms["G_l1"].item() == pytest.approx(0.25) and terms["G_mse"].item() == pytest.approx(0.0625)


def test_icc_profile_dropped_when_channels_change(sr_run):
    from i2i.data.io import ImageData
    tr = Translator.from_run(sr_run, "cpu")
    gray = ImageData(np.zeros((4, 4, 1), np.float32), None, 8, b"gray profile")
    tr.pipeline.keeps_grayscale = False  # as a colourising run would
    assert tr.finish(np.zeros((8, 8, 3), np.float32), gray).icc is None
    tr.pipeline.keeps_grayscale = True
    assert tr.finish(np.zeros((8, 8, 3), np.float32), gray).icc == b"gray profile"


def test_tile_windows_cover_without_duplicates():
    from i2i.inference.tiling import windows_1d
    for length, tile, overlap in [(40, 4, 16), (100, 32, 8), (33, 32, 0), (500, 256, 16)]:
        w = windows_1d(length, tile, overlap)
        starts = [s for s, *_ in w]
        assert len(starts) == len(set(starts)) and w[0][0] == 0 and w[-1][0] + w[-1][1] == length
