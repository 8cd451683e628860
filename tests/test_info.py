"""`python -m i2i info RUN`: pipeline, step, parameters per network, EMA, data meta and the
options translate.py accepts, read from the checkpoint alone."""
import pytest

from conftest import ROOT
from helpers import make_trainer, tiny_config
from i2i.__main__ import main
from i2i.config import from_dict, read_yaml
from i2i.engine import checkpoint as ckpt
from i2i.inference.info import _options
from i2i.pipelines import build_pipeline

SCHEMA1_RUN = ROOT / "tests" / "fixtures" / "schema1_run"


def info(capsys, *args) -> tuple[int, str, str]:
    rc = main(["info", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def pix2pix_run(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("info") / "run"
    trainer = make_trainer(tiny_config("pix2pix", demo_data / "paired", 2), out)
    trainer.fit()
    counts = {k: sum(p.numel() for p in net.parameters()) for k, net in
              [*(("generators." + n, g) for n, g in trainer.pipeline.generators.items()),
               *(("discriminators." + n, d) for n, d in trainer.pipeline.discriminators.items())]}
    return out, counts


def test_info_of_a_trained_run(pix2pix_run, capsys):
    run, counts = pix2pix_run
    rc, out, err = info(capsys, run)
    assert rc == 0 and not err
    lines = out.splitlines()
    assert "pipeline: pix2pix (generator: unet; discriminator: patch)" in lines
    assert "step: 2 of 2" in lines
    assert f"  generators.G      {counts['generators.G']:,}" in lines  # sum(p.numel()) of the generator
    assert f"  discriminators.D  {counts['discriminators.D']:,}" in lines  # parameters, not BN statistics
    assert "EMA: no" in lines
    assert "data: domains: none; attributes: none; label classes: 0; classes: 0" in lines
    assert lines[-2:] == ["translate.py options:", "  --direction: AtoB"]
    # the checkpoint file itself says the same
    assert info(capsys, run / ckpt.WEIGHTS)[1] == out


def test_info_of_a_schema1_run(capsys):
    rc, out, _ = info(capsys, SCHEMA1_RUN)
    assert rc == 0
    cfg = from_dict(read_yaml(SCHEMA1_RUN / "config.yaml"))
    p = build_pipeline(cfg)  # the counts the old run's networks have
    g = sum(t.numel() for t in p.generators["G"].parameters())
    d = sum(t.numel() for t in p.discriminators["D"].parameters())
    assert "(checkpoint schema 1)" in out.splitlines()[0]
    assert "step: 3 of 3" in out and f"generators.G      {g:,}\n" in out and f"discriminators.D  {d:,}\n" in out
    assert out.rstrip().endswith("translate.py options:\n  --direction: AtoB")


def test_info_of_an_sr_run_with_ema(demo_data, tmp_path, capsys):
    cfg = tiny_config("esrgan-psnr", demo_data / "paired/train/B", 1, "model.generator.name=rrdb",
                      "model.generator.num_blocks=1", "data.load_size=0", "data.scale=2", "train.ema=0.9")
    make_trainer(cfg, tmp_path / "sr").fit()
    rc, out, _ = info(capsys, tmp_path / "sr")
    assert rc == 0
    assert "pipeline: esrgan x2 (generator: rrdb, residual output; no discriminator saved)" in out
    assert "EMA: yes (decay 0.9, 1 update; translate.py uses it)" in out
    assert "discriminators." not in out


@pytest.mark.parametrize("args,message", [
    (["nowhere"], "error: run not found: nowhere"),
    ([ROOT / "README.md"], "is not a run: give a run folder"),
    ([ROOT / "tests"], "holds no checkpoint"),
    ([ROOT / "missing.safetensors"], "checkpoint not found"),
])
def test_info_errors_are_one_line(capsys, args, message):
    rc, out, err = info(capsys, *args)
    assert rc == 2 and not out and message in err and len(err.strip().splitlines()) == 1


def test_options_map_to_translate_flags():
    class Fake:
        def options(self):
            return {"direction": ["AtoB", "BtoA"], "domain": ["cat", "dog"], "attrs": ["Blond_Hair", "Male"],
                    "style": ["random", "reference"]}
    assert _options(Fake()) == ["  --direction: AtoB, BtoA", "  --to: cat, dog (or --all-domains)",
                                "  --attrs NAME=0|1,...: Blond_Hair, Male",
                                "  --styles K [--seed S] | --style-from IMG: random, reference"]


def test_info_is_listed_in_the_help(capsys):
    assert main(["--help"]) == 0
    assert any(line.split()[:1] == ["info"] for line in capsys.readouterr().out.splitlines())
