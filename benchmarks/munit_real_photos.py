#!/usr/bin/env python
"""MUNIT and UNIT on real photographs where one input has many right answers.

    python benchmarks/munit_real_photos.py [--photos DIR] [--out DIR] [--pipelines munit,unit]
                                           [--train-minutes M | --iters N] [--batch-size B] [--quick] [KEY=VALUE ...]

1. Real photos (`python benchmarks/get_photos.py DIR`, run automatically when --photos DIR lacks
   them; default /tmp/i2i_real_photos), scaled to a shorter side of 128 px. The training photos
   and video frames are dealt into two disjoint groups (benchmarks/real_photos.py: no photo,
   near-duplicate or video stretch in both):
     A  the photos as they are
     B  the *other* photos, each under its own random colour grade from a continuous family
        (GRADE: hue rotation +-30 deg, warmth +-15 %, saturation x0.5..1.5)
   so for one A photo every grade of the family is a right answer.
2. For each pipeline, two settings trained side by side through `train.py` (CPU, 1 thread each,
   small widths, 64 px crops, the preset's losses), for the same number of steps, chosen by a
   timing probe so that training takes --train-minutes:
     paper        the preset as published (tanh output)
     do-no-harm   model.generator.residual=true (output = the input + a learned change)
3. On the 8 held-out photos (never trained on), through `translate.py`:
     diversity   K = 8 random styles per photo (--styles 8 --seed 0): the spread (std) of the
                 output's mean colour over the K outputs, as a fraction of the spread of the same
                 photo under 8 grades drawn from the family (the real B versions of that photo).
                 UNIT has one output per input: 0.
     structure   SSIM of the luminance of each output against the input's, next to the grades' own
                 (the photo graded vs as it is): the content must survive the translation.
     guided      (MUNIT) --style-from each of 8 references (other held-out photos under random
                 grades): the fraction of (input, reference) pairs whose output's mean chromaticity
                 is nearer the reference's than the input's was (the translation moved the colours
                 towards the reference); next to it the same fraction for the truth (the input
                 under the reference's own grade).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from i2i.metrics.quality import rgb_to_y, ssim  # noqa: E402
from real_photos import (add_photos_argument, deal, fetch_photos, images_per_second, load_scaled,  # noqa: E402
                         read, run_logged, run_logged_parallel, save, split)

SHORT_SIDE, CROP, K = 128, 64, 8
SETTINGS = {"paper": ["model.generator.residual=false"], "do-no-harm": ["model.generator.residual=true"]}
COMMON = ["--crop-size", str(CROP), "--load-size", str(SHORT_SIDE), "--device", "cpu", "data.num_workers=0",
          "model.generator.ngf=16", "model.generator.num_blocks=2",
          "model.discriminator.ndf=16", "model.discriminator.n_layers=3", "model.discriminator.num_D=2",
          "train.save_every=1000000", "train.sample_every=1000000", "train.log_every=50"]
PER_PIPELINE = {"munit": ["model.generator.mlp_dim=64"], "munit-cycle": ["model.generator.mlp_dim=64"],
                "munit-residual": ["model.generator.mlp_dim=64"], "unit": []}
DATA_VERSION = "1"


def grade(img: np.ndarray, hue_deg: float, warmth: float, sat: float) -> np.ndarray:
    """A colour grade of an H x W x 3 photo in [0, 1]: saturation about the luma, a rotation of
    the chroma about the grey axis, then warmth (red up, blue down)."""
    y = (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    out = y + sat * (img - y)
    t = np.deg2rad(hue_deg)
    k = np.ones(3) / np.sqrt(3)  # Rodrigues rotation about the grey axis
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    rot = np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx
    out = out @ rot.T.astype(np.float32)
    return np.clip(out * np.array([1 + warmth, 1.0, 1 - warmth], np.float32), 0, 1)


def random_grade(rng: np.random.Generator) -> tuple[float, float, float]:
    return float(rng.uniform(-30, 30)), float(rng.uniform(-0.15, 0.15)), float(rng.uniform(0.5, 1.5))


def build_data(photo_dir: Path, data: Path):
    """train/A, train/B (graded), test/A (held out), test/refs (held out, graded; grades kept)."""
    photos, frames = fetch_photos(photo_dir)
    train_photos, test = split(photos)
    groups = deal(train_photos, frames, ["A", "B"])
    rng = np.random.default_rng(0)
    ref_grades = {p.stem: random_grade(rng) for p in test}
    done = data / ".done"
    if not (done.exists() and done.read_text().strip() == DATA_VERSION):
        shutil.rmtree(data, ignore_errors=True)
        for p in groups["A"]:
            save(data / "train" / "A" / f"{p.stem}.png", load_scaled(p, SHORT_SIDE))
        for p in groups["B"]:
            save(data / "train" / "B" / f"{p.stem}.png", grade(load_scaled(p, SHORT_SIDE), *random_grade(rng)))
        for p in test:
            img = load_scaled(p, SHORT_SIDE)
            save(data / "test" / "A" / f"{p.stem}.png", img)
            save(data / "test" / "refs" / f"{p.stem}.png", grade(img, *ref_grades[p.stem]))
        done.write_text(DATA_VERSION + "\n")
    return data, groups, [p.stem for p in test], ref_grades


def mean_colour(img: np.ndarray) -> np.ndarray:
    return img.reshape(-1, 3).mean(0)


def chroma(img: np.ndarray) -> np.ndarray:
    m = mean_colour(img)
    return m / max(m.sum(), 1e-6)


def luma_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return ssim(rgb_to_y(a)[..., None], rgb_to_y(b)[..., None])


def evaluate(name: str, data: Path, run: Path, pred: Path, stems: list[str], ref_grades: dict, logs: Path) -> dict:
    shutil.rmtree(pred, ignore_errors=True)
    src = data / "test" / "A"
    multimodal = name.startswith("munit")
    styles = ["--styles", str(K), "--seed", "0"] if multimodal else []
    run_logged([sys.executable, "translate.py", str(run), str(src), "--out", str(pred / "styles"), *styles,
                "--device", "cpu"], logs / f"{run.name}.styles.log")
    inputs = {s: read(src / f"{s}.png") for s in stems}
    outs = {s: [read(pred / "styles" / (f"{s}_style-{k}.png" if multimodal else f"{s}.png"))
                for k in range(K if multimodal else 1)] for s in stems}
    rng = np.random.default_rng(1)
    truth_spread, spread = [], []
    for s in stems:
        spread.append(np.std([mean_colour(o) for o in outs[s]], axis=0).mean() if multimodal else 0.0)
        truth_spread.append(np.std([mean_colour(grade(inputs[s].astype(np.float32), *random_grade(rng)))
                                    for _ in range(K)], axis=0).mean())
    res = {"diversity": float(np.mean(spread) / np.mean(truth_spread)),
           "structure": float(np.mean([luma_ssim(o, inputs[s]) for s in stems for o in outs[s]])),
           "structure_truth": float(np.mean([luma_ssim(grade(inputs[s].astype(np.float32), *random_grade(rng)),
                                                       inputs[s]) for s in stems for _ in range(K)]))}
    if multimodal:
        hits, truth_hits = [], []
        for r in stems:
            ref = read(data / "test" / "refs" / f"{r}.png")
            out_dir = pred / f"ref_{r}"
            run_logged([sys.executable, "translate.py", str(run), str(src), "--out", str(out_dir), "--style-from",
                        str(data / "test" / "refs" / f"{r}.png"), "--device", "cpu"], logs / f"{run.name}.ref.log")
            for s in stems:
                if s == r:
                    continue
                out, x = read(out_dir / f"{s}.png"), inputs[s]
                truth = grade(x.astype(np.float32), *ref_grades[r])
                near = lambda y: np.abs(chroma(y) - chroma(ref)).sum() < np.abs(chroma(x) - chroma(ref)).sum()  # noqa: E731
                hits.append(near(out))
                truth_hits.append(near(truth))
        res["guided"], res["guided_truth"] = float(np.mean(hits)), float(np.mean(truth_hits))
    return res


def train_cmd(name: str, data: Path, run: Path, iters: int, batch: int, setting: str, extra: list[str]) -> list[str]:
    return [sys.executable, "train.py", name, "--data", str(data), "--out", str(run), "--iters", str(iters),
            "--batch-size", str(batch), *COMMON, *PER_PIPELINE[name], "train.threads=1", *SETTINGS[setting], *extra]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_photos_argument(ap)
    ap.add_argument("--out", default="/tmp/i2i_bench_munit")
    ap.add_argument("--pipelines", default="munit,unit", help="comma-separated presets: munit, munit-cycle, munit-residual, unit")
    ap.add_argument("--train-minutes", type=float, default=20.0, help="per pipeline, both settings side by side")
    ap.add_argument("--iters", type=int, help="steps per run; skips the timing probe")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated: paper, do-no-harm (default both)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 steps per run")
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    settings = [s for s in a.settings.split(",") if s]
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        ap.error(f"unknown setting {unknown[0]!r}: choose from {', '.join(SETTINGS)}")
    t0 = time.time()
    out = Path(a.out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    data, groups, stems, ref_grades = build_data(Path(a.photos), out / "data")
    print(f"A: {len(groups['A'])} images as they are; B: {len(groups['B'])} other images, each under a random "
          f"grade; held out: {', '.join(stems)}", flush=True)
    table = []
    for name in a.pipelines.split(","):
        if a.quick:
            iters = 2
        elif a.iters:
            iters = a.iters
        else:
            probe = [(train_cmd(name, data, out / "probe" / s, 10, a.batch_size, s, a.overrides), logs / f"probe_{name}_{s}.log")
                     for s in settings]
            shutil.rmtree(out / "probe", ignore_errors=True)
            run_logged_parallel(probe)
            step = max(a.batch_size / images_per_second(log) for _, log in probe)
            iters = max(10, int(a.train_minutes * 60 / step) // 10 * 10)
            print(f"[{name}] probe: {step:.2f} s/step -> {iters} steps for {a.train_minutes:g} min", flush=True)
        tag = f"{name}_b{a.batch_size}_it{iters}" + (
            "_" + hashlib.sha1(" ".join(a.overrides).encode()).hexdigest()[:8] if a.overrides else "")
        jobs, runs = [], {}
        for s in settings:
            runs[s] = out / "runs" / f"{tag}_{s}"
            if not (runs[s] / "weights" / "latest.safetensors").exists():
                shutil.rmtree(runs[s], ignore_errors=True)
                jobs.append((train_cmd(name, data, runs[s], iters, a.batch_size, s, a.overrides),
                             logs / f"{tag}_{s}.train.log"))
        if jobs:
            print(f"[{name}] training {iters} steps, {len(jobs)} run(s) side by side ...", flush=True)
            secs = run_logged_parallel(jobs)
            for (_, log), t in zip(jobs, secs):
                (out / "runs" / log.name.replace(".train.log", "") / "train_seconds.txt").write_text(f"{t:.1f}\n")
        for s, run in runs.items():
            r = evaluate(name, data, run, out / "pred" / run.name, stems, ref_grades, logs)
            secs = float((run / "train_seconds.txt").read_text()) if (run / "train_seconds.txt").exists() else 0
            table.append((name, s, iters, secs, r))
            print(f"[{name} {s}] {r}", flush=True)
    print()
    print(f"MUNIT / UNIT on {len(stems)} held-out real photos (shorter side {SHORT_SIDE} px); CPU, 1 thread per run, "
          f"two runs side by side; batch {a.batch_size}, {CROP} px crops, G ngf 16 / 2 blocks, D ndf 16 / 3 layers / "
          f"2 scales" + (f"; {' '.join(a.overrides)}" if a.overrides else ""))
    head = (f"{'pipeline':<11} {'setting':<11} {'steps':>6} {'train s':>7} {'diversity':>9} {'structure':>9} "
            f"{'(grades)':>8} {'guided':>6} {'(truth)':>7}")
    print(head)
    print("-" * len(head))
    for name, s, iters, secs, r in table:
        g = f"{r['guided']:>6.2f} {r['guided_truth']:>7.2f}" if "guided" in r else f"{'n/a':>6} {'':>7}"
        print(f"{name:<11} {s:<11} {iters:>6} {secs:>7.0f} {r['diversity']:>9.2f} {r['structure']:>9.3f} "
              f"{r['structure_truth']:>8.3f} {g}")
    print("diversity: spread of the mean colour over 8 random styles / the same over 8 random grades of the photo; "
          "structure: luminance SSIM vs the input (grades: the grades' own); guided: share of --style-from pairs "
          "whose output chromaticity is nearer the reference's than the input's was (truth: the input under the "
          "reference's grade)")
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
