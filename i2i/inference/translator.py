"""Load a trained run and translate images of any size.

Everything architectural comes from the config saved inside the checkpoint, so the user
never repeats a flag. Images are padded (reflect) to the generator's size multiple and
cropped back; alpha is carried around the network untouched; bit depth is kept.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..config import Config
from ..data.io import ImageData, to_numpy, to_tensor
from ..engine import checkpoint as ckpt
from ..engine.trainer import resolve_device
from ..pipelines import build_pipeline


class Translator:
    def __init__(self, pipeline, cfg: Config, device: torch.device, step: int = 0):
        self.pipeline, self.cfg, self.device, self.step = pipeline.eval().to(device), cfg, device, step

    @classmethod
    def from_run(cls, run, device: str = "auto") -> "Translator":
        tensors, meta = ckpt.read_weights(ckpt.resolve_checkpoint(run))
        cfg = ckpt.config_of(meta)
        pipeline = build_pipeline(cfg, training=False)
        ckpt.load_networks(pipeline, tensors, generators_only=True)
        return cls(pipeline, cfg, resolve_device(device), int(meta.get("step", 0)))

    def check_direction(self, direction: str) -> None:
        self.pipeline.check_direction(direction)

    @torch.no_grad()
    def translate_tensor(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """N x C x H x W in [-1, 1] -> translated, same H x W."""
        h, w = x.shape[-2:]
        m = self.pipeline.size_multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        y = self.pipeline.translate(x.to(self.device), direction)
        return y[..., :h, :w].cpu()

    def prepare(self, img: ImageData) -> torch.Tensor:
        """Match the channels the network was trained on (grayscale <-> RGB)."""
        rgb, want = img.rgb, self.cfg.data.in_channels if self.pipeline.directions == ("AtoB",) else 3
        if rgb.shape[2] == 1 and want == 3:
            rgb = np.repeat(rgb, 3, axis=2)
        elif rgb.shape[2] == 3 and want == 1:
            rgb = (rgb @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
        return to_tensor(rgb)

    def translate_images(self, images: list[ImageData], direction: str = "AtoB") -> list[ImageData]:
        """A batch of same-sized images -> translated images (alpha, bit depth, ICC kept)."""
        x = torch.stack([self.prepare(im) for im in images])
        y = self.translate_tensor(x, direction)
        return [ImageData(to_numpy(t), im.alpha, im.bits, im.icc) for t, im in zip(y, images)]
