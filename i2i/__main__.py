"""python -m i2i evaluate PRED_DIR TRUTH_DIR [--y-channel] [--crop-border N]"""
import argparse
import sys

from .cli import run_cli


def evaluate_main(argv=None) -> int:
    from .metrics import evaluate_folders, format_table
    p = argparse.ArgumentParser(prog="python -m i2i evaluate", description="PSNR/SSIM of outputs vs. ground truth")
    p.add_argument("pred")
    p.add_argument("truth")
    p.add_argument("--y-channel", action="store_true", help="score the BT.601 luma channel (SR convention)")
    p.add_argument("--crop-border", type=int, default=0, help="ignore this many border pixels")
    a = p.parse_args(argv)
    print(format_table(evaluate_folders(a.pred, a.truth, a.y_channel, a.crop_border)))
    return 0


COMMANDS = {"evaluate": evaluate_main}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python -m i2i {{{'|'.join(COMMANDS)}}} ...")
    sys.exit(run_cli(COMMANDS[sys.argv[1]], sys.argv[2:]))
