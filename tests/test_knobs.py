"""Networks own their knobs (DESIGN.md): the keys of model.generator / model.discriminator are
checked against the chosen builder's own signature; a knob it does not take is a one-line
error listing the ones it does; saved runs holding such (ineffective) values still load."""
import inspect

import pytest
import torch
import yaml

from conftest import ROOT
from i2i import config
from i2i.cli import run_cli, train_main
from i2i.config import DiscriminatorConfig, GeneratorConfig
from i2i.data import DataMeta
from i2i.errors import UserError
from i2i.nn import build_discriminator, build_generator
from i2i.nn.build import knobs, reset_unused_knobs
from i2i.pipelines import build_pipeline
from i2i.registry import DISCRIMINATORS, GENERATORS, Registry

SCHEMA1_RUN = ROOT / "tests" / "fixtures" / "schema1_run"


def test_unknown_generator_knob_is_one_line_listing_the_builders_parameters():
    cfg = config.load("cyclegan", ["model.generator.num_downs=3"])
    with pytest.raises(UserError) as e:
        build_pipeline(cfg, training=False)
    assert str(e.value) == ("model.generator.num_downs=3 is not a parameter of generator 'resnet_9blocks' "
                            "(its parameters: ngf, norm, dropout, upsample, num_blocks)")
    with pytest.raises(UserError, match=r"model.generator.norm=none is not a parameter of generator 'rrdb' "
                                        r"\(its parameters: ngf, upsample, num_blocks, pixel_unshuffle, unit_range\)"):
        build_generator(GeneratorConfig(name="rrdb", norm="none"), 3, 3, scale=4)
    with pytest.raises(UserError, match=r"model.generator.pixel_unshuffle=true is not a parameter of generator "
                                        r"'unet_256' \(its parameters: ngf, norm, dropout, upsample, num_downs\)"):
        build_generator(GeneratorConfig(pixel_unshuffle=True), 3, 3)


def test_unknown_discriminator_knob_is_one_line_listing_the_builders_parameters():
    cfg = config.load("pix2pix", ["model.discriminator.num_D=3"])
    with pytest.raises(UserError) as e:
        build_pipeline(cfg)
    assert str(e.value) == ("model.discriminator.num_D=3 is not a parameter of discriminator 'patch' "
                            "(its parameters: ndf, n_layers, norm, head)")
    with pytest.raises(UserError, match=r"model.discriminator.n_layers=2 is not a parameter of discriminator "
                                        r"'pixel' \(its parameters: ndf, norm\)"):
        build_discriminator(DiscriminatorConfig(name="pixel", n_layers=2), 6)
    with pytest.raises(UserError, match=r"discriminator 'unet_sn' \(its parameters: ndf\)"):
        build_discriminator(DiscriminatorConfig(name="unet_sn", norm="none"), 3)


def test_knob_error_reaches_the_command_line_as_one_line(demo_data, tmp_path, capsys):
    args = ["cyclegan", "--data", str(demo_data / "unpaired"), "--out", str(tmp_path / "run"),
            "data.num_workers=0", "model.generator.num_downs=3"]
    threads = torch.get_num_threads()
    try:
        assert run_cli(train_main, args) == 2
    finally:  # train.py sets torch's threads: later tests (the fingerprints) depend on them
        torch.set_num_threads(threads)
    err = capsys.readouterr().err.strip()
    assert err == ("error: model.generator.num_downs=3 is not a parameter of generator 'resnet_9blocks' "
                   "(its parameters: ngf, norm, dropout, upsample, num_blocks)")


def test_default_valued_and_build_level_knobs_are_always_allowed():
    # every schema key is present in every config; only a changed value the builder ignores is an error
    g = build_generator(GeneratorConfig(name="resnet_6blocks", ngf=4, norm="instance", num_downs=0,
                                        pixel_unshuffle=False, residual=True), 3, 3)
    assert g(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    d = build_discriminator(DiscriminatorConfig(name="pixel", ndf=4, n_layers=3, num_D=1, spectral_norm=True), 3)
    assert d(torch.zeros(1, 3, 8, 8))[0][-1].shape == (1, 1, 8, 8)
    ms = build_discriminator(DiscriminatorConfig(name="multiscale", ndf=4, n_layers=1, num_D=2), 3)
    assert len(ms(torch.zeros(1, 3, 16, 16))) == 2


@pytest.mark.parametrize("registry", [GENERATORS, DISCRIMINATORS], ids=lambda r: r.kind)
def test_every_builder_declares_its_parameters(registry):
    schema = GeneratorConfig if registry is GENERATORS else DiscriminatorConfig
    for name in registry.names():
        params = inspect.signature(registry.get(name)).parameters
        swallow = [p.name for p in params.values() if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        assert not swallow, f"{registry.kind} '{name}' swallows *{swallow[0]}"
        assert "in_ch" in params or "z_dim" in params, name  # an image in, or noise (GANs from noise)
        assert knobs(registry.kind, name), f"{registry.kind} '{name}' takes no knob from {schema.__name__}"
        assert "name" not in params and "spectral_norm" not in params
        if "residual" in params:  # decoders that add their own base image (MUNIT, UNIT) name their output convs
            assert hasattr(registry.get(name)(in_ch=3, out_ch=3), "output_convs"), name


def test_generators_upscale_iff_they_take_scale():
    with pytest.raises(UserError, match="does not upscale; for data.scale=4 use one of: msrresnet, rrdb, srresnet"):
        build_generator(GeneratorConfig(name="resnet"), 3, 3, scale=4)


def test_context_a_builder_does_not_declare_is_a_programming_error():
    with pytest.raises(TypeError, match="cond_dim"):
        build_generator(GeneratorConfig(name="unet", num_downs=5, ngf=4), 3, 3, cond_dim=5)
    with pytest.raises(TypeError, match="image_size"):
        build_discriminator(DiscriminatorConfig(name="patch", ndf=4), 3, image_size=64)


def test_registry_presets_keep_a_real_signature():
    reg = Registry("thing")

    def make(in_ch: int, ndf: int = 64, n_layers: int = 3):
        return in_ch, ndf, n_layers
    reg.register("wide", ndf=128)(make)
    reg.register("plain")(make)
    wide = reg.get("wide")
    params = inspect.signature(wide).parameters
    assert list(params) == ["in_ch", "ndf", "n_layers"] and params["ndf"].default == 128
    assert not any(p.kind == p.VAR_KEYWORD for p in params.values())
    assert wide(in_ch=3) == (3, 128, 3) and wide(in_ch=3, ndf=8) == (3, 8, 3)
    assert reg.get("plain") is make
    with pytest.raises(TypeError, match="no parameter 'width'"):
        reg.register("bad", width=3)(make)


def test_a_builder_that_swallows_keywords_is_refused(monkeypatch):
    def sloppy(in_ch, ndf=64, **_):
        raise AssertionError("never built")
    monkeypatch.setitem(DISCRIMINATORS._items, "sloppy", sloppy)
    with pytest.raises(TypeError, match=r"'sloppy' takes \*_"):
        build_discriminator(DiscriminatorConfig(name="sloppy"), 3)


@pytest.mark.parametrize("preset", config.presets())
def test_every_preset_builds(preset):
    cfg = config.load(preset)
    if cfg.loss.perceptual > 0:  # the VGG weights are not downloaded in tests
        cfg = config.load(preset, ["loss.perceptual=0"])
    meta = (DataMeta(domains=("a", "b", "c")) if cfg.pipeline == "stargan" else
            DataMeta(classes=3, class_names=("a", "b", "c")) if cfg.pipeline in ("cgan", "acgan") else
            DataMeta(label_classes=3) if cfg.pipeline in ("spade", "pix2pixhd") else None)
    p = build_pipeline(cfg, meta, training=True)
    assert p.generators and (p.discriminators or cfg.loss.gan == 0)


# ------------------------------------------------------------------------------ saved runs
def test_saved_config_with_ignored_knobs_is_migrated_on_read():
    """Runs saved before the check hold every key, e.g. the ESRGAN presets' `norm: none` for an
    RRDB: reading a saved config resets such knobs (they never had an effect); a user's new config
    with the same value is an error."""
    saved = yaml.safe_load(config.Config().to_yaml())
    saved["pipeline"] = "esrgan"
    saved["model"]["generator"].update(name="rrdb", ngf=8, num_blocks=1, norm="none", dropout=0.5, num_downs=6)
    saved["model"]["discriminator"].update(name="vgg", num_D=2, n_layers=4)
    saved["data"].update(scale=4, crop_size=32, load_size=0)
    saved["loss"].update(gan=0.0, l1=1.0)
    cfg = config.from_dict(saved)
    g, d = cfg.model.generator, cfg.model.discriminator
    assert (g.norm, g.dropout, g.num_downs) == ("batch", 0.0, 0)  # back to the schema defaults
    assert (g.ngf, g.num_blocks, d.n_layers, d.num_D) == (8, 1, 4, 1)  # knobs the networks take are kept
    assert reset_unused_knobs(cfg.model) == []
    build_pipeline(cfg, training=False)
    with pytest.raises(UserError, match="model.generator.norm=none is not a parameter of generator 'rrdb'"):
        build_pipeline(config.load("esrgan-psnr", ["model.generator.norm=none"]), training=False)


def test_schema1_fixture_config_loads_unchanged():
    raw = config.read_yaml(SCHEMA1_RUN / "config.yaml")
    cfg = config.from_dict(raw)
    model = config.Config.to_dict(cfg)["model"]
    for part, saved in raw["model"].items():  # a U-Net takes num_downs: nothing to migrate (keys added
        if isinstance(saved, dict):           # to the schema since come in at their defaults)
            assert {k: model[part][k] for k in saved} == saved, part
        else:
            assert model[part] == saved, part
