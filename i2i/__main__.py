"""python -m i2i evaluate PRED_DIR TRUTH_DIR [--y-channel] [--crop-border N]
python -m i2i downscale HR_DIR_OR_FILES... --scale S --out DIR    (-> DIR/LR, DIR/HR)"""
import argparse
import sys

from .cli import run_cli


def evaluate_main(argv=None) -> int:
    from .metrics import evaluate_folders, format_table
    p = argparse.ArgumentParser(prog="python -m i2i evaluate", description="PSNR/SSIM of outputs vs. ground truth")
    p.add_argument("pred")
    p.add_argument("truth")
    p.add_argument("--y-channel", action="store_true", help="score the BT.601 luma channel (SR convention)")
    p.add_argument("--crop-border", type=int, default=0, help="ignore this many border pixels (SR: the scale)")
    a = p.parse_args(argv)
    print(format_table(evaluate_folders(a.pred, a.truth, a.y_channel, a.crop_border)))
    return 0


def downscale_main(argv=None) -> int:
    """Make super-resolution test pairs the way training makes its inputs (bicubic with
    antialiasing): OUT/LR/x.png and OUT/HR/x.png, HR trimmed to a multiple of the scale."""
    from pathlib import Path

    from .cli import collect_inputs
    from .data.degradations import downscale, mod_crop
    from .data.io import read_image, write_image
    p = argparse.ArgumentParser(prog="python -m i2i downscale", description=downscale_main.__doc__)
    p.add_argument("inputs", nargs="+", help="high-resolution image files and/or folders")
    p.add_argument("--scale", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    out = Path(a.out)
    jobs = collect_inputs(a.inputs, out / "HR")
    for src, hr_dst in jobs:
        img = read_image(src)
        lr_dst = out / "LR" / hr_dst.relative_to(out / "HR")
        alpha = None if img.alpha is None else mod_crop(img.alpha, a.scale)
        lr_alpha = None if alpha is None else downscale(alpha[..., None], a.scale)[..., 0]
        write_image(hr_dst, mod_crop(img.rgb, a.scale), alpha, img.bits, img.icc)
        write_image(lr_dst, downscale(img.rgb, a.scale), lr_alpha, img.bits, img.icc)
    print(f"wrote {len(jobs)} LR/HR pair(s) to {out}/LR and {out}/HR")
    return 0


COMMANDS = {"evaluate": evaluate_main, "downscale": downscale_main}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python -m i2i {{{'|'.join(COMMANDS)}}} ...")
    sys.exit(run_cli(COMMANDS[sys.argv[1]], sys.argv[2:]))
