"""What a run leaves behind besides weights: TensorBoard scalars and PNG sample grids."""
from __future__ import annotations

from pathlib import Path

import torch

from ..files import atomic_write


class RunLogger:
    def __init__(self, out: Path, enabled: bool = True):
        """`enabled`: False on every process of a distributed run but rank 0 (nothing written)."""
        self.out = Path(out)
        self.enabled = enabled
        self._tb = None

    @property
    def tb(self):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter
            self._tb = SummaryWriter(str(self.out / "logs"))
        return self._tb

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        for k, v in values.items():
            self.tb.add_scalar(k, v, step)

    def sample_grid(self, step: int, visuals: dict[str, torch.Tensor]) -> Path:
        """One row per sample, one column per visual (input, output, target, ...)."""
        from torchvision.utils import save_image  # torchvision takes seconds to import: only when needed
        cols = []
        for t in visuals.values():
            t = t.detach().float().cpu()[:4]
            cols.append(t.expand(-1, 3, -1, -1) if t.size(1) == 1 else t[:, :3])
        h = max(c.size(2) for c in cols)  # small inputs (SR) are shown enlarged, pixels kept sharp
        rows = torch.cat([torch.nn.functional.interpolate(c, size=(h, c.size(3) * h // c.size(2)), mode="nearest")
                          if c.size(2) != h else c for c in cols], dim=3)
        path = self.out / "samples" / f"step_{step:07d}.png"
        atomic_write(path, lambda tmp: save_image((rows + 1) / 2, tmp, nrow=1, padding=2, format="png"))
        return path

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
