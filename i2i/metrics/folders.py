"""Score a folder of outputs against a folder of ground truth (matched by relative stem)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.folders import match_pairs
from ..data.io import read_image
from ..errors import UserError
from .quality import psnr, ssim


def _rgb(path: Path) -> np.ndarray:
    img = read_image(path)
    return np.repeat(img.rgb, 3, axis=2) if img.grayscale else img.rgb


def evaluate_folders(pred_dir, truth_dir, y_channel: bool = False, crop_border: int = 0) -> list[dict]:
    if crop_border < 0:
        raise UserError(f"--crop-border must be >= 0, got {crop_border}")
    rows = []
    for pred_path, truth_path in match_pairs(Path(pred_dir), Path(truth_dir)):
        pred, truth = _rgb(pred_path), _rgb(truth_path)
        if pred.shape != truth.shape:
            raise UserError(f"{pred_path} is {pred.shape[1]}x{pred.shape[0]} but {truth_path} is "
                            f"{truth.shape[1]}x{truth.shape[0]}")
        if 2 * crop_border >= min(truth.shape[:2]):
            raise UserError(f"--crop-border {crop_border} leaves nothing of {truth_path} ({truth.shape[1]}x{truth.shape[0]}); "
                            f"use less than {min(truth.shape[:2]) // 2} (SR convention: the scale)")
        rows.append({"image": pred_path.relative_to(pred_dir).as_posix(), "truth": str(truth_path),
                     "psnr": psnr(pred, truth, y_channel, crop_border),
                     "ssim": ssim(pred, truth, y_channel, crop_border)})
    return rows


def mean_scores(rows: list[dict]) -> dict:
    return {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim")}


def format_table(rows: list[dict], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'image':<40} {'PSNR':>8} {'SSIM':>7}")
    for r in rows:
        lines.append(f"{r['image']:<40} {r['psnr']:8.2f} {r['ssim']:7.4f}")
    m = mean_scores(rows)
    lines.append(f"{'mean':<40} {m['psnr']:8.2f} {m['ssim']:7.4f}")
    return "\n".join(lines)
