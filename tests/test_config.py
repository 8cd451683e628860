"""Config: presets follow the papers; overrides by dotted path; unknown keys are errors."""
import pytest

from i2i import config
from i2i.errors import UserError


def test_pix2pix_preset_is_the_paper():
    c = config.load("pix2pix")
    assert (c.model.generator.name, c.model.generator.norm, c.model.generator.dropout) == ("unet_256", "batch", 0.5)
    assert (c.model.discriminator.name, c.model.discriminator.n_layers) == ("patch", 3)
    assert (c.loss.gan_mode, c.loss.l1) == ("vanilla", 100.0)
    assert (c.train.lr, c.train.beta1) == (2e-4, 0.5)


def test_cyclegan_preset_is_the_paper():
    c = config.load("cyclegan")
    assert (c.model.generator.name, c.model.generator.norm) == ("resnet_9blocks", "instance")
    assert (c.loss.gan_mode, c.loss.cycle, c.loss.identity) == ("lsgan", 10.0, 0.5)
    assert c.train.pool_size == 50 and c.train.lr_policy == "linear"


def test_overrides_by_dotted_path():
    c = config.load("pix2pix", ["model.generator.name=unet_128", "model.generator.ngf=32", "loss.l1=50",
                                "data.direction=BtoA", "train.lr=1e-3"])
    assert c.model.generator.name == "unet_128" and c.model.generator.ngf == 32
    assert c.loss.l1 == 50.0 and isinstance(c.loss.l1, float)
    assert c.data.direction == "BtoA" and c.train.lr == 1e-3


@pytest.mark.parametrize("override,message", [
    ("model.generator.ngff=3", "unknown config key 'model.generator.ngff'; known keys here: name, ngf"),
    ("lose.l1=3", "unknown config key 'lose'"),
    ("model.generator.ngf=abc", "'model.generator.ngf' expects int"),
    ("data.direction=AB", "choose one of: AtoB, BtoA"),
    ("loss.gan_mode=wgangp", "vanilla, vanilla-saturating, lsgan, hinge, wgan, wgan-gp, relativistic"),
    ("model.generator.norm=group", "batch, instance, instance_affine, layer, none"),
    ("noequals", "KEY=VALUE"),
])
def test_bad_overrides_are_one_line_errors(override, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")) as e:
        config.load("pix2pix", [override])
    assert "\n" not in str(e.value)


def test_unknown_pipeline_lists_presets():
    with pytest.raises(UserError, match="unknown pipeline .pix2pixx.; known: acgan, cgan, cyclegan, dcgan, esrgan, esrgan-paper, "
                                        "esrgan-psnr, esrgan-psnr-paper, infogan, munit, munit-cycle, munit-residual, pix2pix, pix2pixhd, spade, srgan, srgan-paper, "
                                        "srresnet, srresnet-paper, stargan, unit"):
        config.load("pix2pixx")


def test_yaml_file_and_roundtrip(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("pipeline: cyclegan\nloss: {cycle: 5}\ntrain: {iters: 7}\n")
    c = config.load(str(path), ["train.seed=3"])
    assert c.pipeline == "cyclegan" and c.loss.cycle == 5.0 and c.train.iters == 7 and c.train.seed == 3
    assert c.model.generator.name == "resnet_9blocks"  # rest from the preset
    again = config.from_dict(__import__("yaml").safe_load(c.to_yaml()))
    assert again == c


def test_yaml_without_pipeline_key(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("loss: {l1: 1}\n")
    with pytest.raises(UserError, match="has no 'pipeline:' key"):
        config.load(str(path))


def test_crop_larger_than_load():
    with pytest.raises(UserError, match="crop_size"):
        config.load("pix2pix", ["data.crop_size=300", "data.load_size=256"])


def test_yaml_builds_on_the_preset_its_pipeline_key_names(tmp_path):
    path = tmp_path / "psnr.yaml"
    path.write_text("pipeline: esrgan-psnr\nmodel: {generator: {ngf: 16}}\n")
    c = config.load(str(path))
    assert c.pipeline == "esrgan" and c.loss.gan == 0 and c.loss.perceptual == 0 and c.model.generator.ngf == 16
