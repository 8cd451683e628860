#!/usr/bin/env python
"""Super-resolution quality on real photographs: does a small x4 RRDB beat bicubic?

    python benchmarks/sr_quality_real_photos.py [--photos DIR] [--iters N] [--setting paper|do-no-harm]
                                                [--quick] [--picture]

1. Real photos from --photos DIR (benchmarks/get_photos.py DIR; fetched when missing, see
   benchmarks/real_photos.py): HR training set = the ~20 photos whose family is
   not held out, at full size, plus every 2nd street-video frame and the tree frames;
   test = the 8 held-out photos at full size.
2. Test pairs are made the way a user would: `python -m i2i downscale` (bicubic x4 with
   antialiasing, HR trimmed to a multiple of 4).
3. The ESRGAN PSNR stage (L1, cosine lr, EMA) with a small RRDB (ngf 32, 4 blocks, growth 16)
   on 128 px HR crops, CPU, for a fixed number of steps, in one or both generator settings:
     paper        `train.py esrgan-psnr-paper`: RRDBNet as published (output from the network alone)
     do-no-harm   `train.py esrgan-psnr` (the default, model.generator.residual=true):
                  output = bicubic + learned change
4. `translate.py` super-resolves the held-out LR photos (tiles of 256, the default), and
   PSNR/SSIM on RGB and on Y (crop border 4, the SR convention) are printed for bicubic and
   for the model, per photo and averaged.
Writes docs/sr_before_after.png (a held-out skimage photo: LR | bicubic | ours | truth) with
--picture.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from i2i.data.degradations import upscale  # noqa: E402
from i2i.data.io import list_images, read_rgb, write_image  # noqa: E402
from i2i.metrics import evaluate_folders, psnr  # noqa: E402
from real_photos import add_photos_argument, fetch_photos, run_logged, split  # noqa: E402

SCALE = 4
NET = ["model.generator.ngf=32", "model.generator.num_blocks=4"]
SETTINGS = {"paper": "esrgan-psnr-paper", "do-no-harm": "esrgan-psnr"}  # setting -> preset


def build_data(photo_dir: Path, data: Path) -> tuple[Path, Path]:
    photos, frames = fetch_photos(photo_dir)
    train, test = split(photos)
    if not (data / ".done").exists():
        shutil.rmtree(data, ignore_errors=True)
        street = [f for f in frames if f.stem.startswith("vtest")][::2]
        tree = [f for f in frames if f.stem.startswith("tree")]
        for p in train + street + tree:
            (data / "train").mkdir(parents=True, exist_ok=True)
            shutil.copy(p, data / "train" / p.name)
        for p in test:
            (data / "test_hr").mkdir(parents=True, exist_ok=True)
            shutil.copy(p, data / "test_hr" / p.name)
        run_logged([sys.executable, "-m", "i2i", "downscale", str(data / "test_hr"), "--scale", str(SCALE),
             "--out", str(data / "test")], data.parent / "downscale.log")
        for p in list_images(data / "test/LR"):
            write_image(data / "bicubic" / p.name, upscale(read_rgb(p), SCALE))
        (data / ".done").write_text("ok\n")
    n = len(list_images(data / "train"))
    print(f"HR training images: {n} ({len(train)} photos + frames); held-out photos: "
          f"{', '.join(p.stem for p in test)}", flush=True)
    return data / "train", data / "test"


def scores(pred: Path, truth: Path) -> list[tuple]:
    """(photo, PSNR RGB, SSIM RGB, PSNR Y, SSIM Y) per photo, crop border = the scale."""
    rgb, y = evaluate_folders(pred, truth, False, SCALE), evaluate_folders(pred, truth, True, SCALE)
    return [(Path(a["image"]).stem, a["psnr"], a["ssim"], b["psnr"], b["ssim"]) for a, b in zip(rgb, y)]


def before_after(run_dir: Path, out: Path) -> None:
    """A held-out skimage photo (chelsea): nearest-upscaled LR | bicubic | ours | truth."""
    import skimage.data

    from i2i.data.degradations import downscale
    from i2i.inference import Translator
    from i2i.data.io import to_numpy, to_tensor
    hr = skimage.data.chelsea().astype(np.float32)[40:232, 100:292] / 255  # 192 px: the face
    lr = downscale(hr, SCALE)
    tr = Translator.from_run(run_dir, "cpu")
    sr = np.clip(to_numpy(tr.translate_tensor(to_tensor(lr)[None])[0]), 0, 1)
    bic = upscale(lr, SCALE)
    near = np.repeat(np.repeat(lr, SCALE, 0), SCALE, 1)
    gap = np.ones((hr.shape[0], 4, 3), np.float32)
    write_image(out, np.concatenate([near, gap, bic, gap, sr, gap, hr], axis=1))
    print(f"wrote {out}: Y-PSNR bicubic {psnr(bic, hr, True, SCALE):.2f} dB, ours {psnr(sr, hr, True, SCALE):.2f} dB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_photos_argument(ap)
    ap.add_argument("--out", default="/tmp/i2i_bench_sr")
    ap.add_argument("--iters", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--setting", choices=list(SETTINGS), help="one generator setting only (default: both)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 10 steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--picture", action="store_true", help="write docs/sr_before_after.png from the last run")
    a = ap.parse_args(argv)
    os.environ.update(OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = build_data(Path(a.photos), out / "data")
    iters = 10 if a.quick else a.iters
    base = scores(out / "data/bicubic", test / "HR")
    table = {"bicubic": (base, 0.0)}
    last = None
    for setting, preset in SETTINGS.items():
        if a.setting and setting != a.setting:
            continue
        name = f"rrdb_{setting}_{iters}"
        run_dir, pred = out / "runs" / name, out / "pred" / name
        if not (run_dir / "weights/latest.safetensors").exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            cmd = [sys.executable, "train.py", preset, "--data", str(train), "--out", str(run_dir),
                   "--scale", str(SCALE), "--iters", str(iters), "--batch-size", str(a.batch_size),
                   "--crop-size", "128", "--device", "cpu", f"train.lr={a.lr}", "train.log_every=50",
                   "train.save_every=500", "train.sample_every=500", "data.num_workers=1", *NET]
            print(f"[{setting}] training: {' '.join(cmd[1:])}", flush=True)
            secs = run_logged(cmd, out / f"{name}.train.log")
            (run_dir / "train_seconds.txt").write_text(f"{secs:.1f}\n")
        secs = float((run_dir / "train_seconds.txt").read_text())
        run_logged([sys.executable, "translate.py", str(run_dir), str(test / "LR"), "--out", str(pred), "--device", "cpu"],
            out / f"{name}.translate.log")
        table[f"{preset} ({iters} it, {secs / 60:.1f} min)"] = (scores(pred, test / "HR"), secs)
        whole = out / "pred" / f"{name}_whole"
        run_logged([sys.executable, "translate.py", str(run_dir), str(test / "LR"), "--out", str(whole), "--device", "cpu",
             "--tile", "0"], out / f"{name}.translate_whole.log")
        diff = max(np.abs(read_rgb(pred / p.name) - read_rgb(p)).max() for p in list_images(whole)) * 255
        print(f"[{setting}] tiled (256 px, overlap 16) vs whole image, max difference: {diff:.1f} / 255", flush=True)
        last = run_dir
        print(f"[{setting}] trained in {secs / 60:.1f} min", flush=True)

    print(f"\nx{SCALE} on {len(base)} held-out real photos (full size; crop border {SCALE}); "
          f"RRDB ngf 32, 4 blocks, 128 px HR crops, batch {a.batch_size}, lr {a.lr}, CPU {a.threads} threads")
    print(f"{'method':<40} {'PSNR RGB':>8} {'SSIM RGB':>8} {'PSNR Y':>7} {'SSIM Y':>7} {'dY-PSNR':>8} {'median':>7}")
    base_y = np.array([r[3] for r in base])
    for name, (rows, _) in table.items():
        m = np.mean([r[1:] for r in rows], axis=0)
        gains = np.array([r[3] for r in rows]) - base_y
        print(f"{name:<40} {m[0]:>8.2f} {m[1]:>8.4f} {m[2]:>7.2f} {m[3]:>7.4f} {gains.mean():>+8.2f} "
              f"{np.median(gains):>+7.2f}")
    print("\nY-PSNR per photo:")
    names = [r[0] for r in base]
    print(f"{'photo':<14}" + "".join(f"{n.split(' ')[0]:>19}" for n in table))
    for i, n in enumerate(names):
        print(f"{n:<14}" + "".join(f"{rows[i][3]:>19.2f}" for rows, _ in table.values()))
    if a.picture and last is not None:
        before_after(last, ROOT / "docs" / "sr_before_after.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
