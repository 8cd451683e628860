"""What SPADE and pix2pixHD share: the input is a semantic label map, not an image.

The label map (long ids, 255 = don't care) becomes the network input here, on the device:
one channel per class, one for "don't care" when the data uses it, and one for instance
boundaries when instance maps are given (pix2pixHD: two touching cars of one class are told
apart only by their boundary). D judges (label map, photo) pairs at two scales, so it learns
whether a photo fits *this* layout; G is also trained by matching D's features on the real
photo and by a VGG perceptual loss (both weight 10 in the papers).
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.label_maps import boundary_map, one_hot_labels, semantic_channels
from ..errors import UserError
from ..nn import build_discriminator, build_generator
from .base import Pipeline


def label_colours(n: int) -> torch.Tensor:
    """n distinct RGB colours in [-1, 1] (the PASCAL VOC bit-interleaved palette, which keeps
    neighbouring ids apart), so a person can check a layout by eye; 255 (don't care) is black."""
    colours = np.zeros((max(n, 1), 3), np.float32)
    for i in range(max(n, 1)):
        c, r, g, b = i + 1, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        colours[i] = (r, g, b)
    return torch.from_numpy(colours / 127.5 - 1)


def colourise(label_map: torch.Tensor, n: int) -> torch.Tensor:
    """N x 1 x H x W ids -> N x 3 x H x W colours in [-1, 1] (don't care and unknown ids black)."""
    ids = label_map[:, 0].long()
    palette = torch.cat([label_colours(n), torch.full((1, 3), -1.0)]).to(label_map.device)
    return palette[torch.where(ids < n, ids, n)].permute(0, 3, 1, 2)


class FromLabels(Pipeline):
    data_kind = "labels"
    input_kind = "labels"
    loss_terms = frozenset({"gan", "feature_matching", "perceptual", "l1"})

    def __init__(self, cfg, meta=None, training: bool = True):
        super().__init__(cfg, meta, training)
        if not self.meta.label_classes:
            raise UserError(f"{cfg.pipeline} needs label-map data (DIR/labels/ + DIR/images/); this run has no "
                            f"label classes")
        self.label_nc = semantic_channels(self.meta.label_classes, self.meta.label_dont_care,
                                          self.meta.label_instances)
        m, d = cfg.model, cfg.data
        self.generators["G"] = build_generator(m.generator, self.label_nc, d.out_channels, m.init, m.init_gain,
                                               **self.generator_context())
        if training:
            self.discriminators["D"] = build_discriminator(m.discriminator, self.label_nc + d.out_channels,
                                                           m.init, m.init_gain)

    def generator_context(self) -> dict:
        return {}

    # --- the input ------------------------------------------------------------------
    def semantics(self, label_map: torch.Tensor, instance: torch.Tensor | None = None) -> torch.Tensor:
        """Ids (N x 1 x H x W) and instance ids -> the network input (N x label_nc x H x W)."""
        meta = self.meta
        try:
            x = one_hot_labels(label_map.long(), meta.label_classes, meta.label_dont_care)
        except ValueError as e:
            raise UserError(f"label map: {e}") from None
        if meta.label_instances:
            if instance is None:
                raise UserError("this run was trained with instance maps (DIR/instances/); give one for every "
                                "label map")
            x = torch.cat([x, boundary_map(instance)], 1)
        return x

    def batch_semantics(self, batch: dict) -> torch.Tensor:
        return self.semantics(batch["label_map"], batch.get("instance"))

    # --- the two steps ----------------------------------------------------------------
    def generate(self, seg: torch.Tensor, batch: dict) -> tuple[torch.Tensor, dict]:
        """(fake photo, extra G loss terms) for a training batch."""
        return self.generators["G"](seg), {}

    def generator_step(self, batch):
        seg, real = self.batch_semantics(batch), batch["B"]
        fake, terms = self.generate(seg, batch)
        terms.update(self.generator_adversarial(self.discriminators["D"], torch.cat([seg, fake], 1),
                                                torch.cat([seg, real], 1)))
        terms.update(self.reconstruction_terms(fake, real))
        return terms, {"B": fake.detach()}

    def discriminator_step(self, batch, fakes=None):
        seg, real = self.batch_semantics(batch), batch["B"]
        if fakes is None:
            with torch.no_grad():
                fakes = {"B": self.generate(seg, batch)[0]}
        return self.discriminator_terms("D", self.discriminators["D"], torch.cat([seg, real], 1),
                                        torch.cat([seg, fakes["B"]], 1))

    # --- inference --------------------------------------------------------------------
    @property
    def input_channels(self) -> int:
        """What translate() takes per pixel: the label id, and the instance id when trained with them."""
        return 2 if self.meta.label_instances else 1

    def options(self):
        return {}

    def condition(self, request, n: int) -> dict:
        return {}

    def translate(self, x, **cond):
        """x: N x 1 x H x W label ids (plus a second channel of instance ids) as floats."""
        seg = self.semantics(x[:, :1].round().long(), x[:, 1:2].round().long() if x.size(1) > 1 else None)
        return self.generators["G"](seg, **cond)

    def visuals(self, batch):
        with torch.no_grad():
            seg = self.batch_semantics(batch)
            return {"label map": colourise(batch["label_map"], self.meta.label_classes),
                    "output": self.generate(seg, batch)[0], "photo": batch["B"]}
