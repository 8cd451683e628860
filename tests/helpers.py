"""Small builders shared by the end-to-end tests."""
from __future__ import annotations

from pathlib import Path

import torch

from i2i import config
from i2i.data import build_dataset
from i2i.engine import Trainer
from i2i.pipelines import build_pipeline, pipeline_class
from i2i.registry import GENERATORS

TINY = ["model.generator.name=unet", "model.generator.num_downs=5", "model.generator.ngf=8",
        "model.generator.dropout=0", "model.discriminator.ndf=8", "data.num_workers=0",
        "data.load_size=48", "data.crop_size=32", "train.batch_size=4", "train.log_every=5"]


def tiny_config(pipeline: str, root: Path, iters: int, *extra: str):
    """TINY's U-Net depth is left out when `extra` names a generator without that knob (a
    network's knobs are checked against its builder: nn/build.py)."""
    from i2i.nn.build import knobs
    names = [e.split("=", 1)[1] for e in extra if e.startswith("model.generator.name=")]
    tiny = TINY
    if names and names[-1] in GENERATORS and "num_downs" not in knobs("generator", names[-1]):
        tiny = [o for o in TINY if not o.startswith("model.generator.num_downs=")]
    return config.load(pipeline, tiny + [f"data.root={root}", f"train.iters={iters}", *extra])


def make_trainer(cfg, out: Path, resume: bool = False) -> Trainer:
    dataset = build_dataset(cfg.data, pipeline_class(cfg).data_kind)
    torch.manual_seed(cfg.train.seed)
    pipeline = build_pipeline(cfg, dataset.meta)
    return Trainer(pipeline, dataset, cfg, out, resume=resume, show_progress=False)
