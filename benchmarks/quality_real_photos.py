#!/usr/bin/env python
"""Quality on real photographs: do pix2pix and CycleGAN beat "leave the image alone"?

    python benchmarks/quality_real_photos.py [--photos DIR] [--quick] [--iters N] [--out DIR]

1. Real photos: ~30 photographs and ~110 video frames in --photos DIR, as written by
   `python benchmarks/get_photos.py DIR` (run automatically when DIR lacks them; default
   /tmp/i2i_real_photos; nothing is written into the repository).
   Every image is scaled so its shorter side is 256 px.
2. Two tasks built from them (the `degrade`/`grade` of datasets/build_demo.py):
   paired    restoration: A = degraded (faded contrast, yellow cast, sensor noise), B = clean.
             train = street-video frames + 20 photos; test = 8 *other* photos.
   unpaired  colour grading: trainA = photos/frames, trainB = a warm film grade of *other*
             photos/frames; test = the same 8 held-out photos and their graded truth.
   Near-duplicate photos (aloeL/aloeR, graf1/graf3, ...) never straddle the split.
3. Each pipeline is trained through the CLI (`train.py`, CPU, small nets, 64 px crops) in two
   generator settings at the same budget:
     paper        pix2pix U-Net / CycleGAN ResNet, transposed-conv upsampling, tanh output
     do-no-harm   model.generator.residual=true model.generator.upsample=resize
                  (output = input + learned change, nearest-resize upsampling)
   then the held-out photos are translated at full size with `translate.py`, and PSNR/SSIM
   (i2i.metrics.quality, RGB) of the untranslated input vs truth (baseline) and of the
   translation vs truth are printed, averaged over the test photos.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "datasets"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from build_demo import degrade, grade, save  # noqa: E402  (the demo's degradation and grade)
from i2i.metrics import evaluate_folders, mean_scores  # noqa: E402
from real_photos import (SETTINGS, TEST, add_photos_argument, fetch_photos, load_scaled, run_logged,  # noqa: E402
                         split)

SHORT_SIDE = 256

# Same crops, batch, widths and discriminators for both settings; only the generator differs.
COMMON = ["--crop-size", "64", "--load-size", str(SHORT_SIDE), "--device", "cpu",
          "data.num_workers=0", "model.generator.ngf=16", "model.discriminator.ndf=16",
          "train.save_every=100000", "train.sample_every=100000", "train.log_every=50"]
PIPELINES = {
    "pix2pix": dict(task="paired", batch=8, iters=2000, args=[
        # U-Net with 5 downsamplings: a 2x2 bottleneck on 64 px crops (6 would train a 1x1 one, whose
        # transposed convs see 4x the overlap on full-size photos). Batch norm, dropout 0.5, λ_L1 = 100.
        "model.generator.name=unet", "model.generator.num_downs=5"]),
    "cyclegan": dict(task="unpaired", batch=4, iters=800, args=[
        "model.generator.name=resnet_6blocks", "train.pool_size=50"]),
}
# ------------------------------------------------------------------------------ data


def build_tasks(photo_dir: Path, data: Path) -> dict[str, Path]:
    """Write data/paired and data/unpaired (idempotent: skipped when data/.done exists)."""
    photos, frames = fetch_photos(photo_dir)
    if (data / ".done").exists():
        return {"paired": data / "paired", "unpaired": data / "unpaired"}
    train_photos, test = split(photos)
    street = [f for f in frames if f.stem.startswith("vtest")][::2]   # 50 of 100 street frames
    tree = [f for f in frames if f.stem.startswith("tree")]
    rng = np.random.default_rng(0)
    paired, unpaired = data / "paired", data / "unpaired"
    for p in train_photos + street + tree:
        img = load_scaled(p, SHORT_SIDE)
        save(paired / "train/A" / f"{p.stem}.png", degrade(img, rng))
        save(paired / "train/B" / f"{p.stem}.png", img)
    # unpaired: disjoint halves, so no B is a graded A (the street video is split in time)
    half = len(street) // 2
    side_a = train_photos[0::2] + street[:half]
    side_b = train_photos[1::2] + street[half:] + tree
    for p in side_a:
        save(unpaired / "trainA" / f"{p.stem}.png", load_scaled(p, SHORT_SIDE))
    for p in side_b:
        save(unpaired / "trainB" / f"{p.stem}.png", grade(load_scaled(p, SHORT_SIDE)))
    for p in test:
        img = load_scaled(p, SHORT_SIDE)
        save(paired / "test/A" / f"{p.stem}.png", degrade(img, rng))
        save(paired / "test/B" / f"{p.stem}.png", img)
        save(unpaired / "testA" / f"{p.stem}.png", img)
        save(unpaired / "testB_truth" / f"{p.stem}.png", grade(img))
    (data / ".done").write_text("ok\n")
    print(f"tasks: paired train {len(train_photos) + len(street) + len(tree)} images "
          f"({len(train_photos)} photos + {len(street) + len(tree)} frames), unpaired trainA {len(side_a)} / "
          f"trainB {len(side_b)}, test {len(test)} held-out photos: {', '.join(TEST)}", flush=True)
    return {"paired": paired, "unpaired": unpaired}


# ------------------------------------------------------------------------ train + eval
def scores(pred_dir: Path, truth_dir: Path) -> tuple[float, float, int]:
    rows = evaluate_folders(pred_dir, truth_dir)
    m = mean_scores(rows)
    return m["psnr"], m["ssim"], len(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_photos_argument(ap)
    ap.add_argument("--out", default="/tmp/i2i_bench_quality", help="datasets, runs and translations go here")
    ap.add_argument("--iters", type=int, help="training steps for every run (default: pix2pix 2000, CycleGAN 800)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 20 steps per run")
    ap.add_argument("--only", choices=list(PIPELINES), help="run one pipeline only")
    ap.add_argument("--setting", choices=list(SETTINGS), help="run one generator setting only")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads per run (OMP_NUM_THREADS). 1 by default: on a 2-core machine shared with "
                         "other work, 2 OpenMP threads spin-wait against the other process and run ~10-100x slower")
    a = ap.parse_args(argv)

    out = Path(a.out)
    tasks = build_tasks(Path(a.photos), out / "data")
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads), "MKL_NUM_THREADS": str(a.threads)}
    os.environ.update(env)
    tag = "quick" if a.quick else (f"it{a.iters}" if a.iters else "default")
    rows = []
    for name, spec in PIPELINES.items():
        if a.only and name != a.only:
            continue
        root = tasks[spec["task"]]
        if spec["task"] == "paired":
            test_in, truth = root / "test/A", root / "test/B"
        else:
            test_in, truth = root / "testA", root / "testB_truth"
        base_p, base_s, n = scores(test_in, truth)
        iters = 20 if a.quick else (a.iters or spec["iters"])
        for setting, flags in SETTINGS.items():
            if a.setting and setting != a.setting:
                continue
            run_dir = out / "runs" / f"{name}_{setting}_{tag}"
            pred = out / "pred" / f"{name}_{setting}_{tag}"
            if not (run_dir / "config.yaml").exists() or not any(run_dir.glob("*.safetensors")):
                import shutil
                shutil.rmtree(run_dir, ignore_errors=True)
                cmd = [sys.executable, "train.py", name, "--data", str(root), "--out", str(run_dir),
                       "--iters", str(iters), "--batch-size", str(spec["batch"]), *COMMON, *spec["args"], *flags]
                print(f"[{name} / {setting}] training {iters} steps: {' '.join(cmd[1:])}", flush=True)
                secs = run_logged(cmd, out / f"{name}_{setting}_{tag}.train.log")
                (run_dir / "train_seconds.txt").write_text(f"{secs:.1f}\n")
            secs = float((run_dir / "train_seconds.txt").read_text())
            run_logged([sys.executable, "translate.py", str(run_dir), str(test_in), "--out", str(pred), "--device", "cpu"],
                out / f"{name}_{setting}_{tag}.translate.log")
            p, s, _ = scores(pred, truth)
            rows.append((spec["task"], name, setting, iters, secs, base_p, p, base_s, s, n))
            print(f"[{name} / {setting}] {secs:.0f} s; PSNR {base_p:.2f} -> {p:.2f} dB, SSIM {base_s:.3f} -> {s:.3f}",
                  flush=True)

    print()
    print(f"Held-out real photos (mean over test images, RGB, shorter side {SHORT_SIDE} px); CPU, "
          f"{a.threads} threads, 64 px crops, ngf=ndf=16, batch " + "/".join(f"{s['batch']} ({n})" for n, s in PIPELINES.items()))
    head = (f"{'task':<9} {'pipeline':<9} {'generator setting':<11} {'iters':>5} {'train s':>7} "
            f"{'PSNR in':>8} {'PSNR out':>8} {'dPSNR':>6} {'SSIM in':>7} {'SSIM out':>8} {'n':>2}")
    print(head)
    print("-" * len(head))
    for task, name, setting, iters, secs, bp, p, bs, s, n in rows:
        print(f"{task:<9} {name:<9} {setting:<11} {iters:>5} {secs:>7.0f} {bp:>8.2f} {p:>8.2f} {p - bp:>+6.2f} "
              f"{bs:>7.3f} {s:>8.3f} {n:>2}")
    print("paper = U-Net (pix2pix) / ResNet-6 (CycleGAN), transposed conv, tanh output; "
          "do-no-harm = residual=true upsample=resize")
    return 0


if __name__ == "__main__":
    sys.exit(main())
