"""python -m i2i evaluate PRED_DIR TRUTH_DIR [--y-channel] [--crop-border N]
python -m i2i downscale HR_DIR_OR_FILES... --scale S --out DIR    (-> DIR/LR, DIR/HR)
python -m i2i info RUN                                             (a run folder or .safetensors)"""
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
    from .errors import UserError
    p = argparse.ArgumentParser(prog="python -m i2i downscale", description=downscale_main.__doc__)
    p.add_argument("inputs", nargs="+", help="high-resolution image files and/or folders")
    p.add_argument("--scale", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.scale < 2:
        raise UserError(f"--scale must be an integer >= 2 (the factor the LR images are smaller by), got {a.scale}")
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


def info_main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m i2i info", description=(
        "What a trained run is: pipeline, networks and their parameter counts, step, EMA, the data it "
        "was trained on (domains, attributes, classes) and the options translate.py accepts for it."))
    p.add_argument("run", help="run folder (checkpoints/NAME) or a .safetensors checkpoint")
    a = p.parse_args(argv)
    from .inference.info import describe
    print(describe(a.run))
    return 0


COMMANDS = {"evaluate": evaluate_main, "downscale": downscale_main, "info": info_main}
SUMMARIES = {
    "evaluate": "PSNR / SSIM of a folder of outputs against a folder of ground truth (--y-channel, --crop-border)",
    "downscale": "make super-resolution test pairs OUT/LR + OUT/HR from high-resolution photos (bicubic, antialiased)",
    "info": "what a run is: pipeline, step, parameters per network, EMA, data, and its translate.py options",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    return ("usage: python -m i2i COMMAND [ARGS ...]\n\ncommands:\n"
            + "".join(f"  {name:<{width}}  {SUMMARIES[name]}\n" for name in COMMANDS)
            + "\n`python -m i2i COMMAND --help` shows a command's options. Training and translation have\n"
              "their own entry points: python train.py --help, python translate.py --help.")


def main(argv: list[str]) -> int:
    """--help / -h: the command list, exit 0; no or an unknown command: the same on stderr, exit 2."""
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not argv or argv[0] not in COMMANDS:
        if argv:
            print(f"error: unknown command '{argv[0]}'; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        print(usage(), file=sys.stderr)
        return 2
    return run_cli(COMMANDS[argv[0]], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
