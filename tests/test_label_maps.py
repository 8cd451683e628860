"""Label-map data (SPADE, pix2pixHD): palettes, reading maps, value checks, one-hot / boundary
tensors, and the folder dataset (layout errors, label_nc detection, nearest-only augmentation
that keeps labels aligned with their photo)."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from i2i.config import DataConfig
from i2i.data import build_dataset
from i2i.data.label_maps import (LabelMapFolder, boundary_map, check_label_values, one_hot_labels, read_instance_map,
                                 read_label_map, read_palette, semantic_channels)
from i2i.errors import UserError

IDS = (0, 3, 7, 12)                    # far apart: any blend of two ids is an id that is not there
GREY = {0: 20, 3: 90, 7: 160, 12: 230, 255: 255}  # each class painted in its own grey on the photo
BLOCK = 7


def save(path: Path, array: np.ndarray, mode: str | None = None, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, **kwargs) if mode else Image.fromarray(array).save(path, **kwargs)
    return path


def blocks(rng, h: int, w: int, values=IDS, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """A map of block x block cells of random ids (uint8), and each cell's own instance id."""
    gh, gw = -(-h // block), -(-w // block)
    cells = rng.choice(np.array(values, np.uint8), size=(gh, gw))
    inst = (1000 + np.arange(gh * gw, dtype=np.int32)).reshape(gh, gw)
    up = np.ones((block, block), np.int32)
    return np.kron(cells, up)[:h, :w].astype(np.uint8), np.kron(inst, up)[:h, :w].astype(np.uint16)


def photo_of(label: np.ndarray) -> np.ndarray:
    grey = np.vectorize(GREY.get)(label).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def make_data(root: Path, n: int = 3, h: int = 48, w: int = 64, instances: bool = False, values=IDS,
              seed: int = 0, block: int = BLOCK) -> Path:
    rng = np.random.default_rng(seed)
    for k in range(n):
        label, inst = blocks(rng, h, w, values, block)
        save(root / "labels" / f"m{k}.png", label)
        save(root / "images" / f"m{k}.png", photo_of(label))
        if instances:
            save(root / "instances" / f"m{k}.png", inst)
    return root


def dataset(root: Path, **kw) -> LabelMapFolder:
    kw = {"load_size": 0, "crop_size": 32, **kw}
    return LabelMapFolder(root, **kw)


# ---------------------------------------------------------------- palettes

def test_read_palette_both_formats_names_and_comments(tmp_path):
    p = tmp_path / "palette.txt"
    p.write_text("# Cityscapes-like colours\n"
                 "\n"
                 "128 64 128 0 road\n"
                 "244,35,232,1,sidewalk   # a trailing note\n"
                 "#comment without a space\n"
                 "#cafe is not a colour\n"
                 "#46464a 2 building\n"
                 "  0 0 0 255   unlabeled\n"
                 "128 64 128 0 road again, same id: fine\n")
    assert read_palette(p) == {(128, 64, 128): 0, (244, 35, 232): 1, (0x46, 0x46, 0x4A): 2, (0, 0, 0): 255}


@pytest.mark.parametrize("line, where", [
    ("1 2 3", "line 2"),              # no id
    ("1 2 300 4", "line 2"),          # out of range
    ("red 4", "line 2"),              # not numbers
    ("#12345 4", "line 2"),           # '#' not followed by 6 hex digits at line start: a comment
])
def test_read_palette_bad_lines_name_file_line_and_format(tmp_path, line, where):
    p = tmp_path / "pal.txt"
    p.write_text(f"0 0 0 0\n{line}\n")
    if line.startswith("#"):
        assert read_palette(p) == {(0, 0, 0): 0}
        return
    with pytest.raises(UserError) as e:
        read_palette(p)
    msg = str(e.value)
    assert str(p) in msg and where in msg and "R G B ID" in msg and "\n" not in msg


def test_read_palette_duplicate_colour_missing_and_empty(tmp_path):
    p = tmp_path / "pal.txt"
    p.write_text("10 20 30 1\n0 0 0 0\n#0a141e 2\n")
    with pytest.raises(UserError, match=r"line 3: colour \(10, 20, 30\) is already id 1 \(line 1\)"):
        read_palette(p)
    with pytest.raises(UserError, match="palette not found: .*nope.txt"):
        read_palette(tmp_path / "nope.txt")
    p.write_text("# only comments\n\n")
    with pytest.raises(UserError, match="no colours"):
        read_palette(p)


# ---------------------------------------------------------------- reading maps

def test_palette_png_keeps_indices_never_colours(tmp_path):
    ids = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    im = Image.fromarray(ids, "P")
    im.putpalette([0, 0, 0, 255, 0, 0, 9, 9, 9])  # index 2 is a gray colour: still id 2
    im.save(tmp_path / "p.png")
    for palette in (None, {(0, 0, 0): 7}):  # a palette file never applies to indices
        out = read_label_map(tmp_path / "p.png", palette)
        assert out.dtype == np.uint8 and out.tolist() == ids.tolist()


def test_gray_rgb_and_single_channel_read_as_ids(tmp_path):
    ids = np.array([[0, 5, 255], [1, 1, 5]], np.uint8)
    save(tmp_path / "g.png", np.repeat(ids[..., None], 3, axis=2))
    save(tmp_path / "l.png", ids)
    save(tmp_path / "a.png", np.concatenate([np.repeat(ids[..., None], 3, axis=2),
                                             np.full((2, 3, 1), 128, np.uint8)], axis=2))
    for name in ("g.png", "l.png", "a.png"):
        out = read_label_map(tmp_path / name)
        assert out.shape == (2, 3) and out.tolist() == ids.tolist(), name


def test_colour_map_through_palette_and_unknown_colour(tmp_path):
    red, blue, grey = (255, 0, 0), (0, 0, 255), (50, 50, 50)
    rgb = np.array([[red, blue, grey], [grey, red, red]], np.uint8)
    save(tmp_path / "c.png", rgb)
    out = read_label_map(tmp_path / "c.png", {red: 4, blue: 1, grey: 255})
    assert out.tolist() == [[4, 1, 255], [255, 4, 4]]
    with pytest.raises(UserError) as e:
        read_label_map(tmp_path / "c.png", {red: 4, blue: 1})
    assert str(tmp_path / "c.png") in str(e.value) and "(50, 50, 50)" in str(e.value) and "2 pixels" in str(e.value)


def test_colour_map_without_palette_is_an_error(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[0, 0] = (10, 200, 30)
    save(tmp_path / "c.png", rgb)
    with pytest.raises(UserError) as e:
        read_label_map(tmp_path / "c.png")
    assert str(e.value) == (f"{tmp_path / 'c.png'} is a colour image: if it is a colour-coded label map, give its "
                            "palette (data.palette=FILE, or DIR/palette.txt with lines 'R G B ID')")


def test_16bit_maps_exif_and_unreadable(tmp_path):
    big = np.array([[0, 26001], [26002, 7]], np.uint16)
    save(tmp_path / "i.png", big)
    inst = read_instance_map(tmp_path / "i.png")
    assert inst.tolist() == big.tolist() and inst.dtype == np.int32
    small = np.array([[0, 3], [200, 7]], np.uint16)  # a 16-bit map of small ids is as good as 8-bit
    save(tmp_path / "s.png", small)
    assert read_label_map(tmp_path / "s.png").dtype == np.uint8
    ids = np.arange(12, dtype=np.uint8).reshape(3, 4)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise on display, as a phone photo would be
    save(tmp_path / "r.png", ids, exif=exif.tobytes())
    assert read_label_map(tmp_path / "r.png").tolist() == np.rot90(ids, -1).tolist()
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(UserError, match=f"cannot read image {tmp_path / 'bad.png'}"):
        read_label_map(tmp_path / "bad.png")


def test_check_label_values_messages():
    ok = np.array([[0, 1], [255, 2]])
    check_label_values(ok, "m.png", 3)
    with pytest.raises(UserError) as e:
        check_label_values(np.array([0, 1, 5, 9, 255]), "m.png", 3)
    assert str(e.value) == ("m.png: label value 9 >= data.label_nc=3 (classes are 0..2, 255 = don't care): "
                            "fix the map or raise data.label_nc")
    with pytest.raises(UserError) as e:
        check_label_values(np.array([[0, 255], [255, 0]]), "mask.png", 2)
    assert str(e.value) == ("mask.png looks like a 0/255 binary mask but 2 classes are declared: "
                            "map 255 to 1 (255 means don't care)")
    check_label_values(np.array([0, 255]), "m.png", 3)  # 3 classes and some don't care: fine


# ---------------------------------------------------------------- tensors

def test_one_hot_labels():
    ids = torch.tensor([[[[0, 2], [255, 1]]], [[[1, 1], [2, 255]]]])
    out = one_hot_labels(ids, 3, dont_care=True)
    assert out.shape == (2, 4, 2, 2) and out.dtype == torch.float32
    assert torch.equal(out.sum(1), torch.ones(2, 2, 2))
    assert torch.equal(out.argmax(1), ids[:, 0].masked_fill(ids[:, 0] == 255, 3))
    assert out[0, 3, 1, 0] == 1 and out[1, 3, 1, 1] == 1
    plain = one_hot_labels(torch.tensor([[[[0, 2], [1, 1]]]]), 3, dont_care=False)
    assert plain.shape == (1, 3, 2, 2) and torch.equal(plain.argmax(1), torch.tensor([[[0, 2], [1, 1]]]))
    with pytest.raises(ValueError, match="255"):
        one_hot_labels(ids, 3, dont_care=False)
    with pytest.raises(ValueError, match="5 outside the classes 0..2"):
        one_hot_labels(torch.tensor([[[[0, 5]]]]), 3, dont_care=True)


def test_boundary_map_hand_example():
    inst = torch.tensor([[1, 1, 1, 1],
                         [1, 1, 2, 2],
                         [1, 1, 2, 2],
                         [1, 1, 1, 1]]).view(1, 1, 4, 4)
    want = torch.tensor([[0, 0, 1, 1],
                         [0, 1, 1, 1],
                         [0, 1, 1, 1],
                         [0, 0, 1, 1]], dtype=torch.float32).view(1, 1, 4, 4)
    out = boundary_map(inst)
    assert out.dtype == torch.float32 and torch.equal(out, want)
    assert boundary_map(torch.full((2, 1, 3, 5), 7)).sum() == 0


def test_semantic_channels():
    assert semantic_channels(35, True, True) == 37
    assert semantic_channels(35, False, True) == 36
    assert semantic_channels(150, False, False) == 150


# ---------------------------------------------------------------- the dataset

def test_sample_keys_dtypes_shapes_and_meta(tmp_path):
    root = make_data(tmp_path / "d", instances=True)
    ds = dataset(root, load_size=40, crop_size=32)
    assert len(ds) == 3
    assert (ds.meta.label_classes, ds.meta.label_dont_care, ds.meta.label_instances) == (13, False, True)
    s = ds[(1, 5)]
    assert set(s) == {"label_map", "B", "instance", "path"}
    assert s["label_map"].dtype == torch.int64 and s["label_map"].shape == (1, 32, 32)
    assert s["instance"].dtype == torch.int64 and s["instance"].shape == (1, 32, 32)
    assert s["B"].dtype == torch.float32 and s["B"].shape == (3, 32, 32)
    assert -1 <= s["B"].min() and s["B"].max() <= 1 and s["B"].max() > 0
    assert s["path"] == str(root / "labels" / "m1.png")
    assert set(s["instance"].unique().tolist()) <= set(range(1000, 1100))

    no_inst = make_data(tmp_path / "e")
    t = dataset(no_inst, train=False)
    assert set(t[0]) == {"label_map", "B", "path"} and not t.meta.label_instances
    # through the registry and the config schema
    cfg = DataConfig(root=str(root), load_size=40, crop_size=32, label_nc=20)
    built = build_dataset(cfg, "labels")
    assert isinstance(built, LabelMapFolder) and built.meta.label_classes == 20


def test_same_index_and_seed_give_the_same_sample(tmp_path):
    ds = dataset(make_data(tmp_path, instances=True), load_size=44, crop_size=32)
    a, b = ds[(2, 123)], ds[(2, 123)]
    for k in ("label_map", "B", "instance"):
        assert torch.equal(a[k], b[k])
    others = [ds[(2, s)]["label_map"] for s in range(8)]
    assert any(not torch.equal(o, a["label_map"]) for o in others)  # the seed does move the crop / flip
    copy = pickle.loads(pickle.dumps(ds))  # as a spawned DataLoader worker gets it
    assert torch.equal(copy[(2, 123)]["B"], a["B"]) and torch.equal(copy[(2, 123)]["instance"], a["instance"])


@pytest.mark.parametrize("load_size", [0, 34, 72])  # keep, shrink (area), enlarge (cubic)
def test_augmentation_is_nearest_only_and_keeps_labels_on_their_photo(tmp_path, load_size):
    root = make_data(tmp_path, n=2, instances=True, block=11)  # 11: no scale here lines up with the cells
    ds = dataset(root, load_size=load_size, crop_size=32, flip=True)
    source = set(IDS)
    levels = np.array(sorted(GREY.values()))
    cls_of = {v: k for k, v in GREY.items()}
    cell_class = {}  # instance id -> its class, from the source maps
    for k in range(2):
        lab, inst = read_label_map(root / "labels" / f"m{k}.png"), read_instance_map(root / "instances" / f"m{k}.png")
        cell_class[k] = {int(i): int(c) for i, c in zip(inst.ravel(), lab.ravel())}
    flips = set()
    for seed in range(10):
        i = seed % 2
        s = ds[(i, seed)]
        label = s["label_map"][0].numpy()
        assert set(np.unique(label).tolist()) <= source  # no blended ids
        grey = (s["B"].numpy().mean(0) + 1) / 2 * 255
        photo_class = np.vectorize(cls_of.get)(levels[np.abs(grey[..., None] - levels).argmin(-1)])
        agree = photo_class == label
        # more than 2 px from a class boundary (and from the crop's edge, beyond which the
        # neighbours are unknown) the resampled photo is the pure colour of the label's class
        p = np.pad(label, 2, constant_values=-1)
        inner = np.all([p[2 + dy:2 + dy + 32, 2 + dx:2 + dx + 32] == label
                        for dy in range(-2, 3) for dx in range(-2, 3)], axis=0)
        assert inner.mean() > 0.1 and agree[inner].mean() >= 0.99, (seed, agree[inner].mean())
        assert agree.mean() >= (1.0 if load_size == 0 else 0.9), (seed, agree.mean())
        inst = s["instance"][0].numpy()  # instance map moved exactly with the label map
        assert np.vectorize(cell_class[i].get)(inst).tolist() == label.tolist()
        src = read_label_map(root / "labels" / f"m{i}.png")
        flips.add("flipped" if not _is_window(src, label, load_size) else "straight")
    assert {"flipped", "straight"} <= flips  # both cases were exercised


def _is_window(src: np.ndarray, label: np.ndarray, load_size: int) -> bool:
    """Whether `label` is an unflipped crop of `src` (after the same nearest scaling)."""
    from i2i.data.label_maps import scale_ids
    if load_size:
        src = scale_ids(src, load_size)
    h, w = label.shape
    return any(np.array_equal(src[y:y + h, x:x + w], label)
               for y in range(src.shape[0] - h + 1) for x in range(src.shape[1] - w + 1))


def test_label_nc_found_from_data_and_dont_care(tmp_path):
    root = make_data(tmp_path / "a")
    assert dataset(root).meta.label_classes == 13 and not dataset(root).meta.label_dont_care
    lab = read_label_map(root / "labels" / "m0.png").copy()
    lab[:4, :4] = 255
    save(root / "labels" / "m0.png", lab)
    meta = dataset(root).meta
    assert (meta.label_classes, meta.label_dont_care) == (13, True)  # 255 is not a class
    assert dataset(root, label_nc=30).meta.label_classes == 30


def test_value_beyond_label_nc_names_file_and_value(tmp_path):
    root = make_data(tmp_path)
    with pytest.raises(UserError) as e:
        dataset(root, label_nc=10)
    assert str(e.value).startswith(str(root / "labels" / "m0.png") + ": label value 12 >= data.label_nc=10")


def test_binary_masks_declared_and_found(tmp_path):
    root = make_data(tmp_path, values=(0, 255))
    with pytest.raises(UserError, match="but 2 classes are declared: map 255 to 1"):
        dataset(root, label_nc=2)
    with pytest.raises(UserError, match=r"looks like a 0/255 binary mask .*map 255 to 1 \(255 means don't care\)"):
        dataset(root)
    save(root / "labels" / "m0.png", np.ones((48, 64), np.uint8))  # one map with a real class 1: fine
    assert dataset(root).meta.label_classes == 2


def test_layout_errors(tmp_path):
    root = make_data(tmp_path / "d")
    with pytest.raises(UserError, match="label-map data needs .*/labels/ \\+ .*/images/ with matching names"):
        dataset(tmp_path / "d" / "images")
    (root / "images" / "m1.png").rename(root / "images" / "other.png")
    with pytest.raises(UserError) as e:
        dataset(root)
    assert f"{root / 'labels' / 'm1.png'} has no image in {root / 'images'}" in str(e.value)
    save(root / "labels" / "other.png", np.zeros((48, 64), np.uint8))
    (root / "labels" / "m1.png").unlink()
    (root / "labels" / "m2.png").unlink()
    with pytest.raises(UserError) as e:
        dataset(root)
    assert f"{root / 'images' / 'm2.png'} has no label map in {root / 'labels'}" in str(e.value)


def test_photo_of_any_extension_pairs_by_name_and_jpeg_labels_refused(tmp_path):
    root = make_data(tmp_path / "d", n=2)
    im = root / "images" / "m1.png"
    Image.open(im).convert("RGB").save(root / "images" / "m1.jpg", quality=95)
    im.unlink()
    ds = dataset(root)
    assert [b.name for _, b, _ in ds.items] == ["m0.png", "m1.jpg"]
    Image.open(root / "labels" / "m0.png").save(root / "labels" / "m0.jpg")
    (root / "labels" / "m0.png").unlink()
    with pytest.raises(UserError, match="label maps must be lossless"):
        dataset(root)


def test_missing_instance_and_size_mismatch(tmp_path):
    root = make_data(tmp_path / "d", instances=True)
    (root / "instances" / "m2.png").unlink()
    with pytest.raises(UserError, match=f"{root / 'labels' / 'm2.png'} has no instance map in"):
        dataset(root)
    root = make_data(tmp_path / "e")
    save(root / "images" / "m1.png", np.zeros((40, 64, 3), np.uint8))
    with pytest.raises(UserError) as e:
        dataset(root)
    assert str(e.value) == (f"{root / 'labels' / 'm1.png'} is 64x48 but its image {root / 'images' / 'm1.png'} "
                            "is 64x40: label maps must be the size of their photo")


def test_colour_coded_dataset_with_palette_file(tmp_path):
    root = tmp_path / "d"
    colours = {0: (128, 64, 128), 3: (244, 35, 232), 7: (70, 70, 70), 12: (0, 0, 142)}
    rng = np.random.default_rng(1)
    label, _ = blocks(rng, 48, 64)
    rgb = np.zeros((48, 64, 3), np.uint8)
    for k, c in colours.items():
        rgb[label == k] = c
    save(root / "train" / "labels" / "x.png", rgb)
    save(root / "train" / "images" / "x.png", photo_of(label))
    save(root / "test" / "labels" / "x.png", rgb)
    save(root / "test" / "images" / "x.png", photo_of(label))
    with pytest.raises(UserError, match="colour-coded label map, give its palette"):
        dataset(root)
    lines = "".join(f"{r} {g} {b} {k}\n" for k, (r, g, b) in colours.items())
    (tmp_path / "mine.txt").write_text(lines)
    ds = dataset(root, palette=str(tmp_path / "mine.txt"))
    assert ds.meta.label_classes == 13
    (root / "palette.txt").write_text(lines)  # found beside train/ and test/
    for split, train in (("train", True), ("test", False)):
        s = dataset(root, split=split, train=train, label_nc=13)[0]
        assert set(np.unique(s["label_map"]).tolist()) <= set(IDS)
        assert s["path"] == str(root / split / "labels" / "x.png")
