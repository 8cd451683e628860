"""FID / KID / IS against hand computations, the own-features classifier (trained, saved, reused,
retrained when the real images change) and `python -m i2i evaluate --metrics fid,kid,is`."""
import json
import shutil

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from i2i.__main__ import main
from i2i.errors import UserError
from i2i.metrics import (InceptionFeatures, OwnFeatures, distribution_metrics, frechet_distance, inception_score,
                         kernel_inception_distance, mode_coverage)
from i2i.metrics import own_features


# ------------------------------------------------------------------------------ formulas
def test_frechet_distance_closed_form_for_diagonal_covariances():
    """The 8 points (±a1, ±a2, ±a3) have mean 0 and sample covariance diag(8/7 a_i^2) (ddof=1) exactly,
    so FD = |mu1 - mu2|^2 + sum_i (sqrt(8/7) a_i - sqrt(8/7) b_i)^2."""
    signs = np.array([[i >> k & 1 for k in range(3)] for i in range(8)]) * 2 - 1
    a, b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 0.5, 0.5])
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([2.0, 0.0, 1.0])
    f1, f2 = mu1 + signs * a, mu2 + signs * b
    assert np.allclose(np.cov(f1, rowvar=False), np.diag(8 / 7 * a ** 2))  # 8 points: ddof=1 -> 8/7
    expected = ((mu1 - mu2) ** 2).sum() + (8 / 7) * ((a - b) ** 2).sum()
    assert frechet_distance(f1, f2) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(f2, f1) == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_matches_scipy_sqrtm_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    f1 = rng.normal(size=(60, 6)) @ rng.normal(size=(6, 6))
    f2 = rng.normal(1.0, 2.0, size=(80, 6))
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    ref = ((f1.mean(0) - f2.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(f1, f2) == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(f1, f1) == pytest.approx(0.0, abs=1e-8)
    few = rng.normal(size=(10, 64))  # rank-deficient covariance: no NaN or complex parts
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(few, few + 1.0) == pytest.approx(64.0, rel=1e-6)  # a pure mean shift


def test_kid_is_the_unbiased_cubic_mmd():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 3)), rng.normal(0.5, 1.0, size=(5, 3))
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    m = 5
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m ** 2
    mean, std = kernel_inception_distance(x, y, subset_size=100, subsets=4)  # subset = all 5, in any order
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-10) and std == pytest.approx(0.0, abs=1e-12)


def test_kid_near_zero_for_one_distribution_positive_for_a_shifted_one():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    same, _ = kernel_inception_distance(a, b, subset_size=200, subsets=20)
    shifted, _ = kernel_inception_distance(a, b + 0.5, subset_size=200, subsets=20)
    assert abs(same) < 0.02 and shifted > 0.3, (same, shifted)


def test_inception_score_bounds():
    assert inception_score(np.zeros((50, 7)), splits=5)[0] == pytest.approx(1.0)  # no information
    one_hot = 50.0 * np.eye(5)[np.arange(100) % 5]  # confident, evenly spread over 5 classes
    mean, std = inception_score(one_hot, splits=10, shuffle=False)
    assert mean == pytest.approx(5.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)
    assert inception_score(50.0 * np.eye(5)[np.zeros(100, int)], splits=10)[0] == pytest.approx(1.0)  # collapsed
    # sorted by class (as class folders list), unshuffled splits would each hold one class: IS ~ 1
    by_class = 50.0 * np.eye(10)[np.repeat(np.arange(10), 100)]
    assert inception_score(by_class, splits=10, shuffle=False)[0] == pytest.approx(1.0)
    assert inception_score(by_class, splits=10)[0] == pytest.approx(10.0, rel=0.05)


def test_mode_coverage_counts_classes_with_a_fair_share():
    pred = [0] * 50 + [1] * 45 + [2] * 5 + [3] * 1  # n=101, 5 classes: fair share 20.2, 10% = 2.02
    assert mode_coverage(pred, 5) == 3  # class 3's single sample is a stray, class 4 is missing
    assert mode_coverage(pred, 5, min_share=0.0) == 4  # at least one sample
    assert mode_coverage(pred, 5, min_share=0.5) == 2


# ------------------------------------------------------------------------------ own features
def draw_digits(root, per_class, seed, blur=0.0, noise=0.0, flat=False, classes=range(10)):
    """32x32 grayscale PNGs of the digits in PIL's default font at random offsets: root/<digit>/*.png."""
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default()
    for k in classes:
        for i in range(per_class):
            im = Image.new("L", (32, 32), int(rng.integers(0, 60)))
            ImageDraw.Draw(im).text((int(rng.integers(2, 20)), int(rng.integers(0, 18))), str(k),
                                    fill=int(rng.integers(180, 256)), font=font)
            if blur:
                im = im.filter(ImageFilter.GaussianBlur(blur))
            a = np.asarray(im, np.float32) + rng.normal(0, 8 + noise, (32, 32))
            path = root / (f"{k}_{i:03d}.png" if flat else f"{k}/{i:03d}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path)
    return root


@pytest.fixture(scope="module")
def reals(tmp_path_factory):
    return draw_digits(tmp_path_factory.mktemp("reals"), 30, seed=0)


@pytest.fixture(scope="module")
def trained(reals):
    return OwnFeatures.for_reals(reals)


def test_own_classifier_trains_saves_and_is_reused(reals, trained, monkeypatch):
    assert trained.classes == [str(k) for k in range(10)]
    assert trained.accuracy > 0.8  # held-out 10% of the reals (measured: 1.0)
    path = reals / own_features.CLASSIFIER_NAME
    assert trained.path == path and path.is_file()
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert json.loads(meta["classes"]) == trained.classes and float(meta["accuracy"]) == trained.accuracy
    monkeypatch.setattr(own_features, "train_classifier", lambda *a, **k: pytest.fail("retrained"))
    again = OwnFeatures.for_reals(reals)
    for (k, v), w in zip(trained.state_dict().items(), again.state_dict().values()):
        assert torch.equal(v, w), k
    x = torch.rand(3, 1, 28, 28) * 2 - 1  # grayscale, another size: resized, repeated to RGB
    f, z = again(x)
    assert f.shape == (3, 128) and z.shape == (3, 10)


def test_own_classifier_retrains_when_the_reals_change(reals, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "reals"
    shutil.copytree(reals, copy)  # same names, sizes and mtimes: the copied classifier still fits
    calls = []
    quick = own_features.train_classifier

    def counting(x, y, k, seed=0):
        calls.append(len(x))
        return quick(x, y, k, seed, epochs=1, min_steps=2)
    monkeypatch.setattr(own_features, "train_classifier", counting)
    OwnFeatures.for_reals(copy)
    assert calls == []
    draw_digits(tmp_path / "extra", 1, seed=5, classes=[7])
    shutil.copy(tmp_path / "extra/7/000.png", copy / "7/new.png")
    before = (copy / own_features.CLASSIFIER_NAME).read_bytes()
    OwnFeatures.for_reals(copy)
    assert calls == [301] and "retraining" in capsys.readouterr().err
    assert (copy / own_features.CLASSIFIER_NAME).read_bytes() != before
    OwnFeatures.for_reals(copy)
    assert calls == [301]  # the new file fits again
    elsewhere = tmp_path / "c" / "digits.safetensors"  # an explicit location, trained for there
    OwnFeatures.for_reals(copy, classifier_path=elsewhere)
    assert calls == [301, 301] and elsewhere.is_file()


def test_own_classifier_training_is_seeded():
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(40, 3, 32, 32, generator=g) * 2 - 1, torch.arange(40) % 4
    a, _, _ = own_features.train_classifier(x, y, 4, seed=1, epochs=1, min_steps=3)
    b, _, _ = own_features.train_classifier(x, y, 4, seed=1, epochs=1, min_steps=3)
    c, _, _ = own_features.train_classifier(x, y, 4, seed=2, epochs=1, min_steps=3)
    assert all(torch.equal(v, w) for v, w in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.head.weight, c.head.weight)


def test_own_features_need_class_folders(tmp_path):
    draw_digits(tmp_path / "flat", 2, seed=0, flat=True)
    with pytest.raises(UserError, match="needs class folders") as e:
        OwnFeatures.for_reals(tmp_path / "flat")
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------------------ evaluate CLI
def evaluate(capsys, *args):
    rc = main(["evaluate", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_evaluate_own_features_end_to_end(reals, trained, tmp_path, capsys):
    good = draw_digits(tmp_path / "good", 20, seed=7)  # new samples of the same distribution, by class
    bad = draw_digits(tmp_path / "bad", 20, seed=8, blur=1.5, noise=40, flat=True)
    collapsed = draw_digits(tmp_path / "collapsed", 40, seed=9, flat=True, classes=[3])
    Image.new("RGB", (70, 70)).save(good / "grid.png")  # a sampler's preview beside the class folders: no sample
    rc, out, err = evaluate(capsys, good, reals, "--metrics", "fid,kid,is", "--features", "own")
    assert rc == 0, err
    assert "classes covered  10 of 10" in out and "FID" in out and "KID" in out and "IS" in out
    acc = float(next(line for line in out.splitlines() if line.startswith("accuracy")).split()[1])
    assert acc > 0.8
    g = distribution_metrics(good, reals, features="own")
    b = distribution_metrics(bad, reals, features="own")
    c = distribution_metrics(collapsed, reals, features="own")
    assert g["accuracy"] == acc and b["accuracy"] is None  # no class folders in bad
    assert (g["n_fakes"], g["n_reals"], g["num_classes"]) == (200, 300, 10)
    assert b["fid"] > 3 * g["fid"] and b["kid"] > g["kid"], (g, b)
    assert g["is"] > 4 and c["is"] < 1.5 and c["classes_covered"] == 1  # measured: 5.9, 1.02
    assert c["fid"] > g["fid"]
    rc, out, _ = evaluate(capsys, collapsed, reals, "--metrics", "is", "--features", "own")
    rows = [line.split("  ")[0] for line in out.splitlines()]
    assert rc == 0 and "classes covered  1 of 10" in out and "FID" not in rows and "accuracy" not in rows


def test_evaluate_mixes_paired_and_distribution_metrics(reals, trained, capsys):
    rc, out, err = evaluate(capsys, reals, reals, "--metrics", "psnr,fid", "--features", "own")
    assert rc == 0, err
    assert "PSNR" in out and "   inf " in out and "FID" in out and "accuracy" in out


def test_evaluate_refuses_unknown_metrics_and_stray_flags(reals, capsys):
    rc, _, err = evaluate(capsys, reals, reals, "--metrics", "fid,lpips")
    assert rc == 2 and "lpips" in err and "psnr, ssim, fid, kid, is" in err and err.count("\n") == 1
    rc, _, err = evaluate(capsys, reals, reals, "--metrics", "fid", "--features", "own", "--y-channel")
    assert rc == 2 and "--y-channel" in err and err.count("\n") == 1


def test_evaluate_inception_without_weights_says_where_to_put_them(reals, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    rc, out, err = evaluate(capsys, reals, reals, "--metrics", "fid")  # --features inception is the default
    hub = tmp_path / "torch" / "hub" / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert str(hub) in err and "--inception-weights PATH" in err and "--features own" in err
    rc, _, err = evaluate(capsys, reals, reals, "--metrics", "kid", "--inception-weights", tmp_path / "no.pth")
    assert rc == 2 and str(tmp_path / "no.pth") in err and err.count("\n") == 1


def test_inception_features_shapes_and_weight_file(tmp_path):
    net = InceptionFeatures.random(0)
    x = torch.rand(2, 1, 24, 20) * 2 - 1  # grayscale, tiny: repeated and resized to 299
    f, z = net(x)
    assert f.shape == (2, 2048) and z.shape == (2, 1000) and torch.isfinite(f).all()
    path = tmp_path / "inception.pth"  # the keys torchvision's file has: loads into the same outputs
    torch.save(net.net.state_dict(), path)
    f2, z2 = InceptionFeatures(str(path))(x)
    assert torch.allclose(f, f2) and torch.allclose(z, z2)
    (tmp_path / "junk.pth").write_text("not weights")
    with pytest.raises(UserError, match="junk.pth is not torchvision's inception_v3"):
        InceptionFeatures(str(tmp_path / "junk.pth"))
