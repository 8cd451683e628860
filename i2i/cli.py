"""Command-line front ends behind `train.py` and `translate.py`.

User mistakes surface as `UserError` and are printed as one line ("error: ...") with exit
status 2; Ctrl-C / SIGTERM end with 130 / 143 and say what was kept; anything else is a bug
and keeps its traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


EXIT_USER_ERROR, EXIT_SIGINT, EXIT_SIGTERM = 2, 130, 143  # 128 + signal number, as shells report it


def run_cli(main, argv=None) -> int:
    from .errors import UserError, one_line
    try:
        return main(argv) or 0
    except UserError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_SIGINT


# ---------------------------------------------------------------------------- train
def train_parser() -> argparse.ArgumentParser:
    from .config import preset_descriptions
    presets = preset_descriptions()
    width = max(map(len, presets))
    p = argparse.ArgumentParser(
        prog="train.py", description="Train an image-to-image GAN on a folder of images.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="presets (i2i/configs/NAME.yaml):\n"
        + "".join(f"  {name:<{width}}  {text}\n" for name, text in presets.items())
        + "\nKEY=VALUE sets any config key by dotted path, e.g. model.generator.ngf=32 loss.l1=50.\n"
        "The SR presets train paper-sized nets for 200,000-1,000,000 steps; on a CPU start small, e.g.\n"
        "  python train.py pix2pix --data DIR --out checkpoints/NAME --iters 2000 model.generator.ngf=16 \\\n"
        "      model.discriminator.ndf=16 model.generator.residual=true model.generator.upsample=resize\n"
        "CPU threads: train.threads=N; 0 (default) = OMP_NUM_THREADS if set, else the cores divided among\n"
        "the i2i processes already running.\n"
        "\nexit status: 0 done; 2 a user error (one line); 130 (Ctrl-C) / 143 (SIGTERM) interrupted after\n"
        "saving: continue with --resume. An --out that already holds a run is refused unless --resume.")
    p.add_argument("pipeline", metavar="PIPELINE", help="a preset name (listed below) or a YAML config path "
                   "whose pipeline: key names the preset it builds on")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--data", help="dataset folder (data.root)")
    p.add_argument("--out", required=True, help="run folder, e.g. checkpoints/NAME (refused if it holds a run, "
                   "unless --resume)")
    p.add_argument("--iters", type=int, help="training steps (train.iters: 2000 unless the preset says; the SR "
                   "presets 200,000-1,000,000)")
    p.add_argument("--batch-size", type=int, help="train.batch_size")
    p.add_argument("--crop-size", type=int, help="data.crop_size")
    p.add_argument("--load-size", type=int, help="data.load_size")
    p.add_argument("--device", help="auto | cpu | cuda (train.device)")
    p.add_argument("--seed", type=int, help="train.seed")
    p.add_argument("--scale", type=int, help="super-resolution factor (data.scale)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    return p


def _flags_to_config(a) -> dict:
    extra: dict = {"data": {}, "train": {}}
    for flag, (section, key) in {"data": ("data", "root"), "iters": ("train", "iters"),
                                 "batch_size": ("train", "batch_size"), "crop_size": ("data", "crop_size"),
                                 "load_size": ("data", "load_size"), "device": ("train", "device"),
                                 "seed": ("train", "seed"), "scale": ("data", "scale")}.items():
        v = getattr(a, flag)
        if v is not None:
            # --data "" stays "" (refused at start), not Path("") == "."
            extra[section][key] = (str(Path(v).expanduser()) if v else "") if flag == "data" else v
    if a.crop_size is not None and a.load_size is None:
        extra["data"].setdefault("load_size", a.crop_size)  # --crop-size alone means: no extra scaling
    return extra


def train_main(argv=None) -> int:
    a = train_parser().parse_intermixed_args(argv)  # before torch is imported: --help is instant
    import torch

    from . import config as C
    from .data import build_dataset
    from .engine import Trainer
    from .errors import UserError
    from .pipelines import build_pipeline, pipeline_class

    out = Path(a.out)
    if a.resume:
        saved = out / "config.yaml"
        if not saved.exists():
            raise UserError(f"--resume: {saved} not found; is {out} a run folder?")
        cfg = C.from_dict(C.read_yaml(saved))
        C.merge(cfg, _flags_to_config(a))  # e.g. more --iters
        for o in a.overrides:
            C.merge(cfg, C.parse_override(o))
        C.validate(cfg)
    else:
        from .engine.checkpoint import WEIGHTS
        if (out / WEIGHTS).exists():
            raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        cfg = C.load(a.pipeline, a.overrides, _flags_to_config(a))
    if not cfg.data.root:  # Path("") is ".": it would train on whatever folder the shell is in
        raise UserError("no dataset given: pass --data DIR (or data.root=DIR)")
    # saved absolute in config.yaml, so --resume reads the same data from any working folder (a
    # missing folder is left as typed, for the dataset's "not found" error to name it so)
    if Path(cfg.data.root).expanduser().is_dir():
        cfg.data.root = str(Path(cfg.data.root).expanduser().resolve())
    from .files import writable_dir
    from .runtime import keep_freed_memory, set_threads
    writable_dir(out, "--out")
    keep_freed_memory()
    note = set_threads(cfg.train.threads)
    if note:
        print(note)
    dataset = build_dataset(cfg.data, pipeline_class(cfg).data_kind, exclude=[out])  # never its own samples
    torch.manual_seed(cfg.train.seed)
    pipeline = build_pipeline(cfg, dataset.meta)
    print(f"{cfg.pipeline}: {len(dataset)} training images from {cfg.data.root}; run folder {out}")
    trainer = Trainer(pipeline, dataset, cfg, out, resume=a.resume)
    finished = False
    try:
        last = trainer.fit()
        finished = True
    finally:
        from .engine import distributed
        distributed.cleanup(finished)
    if trainer.interrupted:
        print(f"interrupted at step {trainer.step} of {cfg.train.iters}; saved to {out}; "
              f"continue with: train.py {a.pipeline} --out {out} --resume", file=sys.stderr)
        return 128 + int(trainer.interrupted)
    print(f"done: step {trainer.step}, {trainer.images_per_second:.2f} images/s; "
          + ", ".join(f"{k}={v:.3g}" for k, v in last.items()))
    return 0


# ------------------------------------------------------------------------ translate
def translate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="translate.py", description="Translate (or super-resolve) images with a trained run.",
        epilog="Outputs overwrite files of the same name in --out; inputs are never overwritten. "
        "exit status: 0 all written; 1 some inputs skipped (each named); 2 a user error (one line).")
    p.add_argument("run", help="run folder (checkpoints/NAME), a .safetensors checkpoint, or an .onnx file "
                   "exported with python -m i2i export (runs in onnxruntime; its condition is the exported one)")
    p.add_argument("inputs", nargs="+", help="image files and/or folders (searched recursively)")
    p.add_argument("--out", required=True, help="output folder; outputs mirror the inputs' relative paths (PNG) "
                   "and replace files of the same name there")
    add_condition_flags(p, several=True)
    p.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch",
                   help="onnxruntime: export the run to ONNX (once per condition, in a temporary folder) and "
                   "translate with onnxruntime; the same padding, tiles and files (default torch)")
    p.add_argument("--batch-size", type=int, default=1, help="images of equal size are batched together")
    p.add_argument("--device", default="auto")
    p.add_argument("--half", action="store_true", help="CUDA: run the network in fp16 (autocast); about half the "
                   "memory, faster on tensor-core GPUs")
    p.add_argument("--tile", type=int, help="run images larger than this (input pixels) in blended tiles, "
                   "bounding memory; 0 = whole image (default: 256 for super-resolution, else 0)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (0 = auto: OMP_NUM_THREADS, else the cores shared among running i2i processes)")
    p.add_argument("--tile-overlap", type=int, default=16,
                   help="context pixels each tile reads beyond its own area, blended with its neighbours")
    p.add_argument("--html", action="store_true", help="also write OUT/index.html: one row per input with the "
                   "input, every output (and for super-resolution the bicubic upscale), thumbnails linking to the "
                   "full images; relative links, so the folder can be zipped and shared")
    return p


def add_condition_flags(p: argparse.ArgumentParser, several: bool) -> None:
    """The flags that choose a run's condition (translate.py, and python -m i2i export, which
    takes one condition: `several=False` leaves out --all-domains and --styles K)."""
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="CycleGAN runs: which way (default AtoB)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--to", metavar="DOMAIN", help="multi-domain runs (StarGAN): the target domain")
    if several:
        target.add_argument("--all-domains", action="store_true",
                            help="multi-domain runs: one output per domain, named STEM_to-DOMAIN.png")
    target.add_argument("--attrs", metavar="NAME=0|1,...",
                        help="attribute runs (StarGAN on an attribute table): the named attributes are set, "
                        "every attribute not named is 0")
    styles = p.add_mutually_exclusive_group()
    if several:
        styles.add_argument("--styles", type=int, metavar="K",
                            help="multimodal runs (MUNIT): K outputs per input, each in a random style, named "
                            "STEM_style-k.png (k = 0..K-1; default 1, named STEM.png)")
    styles.add_argument("--style-from", metavar="IMG",
                        help="multimodal runs (MUNIT, SPADE with a style encoder): the style of this image of the "
                        "target domain, for every input")
    p.add_argument("--seed", type=int,
                   help="multimodal runs: output k takes random style number SEED + k (default 0): the same "
                   "command gives the same pictures")
    p.set_defaults(all_domains=False, styles=None)


def condition_flags(a) -> dict[str, str]:
    """The condition flags as given ({"--to": "photo"}): what an exported graph was fixed with."""
    given = {"--direction": a.direction, "--to": a.to, "--attrs": a.attrs, "--style-from": a.style_from,
             "--seed": a.seed, "--class": getattr(a, "cls", None), "--styles": a.styles,
             "--all-domains": "" if a.all_domains else None}
    return {flag: str(value) for flag, value in given.items() if value is not None}


def without_defaults(flags: dict[str, str]) -> dict[str, str]:
    """Flags that say what leaving them out says (--direction AtoB, --seed 0) compare as absent."""
    return {k: v for k, v in flags.items() if (k, v) not in (("--direction", "AtoB"), ("--seed", "0"))}


def flags_text(flags: dict[str, str]) -> str:
    return " ".join(f"{k} {v}".strip() for k, v in flags.items())


FLAG_OF_OPTION = {"direction": "--direction", "domain": "--to / --all-domains", "attrs": "--attrs",
                  "style": "--styles / --seed / --style-from"}


def _parse_attrs(text: str, known: list[str]) -> dict[str, int]:
    from .errors import UserError
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if value.strip() not in ("0", "1"):
            raise UserError(f"--attrs: write NAME=0 or NAME=1 separated by commas, got {part!r} "
                            f"(attributes: {', '.join(known)})")
        out[name.strip()] = int(value)
    return out


def requests_from_flags(a, options: dict[str, list], load_reference=None) -> list[tuple[str, "object"]]:
    """(output name suffix, Request) per output: one output keeps the input's stem, several
    are named STEM_to-DOMAIN (--all-domains) or STEM_style-k (--styles K). A flag the run has no
    use for is an error that says what the run takes. `load_reference(path)`: the --style-from
    image as a C x H x W tensor."""
    from .errors import UserError
    from .pipelines import Request
    takes = "; ".join(f"{FLAG_OF_OPTION.get(k, k)}: {', '.join(map(str, v))}" for k, v in options.items()) or "no options"
    given = {"direction": a.direction is not None, "domain": bool(a.to or a.all_domains), "attrs": a.attrs is not None,
             "style": a.styles is not None or a.style_from is not None or a.seed is not None}
    for key, used in given.items():
        if used and key not in options:
            raise UserError(f"{FLAG_OF_OPTION[key].split(' / ')[0]} does not apply to this run ({takes})")
    if a.all_domains:
        return [(f"_to-{d}", Request(domain=d)) for d in options["domain"]]
    if a.attrs is not None:
        return [("", Request(attrs=_parse_attrs(a.attrs, options["attrs"])))]
    direction = a.direction or "AtoB"
    if "style" in options:
        if a.style_from is not None:
            return [("", Request(direction=direction, style="reference", reference=load_reference(a.style_from)))]
        k, seed = 1 if a.styles is None else a.styles, a.seed or 0
        if k < 1:
            raise UserError(f"--styles must be >= 1, got {k}")
        if k == 1:
            return [("", Request(direction=direction, seed=seed))]
        return [(f"_style-{i}", Request(direction=direction, seed=seed + i)) for i in range(k)]
    return [("", Request(direction=direction, domain=a.to))]


def collect_inputs(inputs: list[str], out: Path) -> list[tuple[Path, Path]]:
    """(source, destination) pairs: folders keep their relative layout, files their name. A
    folder scan skips --out and run folders, so earlier outputs are never translated again."""
    from .data.io import is_image, is_run_folder, list_images
    from .errors import UserError
    jobs = []
    out_real = out.resolve()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            inside_out = out_real == p.resolve() or out_real in p.resolve().parents
            files = [] if inside_out else list_images(p, exclude=[out])
            if not files:
                why = (f" (it is inside --out {out}, whose files are never inputs)" if inside_out else
                       " (it is a training run folder; pass its samples/ folder or images)" if is_run_folder(p) else "")
                raise UserError(f"no images in folder {p}{why}")
            jobs += [(f, out / f.relative_to(p).with_suffix(".png")) for f in files]
        elif p.is_file():
            if not is_image(p):
                raise UserError(f"{p} is not an image file (known extensions: .png .jpg .jpeg .bmp .tif .webp)")
            jobs.append((p, out / (p.stem + ".png")))
        else:
            raise UserError(f"input not found: {p}")
    sources = {s.resolve() for s, _ in jobs}
    seen = {}
    for s, d in jobs:
        if d.resolve() in sources:
            raise UserError(f"output {d} would overwrite the input {d}; choose another --out")
        if d in seen:
            raise UserError(f"{s} and {seen[d]} would both be written to {d}; translate them separately")
        seen[d] = s
    return jobs


def onnx_translators(tr, requests: list, a) -> dict:
    """--backend onnxruntime on a run: one graph per condition, exported to a temporary folder
    (onnxruntime holds the model in memory, so the folder goes at once)."""
    import tempfile

    from .inference import Translator
    from .inference.export import export_onnx
    out = {}
    with tempfile.TemporaryDirectory(prefix="i2i-onnx-") as tmp:
        for k, (suffix, request) in enumerate(requests):
            print(f"exporting to ONNX for onnxruntime ({k + 1}/{len(requests)})", file=sys.stderr)
            path = Path(tmp) / f"graph{k}.onnx"
            export_onnx(tr, path, request, check=False)
            out[suffix] = Translator.from_run(path, a.device)
    return out


def export_parser() -> argparse.ArgumentParser:
    from .inference.export import OPSET
    p = argparse.ArgumentParser(
        prog="python -m i2i export", description=(
            f"Write a run's inference as an ONNX graph (opset {OPSET}; batch, height and width dynamic) under one "
            "condition chosen by the flags below, as translate.py would take them. The run's config goes into "
            "the file, so translate.py FILE.onnx INPUTS --out DIR runs it in onnxruntime with the same padding "
            "and tiles. The export is checked: onnxruntime against PyTorch on two input sizes."))
    p.add_argument("run", help="run folder (checkpoints/NAME) or a .safetensors checkpoint")
    p.add_argument("--out", required=True, help="the .onnx file to write (replaced if it exists)")
    add_condition_flags(p, several=False)
    p.add_argument("--class", dest="cls", metavar="C", help="class-conditional GAN runs: the class the graph draws "
                   "(its input is then the noise z, N x z_dim)")
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-PyTorch check")
    return p


def export_main(argv=None) -> int:
    from .data.io import read_image
    from .errors import UserError
    from .inference import Translator
    from .inference.export import export_onnx
    from .pipelines import Request

    a = export_parser().parse_args(argv)
    out = Path(a.out)
    if out.suffix.lower() != ".onnx":
        raise UserError(f"--out {out}: name the file FILE.onnx")
    if str(a.run).lower().endswith(".onnx"):
        raise UserError(f"{a.run} is already an ONNX graph: export from its run folder (checkpoints/NAME)")
    tr = Translator.from_run(a.run, "cpu")
    p = tr.pipeline
    if p.input_kind == "none":
        if any(v is not None for v in (a.direction, a.to, a.attrs, a.style_from)):
            raise UserError(f"this {tr.cfg.pipeline} run makes images from noise: it takes --class (and --seed), "
                            f"nothing else")
        label = None
        if a.cls is not None:
            from .inference.sampler import class_index
            names = p.options().get("class", [])
            if not names:
                raise UserError(f"--class does not apply: this {tr.cfg.pipeline} run is not class-conditional")
            label = class_index(a.cls, names)
        request = Request(label=label, seed=a.seed or 0)
    else:
        if a.cls is not None:
            raise UserError("--class applies to GAN runs that make images from noise (dcgan, cgan, acgan, infogan)")
        (_, request), = requests_from_flags(a, p.options(), lambda f: tr.prepare_image(read_image(Path(f))))
    flags = condition_flags(a)
    diffs = export_onnx(tr, out, request, flags)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB), {tr.cfg.pipeline}"
          + (f", condition {flags_text(flags)}" if flags else ""))
    if diffs:
        print("onnxruntime vs PyTorch, largest absolute difference: "
              + ", ".join(f"{k}: {v:.2g}" for k, v in diffs.items()))
    return 0


def translate_main(argv=None) -> int:
    from tqdm import tqdm

    from .data.io import read_image, write_image
    from .errors import UserError
    from .inference import Translator
    from .inference.translator import out_of_memory

    a = translate_parser().parse_args(argv)
    if a.batch_size < 1:
        raise UserError("--batch-size must be >= 1")
    out = Path(a.out)
    if (a.tile is not None and a.tile < 0) or a.tile_overlap < 0 or a.threads < 0:
        raise UserError("--tile, --tile-overlap and --threads must be >= 0")
    from .files import writable_dir
    from .runtime import keep_freed_memory, set_threads
    keep_freed_memory()
    set_threads(a.threads)
    tr = Translator.from_run(a.run, a.device, a.half)
    if tr.pipeline.input_kind == "none":
        raise UserError(f"this {tr.cfg.pipeline} run makes images from noise; it has nothing to translate: use "
                        f"python -m i2i sample {a.run} --n 64 --out DIR")
    exported = getattr(tr.pipeline, "condition_flags", None)  # an .onnx file: its condition is in the graph
    if exported is not None:
        given, fixed = without_defaults(condition_flags(a)), without_defaults(exported)
        if "--styles" in given or "--all-domains" in given:
            raise UserError(f"{a.run} holds one condition ({flags_text(exported) or 'the default'}); for several "
                            f"outputs export one file per --to DOMAIN or --seed S (python -m i2i export RUN ...)")
        if any(fixed.get(k) != v for k, v in given.items()):
            raise UserError(f"{a.run} was exported with {flags_text(exported) or 'the default condition'} (fixed in "
                            f"the graph); for {flags_text(given)} export another: python -m i2i export RUN --out "
                            f"FILE.onnx {flags_text(given)}")
        requests = [("", None)]
    else:
        requests = requests_from_flags(a, tr.pipeline.options(), lambda p: tr.prepare_image(read_image(Path(p))))
        for _, request in requests:
            tr.condition(request, 1)  # a request the run cannot serve stops here, before any image is read
    translators = {suffix: tr for suffix, _ in requests}
    if a.backend == "onnxruntime" and exported is None:
        if a.half:
            raise UserError("--half applies to the torch backend; leave it out with --backend onnxruntime")
        translators = onnx_translators(tr, requests, a)
    tile = tr.pipeline.default_tile if a.tile is None else a.tile
    if tile and not tr.pipeline.tile_safe:
        raise UserError(f"--tile does not apply to this {tr.cfg.pipeline} run: its style code shapes the whole "
                        f"picture, so each tile would repeat it; translate whole maps (leave --tile out)")
    jobs = collect_inputs(a.inputs, out)
    writable_dir(out, "--out")
    failed = written = 0
    pending: list = []
    gallery = None
    if a.html:
        from .serve.gallery import Gallery
        gallery = Gallery(out, f"{tr.cfg.pipeline}: {Path(a.run).name}" + (f" ({flags_text(condition_flags(a))})"
                                                                          if condition_flags(a) else ""))

    def flush():
        nonlocal written
        images = [im for _, im in pending]
        shown: list[list] = [[] for _ in pending]  # per input: (label, file, output) for the gallery
        for suffix, request in requests:  # one request's outputs in memory at a time (--all-domains)
            try:
                outputs = translators[suffix].translate_images(images, request, tile, a.tile_overlap)
            except (RuntimeError, MemoryError) as e:
                if not out_of_memory(e):
                    raise
                h, w = images[0].rgb.shape[:2]
                fix = f"use a smaller --tile (now {tile})" if tile else "use --tile 256 to run it in blended tiles"
                raise UserError(f"out of memory translating {pending[0][0][0]} ({w}x{h}): {fix}"
                                + (" or --batch-size 1" if len(images) > 1 else "")) from None
            for k, ((src, dst), res) in enumerate(zip([j for j, _ in pending], outputs)):
                path = dst.with_name(dst.stem + suffix + dst.suffix)
                write_image(path, res.rgb, res.alpha, res.bits, res.icc)
                if gallery is not None:
                    shown[k].append((suffix.lstrip("_") or "output", path, res))
        if gallery is not None:
            for ((src, dst), img), outs in zip(pending, shown):
                name = dst.relative_to(out).with_suffix(src.suffix).as_posix()
                gallery.add_translation(name, dst, img, tr.as_picture(img), outs, tr.scale)
        written += len(pending)
        pending.clear()

    try:
        for src, dst in tqdm(jobs, desc="translate", unit="img", dynamic_ncols=True):
            try:
                img = tr.read_input(src)
            except UserError as e:
                tqdm.write(f"skipped: {e}")
                failed += 1
                continue
            if pending and (pending[0][1].rgb.shape != img.rgb.shape or len(pending) >= a.batch_size):
                flush()
            pending.append(((src, dst), img))
        if pending:
            flush()
    except KeyboardInterrupt:
        if gallery is not None:
            gallery.write()
        print(f"\ninterrupted: wrote {written} of {len(jobs)} image(s) to {out} (each one whole); "
              f"run the same command again to redo them", file=sys.stderr)
        return EXIT_SIGINT
    page = gallery.write() if gallery is not None else None
    print(f"wrote {written} image(s) to {out}" + (f"; {failed} skipped" if failed else "")
          + (f"; gallery: {page}" if page else ""))
    return 1 if failed else 0
