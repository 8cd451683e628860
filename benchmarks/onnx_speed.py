"""CPU inference speed, onnxruntime against PyTorch, through the same Translator (padding, tiles):
pix2pix (the preset's unet_256, ngf 64) on 256 x 256 photos and the x4 ESRGAN generator (RRDB,
23 blocks, ngf 64) on 128 x 128 inputs (512 x 512 out), whole image.

    python benchmarks/onnx_speed.py                 # ~3 min on 2 cores
    python benchmarks/onnx_speed.py --reps 3 --threads 2

Speed does not depend on the weights' values, so the networks are built at their preset sizes
with their initial weights (no training, no download); each backend runs `--reps` timed images
after one warm-up, and the table prints the median seconds per image, the speed-up, the export
time and the largest absolute difference between the two backends' outputs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from i2i import config  # noqa: E402
from i2i.data import DataMeta  # noqa: E402
from i2i.inference import Translator  # noqa: E402
from i2i.inference.export import export_onnx  # noqa: E402
from i2i.pipelines import build_pipeline  # noqa: E402

MODELS = {  # name: (preset, overrides, input size)
    "pix2pix unet_256": ("pix2pix", [], 256),
    "ESRGAN x4 (RRDB 23)": ("esrgan", ["loss.perceptual=0"], 128),
}


def median_seconds(tr: Translator, x: torch.Tensor, reps: int) -> tuple[float, torch.Tensor]:
    y = tr.translate_tensor(x)  # warm-up (onnxruntime plans its memory on the first run)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        y = tr.translate_tensor(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times), y


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = p.parse_args()
    torch.set_num_threads(a.threads)  # onnxruntime's session takes the same count (onnx_backend.py)
    print(f"threads {a.threads}, torch {torch.__version__}, {a.reps} timed images per backend (median)")
    print("| model | input | PyTorch s/img | onnxruntime s/img | speed-up | export s | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (preset, overrides, size) in MODELS.items():
            cfg = config.load(preset, overrides)
            torch.manual_seed(0)
            tr = Translator(build_pipeline(cfg, DataMeta(), training=False), cfg, torch.device("cpu"))
            x = torch.rand(1, 3, size, size) * 2 - 1
            t = time.perf_counter()
            path = Path(tmp) / f"{preset}.onnx"
            export_onnx(tr, path, check=False)
            export_s = time.perf_counter() - t
            torch_s, y_torch = median_seconds(tr, x, a.reps)
            ort_s, y_ort = median_seconds(Translator.from_run(path, "cpu"), x, a.reps)
            diff = float((y_torch - y_ort).abs().max())
            print(f"| {name} | {size}x{size} | {torch_s:.3f} | {ort_s:.3f} | {torch_s / ort_s:.2f}x | "
                  f"{export_s:.0f} | {diff:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
