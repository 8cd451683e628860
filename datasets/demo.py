"""`make demo`: build the embedded datasets, train pix2pix, CycleGAN and a small x4 ESRGAN
(PSNR stage), translate / super-resolve held-out photos, and print PSNR/SSIM against ground
truth next to the untranslated (for SR: bicubic) baseline.

    python datasets/demo.py [--iters-scale 1.0]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasets.build_demo import build  # noqa: E402
from i2i.cli import train_main, translate_main  # noqa: E402
from i2i.metrics import evaluate_folders, mean_scores  # noqa: E402

DATA = ROOT / "datasets" / "demo_data"
RUNS = ROOT / "checkpoints"

JOBS = [  # name, config, data, test inputs, truth, baseline (what the inputs score without the model)
    ("pix2pix", "demo_pix2pix.yaml", "paired", "paired/test/A", "paired/test/B", "paired/test/A"),
    ("cyclegan", "demo_cyclegan.yaml", "unpaired", "unpaired/testA", "unpaired/testB_truth", "unpaired/testA"),
    ("esrgan x4", "demo_esrgan.yaml", "sr/train", "sr/test/LR", "sr/test/HR", "sr/test/bicubic"),
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iters-scale", type=float, default=1.0, help="scale every job's training steps")
    a = p.parse_args()
    if not (DATA / "sr").exists():
        build(DATA)
    results = []
    for name, config, data, test, truth, baseline in JOBS:
        run = RUNS / f"demo_{name.split()[0]}"
        out = run / "translated"
        shutil.rmtree(run, ignore_errors=True)  # the demo's own previous run
        from i2i.config import read_yaml
        iters = max(1, int(read_yaml(ROOT / "datasets" / config)["train"]["iters"] * a.iters_scale))
        print(f"\n== {name}: training on {DATA / data} ({iters} steps)")
        t0 = time.time()
        rc = train_main([str(ROOT / "datasets" / config), "--data", str(DATA / data), "--out", str(run),
                         "--iters", str(iters), "--device", "cpu"])
        seconds = time.time() - t0
        rc = rc or translate_main([str(run), str(DATA / test), "--out", str(out), "--device", "cpu"])
        if rc:
            return rc
        base = mean_scores(evaluate_folders(DATA / baseline, DATA / truth))
        ours = mean_scores(evaluate_folders(out, DATA / truth))
        results.append((name, seconds, base, ours, out))
    print("\nHeld-out photos (skimage.data: chelsea, motorcycle_right), mean over images, RGB;"
          "\n'input' = the untranslated input (for super-resolution: its bicubic upscaling):")
    print(f"{'pipeline':<10} {'train s':>8} {'input PSNR':>11} {'output PSNR':>12} {'gain dB':>8} {'input SSIM':>11} {'output SSIM':>12}")
    for name, s, b, o, _ in results:
        print(f"{name:<10} {s:8.0f} {b['psnr']:11.2f} {o['psnr']:12.2f} {o['psnr'] - b['psnr']:+8.2f} {b['ssim']:11.4f} {o['ssim']:12.4f}")
    for name, *_, out in results:
        print(f"{name} translations: {out}")
    return 0


if __name__ == "__main__":
    from i2i.cli import run_cli
    sys.exit(run_cli(lambda argv: main()))
