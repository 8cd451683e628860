"""Data that must never silently train: no --data, a run folder or --out inside the data, a
truncated file, an unpaired layout fed to pix2pix, tiny images, images smaller than the crop."""
import numpy as np
import pytest
import yaml

from conftest import save_png
from i2i.cli import collect_inputs, run_cli, train_main
from i2i.data import folders
from i2i.data.folders import MIN_SIDE, PairedFolder, SRFolder, UnpairedFolder
from i2i.data.io import is_run_folder, list_images
from i2i.errors import UserError

TINY_FLAGS = ["--iters", "2", "--batch-size", "2", "--crop-size", "32", "--device", "cpu", "model.generator.name=unet",
              "model.generator.num_downs=5", "model.generator.ngf=4", "model.discriminator.ndf=4",
              "data.num_workers=0"]


def _img(path, h, w, seed=0):
    return save_png(path, np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


def _pairs(root, names, size=(40, 48)):
    for k, n in enumerate(names):
        _img(root / "A" / f"{n}.png", *size, seed=k)
        _img(root / "B" / f"{n}.png", *size, seed=k + 100)
    return root


def _truncate(path):
    path.write_bytes(path.read_bytes()[:200])  # header intact, pixel data cut off


def _fake_run(folder):
    """What train.py leaves in --out: config.yaml, weights/, samples/ with a grid that would pass as data."""
    (folder / "weights").mkdir(parents=True)
    (folder / "config.yaml").write_text("pipeline: pix2pix\n")
    return _img(folder / "samples" / "step_0000002.png", 32, 64)


@pytest.fixture
def warned(monkeypatch):
    """A fresh 'reported once per process' memory for each test."""
    monkeypatch.setattr(folders, "_WARNED", set())


# --------------------------------------------------------------------- 2: no --data
def test_train_without_data_is_one_line_and_never_scans_cwd(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _img(tmp_path / "stray.png", 32, 64)  # what the old default (Path("") == ".") would have trained on
    assert run_cli(train_main, ["pix2pix", "--out", str(tmp_path / "r"), *TINY_FLAGS]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: no dataset given: pass --data DIR (or data.root=DIR)"]
    assert run_cli(train_main, ["pix2pix", "--data", "", "--out", str(tmp_path / "r"), *TINY_FLAGS]) == 2
    with pytest.raises(UserError, match="no dataset given"):
        PairedFolder("")


def test_relative_data_saved_absolute_resumes_elsewhere_and_out_inside_data_is_skipped(tmp_path, monkeypatch, capsys):
    """The run folder lives inside the data (side-by-side AB images, scanned recursively):
    neither its explicit --out nor, on --resume from another folder, its samples are data."""
    work = tmp_path / "work"
    for k in range(2):
        _img(work / "data" / f"{k}.png", 32, 64, seed=k)
    _img(work / "data/run/notes.png", 32, 64)  # in --out before it is a run: excluded as --out
    monkeypatch.chdir(work)
    assert train_main(["pix2pix", "--data", "data", "--out", "data/run", *TINY_FLAGS]) == 0
    assert "pix2pix: 2 training images" in capsys.readouterr().out
    saved = yaml.safe_load((work / "data/run/config.yaml").read_text())
    assert saved["data"]["root"] == str((work / "data").resolve())
    _img(work / "data/run/samples/extra.png", 32, 64)  # a grid that would pass as an AB image
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert train_main(["pix2pix", "--out", str(work / "data/run"), "--iters", "3", "--resume"]) == 0
    assert f"pix2pix: 2 training images from {(work / 'data').resolve()}" in capsys.readouterr().out


def test_data_root_override_is_saved_absolute(tmp_path, monkeypatch):
    _pairs(tmp_path / "d", ["x", "y"])
    monkeypatch.chdir(tmp_path)
    assert train_main(["pix2pix", "data.root=d", "--out", "r", *TINY_FLAGS[:1], "1", *TINY_FLAGS[2:]]) == 0
    assert yaml.safe_load((tmp_path / "r/config.yaml").read_text())["data"]["root"] == str((tmp_path / "d").resolve())


# ------------------------------------------------------ 3: run folders and --out are never scanned
def test_list_images_prunes_run_hidden_and_excluded_folders(tmp_path):
    keep = [_img(tmp_path / "x.png", 20, 20), _img(tmp_path / "notrun/k.png", 20, 20)]
    (tmp_path / "notrun/config.yaml").write_text("{}")  # a config alone does not make a run folder
    _fake_run(tmp_path / "run")
    _img(tmp_path / ".venv/lib/icon.png", 20, 20)
    _img(tmp_path / "out/old.png", 20, 20)
    assert is_run_folder(tmp_path / "run") and not is_run_folder(tmp_path / "notrun")
    assert list_images(tmp_path, exclude=[tmp_path / "out"]) == sorted(keep)
    assert list_images(tmp_path / "run") == []


def test_datasets_skip_run_folders_and_excluded_out(tmp_path):
    for k in range(2):
        _img(tmp_path / "ab" / f"{k}.png", 32, 64, seed=k)
        _img(tmp_path / "hr" / f"{k}.png", 64, 64, seed=k)
    for root in ("ab", "hr"):
        _fake_run(tmp_path / root / "run")
        _img(tmp_path / root / "out/x.png", 64, 64)
    ds = PairedFolder(tmp_path / "ab", load_size=32, crop_size=32, exclude=[tmp_path / "ab/out"])
    assert [p.name for p, _ in ds.items] == ["0.png", "1.png"]
    sr = SRFolder(tmp_path / "hr", crop_size=32, scale=2, exclude=[tmp_path / "hr/out"])
    assert [p.name for _, p in sr.items] == ["0.png", "1.png"]
    with pytest.raises(UserError, match=r"run.* is a training run folder .*not a dataset"):
        SRFolder(tmp_path / "hr/run", crop_size=32, scale=2)


def test_translate_inputs_skip_out_and_run_folders(tmp_path):
    src = tmp_path / "in"
    _img(src / "a.png", 20, 20)
    _img(src / "sub/b.png", 20, 20)
    _img(src / "out/a.png", 20, 20)  # an earlier translation written inside the input folder
    _fake_run(src / "run")
    jobs = collect_inputs([str(src)], src / "out")
    assert [(s.relative_to(src).as_posix(), d.relative_to(src).as_posix()) for s, d in jobs] == [
        ("a.png", "out/a.png"), ("sub/b.png", "out/sub/b.png")]
    with pytest.raises(UserError, match=r"no images in folder .*out \(it is inside --out"):
        collect_inputs([str(src / "out")], src / "out")
    with pytest.raises(UserError, match=r"no images in folder .*run \(it is a training run folder"):
        collect_inputs([str(src / "run")], tmp_path / "o")


# ---------------------------------------------------- 5: a truncated image is skipped, once reported
def test_truncated_image_is_skipped_with_one_warning(tmp_path, capsys, warned):
    root = _pairs(tmp_path, ["a", "b", "c"])
    _truncate(root / "B/b.png")
    ds = PairedFolder(root, load_size=40, crop_size=32)  # the header scan passes
    for seed in range(3):
        samples = [ds[(i, seed)] for i in range(len(ds))]
        assert all(s["A"].shape == (3, 32, 32) for s in samples)
        assert samples[1]["path"].endswith("c.png")  # the next index stands in
    again = ds[(1, 7)]
    assert all((again[k] == ds[(1, 7)][k]).all() for k in ("A", "B"))  # deterministic
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"warning: skipped unreadable image {root / 'B/b.png'}: "), lines


def test_truncated_image_skipped_by_unpaired_and_sr(tmp_path, capsys, warned):
    for k in range(3):
        _img(tmp_path / "u/trainA" / f"{k}.png", 40, 40, seed=k)
        _img(tmp_path / "u/trainB" / f"{k}.png", 40, 40, seed=k + 10)
        _img(tmp_path / "s" / f"{k}.png", 64, 64, seed=k)
    _truncate(tmp_path / "u/trainB/1.png")
    _truncate(tmp_path / "s/2.png")
    un = UnpairedFolder(tmp_path / "u", load_size=40, crop_size=32)
    sr = SRFolder(tmp_path / "s", crop_size=32, scale=2)
    for seed in range(6):
        assert all(un[(i, seed)]["B"].shape == (3, 32, 32) for i in range(len(un)))
        assert all(sr[(i, seed)]["B"].shape == (3, 32, 32) for i in range(len(sr)))
    err = capsys.readouterr().err
    assert err.count("trainB/1.png") == 1 and err.count("s/2.png") == 1


def test_nothing_readable_raises_the_error(tmp_path, warned):
    root = _pairs(tmp_path, ["a", "b"])
    for n in ("a", "b"):
        _truncate(root / f"A/{n}.png")
    with pytest.raises(UserError, match=r"cannot read image .*A/b\.png"):
        PairedFolder(root, load_size=40, crop_size=32)[(1, 0)]


# ------------------------------------------- 10: layouts, tiny images, images smaller than the crop
def test_pix2pix_on_an_unpaired_layout_is_one_line(tmp_path, capsys):
    for d in ("trainA", "trainB"):
        _img(tmp_path / "u" / d / "x.png", 40, 40)
    with pytest.raises(UserError, match=r"paired data needs .*A/ \+ .*B/ with matching names, or side-by-side AB "
                                        r"images twice as wide as high.*found .*trainA/ and .*trainB/ — that is an "
                                        r"unpaired layout, use cyclegan"):
        PairedFolder(tmp_path / "u")
    assert run_cli(train_main, ["pix2pix", "--data", str(tmp_path / "u"), "--out", str(tmp_path / "r"),
                                *TINY_FLAGS]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "use cyclegan" in err[0]


@pytest.mark.parametrize("h,w", [(40, 40), (36, 64), (32, 48)])  # square, 16:9, 3:2
def test_only_twice_as_wide_images_are_cut_into_ab(tmp_path, h, w):
    _img(tmp_path / "ok.png", 32, 64)
    _img(tmp_path / "photo.png", h, w)
    with pytest.raises(UserError, match=rf"side-by-side AB images twice as wide as high \(width/height 1.8-2.25\); "
                                        rf"1 of 2 image\(s\) in .* are not, e.g. .*photo\.png \({w}x{h}\)"):
        PairedFolder(tmp_path, load_size=32, crop_size=32)


def test_tiny_images_are_refused(tmp_path):
    _pairs(tmp_path / "p", ["a"])
    _img(tmp_path / "p/A/dot.png", 1, 1)
    _img(tmp_path / "p/B/dot.png", 1, 1)
    with pytest.raises(UserError, match=rf"A/dot\.png is 1x1, below the {MIN_SIDE} px minimum side"):
        PairedFolder(tmp_path / "p", load_size=32, crop_size=32)
    _img(tmp_path / "ab/x.png", 10, 20)  # 2:1, but each half 10x10
    with pytest.raises(UserError, match=r"x\.png \(each AB half\) is 10x10, below"):
        PairedFolder(tmp_path / "ab", load_size=32, crop_size=32)
    _img(tmp_path / "u/trainA/a.png", 40, 40)
    _img(tmp_path / "u/trainB/b.png", 40, 12)
    with pytest.raises(UserError, match=r"trainB/b\.png is 12x40, below"):
        UnpairedFolder(tmp_path / "u", load_size=32, crop_size=32)
    _img(tmp_path / "s/hr.png", 12, 12)
    with pytest.raises(UserError, match=r"hr\.png is 12x12, below"):
        SRFolder(tmp_path / "s", crop_size=8, scale=2)


def test_load_size_0_images_smaller_than_the_crop_are_named(tmp_path):
    _pairs(tmp_path / "p", ["a", "b"], size=(40, 48))
    with pytest.raises(UserError, match=r"2 image\(s\) smaller than the 48 px crop \(data.crop_size\) at "
                                        r"data.load_size=0 .*A/a\.png \(48x40\).*set --load-size"):
        PairedFolder(tmp_path / "p", load_size=0, crop_size=48)
    assert PairedFolder(tmp_path / "p", load_size=0, crop_size=32)[(0, 0)]["A"].shape == (3, 32, 32)
    _img(tmp_path / "u/trainA/a.png", 64, 64)
    _img(tmp_path / "u/trainB/b.png", 30, 64)
    with pytest.raises(UserError, match=r"1 image\(s\) smaller than the 32 px crop.*trainB/b\.png \(64x30\)"):
        UnpairedFolder(tmp_path / "u", load_size=0, crop_size=32)
