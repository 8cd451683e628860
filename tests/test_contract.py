"""The pipeline contract (DESIGN.md): fakes returned by the G step and handed to the D step,
conditions computed once per image, loss weights checked, D steps and D optimizer settings
owned by the trainer; ported pipelines train exactly as before; old runs still load."""
import hashlib
import json

import numpy as np
import pytest
import torch

from conftest import ROOT
from helpers import make_trainer, tiny_config
from i2i import config
from i2i.cli import translate_main
from i2i.data import DataMeta
from i2i.data.io import read_image
from i2i.errors import UserError
from i2i.inference import Translator
from i2i.pipelines import Request, build_pipeline

FIXTURES = ROOT / "tests" / "fixtures"
# The tiny runs whose weights were fingerprinted before the contract changed; fingerprints re-made
# since when the CPU speed-ups (fused Adam, small-map convs, one D call on real + fake; then
# CycleGAN's stacked generator calls) changed float rounding on purpose (tests/test_cpu_speedups.py
# compares those with the plain computation). A refactor that should not change training must keep them.
RUNS = {
    "pix2pix": ("pix2pix", "paired", []),
    "cyclegan": ("cyclegan", "unpaired", ["model.generator.name=resnet_6blocks", "model.generator.ngf=8"]),
    "esrgan": ("esrgan-psnr", "sr/train", ["model.generator.name=rrdb", "model.generator.ngf=8",
                                           "model.generator.num_blocks=1", "data.load_size=0", "data.crop_size=32",
                                           "model.generator.residual=false"]),
}


def fingerprint(state: dict) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", list(RUNS))
def test_ported_pipelines_give_bit_identical_weights(demo_data, tmp_path, name):
    saved = json.loads((FIXTURES / "weights_sha256.json").read_text())
    platform = (torch.__version__, torch.backends.cpu.get_cpu_capability(), torch.get_num_threads())
    if platform != (saved["torch"], saved["cpu_capability"], saved["threads"]):
        pytest.skip(f"fingerprints were made with torch/CPU/threads {saved['torch']}/{saved['cpu_capability']}/"
                    f"{saved['threads']}; this is {'/'.join(map(str, platform))}")
    preset, data, extra = RUNS[name]
    trainer = make_trainer(tiny_config(preset, demo_data / data, 6, *extra), tmp_path / name)
    trainer.fit()
    assert fingerprint(trainer.pipeline.state_dict()) == saved["sha256"][name]


def test_schema1_run_still_translates(tmp_path):
    """A run written before schema 2 (no checksum, no data meta, latest.state.pt) loads, and
    translates its input as the old code did."""
    out = tmp_path / "out"
    assert translate_main([str(FIXTURES / "schema1_run"), str(FIXTURES / "schema1_input.png"), "--out", str(out)]) == 0
    ours = read_image(out / "schema1_input.png").rgb
    theirs = read_image(FIXTURES / "schema1_expected.png").rgb
    assert ours.shape == theirs.shape == (48, 64, 3)
    assert np.abs(ours - theirs).max() <= 2 / 255
    tr = Translator.from_run(FIXTURES / "schema1_run")
    assert tr.pipeline.meta == DataMeta()


@pytest.mark.parametrize("pipeline,weight", [("cyclegan", "loss.l1=10"), ("pix2pix", "loss.cycle=10"),
                                             ("pix2pix", "loss.identity=0.5"), ("esrgan-psnr", "loss.cycle=1")])
def test_a_weight_the_pipeline_ignores_is_one_line(pipeline, weight):
    cfg = config.load(pipeline, [weight])
    key = weight.split("=")[0]
    with pytest.raises(UserError, match=f"{key}=.* is not used by"):
        build_pipeline(cfg)


def test_fakes_are_returned_not_stashed(demo_data):
    cfg = tiny_config("cyclegan", demo_data / "unpaired", 1, "model.generator.name=resnet_6blocks")
    p = build_pipeline(cfg)
    batch = {"A": torch.rand(2, 3, 32, 32) * 2 - 1, "B": torch.rand(2, 3, 32, 32) * 2 - 1}
    terms, fakes = p.generator_step(batch)
    assert set(fakes) == {"A", "B"} and not any(f.requires_grad for f in fakes.values())
    assert not [k for k, v in vars(p).items() if torch.is_tensor(v) or (isinstance(v, dict) and k == "_fakes")]
    assert set(p.discriminator_step(batch, fakes)) == {"D_A_real", "D_A_fake", "D_B_real", "D_B_fake"}
    assert all(torch.isfinite(v) for v in p.discriminator_step(batch, None).values())  # makes its own


def test_d_steps_per_g_step_are_counted(demo_data, tmp_path):
    cfg = tiny_config("pix2pix", demo_data / "paired", 3, "train.d_steps=4")
    t = make_trainer(cfg, tmp_path / "run")
    calls = {"G": 0, "D": 0, "D_own_fakes": 0}
    gen, dis = t.pipeline.generator_step, t.pipeline.discriminator_step

    def g_step(batch):
        calls["G"] += 1
        return gen(batch)

    def d_step(batch, fakes=None):
        calls["D"] += 1
        calls["D_own_fakes"] += fakes is None
        return dis(batch, fakes)
    t.pipeline.generator_step, t.pipeline.discriminator_step = g_step, d_step
    t.fit()
    assert calls == {"G": 3, "D": 12, "D_own_fakes": 9}
    assert t.loader().sampler.start == 3 * 4 * cfg.train.batch_size  # a resume skips every batch used


def test_discriminator_has_its_own_adam_settings(demo_data, tmp_path):
    cfg = tiny_config("pix2pix", demo_data / "paired", 1, "train.lr_d=0.0004", "train.beta1_d=0.0",
                      "train.beta2_d=0.9")
    t = make_trainer(cfg, tmp_path / "run")
    d, g = t.optimizers["D"].param_groups[0], t.optimizers["G"].param_groups[0]
    assert (d["lr"], d["betas"]) == (0.0004, (0.0, 0.9)) and (g["lr"], g["betas"]) == (0.0002, (0.5, 0.999))
    same = make_trainer(tiny_config("pix2pix", demo_data / "paired", 1), tmp_path / "run2")
    assert same.optimizers["D"].param_groups[0]["betas"] == same.optimizers["G"].param_groups[0]["betas"]
    with pytest.raises(UserError, match="train.lr_d"):
        config.load("pix2pix", ["train.lr_d=0"])


def test_condition_is_computed_once_and_reaches_every_tile(demo_data, tmp_path):
    """A tensor condition for N images is sliced per image and repeated for each tile batch."""
    cfg = tiny_config("pix2pix", demo_data / "paired", 1)
    make_trainer(cfg, tmp_path / "run").fit()
    tr = Translator.from_run(tmp_path / "run")
    seen = []
    plain = tr.pipeline.translate

    def conditioned(x, direction="AtoB", shift=None):
        seen.append(shift[:, 0].tolist())
        return plain(x) + shift.view(-1, 1, 1, 1)
    tr.pipeline.translate = conditioned
    x = torch.rand(2, 3, 64, 192) * 2 - 1  # 4 tiles of 96 px (the U-Net rounds the overlap up to 32)
    cond = {"direction": "AtoB", "shift": torch.tensor([[0.0], [0.5]])}
    tiled = tr.translate_tensor(x, cond, tile=32, overlap=16, tile_batch=2)
    assert len(seen) == 4 and all(len(set(s)) == 1 for s in seen)  # one image's condition per tile batch
    whole = tr.translate_tensor(x, cond)
    assert (tiled[1] - tiled[0]).mean().item() == pytest.approx(0.5, abs=0.1)
    assert (whole[1] - whole[0]).mean().item() == pytest.approx(0.5, abs=0.1)


def test_request_checked_before_any_image_is_read(demo_data, tmp_path, capsys):
    from i2i.cli import run_cli
    cfg = tiny_config("pix2pix", demo_data / "paired", 1)
    make_trainer(cfg, tmp_path / "run").fit()
    p = Translator.from_run(tmp_path / "run").pipeline
    assert p.options() == {"direction": ["AtoB"]}
    with pytest.raises(UserError, match="cannot translate BtoA"):
        p.condition(Request(direction="BtoA"), 1)
    assert run_cli(translate_main, [str(tmp_path / "run"), str(tmp_path / "missing.png"), "--out",
                                    str(tmp_path / "o"), "--direction", "BtoA"]) == 2
    assert "cannot translate BtoA" in capsys.readouterr().err
