"""GANs from noise (DCGAN, cGAN, ACGAN, InfoGAN): paper parameter counts, every conditioning path
reacts to the label, head shapes, each loss mode's value on a hand example, WGAN clipping, R1,
seeded sampling, the data layouts and their errors, and tiny DCGAN / ACGAN runs on drawn digits
checked by a classifier trained on the real (drawn) digits."""
import math

import pytest
import torch

from helpers import make_trainer
from i2i import config
from i2i.__main__ import main as i2i_main
from i2i.cli import run_cli, translate_main
from i2i.config import DiscriminatorConfig, GeneratorConfig
from i2i.data import DataMeta, build_dataset
from i2i.errors import UserError
from i2i.nn import build_discriminator, build_generator
from i2i.nn.attention import SelfAttention
from i2i.nn.layers import count_parameters
from i2i.pipelines import Request, build_pipeline

TINY = ["model.generator.ngf=16", "model.discriminator.ndf=16", "data.num_workers=0", "data.out_channels=1",
        "data.load_size=16", "data.crop_size=16", "train.batch_size=32", "train.log_every=10",
        "train.sample_every=1000"]
TEN = DataMeta(classes=10, class_names=tuple(map(str, range(10))))


def gan_config(preset: str, root="", iters: int = 1, *extra: str):
    return config.load(preset, TINY + [f"data.root={root}", f"train.iters={iters}", *extra])


# ------------------------------------------------------------------------------ networks
@pytest.mark.parametrize("channels,g_count,d_count", [(3, 3_576_704, 2_765_568), (1, 3_574_656, 2_763_520)])
def test_dcgan_paper_parameter_counts(channels, g_count, d_count):
    G = build_generator(GeneratorConfig(name="dcgan"), 0, channels, image_size=64)
    D = build_discriminator(DiscriminatorConfig(name="dcgan"), channels, image_size=64)
    assert (count_parameters(G), count_parameters(D)) == (g_count, d_count)
    assert G(torch.randn(2, 100)).shape == (2, channels, 64, 64)
    assert D(torch.zeros(2, channels, 64, 64))[0][-1].shape == (2, 1, 1, 1)


@pytest.mark.parametrize("name,size", [("dcgan", 8), ("dcgan", 32), ("sngan", 32), ("sngan", 64)])
def test_any_power_of_two_size(name, size):
    G = build_generator(GeneratorConfig(name=name, ngf=8), 0, 3, image_size=size)
    D = build_discriminator(DiscriminatorConfig(name=name, ndf=8), 3, image_size=size)
    x = G(torch.randn(2, 100))
    assert x.shape == (2, 3, size, size) and D(x)[0][-1].numel() == 2


def test_a_size_that_is_not_a_power_of_two_is_one_line():
    with pytest.raises(UserError, match="image size 28 px.*power of two"):
        build_generator(GeneratorConfig(name="dcgan"), 0, 1, image_size=28)


@pytest.mark.parametrize("name,norm,class_input", [
    ("dcgan", "batch", "concat"), ("dcgan", "batch", "multiply"), ("dcgan", "conditional_batch", "concat"),
    ("sngan", "batch", "concat"), ("sngan", "batch", "multiply"), ("sngan", "conditional_batch", "concat")])
def test_every_generator_conditioning_path_reacts_to_the_label(name, norm, class_input):
    """An embedding concatenated to z or multiplied into it, or conditional batch norm: another
    class, another image."""
    torch.manual_seed(0)
    G = build_generator(GeneratorConfig(name=name, ngf=8, norm=norm, class_input=class_input), 0, 1, image_size=16,
                        num_classes=10).eval()
    z = torch.randn(1, 100).expand(3, -1)
    out = G(z, torch.tensor([0, 1, 2]))
    scale = out.abs().max()  # (eval-mode outputs of a fresh N(0, 0.02) network are small)
    assert (out[0] - out[1]).abs().max() > 1e-2 * scale and (out[1] - out[2]).abs().max() > 1e-2 * scale
    with pytest.raises(ValueError, match="needs a label"):
        G(z)


@pytest.mark.parametrize("name", ["dcgan", "sngan"])
def test_discriminator_heads(name):
    """Projection: the label changes realness; auxiliary (ACGAN) and Q (InfoGAN) give logits N x K."""
    torch.manual_seed(0)
    x = torch.randn(1, 1, 16, 16).expand(3, -1, -1, -1)
    D = build_discriminator(DiscriminatorConfig(name=name, ndf=8), 1, image_size=16, num_classes=10)
    real = D(x, torch.tensor([0, 1, 2]))[0][-1].flatten()
    assert (real[0] - real[1]).abs() > 1e-6 and D(x, torch.tensor([0, 1, 2])).logits is None
    for k in (10, 12):
        A = build_discriminator(DiscriminatorConfig(name=name, ndf=8), 1, image_size=16, aux_outputs=k)
        assert A(x).logits.shape == (3, k)


def test_self_attention_goes_where_named_and_starts_as_identity():
    G = build_generator(GeneratorConfig(name="dcgan", ngf=8, attention=8), 0, 1, image_size=16)
    blocks = [m for m in G.modules() if isinstance(m, SelfAttention)]
    assert len(blocks) == 1
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(SelfAttention(16)(x), x)  # gamma = 0 at first
    D = build_discriminator(DiscriminatorConfig(name="sngan", ndf=8, attention=8), 1, image_size=16)
    assert sum(isinstance(m, SelfAttention) for m in D.modules()) == 1
    with pytest.raises(UserError, match="attention=32.*4, 8"):
        build_generator(GeneratorConfig(name="dcgan", ngf=8, attention=32), 0, 1, image_size=16)


def test_spectral_norm_on_a_generator():
    G = build_generator(GeneratorConfig(name="dcgan", ngf=8, spectral_norm=True), 0, 1, image_size=16)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    assert G(torch.randn(2, 100)).shape == (2, 1, 16, 16)


# ------------------------------------------------------------------------------ losses
def softplus(x):
    return math.log1p(math.exp(x))


def mean(xs):
    return sum(xs) / len(xs)


R, F = [1.0, -0.5], [0.2, -1.0]  # D's logits on two real and two fake images
MR, MF = mean(R), mean(F)
BCE1 = lambda x: softplus(-x)  # noqa: E731  -log sigmoid(x): "real"
BCE0 = lambda x: softplus(x)  # noqa: E731   -log(1 - sigmoid(x)): "fake"
HAND = {  # mode: (D loss = the sum of the halved real and fake terms, G loss)
    "vanilla": (0.5 * (mean([BCE1(r) for r in R]) + mean([BCE0(f) for f in F])), mean([BCE1(f) for f in F])),
    "vanilla-saturating": (0.5 * (mean([BCE1(r) for r in R]) + mean([BCE0(f) for f in F])),
                           -mean([BCE0(f) for f in F])),
    "lsgan": (0.5 * (mean([(r - 1) ** 2 for r in R]) + mean([f ** 2 for f in F])), mean([(f - 1) ** 2 for f in F])),
    "hinge": (0.5 * (mean([max(0, 1 - r) for r in R]) + mean([max(0, 1 + f) for f in F])), -MF),
    "wgan": (0.5 * (-MR + MF), -MF),
    "wgan-gp": (0.5 * (-MR + MF), -MF),
    "relativistic": (0.5 * (mean([BCE1(r - MF) for r in R]) + mean([BCE0(f - MR) for f in F])),
                     0.5 * (mean([BCE0(r - MF) for r in R]) + mean([BCE1(f - MR) for f in F]))),
    "relativistic-standard": (0.5 * (mean([BCE1(r - f) for r, f in zip(R, F)]) + mean([BCE0(f - r) for r, f in zip(R, F)])),
                              mean([BCE1(f - r) for r, f in zip(R, F)])),
    "relativistic-lsgan": (0.5 * (mean([(r - MF - 1) ** 2 for r in R]) + mean([(f - MR + 1) ** 2 for f in F])),
                           0.5 * (mean([(r - MF + 1) ** 2 for r in R]) + mean([(f - MR - 1) ** 2 for f in F]))),
}


@pytest.mark.parametrize("mode", list(HAND))
def test_each_loss_mode_on_a_hand_example(mode):
    p = build_pipeline(gan_config("dcgan", "", 1, f"loss.gan_mode={mode}", "data.crop_size=8", "data.load_size=8"))
    real, fake = [[torch.tensor(R)]], [[torch.tensor(F)]]
    d = p.adversarial_d_terms("D", real, fake)
    g = p.adversarial_g_term(fake, real)
    want_d, want_g = HAND[mode]
    assert float(sum(d.values())) == pytest.approx(want_d, abs=1e-6)
    assert float(g) == pytest.approx(want_g, abs=1e-6)


def test_r1_penalty_on_a_linear_critic():
    """D(x) = <w, x>: its gradient is w everywhere, so R1 = 0.5 |w|^2."""
    from i2i.losses import r1_penalty
    w = torch.tensor([[[[1.0, -2.0], [0.5, 0.0]]]])
    assert float(r1_penalty(lambda x: (x * w).sum((1, 2, 3)), torch.randn(3, 1, 2, 2))) == pytest.approx(0.5 * 5.25)


def test_wgan_clips_the_critic_after_every_update(digits, tmp_path):
    cfg = gan_config("dcgan", digits, 3, "loss.gan_mode=wgan", "loss.clip=0.005", "train.optimizer=rmsprop",
                     "train.lr=0.00005", "train.d_steps=2", "train.batch_size=8")
    tr = make_trainer(cfg, tmp_path / "run")
    tr.fit()
    weights = torch.cat([p.detach().flatten() for p in tr.pipeline.discriminators.parameters()])
    assert weights.abs().max() <= 0.005 + 1e-9
    assert isinstance(tr.optimizers["D"], torch.optim.RMSprop)
    assert (weights.abs() == 0.005).any()  # clipping did bite: N(0, 0.02) weights start beyond it


# ------------------------------------------------------------------------------ data
def test_class_folders_and_a_flat_folder(digits, tmp_path):
    ds = build_dataset(gan_config("acgan", digits).data, "images")
    assert ds.meta.class_names == tuple(map(str, range(10))) and len(ds) == 400
    assert ds[0]["label"].dtype == torch.long
    flat = build_dataset(gan_config("dcgan", digits / "3").data, "images")
    assert flat.meta.class_names == () and len(flat) == 40
    with pytest.raises(UserError, match="class-conditional: --data needs a folder per class"):
        build_pipeline(gan_config("acgan", digits / "3"), flat.meta)


def test_a_translation_generator_is_refused():
    with pytest.raises(UserError, match="generator 'unet_256' translates images.*dcgan or sngan"):
        build_pipeline(gan_config("dcgan", "", 1, "model.generator.name=unet_256", "model.generator.ngf=16"))


# ------------------------------------------------------------------------------ sampling
def test_condition_is_seeded_per_sample_and_truncation_bounds_it():
    p = build_pipeline(gan_config("acgan"), TEN, training=False)
    a = p.condition(Request(seed=5), 8)
    b = p.condition(Request(seed=5), 3)
    assert torch.equal(a["z"][:3], b["z"]) and a["label"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert not torch.equal(p.condition(Request(seed=6), 3)["z"], b["z"])
    t = p.condition(Request(seed=5, truncation=0.5, label=7), 4)
    assert t["z"].abs().max() <= 0.5 and t["label"].tolist() == [7] * 4


def intensity_gap(fakes: torch.Tensor, reals: torch.Tensor) -> float:
    """1-D Wasserstein distance between the pixel values of two image sets (drawn digits: mostly
    black with white strokes; an untrained generator: grey noise)."""
    a, b = fakes.flatten().sort().values, reals.flatten().sort().values
    q = torch.linspace(0, 1, 2000)
    return float((a[(q * (len(a) - 1)).long()] - b[(q * (len(b) - 1)).long()]).abs().mean())


def some_reals(trainer, n: int = 100) -> torch.Tensor:
    return torch.stack([trainer.dataset[i]["A"][:1] for i in range(0, len(trainer.dataset), len(trainer.dataset) // n)])


SMALL = ["model.generator.ngf=32", "model.discriminator.ndf=32", "train.batch_size=64"]


@pytest.fixture(scope="module")
def acgan_run(digits, tmp_path_factory):
    """A tiny ACGAN trained on the drawn digits (400 steps of 64, ~40 s), with its untrained
    samples kept for comparison."""
    out = tmp_path_factory.mktemp("acgan") / "run"
    tr = make_trainer(gan_config("acgan", digits, 400, *SMALL), out)
    p = tr.pipeline
    cond = p.condition(Request(seed=0), 200)
    with torch.no_grad():
        before = p.eval().sample(200, **cond)
    p.train()
    tr.fit()
    return out, tr, cond, before


def test_sample_cli_is_seeded_and_writes_class_folders(acgan_run, tmp_path, capsys):
    run = acgan_run[0]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert i2i_main(["sample", str(run), "--n", "12", "--seed", "3", "--grid", "--out", str(a)]) == 0
    assert i2i_main(["sample", str(run), "--n", "12", "--seed", "3", "--out", str(b)]) == 0
    assert i2i_main(["sample", str(run), "--n", "4", "--seed", "4", "--class", "7", "--out", str(c)]) == 0
    first = (a / "0" / "sample_00000.png").read_bytes()
    assert first == (b / "0" / "sample_00000.png").read_bytes()
    assert (a / "grid.png").is_file() and (a / "9" / "sample_00009.png").is_file()
    assert sorted(p.name for p in (c / "7").iterdir()) == [f"sample_{k:05d}.png" for k in range(4)]
    assert (c / "7" / "sample_00000.png").read_bytes() != first
    assert i2i_main(["sample", str(run), "--class", "eleven", "--out", str(c)]) == 2
    assert "--class eleven: not a class of this run; it knows: 0, 1" in capsys.readouterr().err


def test_translate_on_a_gan_run_points_to_sample(acgan_run, digits, tmp_path, capsys):
    assert run_cli(translate_main, [str(acgan_run[0]), str(digits / "3"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "makes images from noise" in err and "python -m i2i sample" in err and err.count("\n") == 1


def test_tiny_acgan_makes_the_class_it_is_asked_for(acgan_run):
    """ACGAN's objective, measured: D's classifier (batch statistics, as in training) reads the
    class each sample was made for far above chance (10 %), and the samples' pixel values moved
    from the untrained generator's grey towards the digits' black and white."""
    _, tr, cond, before = acgan_run
    p = tr.pipeline.train()
    with torch.no_grad():
        after = p.sample(200, **cond)
        agree = (p.discriminators["D"](after).logits.argmax(1) == cond["label"]).float().mean()
    reals = some_reals(tr)
    assert agree >= 0.5, float(agree)
    assert intensity_gap(after, reals) < 0.6 * intensity_gap(before, reals)


def test_tiny_dcgan_trains_towards_the_data(digits, tmp_path):
    """The samples' pixel-value distribution moves towards the digits' (an untrained generator
    makes grey noise)."""
    tr = make_trainer(gan_config("dcgan", digits, 300, *SMALL), tmp_path / "run")
    p = tr.pipeline
    cond = p.condition(Request(seed=0), 200)
    gaps = []
    for trained in (False, True):
        if trained:
            tr.fit()
        with torch.no_grad():
            gaps.append(intensity_gap(p.eval().sample(200, **cond), some_reals(tr)))
        p.train()
    assert gaps[1] < 0.6 * gaps[0], gaps
