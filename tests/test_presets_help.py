"""Presets that do no harm on a CPU budget (and `-paper` twins as published), presets built on
presets (`based_on:`), the command-line help, and docs that point only inside the repository."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import save_png
from helpers import make_trainer
from i2i import config
from i2i.cli import run_cli, train_main, train_parser
from i2i.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
SR_PRESETS = ["srresnet", "esrgan-psnr", "srgan", "esrgan"]
TINY_RRDB = ["model.generator.ngf=16", "model.generator.num_blocks=1", "data.scale=2", "data.crop_size=32",
             "data.num_workers=0", "train.batch_size=2", "train.iters=1", "train.log_every=1"]


# ------------------------------------------------------------------------------ presets
@pytest.mark.parametrize("name", SR_PRESETS)
def test_sr_presets_default_to_the_bicubic_residual_and_paper_twins_are_published(name):
    default, paper = config.load(name), config.load(f"{name}-paper")
    assert default.model.generator.residual is True
    assert paper.model.generator.residual is False
    paper.model.generator.residual = True
    assert paper == default  # nothing else differs


def test_translation_presets_keep_the_papers_generators():
    for name in ("pix2pix", "cyclegan"):
        g = config.load(name).model.generator
        assert (g.residual, g.upsample) == (False, "transpose"), name


def test_paper_presets_hold_only_what_differs():
    for name in SR_PRESETS:
        raw = config.read_yaml(config.PRESET_DIR / f"{name}-paper.yaml")
        assert raw == {"based_on": name, "model": {"generator": {"residual": False}}}


@pytest.fixture
def preset_dir(tmp_path, monkeypatch):
    d = tmp_path / "configs"
    d.mkdir()
    (d / "base.yaml").write_text(
        "# The base preset.\npipeline: esrgan\nmodel: {generator: {name: rrdb, ngf: 64, num_blocks: 23, "
        "norm: none}}\nloss: {gan: 0.0, l1: 1.0, vgg_layers: {relu1_1: 0.5, relu5_1: 1.0}}\n"
        "data: {scale: 4, load_size: 0, crop_size: 128}\ntrain: {milestones: [0.5, 0.75]}\n")
    (d / "child.yaml").write_text("# A child.\nbased_on: base\nmodel: {generator: {ngf: 32}}\n"
                                  "loss: {vgg_layers: {conv5_4: 1.0}}\n")
    (d / "grandchild.yaml").write_text("based_on: child\nmodel: {generator: {residual: true}}\ntrain: {iters: 9}\n")
    (d / "loop_a.yaml").write_text("based_on: loop_b\n")
    (d / "loop_b.yaml").write_text("based_on: loop_a\n")
    (d / "orphan.yaml").write_text("based_on: nowhere\n")
    monkeypatch.setattr(config, "PRESET_DIR", d)
    return d


def test_based_on_merges_sections_key_by_key_and_replaces_other_values(preset_dir):
    c = config.load("grandchild")
    g = c.model.generator
    assert c.pipeline == "esrgan" and (g.name, g.ngf, g.num_blocks, g.norm, g.residual) == ("rrdb", 32, 23, "none", True)
    assert c.loss.vgg_layers == {"conv5_4": 1.0}  # a dict value is replaced whole, not merged
    assert c.loss.l1 == 1.0 and c.data.scale == 4 and c.train.iters == 9 and c.train.milestones == [0.5, 0.75]
    assert config.load("child", ["model.generator.ngf=8"]).model.generator.ngf == 8  # overrides still win
    assert config.preset_descriptions()["child"] == "A child."


def test_based_on_errors_are_one_line(preset_dir):
    with pytest.raises(UserError, match=r"based_on loops \(loop_a -> loop_b -> loop_a\)"):
        config.load("loop_a")
    with pytest.raises(UserError, match="unknown pipeline 'nowhere'"):
        config.load("orphan")


def test_a_user_yaml_builds_on_a_based_on_preset(preset_dir, tmp_path):
    for key in ("pipeline", "based_on"):
        path = tmp_path / f"mine_{key}.yaml"
        path.write_text(f"{key}: grandchild\nmodel: {{generator: {{num_blocks: 2}}}}\n")
        c = config.load(str(path))
        assert (c.pipeline, c.model.generator.ngf, c.model.generator.num_blocks, c.train.iters) == ("esrgan", 32, 2, 9)
    path = tmp_path / "both.yaml"
    path.write_text("pipeline: child\nbased_on: base\n")
    with pytest.raises(UserError, match="disagree"):
        config.load(str(path))


def test_user_yaml_on_a_paper_preset(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("pipeline: esrgan-psnr-paper\nmodel: {generator: {ngf: 16}}\n")
    c = config.load(str(path))
    assert c.pipeline == "esrgan" and c.model.generator.residual is False and c.model.generator.ngf == 16


# ------------------------------------------------------------------------------ init_from
@pytest.fixture(scope="module")
def hr_photos(tmp_path_factory):
    rng = np.random.default_rng(0)
    d = tmp_path_factory.mktemp("hr")
    for i in range(4):
        save_png(d / f"{i}.png", rng.integers(0, 255, (48, 56, 3), dtype=np.uint8))
    return d


@pytest.fixture(scope="module")
def psnr_runs(hr_photos, tmp_path_factory):
    """One-step x2 PSNR-stage runs: as published (residual false) and the default (residual true)."""
    runs = {}
    for preset in ("esrgan-psnr-paper", "esrgan-psnr"):
        out = tmp_path_factory.mktemp(preset) / "run"
        make_trainer(config.load(preset, TINY_RRDB + [f"data.root={hr_photos}"]), out).fit()
        runs[preset] = out
    return runs


def test_gan_stage_inherits_the_paper_generator_over_the_preset_default(psnr_runs, hr_photos, tmp_path, capsys):
    paper = psnr_runs["esrgan-psnr-paper"]
    c = config.load("esrgan", [f"init_from={paper}"])
    assert (c.model.generator.residual, c.model.generator.ngf, c.data.scale) == (False, 16, 2)
    assert config.load("esrgan-paper", [f"init_from={psnr_runs['esrgan-psnr']}"]).model.generator.residual is True
    with pytest.raises(UserError, match="model.generator.residual=True contradicts init_from"):
        config.load("esrgan", [f"init_from={paper}", "model.generator.residual=true"])
    out = tmp_path / "gan"
    args = ["esrgan", "--data", str(hr_photos), "--out", str(out), "--iters", "2",
            "--batch-size", "2", "--crop-size", "32", f"init_from={paper}", "loss.perceptual=0",
            "model.discriminator.ndf=8", "model.discriminator.n_layers=3", "data.num_workers=0"]
    assert run_cli(train_main, args) == 0, capsys.readouterr().err
    saved = config.from_dict(config.read_yaml(out / "config.yaml"))
    assert (saved.model.generator.residual, saved.model.generator.ngf, saved.data.scale) == (False, 16, 2)


# ------------------------------------------------------------------------------ help
def _run(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_python_m_i2i_help_lists_the_commands():
    for flag in ("--help", "-h"):
        r = _run("-m", "i2i", flag)
        assert r.returncode == 0 and "evaluate" in r.stdout and "downscale" in r.stdout, r.stderr
        assert re.search(r"^\s+evaluate\s+\S.*$", r.stdout, re.M) and re.search(r"^\s+downscale\s+\S.*$", r.stdout, re.M)
    bare = _run("-m", "i2i")
    assert bare.returncode == 2 and "downscale" in bare.stderr
    wrong = _run("-m", "i2i", "evaluat")
    assert wrong.returncode == 2 and "unknown command 'evaluat'" in wrong.stderr


def test_train_help_lists_every_preset_with_its_description(capsys):
    with pytest.raises(SystemExit) as e:  # what `python train.py --help` runs
        run_cli(train_main, ["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    descriptions = config.preset_descriptions()
    assert set(descriptions) == set(config.presets()) and len(descriptions) >= 11
    for name, text in descriptions.items():
        assert text, f"{name}.yaml has no first comment line"
        assert re.search(rf"^\s+{re.escape(name)}\s+{re.escape(text)}$", out, re.M), name
    assert "--iters" in out and out == train_parser().format_help()


# ------------------------------------------------------------------------------ docs
@pytest.mark.parametrize("doc", ["README.md", "checkpoints/README.md", "datasets/README.md"])
def test_docs_point_only_inside_the_repository(doc):
    text = (ROOT / doc).read_text()
    assert "../shared" not in text and "/work/" not in text


def _commands(text: str, program: str) -> list[str]:
    """Commands starting with `program` in the README's code blocks, continuation lines joined."""
    blocks = re.findall(r"```\n(.*?)```", text, re.S)
    cmds = []
    for block in blocks:
        for cmd in re.sub(r"\\\n\s*", " ", block).splitlines():
            cmd = cmd.split("#")[0].strip()
            if cmd.startswith(program) and "PIPELINE" not in cmd:
                cmds.append(cmd)
    return cmds


def test_readme_training_recipes_finish_on_a_cpu():
    cmds = _commands((ROOT / "README.md").read_text(), "python train.py")
    assert len(cmds) >= 4
    for cmd in cmds:
        resume = "--resume" in cmd
        assert resume or "--iters" in cmd, cmd
        preset = cmd.split()[2]
        if preset in ("pix2pix", "cyclegan"):
            assert "model.generator.residual=true" in cmd and "model.generator.upsample=resize" in cmd, cmd
            assert "model.generator.ngf=" in cmd, cmd
        if preset in SR_PRESETS and "init_from" not in cmd and not resume:
            assert "model.generator.ngf=" in cmd, cmd
    for preset in config.presets():
        assert f"`{preset}`" in (ROOT / "README.md").read_text(), preset


# ------------------------------------------------------------------------------ benchmarks
@pytest.mark.parametrize("script", ["real_photos.py", "quality_real_photos.py", "sr_quality_real_photos.py"])
def test_photo_benchmarks_take_a_photos_folder(script, capsys):
    spec = importlib.util.spec_from_file_location(f"bench_{script[:-3]}", ROOT / "benchmarks" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as e:
        module.main(["--help"])
    assert e.value.code == 0 and "--photos DIR" in capsys.readouterr().out


def test_benchmarks_never_reach_outside_the_repository():
    for path in (ROOT / "benchmarks").glob("*.py"):
        text = path.read_text()
        assert "/work/" not in text and "../shared" not in text and '"shared"' not in text, path.name


def test_get_photos_parses_its_arguments():
    spec = importlib.util.spec_from_file_location("bench_get_photos", ROOT / "benchmarks" / "get_photos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.have_photos(Path("/nonexistent")) is False
    assert len(module.PHOTOS) >= 25 and set(module.VIDEOS) == {"vtest.avi", "tree.avi"}
