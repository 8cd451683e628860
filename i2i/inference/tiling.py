"""Run a fully convolutional network over an image of any size in tiles, without seams.

The image is cut into cores of `tile` x `tile` input pixels. Each core is processed inside
a window that adds `overlap` pixels of real image context on every side (windows at the
border are shifted inwards, so all windows have the same size and can be batched). A
window's output is weighted 0 on the outer half of its context band, then ramps linearly
to 1 across the inner half; neighbouring windows' weights are summed and normalised. So

  * a network whose receptive field reaches at most overlap / 2 pixels gives exactly the
    whole-image result (nothing it sees differs);
  * a deeper one gives a result that differs from it only by what lies beyond that reach,
    spread smoothly over the blend band: no visible seams.

Only one batch of windows is on the device at a time; the output is accumulated on the
CPU, so memory stays flat as the image grows (apart from the image itself).
"""
from __future__ import annotations

from typing import Callable

import torch


def _round_up(v: int, m: int) -> int:
    return -(-v // m) * m


def windows_1d(length: int, tile: int, overlap: int) -> list[tuple[int, int, bool, bool]]:
    """(start, size, ramp_at_start, ramp_at_end) per window along one axis."""
    size = min(length, tile + 2 * overlap)
    if size == length:
        return [(0, length, False, False)]
    starts = sorted({min(max(core - overlap, 0), length - size) for core in range(0, length, tile)})
    return [(s, size, s > 0, s + size < length) for s in starts]


def ramp_weights(size: int, ramp_start: bool, ramp_end: bool, band: int) -> torch.Tensor:
    """1-D weights over a window of `size` output pixels with a context band of `band` pixels:
    0 on the band's outer half, linear up to 1 across its inner half."""
    w = torch.ones(size)
    if band <= 0:
        return w
    half = band / 2
    pos = torch.arange(band, dtype=torch.float32) + 0.5  # distance from the window's edge
    ramp = ((pos - half) / half).clamp(0, 1)
    if ramp_start:
        w[:band] = torch.minimum(w[:band], ramp)
    if ramp_end:
        w[size - band:] = torch.minimum(w[size - band:], ramp.flip(0))
    return w


@torch.no_grad()
def tiled(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int, scale: int = 1,
          multiple: int = 1, device: torch.device | str = "cpu", batch: int = 1,
          progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """net over x (1 x C x H x W on the CPU, H and W multiples of `multiple`) in tiles; returns
    1 x C' x H*scale x W*scale on the CPU. `tile` and `overlap` are in input pixels and are
    rounded up to `multiple`. `progress(done, total)` is called after each batch of windows."""
    tile, overlap = _round_up(max(tile, multiple), multiple), _round_up(overlap, multiple)
    _, _, h, w = x.shape
    rows, cols = windows_1d(h, tile, overlap), windows_1d(w, tile, overlap)
    out = None
    norm_y, norm_x = torch.zeros(h * scale), torch.zeros(w * scale)
    wy = [ramp_weights(n * scale, a, b, overlap * scale) for _, n, a, b in rows]
    wx = [ramp_weights(n * scale, a, b, overlap * scale) for _, n, a, b in cols]
    for i, (y, hh, *_) in enumerate(rows):
        norm_y[y * scale:(y + hh) * scale] += wy[i]
    for j, (x0, ww, *_) in enumerate(cols):
        norm_x[x0 * scale:(x0 + ww) * scale] += wx[j]
    jobs = [(i, j) for i in range(len(rows)) for j in range(len(cols))]
    for k in range(0, len(jobs), batch):
        chunk = jobs[k:k + batch]
        crops = [x[..., rows[i][0]:rows[i][0] + rows[i][1], cols[j][0]:cols[j][0] + cols[j][1]] for i, j in chunk]
        ys = net(torch.cat(crops).to(device)).float().cpu()
        if out is None:
            out = torch.zeros(1, ys.shape[1], h * scale, w * scale)
        for (i, j), y in zip(chunk, ys):
            r, c = rows[i][0] * scale, cols[j][0] * scale
            out[0, :, r:r + y.shape[1], c:c + y.shape[2]] += y * wy[i][:, None] * wx[j][None, :]
        if progress is not None:
            progress(k + len(chunk), len(jobs))
    return out.div_(norm_y[:, None]).div_(norm_x[None, :])  # in place: the output is the big allocation
