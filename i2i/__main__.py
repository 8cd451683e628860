"""python -m i2i evaluate PRED_DIR TRUTH_DIR [--y-channel] [--crop-border N]     (paired PSNR / SSIM)
python -m i2i evaluate FAKES REALS --metrics fid,kid,is [--features inception|own]   (GAN distribution metrics)
python -m i2i downscale HR_DIR_OR_FILES... --scale S --out DIR    (-> DIR/LR, DIR/HR)
python -m i2i info RUN                                             (a run folder or .safetensors)
python -m i2i sample RUN --n 64 [--class C] [--seed S] [--truncation T] [--grid] --out DIR   (GANs from noise)
python -m i2i export RUN --out FILE.onnx [--to D | --direction BtoA | --style-from IMG | --seed S | --class C]
python -m i2i import FILE [FILE_B] --as pix2pix|cyclegan|esrgan|stargan|munit|unit --out checkpoints/NAME [KEY=VALUE ...]
python -m i2i serve RUN [RUN ...] [--host 127.0.0.1] [--port 7860]  (a local web page)"""
import argparse
import sys

from .cli import run_cli

PAIRED_METRICS = ("psnr", "ssim")


def evaluate_main(argv=None) -> int:
    """psnr,ssim (default) score each output against its ground truth (matched by name); fid,kid,is
    compare the two folders as sets of images (unpaired, for GANs that make images from noise)."""
    from .errors import UserError
    from .metrics import distribution_metrics, evaluate_folders, format_distribution, format_table
    from .metrics.distribution import FEATURES, METRICS
    from .metrics.inception import hub_weights_path
    p = argparse.ArgumentParser(
        prog="python -m i2i evaluate", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="PSNR/SSIM of outputs vs. ground truth, or FID/KID/IS of generated images vs. real ones",
        epilog="FID/KID/IS features:\n"
        "  inception  torchvision's Inception-v3 ImageNet weights, never downloaded: --inception-weights PATH\n"
        f"             or {hub_weights_path()}\n"
        "             (close to, not identical with, the TF-Inception FIDs in papers)\n"
        "  own        a small classifier trained on REALS/<class>/* (no download; kept as\n"
        "             REALS/.i2i-classifier.safetensors, retrained when the real files change); its FID is on\n"
        "             another scale: compare only numbers made with the same classifier file. Also prints the\n"
        "             classes the fakes cover and, when FAKES holds folders named like the classes, the share\n"
        "             of fakes classified as their folder's class")
    p.add_argument("pred", metavar="PRED|FAKES", help="outputs (paired) or generated images (fid/kid/is)")
    p.add_argument("truth", metavar="TRUTH|REALS", help="ground truth (paired) or real images (fid/kid/is)")
    p.add_argument("--metrics", default="psnr,ssim",
                   help=f"comma-separated, from: {', '.join(PAIRED_METRICS + METRICS)} (default psnr,ssim; psnr or ssim prints the paired table, with both)")
    p.add_argument("--y-channel", action="store_true", help="psnr/ssim: score the BT.601 luma channel (SR convention)")
    p.add_argument("--crop-border", type=int, default=0,
                   help="psnr/ssim: ignore this many border pixels (SR: the scale)")
    p.add_argument("--features", choices=FEATURES, default="inception", help="fid/kid/is: the feature network "
                   "(default inception)")
    p.add_argument("--inception-weights", default="", metavar="PATH",
                   help="torchvision's inception_v3_google-0cc3c7bd.pth (default: the torch hub cache)")
    p.add_argument("--html", action="store_true", help="psnr/ssim: write PRED/index.html with each output's "
                   "PSNR/SSIM and the ground truth beside it (adds them to the page translate.py --html wrote there)")
    p.add_argument("--classifier", metavar="PATH", help="--features own: where the classifier is kept "
                   "(default REALS/.i2i-classifier.safetensors)")
    a = p.parse_args(argv)
    asked = [m.strip().lower() for m in a.metrics.split(",") if m.strip()]
    unknown = [m for m in asked if m not in PAIRED_METRICS + METRICS]
    if unknown or not asked:
        raise UserError(f"--metrics: unknown metric(s) {', '.join(unknown) or '(none given)'}; choose from "
                        f"{', '.join(PAIRED_METRICS + METRICS)}")
    paired, dist = [m for m in asked if m in PAIRED_METRICS], [m for m in asked if m in METRICS]
    if not paired and (a.y_channel or a.crop_border):
        raise UserError("--y-channel / --crop-border apply to psnr/ssim only; drop them or add psnr,ssim to --metrics")
    if not dist and (a.inception_weights or a.classifier):
        raise UserError("--inception-weights / --classifier apply to fid/kid/is only; add those to --metrics")
    if a.features == "own" and a.inception_weights or a.features == "inception" and a.classifier:
        flag = "--inception-weights" if a.inception_weights else "--classifier"
        raise UserError(f"{flag} does not apply to --features {a.features}")
    if a.html and not paired:
        raise UserError("--html shows psnr/ssim per image; add psnr,ssim to --metrics")
    if paired:
        rows = evaluate_folders(a.pred, a.truth, a.y_channel, a.crop_border)
        print(format_table(rows))
        if a.html:
            from .serve.gallery import Gallery
            gallery = Gallery.load(a.pred) or Gallery(a.pred, f"{a.pred} against {a.truth}")
            gallery.add_scores(rows)
            print(f"gallery: {gallery.write()}")
    if dist:
        print(format_distribution(distribution_metrics(a.pred, a.truth, dist, a.features, a.inception_weights,
                                                       a.classifier)))
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


def sample_main(argv=None) -> int:
    from .inference.sampler import sample_main as main
    return main(argv)


def export_main(argv=None) -> int:
    from .cli import export_main as main
    return main(argv)


def import_main(argv=None) -> int:
    from pathlib import Path

    from .inference.peer_weights import PRESETS, import_run
    p = argparse.ArgumentParser(prog="python -m i2i import", description=(
        "Turn weights trained elsewhere into an i2i run that translate.py uses: the pix2pix/CycleGAN reference's "
        "latest_net_G.pth (U-Net or ResNet; --as pix2pix, or G_A G_B --as cyclegan), ESRGAN's RRDB_ESRGAN_x4.pth "
        "and Real-ESRGAN's RealESRGAN_x4plus.pth / x2plus (--as esrgan), the official StarGAN's 200000-G.ckpt "
        "(--as stargan --attrs/--domains), the official MUNIT / UNIT gen_NNNNNNNN.pt (--as munit / --as unit; "
        "both domains in one file), BasicSR's MSRResNet_x4 / MSRGAN_x4 (--as srgan), the official SPADE's "
        "latest_net_G.pth (--as spade --label-nc N [--dont-care] [--instances]). Read with torch.load(weights_only=True): "
        "no code in the file is ever run."))
    p.add_argument("items", nargs="+", metavar="FILE|KEY=VALUE", help="the weights file(s), then any config "
                   "overrides (e.g. data.in_channels=1)")
    p.add_argument("--as", dest="preset", required=True, choices=PRESETS, help="the pipeline the weights belong to")
    p.add_argument("--out", required=True, help="the new run folder (checkpoints/NAME)")
    names = p.add_mutually_exclusive_group()
    names.add_argument("--domains", metavar="A,B,...", help="--as stargan: the domains, in the file's order (one-hot)")
    names.add_argument("--attrs", metavar="NAME,...", help="--as stargan: the attributes, in the file's order (CelebA: "
                       "Black_Hair,Blond_Hair,Brown_Hair,Male,Young)")
    p.add_argument("--label-nc", type=int, default=0, metavar="N", help="--as spade: the label classes it was trained on "
                   "(ade20k 150, coco 182, cityscapes 35)")
    p.add_argument("--dont-care", action="store_true", help="--as spade: it has a don't-care channel (255 in the maps; "
                   "ade20k, coco)")
    p.add_argument("--instances", action="store_true", help="--as spade: it takes instance maps (coco, cityscapes)")
    a = p.parse_args(argv)
    files = [Path(i) for i in a.items if "=" not in i]
    split = (lambda text: [n.strip() for n in text.split(",") if n.strip()] if text else [])
    print(import_run(files, a.preset, Path(a.out), [i for i in a.items if "=" in i], split(a.domains), split(a.attrs),
                     a.label_nc, a.dont_care, a.instances))
    return 0


def serve_main(argv=None) -> int:
    from .serve.app import serve_main as main
    return main(argv)


COMMANDS = {"evaluate": evaluate_main, "downscale": downscale_main, "info": info_main, "sample": sample_main,
            "export": export_main, "import": import_main, "serve": serve_main}
SUMMARIES = {
    "evaluate": "PSNR / SSIM of outputs against ground truth; FID / KID / IS of generated vs. real images (--metrics)",
    "downscale": "make super-resolution test pairs OUT/LR + OUT/HR from high-resolution photos (bicubic, antialiased)",
    "info": "what a run is: pipeline, step, parameters per network, EMA, data, and its translate.py options",
    "sample": "images from noise with a GAN run (dcgan, cgan, acgan, infogan): seeded, per class (--class), --grid",
    "export": "a run's inference under one condition as an ONNX graph (dynamic size), checked in onnxruntime",
    "import": "weights trained elsewhere (pix2pix/CycleGAN reference, ESRGAN, Real-ESRGAN, BasicSR SRResNet/SRGAN, StarGAN, MUNIT, UNIT, SPADE) -> an i2i run",
    "serve": "a local web page: drop images, pick domain / styles / class, see and download the outputs",
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
