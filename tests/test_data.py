"""Datasets and image I/O: pairing, layouts, identical augmentation for A and B, odd images, errors."""
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import save_png
from i2i.data.folders import PairedFolder, ResumableSampler, UnpairedFolder
from i2i.data.io import read_image, read_rgb, write_image
from i2i.errors import UserError


def _pair_dir(root, names_a, names_b, size=(40, 48)):
    rng = np.random.default_rng(0)
    for n in names_a:
        save_png(root / "A" / f"{n}.png", rng.integers(0, 255, (*size, 3), dtype=np.uint8))
    for n in names_b:
        save_png(root / "B" / f"{n}.png", rng.integers(0, 255, (*size, 3), dtype=np.uint8))
    return root


def test_paired_matches_stems_and_crops_identically(tmp_path):
    root = tmp_path / "d"
    img = (np.random.default_rng(1).random((40, 48, 3)) * 255).astype(np.uint8)
    for n in ("x", "y"):
        save_png(root / "train/A" / f"{n}.png", img)
        save_png(root / "train/B" / f"{n}.jpg" if False else root / "train/B" / f"{n}.png", 255 - img)
    ds = PairedFolder(root, load_size=40, crop_size=32)
    assert len(ds) == 2
    for seed in range(5):
        s = ds[(0, seed)]
        assert s["A"].shape == (3, 32, 32)
        # B = 255 - A: identical crop/flip params keep that exact relation
        assert torch.allclose(s["A"], -s["B"], atol=1 / 127)


def test_side_by_side_ab_images(tmp_path):
    a = np.zeros((32, 32, 3), np.uint8)
    b = np.full((32, 32, 3), 255, np.uint8)
    save_png(tmp_path / "ab/0001.png", np.concatenate([a, b], axis=1))
    s = PairedFolder(tmp_path / "ab", load_size=32, crop_size=32)[(0, 0)]
    assert s["A"].max() == -1 and s["B"].min() == 1


def test_direction_btoa_swaps(tmp_path):
    root = _pair_dir(tmp_path, ["p"], ["p"])
    ab = PairedFolder(root, load_size=40, crop_size=32, flip=False)[(0, 3)]
    ba = PairedFolder(root, load_size=40, crop_size=32, flip=False, direction="BtoA")[(0, 3)]
    assert torch.equal(ab["A"], ba["B"]) and torch.equal(ab["B"], ba["A"])


def test_unmatched_stems_are_named(tmp_path):
    root = _pair_dir(tmp_path, ["a1", "a2", "common"], ["common", "b9"])
    with pytest.raises(UserError, match=r"2 in .*A without a match.*a1, a2.*1 in .*B without a match.*b9"):
        PairedFolder(root)


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(UserError, match="dataset folder not found"):
        PairedFolder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images in"):
        PairedFolder(tmp_path / "empty")
    (tmp_path / "u/trainA").mkdir(parents=True)
    with pytest.raises(UserError, match="needs trainA/ and trainB/"):
        UnpairedFolder(tmp_path / "u")


def test_unpaired_layouts(tmp_path, demo_data):
    ds = UnpairedFolder(demo_data / "unpaired", load_size=64, crop_size=48)
    s = ds[(3, 11)]
    assert s["A"].shape == s["B"].shape == (3, 48, 48)
    # A/ + B/ also works
    rng = np.random.default_rng(0)
    for d in ("A", "B"):
        save_png(tmp_path / "ab" / d / "x.png", rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    assert len(UnpairedFolder(tmp_path / "ab", load_size=40, crop_size=32)) == 1


def test_sampler_restarts_at_any_position():
    full = [x for _, x in zip(range(25), ResumableSampler(10, seed=3))]
    tail = [x for _, x in zip(range(12), ResumableSampler(10, seed=3, start=13))]
    assert full[13:] == tail
    assert sorted(i for i, _ in full[:10]) == list(range(10))  # each epoch is a permutation


def test_odd_images_read_as_rgb(tmp_path):
    rng = np.random.default_rng(0)
    gray = save_png(tmp_path / "g.png", rng.integers(0, 255, (20, 30), dtype=np.uint8))
    rgba = save_png(tmp_path / "a.png", rng.integers(0, 255, (20, 30, 4), dtype=np.uint8))
    pal = tmp_path / "p.gif"
    Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).convert("P").save(pal)
    deep = tmp_path / "d16.png"
    import cv2
    cv2.imwrite(str(deep), rng.integers(0, 65535, (20, 30, 3), dtype=np.uint16))
    for p in (gray, rgba, pal, deep):
        a = read_rgb(p)
        assert a.shape == (20, 30, 3) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert read_image(deep).bits == 16 and read_image(rgba).alpha is not None and read_image(gray).grayscale


def test_exif_orientation_applied(tmp_path):
    img = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90
    img.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").rgb.shape[:2] == (20, 10)


def test_16bit_roundtrip_and_icc(tmp_path):
    a = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    write_image(tmp_path / "x.png", a, bits=16)
    back = read_image(tmp_path / "x.png")
    assert back.bits == 16 and np.abs(back.rgb - a).max() < 1 / 65535 + 1e-6
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    write_image(tmp_path / "c.png", a, icc=icc)
    assert read_image(tmp_path / "c.png").icc == icc


def test_corrupt_and_non_images(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(UserError, match=r"cannot read image .*bad\.png"):
        read_image(bad)
    txt = tmp_path / "t.jpg"
    txt.write_text("hello")
    with pytest.raises(UserError, match="t.jpg"):
        read_image(txt)
    with pytest.raises(UserError, match="image not found"):
        read_image(tmp_path / "none.png")


def test_unreadable_training_image_is_named_before_training(tmp_path):
    root = _pair_dir(tmp_path, ["a", "b"], ["a", "b"])
    (root / "B/b.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UserError, match=r"cannot read image .*B/b\.png"):
        PairedFolder(root)
    (tmp_path / "u/trainA").mkdir(parents=True)
    (tmp_path / "u/trainB").mkdir()
    save_png(tmp_path / "u/trainA/x.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "u/trainB/y.jpg").write_text("text")
    with pytest.raises(UserError, match=r"y\.jpg"):
        UnpairedFolder(tmp_path / "u")


def test_truncated_image_in_a_loader_worker_is_one_line(tmp_path):
    """Files whose header reads but whose data is cut off fail inside a DataLoader worker; one
    such file is skipped with a warning (test_data_safety.py), but when no sample is readable
    the CLI still prints one line naming a file."""
    import subprocess
    import sys

    from conftest import ROOT
    root = _pair_dir(tmp_path / "d", ["a", "b"], ["a", "b"])
    for name in ("a", "b"):
        data = (root / f"B/{name}.png").read_bytes()
        (root / f"B/{name}.png").write_bytes(data[:200])
    p = subprocess.run([sys.executable, str(ROOT / "train.py"), "pix2pix", "--data", str(root), "--out",
                        str(tmp_path / "run"), "--iters", "4", "--crop-size", "32", "model.generator.name=unet",
                        "model.generator.num_downs=5", "model.generator.ngf=4", "model.discriminator.ndf=4",
                        "data.num_workers=1", "train.batch_size=2"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    last = p.stderr.strip().splitlines()[-1]  # (the progress bar may stand before it)
    assert last.startswith("error: ") and ("a.png" in last or "b.png" in last) and "truncated" in last, p.stderr


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16bit_reader_applies_exif_orientation_like_pillow(tmp_path, orientation):
    from PIL import ImageOps

    from i2i.data.io import _orient
    x = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    img = Image.fromarray(x)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.save(tmp_path / "o.png", exif=exif)
    assert np.array_equal(_orient(x, orientation), np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png"))))


def test_16bit_png_keeps_its_icc_profile(tmp_path):
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    a = np.random.default_rng(0).random((6, 7, 3)).astype(np.float32)
    write_image(tmp_path / "x.png", a, bits=16, icc=icc)
    back = read_image(tmp_path / "x.png")
    assert back.bits == 16 and back.icc == icc and np.abs(back.rgb - a).max() < 1e-4


def test_image_size_reads_the_header_only(tmp_path):
    """A PNG whose pixel data is cut off still reports its size: no decoding at startup."""
    from i2i.data.io import image_size
    p = save_png(tmp_path / "x.png", np.random.default_rng(0).integers(0, 255, (30, 50, 3), dtype=np.uint8))
    p.write_bytes(p.read_bytes()[:120])
    assert image_size(p) == (50, 30)
    with pytest.raises(UserError, match="x.png"):
        read_image(p)
