"""`python -m i2i info RUN`: what a trained run is, read from its checkpoint alone.

Pipeline and networks, step, parameters per network, EMA, the data meta (domains,
attributes, classes) and the options translate.py accepts for it. Generators are counted
from the networks `Translator.from_run` builds; discriminators (not built for inference)
from the tensors stored in the safetensors file under `discriminators.NAME.`, leaving out
buffers (batch-norm statistics, spectral-norm vectors) so both count parameters alike.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
from safetensors import safe_open

from ..engine import checkpoint as ckpt
from ..errors import UserError
from ..pipelines import build_pipeline
from .translator import Translator

# Pipeline.options() keys -> the translate.py flag that names them
FLAGS = {"direction": "--direction", "domain": "--to", "attrs": "--attrs NAME=0|1,...",
         "style": "--styles K [--seed S] | --style-from IMG"}
NOTES = {"domain": " (or --all-domains)"}


def stored_sizes(path: Path) -> dict[str, int]:
    """Number of values of every tensor in a safetensors file, from its header (no data read)."""
    with safe_open(str(path), framework="pt") as f:
        return {k: math.prod(f.get_slice(k).get_shape()) for k in f.keys()}


def _buffer_names(cfg, meta) -> set[str] | None:
    """State-dict names of the training pipeline's buffers, from a build on the meta device (no
    memory, no weights); None if it cannot be built so (then every stored tensor counts)."""
    cfg = copy.deepcopy(cfg)
    cfg.loss.perceptual = 0.0  # the VGG of the perceptual loss is not one of the run's networks
    try:
        with torch.device("meta"):
            pipeline = build_pipeline(cfg, meta, training=True)
    except (UserError, RuntimeError, NotImplementedError):
        return None
    return {k for k, _ in pipeline.named_buffers()}


def _options(pipeline) -> list[str]:
    if getattr(pipeline, "input_kind", "image") == "labels" and not pipeline.options():
        return ["  none: label maps (files or folders) in, photos out"]
    lines = []
    for key, values in pipeline.options().items():
        flag = FLAGS.get(key, f"--{key.replace('_', '-')}")
        lines.append(f"  {flag}: {', '.join(map(str, values)) or '(none)'}{NOTES.get(key, '')}")
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def describe(run) -> str:
    """The `info` report for a run folder or a .safetensors checkpoint."""
    path = ckpt.resolve_checkpoint(run)
    translator = Translator.from_run(run, "cpu")  # reads and checks the whole file
    meta = ckpt.read_metadata(path)
    cfg, pipeline = translator.cfg, translator.pipeline
    sizes = stored_sizes(path)

    nets = {}
    for name, net in pipeline.generators.items():
        nets[f"generators.{name}"] = sum(p.numel() for p in net.parameters())
    discriminators = sorted({k.split(".")[1] for k in sizes if k.startswith("discriminators.")})
    buffers = _buffer_names(cfg, pipeline.meta) if discriminators else set()
    for name in discriminators:
        prefix = f"discriminators.{name}."
        nets[prefix[:-1]] = sum(n for k, n in sizes.items() if k.startswith(prefix) and k not in (buffers or ()))

    g, d = cfg.model.generator, cfg.model.discriminator
    nets_text = f"generator: {g.name}" + (", residual output" if g.residual else "")
    nets_text += f"; discriminator: {d.name}" if discriminators else "; no discriminator saved"
    scale = f" x{pipeline.scale}" if pipeline.scale != 1 else ""
    ema = any(k.startswith(ckpt.EMA_PREFIX) for k in sizes)
    dm = pipeline.meta
    user = "translate.py" if pipeline.input_kind != "none" else "sample"  # what inference reads the average
    width = max(map(len, nets))
    lines = [
        f"run: {path} (checkpoint schema {meta.get('schema_version', '?')})",
        f"pipeline: {cfg.pipeline}{scale} ({nets_text})",
        f"step: {int(meta.get('step', 0))} of {cfg.train.iters}",
        "parameters:",
        *(f"  {k:<{width}}  {n:,}" for k, n in nets.items()),
        "EMA: " + (f"yes (decay {cfg.train.ema}, {_plural(int(meta['ema_updates']), 'update')}; {user} "
                   f"uses it)" if ema and "ema_updates" in meta else f"yes ({user} uses it)" if ema else "no"),
        f"data: domains: {', '.join(dm.domains) or 'none'}; attributes: {', '.join(dm.attrs) or 'none'}; "
        f"label classes: {dm.label_classes}" + (" + don't care (255)" if dm.label_dont_care else "")
        + (" + instance boundaries" if dm.label_instances else "")
        + (f", colour-coded ({len(dm.label_palette)} palette colours)" if dm.label_palette else "")
        + f"; classes: {', '.join(dm.class_names) or dm.classes}",
        *(["translate.py options:", *_options(pipeline)] if pipeline.input_kind != "none" else
          ["python -m i2i sample options: --n N --seed S --truncation T --grid",
           *(f"  --class: {', '.join(v)}" for v in pipeline.options().values())]),
    ]
    if buffers is None:
        lines.insert(4 + len(nets), "  (discriminators: every stored tensor counted, norm statistics included)")
    return "\n".join(lines)
