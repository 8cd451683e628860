"""StarGAN: paper-sized parameter counts, both data layouts and their errors, the target label
changes the output (the reference's "every row is the same" failure), D steps per G step,
a tiny model trains end to end on real photos and beats the untranslated input, translate
options (--to, --all-domains, --attrs) and `python -m i2i info`."""
import numpy as np
import pytest
import torch

from conftest import save_png
from helpers import make_trainer
from i2i import config
from i2i.cli import run_cli, translate_main
from i2i.data import DataMeta, build_dataset
from i2i.data.io import read_image
from i2i.errors import UserError
from i2i.inference import Translator
from i2i.nn.layers import count_parameters
from i2i.pipelines import Request, build_pipeline

TINY = ["model.generator.ngf=8", "model.generator.num_blocks=2", "model.discriminator.ndf=8",
        "model.discriminator.n_layers=5", "data.num_workers=0", "data.load_size=32", "data.crop_size=32",
        "train.batch_size=4", "train.log_every=5", "train.sample_every=1000"]
GRADES = {  # known global transforms of real photos: the truth for every target domain
    "plain": lambda x: x,
    "warm": lambda x: np.clip(x * np.array([1.15, 1.0, 0.75]) + np.array([0.04, 0.02, 0.0]), 0, 1),
    "mono": lambda x: np.repeat((x @ np.array([0.299, 0.587, 0.114]))[..., None], 3, axis=2),
}


def grade_crops(n_per_domain: int, size: int = 32) -> dict[str, list[np.ndarray]]:
    """Crops of skimage's real photos, each domain graded from *different* crops."""
    from skimage import data
    photos = [getattr(data, n)() for n in ("astronaut", "coffee", "chelsea", "rocket")] + [data.stereo_motorcycle()[0]]
    rng = np.random.default_rng(0)
    crops = []
    for k in range(n_per_domain * (len(GRADES) + 1) + 4):
        img = photos[k % len(photos)].astype(np.float32) / 255
        y, x = rng.integers(0, img.shape[0] - 96), rng.integers(0, img.shape[1] - 96)
        crops.append(img[y:y + 96:3, x:x + 96:3][:size, :size])
    out = {name: [g(c) for c in crops[i::len(GRADES) + 1][:n_per_domain]] for i, (name, g) in enumerate(GRADES.items())}
    out["held_out"] = crops[-4:]
    return out


@pytest.fixture(scope="module")
def domain_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("domains")
    crops = grade_crops(12)
    for name in GRADES:
        for k, c in enumerate(crops[name]):
            save_png(root / "train" / name / f"{name}_{k}.png", np.round(c * 255).astype(np.uint8))
    for k, c in enumerate(crops["held_out"]):
        save_png(root / "test" / "plain" / f"held_{k}.png", np.round(c * 255).astype(np.uint8))
    return root, crops["held_out"]


def stargan_config(root, iters: int, *extra: str):
    return config.load("stargan", TINY + [f"data.root={root}", f"train.iters={iters}", *extra])


def test_paper_parameter_counts():
    for domains, g_params, d_params in ((5, 8_430_528, 44_762_048), (8, 8_439_936, 44_786_624)):
        cfg = config.load("stargan", ["loss.gp=10"])
        p = build_pipeline(cfg, DataMeta(domains=tuple(f"d{k}" for k in range(domains))))
        assert count_parameters(p.generators["G"]) == g_params
        assert count_parameters(p.discriminators["D"]) == d_params
    cfg = config.load("stargan")
    p = build_pipeline(cfg, DataMeta(attrs=("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")))
    assert count_parameters(p.generators["G"]) == 8_430_528


def test_domain_folders(domain_data):
    root, _ = domain_data
    ds = build_dataset(stargan_config(root, 1).data, "domains")
    assert ds.meta.domains == ("mono", "plain", "warm") and len(ds) == 36
    labels = {int(ds[(k, 0)]["label"]) for k in range(len(ds))}
    assert labels == {0, 1, 2}
    assert ds[(0, 0)]["A"].shape == (3, 32, 32)


def test_one_domain_folder_is_an_error(tmp_path):
    save_png(tmp_path / "only" / "a.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(UserError, match="a folder per domain"):
        build_dataset(stargan_config(tmp_path, 1).data, "domains")


def _celeba(tmp_path, lines, header="Black_Hair Blond_Hair Male"):
    for k in range(3):
        save_png(tmp_path / "img_align_celeba" / f"00000{k}.jpg".replace(".jpg", ".png"),
                 np.full((32, 32, 3), 60 * k, np.uint8))
    (tmp_path / "list_attr_celeba.txt").write_text(f"{len(lines)}\n{header}\n" + "\n".join(lines) + "\n")


def test_celeba_attribute_table(tmp_path):
    _celeba(tmp_path, ["000000.png  1 -1  1", "000001.png -1  1 -1", "000002.png -1 -1  1"])
    ds = build_dataset(stargan_config(tmp_path, 1, "data.attrs=Blond_Hair,Male").data, "domains")
    assert ds.meta.attrs == ("Blond_Hair", "Male") and len(ds) == 3
    assert ds[(1, 0)]["label"].tolist() == [1.0, 0.0] and ds[(0, 0)]["label"].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("lines,attrs,message", [
    (["000000.png 1 -1 1"], "Red_Hair", "Red_Hair is not a column of .*list_attr_celeba.txt"),
    (["000000.png 1 0 1"], "Male", r"list_attr_celeba.txt line 3: value '0'"),
    (["000000.png 1 -1 1", "000009.png 1 1 1"], "Male", "line 4: image 000009.png not found"),
    (["000000.png 1 -1"], "Male", "line 3: 2 values for 3 attributes"),
    (["000000.png 1 -1 1"], "", "choose the attributes to train on with data.attrs"),
])
def test_attribute_table_errors_name_file_and_line(tmp_path, lines, attrs, message):
    _celeba(tmp_path, lines)
    with pytest.raises(UserError, match=message):
        build_dataset(stargan_config(tmp_path, 1, f"data.attrs={attrs}").data, "domains")


def test_csv_attribute_table(tmp_path):
    for k in range(2):
        save_png(tmp_path / f"p{k}.png", np.full((32, 32, 3), 90 * k, np.uint8))
    (tmp_path / "labels.csv").write_text("file,smile,glasses\np0.png,1,0\np1.png,0,1\n")
    ds = build_dataset(stargan_config(tmp_path, 1, "data.attrs=glasses").data, "domains")
    assert [ds[(k, 0)]["label"].tolist() for k in range(2)] == [[0.0], [1.0]]
    (tmp_path / "labels.csv").write_text("file,smile,glasses\np0.png,1,yes\n")
    with pytest.raises(UserError, match="labels.csv line 2: value 'yes'"):
        build_dataset(stargan_config(tmp_path, 1, "data.attrs=glasses").data, "domains")


def test_changing_the_target_changes_the_output():
    cfg = config.load("stargan", TINY)
    p = build_pipeline(cfg, DataMeta(domains=("a", "b", "c")), training=False).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    outs = [p.translate(x, **p.condition(Request(domain=d), 2)) for d in "abc"]
    assert min((outs[i] - outs[j]).abs().mean().item() for i in range(3) for j in range(i)) > 1e-4
    with pytest.raises(UserError, match="--to z: unknown domain; this run knows: a, b, c"):
        p.condition(Request(domain="z"), 1)
    with pytest.raises(UserError, match="--to DOMAIN or --all-domains"):
        p.condition(Request(), 1)


def test_d_steps_default_is_five(domain_data, tmp_path):
    root, _ = domain_data
    t = make_trainer(stargan_config(root, 2), tmp_path / "run")
    assert t.batches_per_step == 5
    calls = {"D": 0, "G": 0}
    d, g = t.pipeline.discriminator_step, t.pipeline.generator_step
    t.pipeline.discriminator_step = lambda b, f=None: (calls.__setitem__("D", calls["D"] + 1), d(b, f))[1]
    t.pipeline.generator_step = lambda b: (calls.__setitem__("G", calls["G"] + 1), g(b))[1]
    t.fit()
    assert calls == {"D": 10, "G": 2}


def test_tiny_stargan_trains_end_to_end(domain_data, tmp_path):
    """Real photos in three graded domains: in a short CPU run D learns to tell the domains apart
    (its classification loss falls from chance, which is what then drives G towards each
    target). G, started at the identity (residual), has not moved far in 120 steps; beating the
    untranslated input per target, with outputs that differ by target, takes a longer run:
    benchmarks/stargan_real_photos.py measures both (README)."""
    root, held_out = domain_data
    cfg = stargan_config(root, 120, "model.generator.residual=true", "model.generator.num_blocks=1",
                         "model.discriminator.n_layers=4", "data.crop_size=16", "train.d_steps=1",
                         "train.lr=0.001", "train.lr_policy=constant", "train.batch_size=16", "loss.gan_mode=lsgan")
    t = make_trainer(cfg, tmp_path / "run")
    d_cls = [t.fit(until=k)["D_cls"] for k in range(5, 121, 5)]
    chance = float(np.log(3))
    assert abs(d_cls[0] - chance) < 0.1 and np.mean(d_cls[-8:]) < chance - 0.2, d_cls
    tr = Translator.from_run(tmp_path / "run", "cpu")
    x = torch.stack([torch.from_numpy(c.transpose(2, 0, 1)).float() * 2 - 1 for c in held_out])
    y = {d: tr.translate_tensor(x, tr.condition(Request(domain=d), len(held_out))) for d in ("warm", "mono")}
    assert all(torch.isfinite(v).all() for v in y.values()) and (y["warm"] != y["mono"]).any()


def test_translate_flags(domain_data, tmp_path, capsys):
    root, _ = domain_data
    make_trainer(stargan_config(root, 1), tmp_path / "run").fit()
    src = root / "test" / "plain"
    assert translate_main([str(tmp_path / "run"), str(src), "--out", str(tmp_path / "all"), "--all-domains"]) == 0
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert names[:3] == ["held_0_to-mono.png", "held_0_to-plain.png", "held_0_to-warm.png"] and len(names) == 12
    assert translate_main([str(tmp_path / "run"), str(src / "held_0.png"), "--out", str(tmp_path / "one"),
                           "--to", "warm"]) == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["held_0.png"]
    assert read_image(tmp_path / "one" / "held_0.png").rgb.shape == (32, 32, 3)
    for flags, message in ((["--to", "sepia"], "unknown domain; this run knows: mono, plain, warm"),
                           (["--attrs", "Male=1"], "--attrs does not apply to this run (--to / --all-domains: mono, plain, warm)"),
                           (["--direction", "BtoA"], "--direction does not apply to this run"),
                           ([], "--to DOMAIN or --all-domains")):
        rc = run_cli(translate_main, [str(tmp_path / "run"), str(src), "--out", str(tmp_path / "x"), *flags])
        err = capsys.readouterr().err
        assert rc == 2 and message in err, err


def test_translate_attrs(tmp_path, capsys):
    _celeba(tmp_path, ["000000.png  1 -1  1", "000001.png -1  1 -1", "000002.png -1 -1  1"])
    cfg = stargan_config(tmp_path, 1, "data.attrs=Blond_Hair,Male", "train.batch_size=2")
    make_trainer(cfg, tmp_path / "run").fit()
    src = tmp_path / "img_align_celeba" / "000001.png"
    assert translate_main([str(tmp_path / "run"), str(src), "--out", str(tmp_path / "o"),
                           "--attrs", "Blond_Hair=1"]) == 0
    tr = Translator.from_run(tmp_path / "run", "cpu")
    assert tr.pipeline.options() == {"attrs": ["Blond_Hair", "Male"]}
    assert tr.condition(Request(attrs={"Male": 1}), 2)["c"].tolist() == [[0.0, 1.0], [0.0, 1.0]]
    with pytest.raises(UserError, match="unknown attribute Bald"):
        tr.condition(Request(attrs={"Bald": 1}), 1)
    rc = run_cli(translate_main, [str(tmp_path / "run"), str(src), "--out", str(tmp_path / "x"), "--attrs", "Male=2"])
    assert rc == 2 and "NAME=0 or NAME=1" in capsys.readouterr().err


@pytest.mark.parametrize("norm", ["instance_affine", "conditional_instance"])
def test_where_the_target_reaches(norm):
    """The paper's G tiles the target into constant maps at its input; instance norm then removes
    every constant, so the target survives only near the zero-padded borders and the interior
    of an image wider than the receptive field ignores it. A conditional norm re-injects the
    target after every normalisation: the interior changes with the target as much as the
    borders do."""
    from i2i.nn.generators.stargan import stargan_generator
    torch.manual_seed(0)
    g = stargan_generator(cond_dim=3, ngf=8, num_blocks=1, norm=norm).eval()
    with torch.no_grad():
        for p in g.parameters():  # as after training: affine maps away from their zero start
            p.add_(torch.randn_like(p) * 0.1)
        x = torch.rand(1, 3, 96, 96) * 2 - 1
        a, b = (g(x, torch.eye(3)[[k]]) for k in (0, 1))
    diff = (a - b).abs().mean(1)[0]
    border, interior = diff[:6].mean().item(), diff[36:60, 36:60].mean().item()
    if norm == "instance_affine":
        assert interior < 0.35 * border, (border, interior)
    else:
        assert interior > 0.7 * border, (border, interior)


def test_conditional_norm_needs_a_conditional_generator():
    with pytest.raises(UserError, match="norm 'conditional_instance' needs a condition"):
        build_pipeline(config.load("pix2pix", ["model.generator.norm=conditional_instance"]))


def test_identity_loss_is_a_stargan_term(domain_data, tmp_path):
    """loss.identity (off in the paper preset) asks G(x, own domain) = x: zero at the identity
    start of the residual generator, and a loss term G trains on."""
    root, _ = domain_data
    t = make_trainer(stargan_config(root, 1, "loss.identity=10", "model.generator.residual=true",
                                     "train.d_steps=1"), tmp_path / "run")
    batch = next(iter(t.loader()))
    terms, _ = t.pipeline.generator_step(batch)
    assert 0 <= terms["G_id"].item() < 1e-2
