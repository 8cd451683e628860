"""Inception-v3 features for FID / KID / IS, from torchvision's ImageNet weights, never downloaded.

FID from torchvision's weights is close to but NOT identical with the FID numbers in papers,
which use the TensorFlow Inception graph (pytorch-fid / torch-fidelity port that one): compare
numbers computed here with each other, not with published tables.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError

WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"  # the file torchvision's Inception_V3_Weights fetch


def hub_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def resize_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """N x C x H x W in [-1, 1] -> N x 3 x size x size: grayscale repeated, bilinear (antialiased
    when shrinking; the same as plain bilinear when enlarging)."""
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    if x.shape[1] != 3:
        raise ValueError(f"need 1 or 3 channels, got {x.shape[1]}")
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


class InceptionFeatures(nn.Module):
    """forward(images in [-1, 1], N x C x H x W, C = 1 or 3) -> (pool3 features N x 2048, logits N x 1000).

    `weights`: a state-dict file of torchvision's inception_v3; "" = the torch hub cache
    ($TORCH_HOME/hub/checkpoints/inception_v3_google-0cc3c7bd.pth). Nothing is downloaded: a missing
    file is a one-line UserError saying where to put it. Images are resized to 299 x 299 and fed as
    [-1, 1], which is exactly what torchvision's ImageNet normalisation followed by the weights'
    transform_input=True produces (the Google weights were trained on [-1, 1] inputs).
    """

    input_size = 299

    def __init__(self, weights: str = "", _random_seed: int | None = None):
        super().__init__()
        from torchvision.models import inception_v3
        if _random_seed is None:
            path = Path(weights).expanduser() if weights else hub_weights_path()
            if not path.is_file():
                where = (f"{path} not found" if weights else f"not in the torch hub cache ({path})")
                raise UserError(
                    f"Inception weights {where}: download https://download.pytorch.org/models/{WEIGHTS_FILE} and "
                    f"pass --inception-weights PATH, or save it as {hub_weights_path()}; --features own needs no "
                    f"download (its FID is not comparable with Inception FID)")
        with torch.random.fork_rng(devices=[]):
            if _random_seed is not None:
                torch.manual_seed(_random_seed)
            self.net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
        if _random_seed is None:
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                self.net.load_state_dict(state)
            except Exception as e:  # pickle, zip and key-mismatch errors all mean: not this file
                why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise UserError(f"{path} is not torchvision's inception_v3 state dict ({WEIGHTS_FILE}): {why}") \
                    from None
        self.net.requires_grad_(False)
        self._pool = None
        self.net.avgpool.register_forward_hook(lambda m, i, o: setattr(self, "_pool", o))
        self.eval()

    @classmethod
    def random(cls, seed: int = 0) -> "InceptionFeatures":
        """Randomly initialised (seeded) network: FOR TESTS ONLY; its numbers mean nothing."""
        return cls(_random_seed=seed)

    def train(self, mode: bool = True):
        return super().train(False)  # always evaluation mode: BN statistics and dropout fixed

    @torch.no_grad()
    def forward(self, images: torch.Tensor):
        logits = self.net(resize_batch(images.float(), self.input_size))
        return torch.flatten(self._pool, 1), logits

