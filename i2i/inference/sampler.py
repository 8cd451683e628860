"""`python -m i2i sample RUN --n 64 --out DIR`: pictures from a run that makes images from noise
(DCGAN, cGAN, ACGAN, InfoGAN).

Seeded: sample k is drawn from seed + k (`Pipeline.condition`), so the same command gives the
same pictures, and `--n 16` gives the first 16 of `--n 64`. A class-conditional run writes
DIR/<class>/sample_KKKKK.png (the layout `python -m i2i evaluate --features own` scores for
class accuracy); without --class, samples go round the classes. --grid also writes DIR/grid.png
(one column per class when samples go round them).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from ..data.io import to_numpy, write_image
from ..errors import UserError
from ..pipelines import Request
from .translator import Translator


def sample_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m i2i sample", description=(
        "Images from noise with a trained GAN run (dcgan, cgan, acgan, infogan); the same --seed gives the "
        "same pictures."))
    p.add_argument("run", help="run folder (checkpoints/NAME) or a .safetensors checkpoint")
    p.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    p.add_argument("--class", dest="cls", metavar="C", help="class-conditional runs: a class name (its folder "
                   "name) or index; InfoGAN: the categorical code 0-9. Default: go round the classes")
    p.add_argument("--seed", type=int, default=0, help="sample k uses seed + k (default 0)")
    p.add_argument("--truncation", type=float, help="redraw noise values beyond +-T (e.g. 0.7): cleaner "
                   "pictures, less variety")
    p.add_argument("--grid", action="store_true", help="also write DIR/grid.png")
    p.add_argument("--out", required=True, help="output folder (files of the same name are replaced)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    return p


def class_index(given: str, names: list[str]) -> int:
    """A class by name first (folder names may be digits), else by index."""
    if given in names:
        return names.index(given)
    if given.lstrip("-").isdigit() and 0 <= int(given) < len(names):
        return int(given)
    raise UserError(f"--class {given}: not a class of this run; it knows: {', '.join(names)} "
                    f"(or an index 0-{len(names) - 1})")


@torch.no_grad()
def draw(pipeline, request: Request, n: int, batch_size: int = 64) -> torch.Tensor:
    """n samples (N x C x H x W in [-1, 1], on the CPU) for one request, batch_size at a time;
    sample k is drawn from request.seed + k (`Pipeline.condition`)."""
    cond = pipeline.condition(request, n)
    images = []
    for start in range(0, n, batch_size):
        part = {k: v[start:start + batch_size] if torch.is_tensor(v) else v for k, v in cond.items()}
        images.append(pipeline.sample(len(part["z"]), **part).float().cpu())
    return torch.cat(images)


def sample_main(argv=None) -> int:
    a = sample_parser().parse_args(argv)
    if a.n < 1 or a.batch_size < 1:
        raise UserError("--n and --batch-size must be >= 1")
    from ..files import writable_dir
    tr = Translator.from_run(a.run, a.device)
    p = tr.pipeline
    if p.input_kind != "none":
        raise UserError(f"this {tr.cfg.pipeline} run translates images; it does not sample from noise: use "
                        f"python translate.py {a.run} INPUTS --out DIR")
    names = p.options().get("class", [])
    exported = getattr(p, "condition_flags", None)  # an .onnx file: its class was chosen at export
    if exported is not None:
        names = p.class_options().get("class", [])
        fixed = exported.get("--class")
        if a.cls is not None and fixed is not None and class_index(a.cls, names) != class_index(fixed, names):
            raise UserError(f"{a.run} was exported for class {fixed} (fixed in the graph); export one per class: "
                            f"python -m i2i export RUN --out FILE.onnx --class {a.cls}")
        a.cls = fixed
    if a.cls is not None and not names:
        raise UserError(f"--class does not apply: this {tr.cfg.pipeline} run is not class-conditional")
    label = class_index(a.cls, names) if a.cls is not None else None
    out = Path(a.out)
    writable_dir(out, "--out")
    images = draw(p, Request(label=label, seed=a.seed, truncation=a.truncation), a.n, a.batch_size)
    for k, img in enumerate(images):
        folder = out / names[label if label is not None else k % len(names)] if names else out
        write_image(folder / f"sample_{k:05d}.png", to_numpy(img))
    if a.grid:
        from torchvision.utils import make_grid
        rows = len(names) if names and label is None else math.ceil(math.sqrt(a.n))
        grid = make_grid((images + 1) / 2, nrow=min(rows, a.n), padding=2, pad_value=1.0)
        write_image(out / "grid.png", grid.permute(1, 2, 0).numpy()[..., :images.size(1)])
    where = f"{out}/<class>/" if names else f"{out}/"
    print(f"wrote {a.n} sample(s) to {where}" + (f" and {out}/grid.png" if a.grid else ""))
    return 0
