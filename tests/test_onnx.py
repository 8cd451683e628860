"""ONNX export (python -m i2i export) and the onnxruntime backend of translate.py / sample:
every pipeline's graph gives PyTorch's output (max abs difference <= 1e-4) at sizes and batches
the export never traced, and translate.py through the .onnx file writes the same pictures."""
import json

import numpy as np
import onnxruntime
import pytest
import torch

from helpers import tiny_config
from i2i import config
from i2i.cli import run_cli, translate_main
from i2i.data import DataMeta
from i2i.data.io import read_image
from i2i.engine import checkpoint as ckpt
from i2i.errors import UserError
from i2i.inference import Translator
from i2i.inference.export import export_onnx, noise_input
from i2i.inference.sampler import sample_main
from i2i.pipelines import Request, build_pipeline
from i2i.__main__ import main as i2i_main


TOLERANCE = 1e-4
NO_VGG = ["loss.perceptual=0"]
GAN = ["model.generator.ngf=8", "data.crop_size=32"]
CASES = {  # pipeline: (overrides, data meta, the condition exported)
    "pix2pix": ([], DataMeta(), Request()),
    "cyclegan": (["model.generator.name=resnet_6blocks", "model.generator.ngf=8"], DataMeta(), Request(direction="BtoA")),
    "stargan": (["model.generator.ngf=8", "model.generator.num_blocks=1"], DataMeta(domains=("a", "b", "c")),
                Request(domain="b")),
    "unit": (["model.generator.ngf=8", "model.generator.num_blocks=1"], DataMeta(), Request(direction="BtoA")),
    "munit": (["model.generator.ngf=8", "model.generator.num_blocks=1", "model.generator.mlp_dim=16"], DataMeta(),
              Request(seed=3)),
    "spade": (NO_VGG + ["model.generator.ngf=4", "model.generator.spade_hidden=8", "model.generator.style_encoder=true"],
              DataMeta(label_classes=5, label_dont_care=True), Request(seed=1)),
    "pix2pixhd": (NO_VGG + ["model.generator.ngf=4", "model.generator.num_blocks=1", "model.generator.num_downs=2"],
                  DataMeta(label_classes=4, label_instances=True), Request()),
    "esrgan": (NO_VGG + ["model.generator.ngf=8", "model.generator.num_blocks=1"], DataMeta(), Request()),
    "srgan": (NO_VGG + ["model.generator.ngf=8", "model.generator.num_blocks=1"], DataMeta(), Request()),
    "dcgan": (GAN, DataMeta(), Request()),
    "acgan": (GAN, DataMeta(classes=3, class_names=("x", "y", "z")), Request(label=1)),
    "infogan": (GAN, DataMeta(), Request(label=2, seed=4)),
}


def tiny_pipeline(name: str):
    extra, meta, _ = CASES[name]
    cfg = tiny_config(name, "/nonexistent", 1, *extra) if name == "pix2pix" else config.load(name, extra)
    torch.manual_seed(0)
    p = build_pipeline(cfg, meta, training=False).eval()
    for w in p.parameters():  # papers' inits (N(0, 0.02), spectral norm) give near-constant outputs that any
        if w.dim() > 1:       # graph would match: full-size weights make the comparison mean something
            torch.nn.init.xavier_normal_(w)
    tr = Translator(p, cfg, torch.device("cpu"))
    calibrate_batch_norms(tr)
    return tr


def calibrate_batch_norms(tr):
    """Batch-norm statistics of the new weights (the init's mean 0, variance 1 would squash them)."""
    norms = [m for m in tr.pipeline.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches below
    tr.pipeline.train()
    with torch.no_grad():
        run_graph(tr, *graph_input(tr, CASES[tr.cfg.pipeline][2]))
    tr.pipeline.eval()


def graph_input(tr, request):
    """(the graph's input, the condition PyTorch computes it under) at a size and batch neither the
    export nor its own check used. Runs from noise: [z, codes] of 5 seeded samples."""
    p = tr.pipeline
    if p.input_kind == "none":
        cond = tr.condition(request, 5)
        return noise_input(cond), cond
    m = p.size_multiple
    h, w = m * max(1, 96 // m + 1), m * max(1, 40 // m + 1)
    if p.input_kind == "labels":
        x = torch.randint(0, p.meta.label_classes, (3, p.input_channels, h, w)).float()
    else:
        x = torch.rand(3, tr.cfg.data.in_channels if p.directions == ("AtoB",) else 3, h, w) * 2 - 1
    cond = {k: v.expand(3, *v.shape[1:]) if torch.is_tensor(v) else v for k, v in tr.condition(request, 1).items()}
    return x, cond


def run_graph(tr, x, cond):
    """What the exported graph computes, in PyTorch."""
    if tr.pipeline.input_kind == "none":
        return tr.pipeline.sample(x.shape[0], **cond)
    return tr.pipeline.translate(x, **cond)


@pytest.mark.parametrize("name", list(CASES))
def test_every_pipeline_exports_and_matches_pytorch(tmp_path, name):
    tr = tiny_pipeline(name)
    request = CASES[name][2]
    diffs = export_onnx(tr, tmp_path / "g.onnx", request)
    assert len(diffs) == 2 and max(diffs.values()) <= TOLERANCE, diffs

    x, cond = graph_input(tr, request)
    with torch.no_grad():
        want = run_graph(tr, x, cond).numpy()
    got = onnxruntime.InferenceSession(str(tmp_path / "g.onnx")).run(None, {"x": x.numpy()})[0]
    assert got.shape == want.shape
    assert want.std() > 0.05, "the outputs must vary, or any graph would match"
    assert np.abs(got - want).max() <= TOLERANCE


def save_run(tr, out):
    ckpt.save_weights(out / ckpt.WEIGHTS, tr.pipeline, tr.cfg, 7)
    return out


@pytest.fixture
def stargan_run(tmp_path):
    return save_run(tiny_pipeline("stargan"), tmp_path / "run")


def test_translate_through_the_onnx_file_writes_the_same_pictures(demo_data, stargan_run, tmp_path):
    """Padding (an odd size), tiles and 8-bit files all around the onnxruntime graph: the
    pictures equal PyTorch's to one grey level; --backend onnxruntime on the run does the same."""
    photos = demo_data / "paired" / "test" / "A"
    model = tmp_path / "to_b.onnx"
    assert i2i_main(["export", str(stargan_run), "--out", str(model), "--to", "b"]) == 0
    meta = onnxruntime.InferenceSession(str(model)).get_modelmeta().custom_metadata_map
    assert json.loads(meta["i2i.condition"]) == {"--to": "b"} and "stargan" in meta["config"]
    runs = {"torch": [str(stargan_run), "--to", "b"], "file": [str(model)], "file_same_flag": [str(model), "--to", "b"],
            "backend": [str(stargan_run), "--to", "b", "--backend", "onnxruntime"]}
    for key, args in runs.items():
        assert translate_main([args[0], str(photos), "--out", str(tmp_path / key), *args[1:], "--tile", "40"]) == 0
    for f in sorted((tmp_path / "torch").glob("*.png")):
        want = read_image(f).rgb
        for key in ("file", "file_same_flag", "backend"):
            assert np.abs(read_image(tmp_path / key / f.name).rgb - want).max() <= 1 / 255 + 1e-6, (key, f.name)


def test_onnx_condition_is_fixed_and_says_so(stargan_run, tmp_path, demo_data, capsys):
    model = tmp_path / "to_b.onnx"
    export_onnx(Translator.from_run(stargan_run, "cpu"), model, Request(domain="b"), {"--to": "b"}, check=False)
    photo = next((demo_data / "paired" / "test" / "A").glob("*"))
    assert run_cli(translate_main, [str(model), str(photo), "--out", str(tmp_path / "o"), "--to", "c"]) == 2
    err = capsys.readouterr().err
    assert "--to b" in err and "python -m i2i export" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name, cls", [("acgan", "y"), ("infogan", "code-2")])
def test_sampling_from_an_exported_gan_matches_pytorch(tmp_path, name, cls):
    """InfoGAN's continuous codes differ per sample: they are part of the graph's input, like z."""
    run = save_run(tiny_pipeline(name), tmp_path / "run")
    model = tmp_path / "g.onnx"
    assert i2i_main(["export", str(run), "--out", str(model), "--class", cls]) == 0
    for source, out in ((run, "torch"), (model, "onnx")):
        assert sample_main([str(source), "--n", "6", "--class", cls, "--seed", "5", "--out", str(tmp_path / out)]) == 0
    for k in range(6):
        want = read_image(tmp_path / "torch" / cls / f"sample_{k:05d}.png").rgb
        assert np.abs(read_image(tmp_path / "onnx" / cls / f"sample_{k:05d}.png").rgb - want).max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize("args, words", [
    (["--class", "y"], "not class-conditional"),
    (["--to", "b"], "makes images from noise"),
])
def test_export_mistakes_are_one_line(tmp_path, capsys, args, words):
    run = save_run(tiny_pipeline("dcgan"), tmp_path / "run")
    assert i2i_main(["export", str(run), "--out", str(tmp_path / "g.onnx"), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_class_conditional_export_needs_a_class_and_a_file_name(tmp_path, capsys):
    run = save_run(tiny_pipeline("acgan"), tmp_path / "run")
    assert i2i_main(["export", str(run), "--out", str(tmp_path / "g.onnx")]) == 2
    assert "--class C (x, y, z)" in capsys.readouterr().err
    assert i2i_main(["export", str(run), "--out", str(tmp_path / "g.pt"), "--class", "x"]) == 2
    assert "FILE.onnx" in capsys.readouterr().err
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(UserError, match="junk.onnx"):
        Translator.from_run(junk)
