"""translate.py as a user runs it: any size, grayscale, RGBA, 16-bit, folders mirrored,
inputs never overwritten, bad input -> one line naming the file."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, save_png
from helpers import make_trainer, tiny_config
from i2i.cli import run_cli, train_main, translate_main
from i2i.data.io import read_image
from i2i.inference import Translator


@pytest.fixture(scope="module")
def run(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "p2p"
    cfg = tiny_config("pix2pix", demo_data / "paired", 2)
    make_trainer(cfg, out).fit()
    return out


def test_odd_sizes_grayscale_rgba_16bit(run, tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    save_png(src / "odd.png", rng.integers(0, 255, (37, 53, 3), dtype=np.uint8))
    save_png(src / "sub/gray.png", rng.integers(0, 255, (33, 31), dtype=np.uint8))
    save_png(src / "sub/rgba.png", rng.integers(0, 255, (20, 70, 4), dtype=np.uint8))
    import cv2
    cv2.imwrite(str(src / "deep.png"), rng.integers(0, 65535, (29, 41, 3), dtype=np.uint16))
    (src / "notes.txt").write_text("not an image")  # ignored inside folders
    out = tmp_path / "out"
    assert translate_main([str(run), str(src), "--out", str(out), "--batch-size", "3"]) == 0
    odd, gray, rgba, deep = (read_image(out / p) for p in ("odd.png", "sub/gray.png", "sub/rgba.png", "deep.png"))
    assert odd.rgb.shape == (37, 53, 3)
    assert gray.rgb.shape == (33, 31, 3)  # a 3-channel model's output stays colour
    assert rgba.rgb.shape == (20, 70, 3) and rgba.alpha is not None
    assert np.allclose(rgba.alpha, read_image(src / "sub/rgba.png").alpha, atol=1 / 255)  # alpha passes through
    assert deep.bits == 16 and deep.rgb.shape == (29, 41, 3)


def test_translation_matches_the_network(run, demo_data):
    """The CLI path (pad, crop back, I/O) gives what the generator computes on the padded tensor."""
    tr = Translator.from_run(run, "cpu")
    img = read_image(demo_data / "paired/test/A/chelsea.png")
    out = tr.translate_images([img])[0]
    x = tr.prepare(img)[None]
    m = tr.pipeline.size_multiple
    h, w = x.shape[-2:]
    padded = torch.nn.functional.pad(x, (0, (-w) % m, 0, (-h) % m), mode="reflect")
    with torch.no_grad():
        direct = tr.pipeline.generators["G"](padded)[..., :h, :w]
    assert np.abs(out.rgb - ((direct[0].permute(1, 2, 0).numpy() + 1) / 2).clip(0, 1)).max() < 1e-5


def test_batch_size_does_not_change_results(run, demo_data, tmp_path):
    src = demo_data / "paired/train/A"
    translate_main([str(run), str(src), "--out", str(tmp_path / "b1"), "--batch-size", "1"])
    translate_main([str(run), str(src), "--out", str(tmp_path / "b4"), "--batch-size", "4"])
    name = sorted(p.name for p in (tmp_path / "b1").iterdir())[5]
    assert np.abs(read_image(tmp_path / "b1" / name).rgb - read_image(tmp_path / "b4" / name).rgb).max() <= 1 / 255


def test_never_overwrites_inputs(run, tmp_path):
    src = save_png(tmp_path / "photo.png", np.zeros((16, 16, 3), np.uint8))
    before = src.read_bytes()
    assert run_cli(translate_main, [str(run), str(src), "--out", str(tmp_path)]) == 2
    assert src.read_bytes() == before


def test_config_comes_from_the_run(run, tmp_path):
    """No architecture flags: a run trained with non-default widths loads from its folder alone."""
    tr = Translator.from_run(run / "weights" / "latest.safetensors", "cpu")
    assert tr.cfg.model.generator.ngf == 8 and tr.cfg.model.generator.name == "unet"


def test_pix2pix_refuses_reverse_direction(run, tmp_path, capsys):
    src = save_png(tmp_path / "x.png", np.zeros((16, 16, 3), np.uint8))
    assert run_cli(translate_main, [str(run), str(src), "--out", str(tmp_path / "o"), "--direction", "BtoA"]) == 2
    assert "translates one way only" in capsys.readouterr().err


def test_corrupt_file_is_skipped_with_its_name(run, tmp_path, capsys):
    save_png(tmp_path / "in/good.png", np.zeros((16, 16, 3), np.uint8))
    (tmp_path / "in/broken.png").write_bytes(b"not a png")
    assert translate_main([str(run), str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 1
    assert (tmp_path / "out/good.png").exists()
    assert "broken.png" in capsys.readouterr().out


@pytest.mark.parametrize("args,message,subprocess_run", [
    (["translate.py", "RUN", "missing_dir", "--out", "o"], "input not found: missing_dir", True),
    (["translate.py", "nowhere", "x.png", "--out", "o"], "run not found: nowhere", False),
    (["train.py", "pix2pix", "--data", "no/such/dir", "--out", "OUT"], "dataset folder not found: no/such/dir", True),
    (["train.py", "pix2pix", "--data", "DATA", "--out", "OUT", "model.generator.name=unet_999"], "unknown generator 'unet_999'", False),
    (["train.py", "pix2pix", "--data", "DATA", "--out", "OUT", "train.itres=5"], "unknown config key 'train.itres'", False),
    (["train.py", "cyclegan", "--data", "DATA/train/A", "--out", "OUT"], "unpaired data needs trainA/ and trainB/", False),
    (["train.py", "pix2pix", "--data", "DATA", "--out", "OUT", "--resume"], "--resume: ", False),
])
def test_cli_errors_are_one_line(run, demo_data, tmp_path, monkeypatch, capsys, args, message, subprocess_run):
    """Through the real entry points once each (no traceback reaches the terminal); the other
    cases in-process through the same run_cli (a subprocess costs seconds of imports)."""
    if args[0] == "train.py":  # should a case not fail, it must not train a full-size model for minutes
        args = args + ["--iters", "1", "--crop-size", "32"]
    args = [a.replace("RUN", str(run)).replace("DATA", str(demo_data / "paired")).replace("OUT", str(tmp_path / "r"))
            for a in args]
    if subprocess_run:
        p = subprocess.run([sys.executable, str(ROOT / args[0]), *args[1:]], capture_output=True, text=True, cwd=tmp_path)
        code, err = p.returncode, p.stderr
    else:
        monkeypatch.chdir(tmp_path)
        code = run_cli(train_main if args[0] == "train.py" else translate_main, args[1:])
        err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def test_train_cli_end_to_end_and_refuses_to_clobber(demo_data, tmp_path):
    args = ["pix2pix", "--data", str(demo_data / "paired"), "--out", str(tmp_path / "r"), "--iters", "2",
            "--batch-size", "2", "--crop-size", "32", "--device", "cpu", "model.generator.name=unet",
            "model.generator.num_downs=5", "model.generator.ngf=4", "model.discriminator.ndf=4", "data.num_workers=0"]
    assert train_main(args) == 0
    assert run_cli(train_main, args) == 2  # same --out again without --resume
    assert train_main(args[:5] + ["--iters", "3", "--resume"]) == 0
