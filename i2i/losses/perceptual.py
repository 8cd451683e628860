"""Perceptual loss on VGG19 features (Johnson et al. 2016; pix2pixHD's layer weights).

Pretrained weights are never downloaded at run time: they come from `loss.vgg_weights`
or torchvision's file in the torch hub cache. Tests pass `weights=None` to get a randomly
initialised network explicitly.
"""
from __future__ import annotations

import os

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import UserError

VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's IMAGENET1K_V1 file name
# indices of layers in torchvision's vgg19().features
LAYER_INDEX = {
    "relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_4": 17,
    "relu4_1": 20, "relu4_4": 26, "relu5_1": 29, "relu5_4": 35,
    "conv3_4": 16, "conv4_4": 25, "conv5_4": 34,
}


def default_vgg_path() -> str:
    return os.path.join(torch.hub.get_dir(), "checkpoints", VGG19_FILE)


def load_vgg19_state(path: str | None) -> dict:
    path = path or default_vgg_path()
    if not os.path.exists(path):
        raise UserError(f"VGG19 weights not found at {path}: copy torchvision's {VGG19_FILE} there "
                        f"or set loss.vgg_weights=/path/to/{VGG19_FILE} (nothing is downloaded at run time)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # not a torch file, truncated, or a pickle that is not plain tensors
        raise UserError(f"VGG19 weights {path} cannot be read ({str(e).strip().splitlines()[0][:120]}): it should be "
                        f"torchvision's {VGG19_FILE}") from None
    if not isinstance(state, dict):
        raise UserError(f"VGG19 weights {path} hold no state dict: it should be torchvision's {VGG19_FILE}")
    return state


class VGGPerceptualLoss(nn.Module):
    def __init__(self, layers: dict[str, float], weights: str | None = "", criterion: str = "l1"):
        super().__init__()
        from torchvision.models import vgg19
        unknown = [k for k in layers if k not in LAYER_INDEX]
        if unknown:
            raise UserError(f"unknown VGG layer(s) {unknown} in loss.vgg_layers; known: {', '.join(LAYER_INDEX)}")
        net = vgg19(weights=None)
        if weights is not None:
            state = load_vgg19_state(weights)
            try:
                net.load_state_dict(state)
            except RuntimeError:
                path = weights or default_vgg_path()
                raise UserError(f"VGG19 weights {path} do not fit torchvision's VGG19 (wrong network or file): "
                                f"use torchvision's {VGG19_FILE}") from None
        last = max(LAYER_INDEX[k] for k in layers)
        self.features = net.features[: last + 1].eval()
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False  # keep pre-activation features (conv5_4) intact
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.layers = {LAYER_INDEX[k]: w for k, w in layers.items()}
        self.criterion = F.l1_loss if criterion == "l1" else F.mse_loss
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def train(self, mode: bool = True):
        super().train(mode)
        self.features.eval()  # frozen feature extractor
        return self

    def _feats(self, x):
        if x.size(1) == 1:
            x = x.expand(-1, 3, -1, -1)
        x = ((x + 1) / 2 - self.mean) / self.std
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.layers:
                out[i] = x
        return out

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fp, ft = self._feats(pred), self._feats(target.detach())
        return sum(w * self.criterion(fp[i], ft[i]) for i, w in self.layers.items())
