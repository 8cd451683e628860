"""Image pool (Shrivastava et al. 2017, used by CycleGAN): D sees a mix of current and
past fakes, which damps oscillation. Randomness comes from torch's RNG, whose state the
trainer saves, and the pool's content is part of the resume state."""
from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for img in images.detach():
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif torch.rand(1).item() < 0.5:
                k = int(torch.randint(0, self.size, (1,)).item())
                out.append(self.images[k].clone())
                self.images[k] = img
            else:
                out.append(img)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        return {"images": torch.cat(self.images, 0).cpu() if self.images else torch.empty(0)}

    def load_state_dict(self, state: dict, device=None) -> None:
        imgs = state["images"]
        self.images = [imgs[i:i + 1].to(device) for i in range(imgs.size(0))]
