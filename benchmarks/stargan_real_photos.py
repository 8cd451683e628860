#!/usr/bin/env python
"""StarGAN on real photographs with a known truth: does one generator learn several photo grades?

    python benchmarks/stargan_real_photos.py [--photos DIR] [--out DIR] [--train-minutes M | --iters N]
                                             [--threads T] [--batch-size B] [--quick] [KEY=VALUE ...]

1. Real photos: ~30 photographs and ~110 video frames in --photos DIR, as written by
   `python benchmarks/get_photos.py DIR` (run automatically when DIR lacks them; default
   /tmp/i2i_real_photos; nothing is written into the repository). Every image is scaled so its
   shorter side is 128 px.
2. Four domains, each a known global transform of real photos (defined in GRADES below):
     plain   the photo as it is
     warm    a warm film grade: R x1.10, B x0.85, blacks lifted by 3 %
     cool    the opposite: R x0.85, B x1.10, blacks lifted by 3 %
     mono    BT.601 luma replicated to three channels
   Each domain trains on *different* images: the training photos (benchmarks/real_photos.py's
   split) are dealt family by family into four disjoint groups (near-duplicates such as
   aloeL/aloeR stay in one group), and each sample video is cut in time into four stretches, so
   no photo and no frame appears in two domains. The 8 held-out photos (TEST, never trained on,
   nor any near-duplicate) are graded into every domain to form the truth:
   DATA/train/<domain>/*.png, DATA/test/<domain>/*.png.
3. StarGAN is trained through the CLI (`train.py stargan`, CPU, small widths, 64 px crops,
   the preset's losses, WGAN-GP and 5 D updates per G update) in two generator settings, run at
   the same time as two processes with --threads threads each, for the same number of steps:
     paper        the preset's generator: tanh output, transposed-conv upsampling
     do-no-harm   model.generator.residual=true model.generator.upsample=resize
                  (output = input + learned change, nearest-resize upsampling)
   KEY=VALUE arguments (config overrides, e.g. train.lr=0.0002) are passed to both runs.
   The number of steps is chosen by a timing probe (both settings run --probe-iters steps side by
   side; their own images/s figures exclude start-up) so that training takes --train-minutes.
4. The held-out *plain* photos are translated at full size to every domain with
   `translate.py RUN test/plain --all-domains`, and for every target domain the table shows, as
   a mean over the held-out photos: PSNR (RGB, i2i.metrics.quality) of the untranslated input vs
   the truth, of the translation vs the truth, the gain, and on how many photos it gained. Then,
   whether the outputs for different targets differ: the mean absolute difference (8-bit levels)
   between each two targets' outputs, next to the same difference between their truths (a G that
   ignores the target label scores 0 there).
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from i2i.metrics.quality import psnr  # noqa: E402
from real_photos import (SETTINGS, add_photos_argument, deal, fetch_photos, images_per_second,  # noqa: E402
                         load_scaled, read, run_logged, run_logged_parallel, save, split)

SHORT_SIDE, CROP = 128, 64
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # BT.601


def lift_gain(img: np.ndarray, gain, lift: float) -> np.ndarray:
    """Per-channel gain, then the blacks lifted: out = lift + (1 - lift) * gain * img, clipped."""
    return np.clip(lift + (1.0 - lift) * img * np.asarray(gain, np.float32), 0.0, 1.0)


# The domains: known global transforms of a photo in [0, 1] (H x W x 3). Fixed before any result
# was seen; plausible photo grades, not extremes.
GRADES = {
    "plain": lambda img: img,
    "warm": lambda img: lift_gain(img, (1.10, 1.00, 0.85), 0.03),
    "cool": lambda img: lift_gain(img, (0.85, 1.00, 1.10), 0.03),
    "mono": lambda img: np.repeat((img @ LUMA)[..., None], 3, axis=2),
}
SOURCE = "plain"
TARGETS = [d for d in GRADES if d != SOURCE]
DATA_VERSION = "1"  # bump when GRADES, the split or SHORT_SIDE change (rebuilds the data folder)

# Small StarGAN for a CPU: same widths, crops and discriminator for both settings.
COMMON = ["--crop-size", str(CROP), "--load-size", str(SHORT_SIDE), "--device", "cpu", "data.num_workers=0",
          "model.generator.ngf=16", "model.generator.num_blocks=3",
          "model.discriminator.ndf=16", "model.discriminator.n_layers=4",
          "train.save_every=1000000", "train.sample_every=1000000", "train.log_every=50"]
# ------------------------------------------------------------------------------ data


def build_data(photo_dir: Path, data: Path) -> tuple[Path, dict[str, list[Path]], list[Path]]:
    photos, frames = fetch_photos(photo_dir)
    train_photos, test = split(photos)
    groups = deal(train_photos, frames, list(GRADES))
    done = data / ".done"
    if not (done.exists() and done.read_text().strip() == DATA_VERSION):
        shutil.rmtree(data, ignore_errors=True)
        for domain, paths in groups.items():
            for p in paths:
                save(data / "train" / domain / f"{p.stem}.png", GRADES[domain](load_scaled(p, SHORT_SIDE)))
        for p in test:
            img = load_scaled(p, SHORT_SIDE)
            for domain, grade in GRADES.items():
                save(data / "test" / domain / f"{p.stem}.png", grade(img))
        done.write_text(DATA_VERSION + "\n")
    return data, groups, test


# ------------------------------------------------------------------------ train + eval
def train_cmd(data: Path, run: Path, iters: int, batch: int, threads: int, setting: str,
              extra: list[str]) -> list[str]:
    return [sys.executable, "train.py", "stargan", "--data", str(data), "--out", str(run), "--iters", str(iters),
            "--batch-size", str(batch), *COMMON, f"train.threads={threads}", *SETTINGS[setting], *extra]


def d_steps_of(overrides: list[str]) -> int:
    """Batches one step reads: train.d_steps (the preset's 5 unless overridden)."""
    return int(next((o.split("=", 1)[1] for o in reversed(overrides) if o.startswith("train.d_steps=")), "5"))


def probe(data: Path, out: Path, iters: int, batch: int, threads: int, extra: list[str]) -> dict[str, float]:
    """Seconds per step of each setting, both running side by side as in the real run."""
    shutil.rmtree(out / "probe", ignore_errors=True)
    jobs = [(train_cmd(data, out / "probe" / s, iters, batch, threads, s, extra), out / "logs" / f"probe_{s}.log")
            for s in SETTINGS]
    run_logged_parallel(jobs)
    secs = {s: batch * d_steps_of(extra) / images_per_second(log) for s, (_, log) in zip(SETTINGS, jobs)}
    shutil.rmtree(out / "probe", ignore_errors=True)
    return secs


def evaluate(data: Path, pred: Path, stems: list[str]) -> dict:
    """Per target: mean input PSNR, output PSNR, photos gained; per pair of targets: the mean
    absolute difference (8-bit levels) of the outputs and of the truths; plain->plain fidelity."""
    inputs = {s: read(data / "test" / SOURCE / f"{s}.png") for s in stems}
    outs = {(d, s): read(pred / f"{s}_to-{d}.png") for d in GRADES for s in stems}
    truth = {(d, s): read(data / "test" / d / f"{s}.png") for d in GRADES for s in stems}
    res = {"targets": {}, "pairs": {}}
    for d in TARGETS:
        pin = [psnr(inputs[s], truth[d, s]) for s in stems]
        pout = [psnr(outs[d, s], truth[d, s]) for s in stems]
        res["targets"][d] = dict(pin=float(np.mean(pin)), pout=float(np.mean(pout)),
                                 wins=sum(o > i for i, o in zip(pin, pout)), n=len(stems))
    res["identity"] = float(np.mean([psnr(outs[SOURCE, s], inputs[s]) for s in stems]))
    for a, b in itertools.combinations(GRADES, 2):
        res["pairs"][a, b] = (
            float(np.mean([np.abs(outs[a, s] - outs[b, s]).mean() * 255 for s in stems])),
            float(np.mean([np.abs(truth[a, s] - truth[b, s]).mean() * 255 for s in stems])))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_photos_argument(ap)
    ap.add_argument("--out", default="/tmp/i2i_bench_stargan", help="data, runs, logs and translations go here")
    ap.add_argument("--train-minutes", type=float, default=20.0,
                    help="wall-clock training budget for the two settings run side by side (default 20)")
    ap.add_argument("--iters", type=int, help="training steps (G updates) per setting; skips the timing probe")
    ap.add_argument("--probe-iters", type=int, default=20, help="steps of the timing probe (default 20)")
    ap.add_argument("--batch-size", type=int, default=16, help="images per batch (the paper's 16); each step "
                    "takes train.d_steps = 5 batches (5 D updates, the last one shared with the G update)")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads per run (train.threads, OMP_NUM_THREADS). 1 by default: on a 2-core machine "
                         "the two runs side by side with 1 thread each are far faster than with 2 each")
    ap.add_argument("--setting", choices=list(SETTINGS), help="run one generator setting only")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 steps per run, no probe")
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides for both runs")
    a = ap.parse_args(argv)
    t_start = time.time()
    out = Path(a.out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    os.environ.update(OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    settings = [a.setting] if a.setting else list(SETTINGS)

    data, groups, test = build_data(Path(a.photos), out / "data")
    stems = [p.stem for p in test]
    print(f"domains (disjoint training images; {SHORT_SIDE} px shorter side): " + "; ".join(
        f"{d} {sum(p.parent.name == 'photos' for p in ps)} photos + {sum(p.parent.name != 'photos' for p in ps)} "
        f"frames" for d, ps in groups.items()), flush=True)
    print(f"held out ({len(test)}, plain -> every domain): {', '.join(stems)}", flush=True)

    if a.quick:
        iters, step_s = 2, {}
    elif a.iters:
        iters, step_s = a.iters, {}
    else:
        print(f"timing probe: {a.probe_iters} steps of each setting side by side ...", flush=True)
        step_s = probe(data, out, a.probe_iters, a.batch_size, a.threads, a.overrides)
        iters = max(1, int(a.train_minutes * 60 / max(step_s.values())) // 10 * 10)
        print("probe: " + ", ".join(f"{s} {t:.2f} s/step" for s, t in step_s.items())
              + f" -> {iters} steps each for {a.train_minutes:g} min", flush=True)

    tag = f"b{a.batch_size}_it{iters}" + (
        "_" + hashlib.sha1(" ".join(a.overrides).encode()).hexdigest()[:8] if a.overrides else "")
    jobs, todo = {}, []
    for s in settings:
        run = out / "runs" / f"{s}_{tag}"
        if not (run / "weights" / "latest.safetensors").exists():
            shutil.rmtree(run, ignore_errors=True)
            jobs[s] = (train_cmd(data, run, iters, a.batch_size, a.threads, s, a.overrides),
                       out / "logs" / f"{s}_{tag}.train.log")
            todo.append(s)
    if todo:
        for s in todo:
            print(f"[{s}] training {iters} steps: {' '.join(jobs[s][0][1:])}", flush=True)
        secs = run_logged_parallel([jobs[s] for s in todo])
        for s, t in zip(todo, secs):
            (out / "runs" / f"{s}_{tag}" / "train_seconds.txt").write_text(f"{t:.1f}\n")
            print(f"[{s}] trained in {t:.0f} s ({images_per_second(jobs[s][1]):.2f} images/s)", flush=True)

    results = {}
    for s in settings:
        run, pred = out / "runs" / f"{s}_{tag}", out / "pred" / f"{s}_{tag}"
        shutil.rmtree(pred, ignore_errors=True)
        run_logged([sys.executable, "translate.py", str(run), str(data / "test" / SOURCE), "--out", str(pred),
                    "--all-domains", "--device", "cpu"], out / "logs" / f"{s}_{tag}.translate.log")
        results[s] = (float((run / "train_seconds.txt").read_text()), evaluate(data, pred, stems))

    print()
    print(f"StarGAN on held-out real photos ({len(stems)}, shorter side {SHORT_SIDE} px): plain -> each domain, "
          f"PSNR (RGB) vs the known truth, mean over photos.")
    d_steps = d_steps_of(a.overrides)
    print(f"CPU, {a.threads} thread(s) per run, both settings side by side; {iters} steps (1 G + {d_steps} D updates, "
          f"batch {a.batch_size}), {CROP} px crops, G ngf 16 / 3 blocks, D ndf 16 / 4 layers"
          + (f"; {' '.join(a.overrides)}" if a.overrides else ""))
    head = f"{'setting':<11} {'target':<6} {'steps':>5} {'train s':>7} {'PSNR in':>8} {'PSNR out':>8} {'gain':>6} {'photos +':>8}"
    print(head)
    print("-" * len(head))
    for s, (secs, r) in results.items():
        for d, t in r["targets"].items():
            print(f"{s:<11} {d:<6} {iters:>5} {secs:>7.0f} {t['pin']:>8.2f} {t['pout']:>8.2f} "
                  f"{t['pout'] - t['pin']:>+6.2f} {t['wins']:>5}/{t['n']}")
        gains = [t["pout"] - t["pin"] for t in r["targets"].values()]
        print(f"{s:<11} {'mean':<6} {'':>5} {'':>7} {np.mean([t['pin'] for t in r['targets'].values()]):>8.2f} "
              f"{np.mean([t['pout'] for t in r['targets'].values()]):>8.2f} {np.mean(gains):>+6.2f}")
    print()
    print("Outputs differ across targets? mean |a - b| in 8-bit levels between the translations of the same photo "
          "to two targets (truth: the same between the two graded truths)")
    pairs = list(next(iter(results.values()))[1]["pairs"])
    head = f"{'setting':<11} " + " ".join(f"{a_ + '/' + b_:>11}" for a_, b_ in pairs) + f" {'min':>6}"
    print(head)
    print("-" * len(head))
    print(f"{'truth':<11} " + " ".join(f"{next(iter(results.values()))[1]['pairs'][p][1]:>11.2f}" for p in pairs))
    for s, (_, r) in results.items():
        print(f"{s:<11} " + " ".join(f"{r['pairs'][p][0]:>11.2f}" for p in pairs)
              + f" {min(v[0] for v in r['pairs'].values()):>6.2f}")
    print()
    for s, (_, r) in results.items():
        gains = [t["pout"] - t["pin"] for t in r["targets"].values()]
        differ = min(r["pairs"][p][0] for p in pairs if SOURCE not in p)
        print(f"{s}: every target beats the input: {'yes' if min(gains) > 0 else 'NO'} (worst {min(gains):+.2f} dB, "
              f"mean {np.mean(gains):+.2f} dB); smallest difference between the outputs of two graded targets "
              f"({', '.join(TARGETS)}) {differ:.2f} levels; "
              f"plain -> plain keeps the photo at {r['identity']:.2f} dB")
    print("paper = the stargan preset's generator (tanh output, transposed conv); "
          "do-no-harm = model.generator.residual=true model.generator.upsample=resize")
    print(f"total {time.time() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
