"""3x3 and 4x4 convolutions by Winograd's minimal filtering (Lavin & Gray 2016): F(4x4, 3x3)
and F(3x3, 4x4).

Why: the residual blocks of a ResNet generator (128-256-channel 3x3 convs on 32x32 and larger
maps) and a PatchGAN's stride-1 4x4 layer (256 -> 512 channels, a quarter of a pix2pix step) are
already near this CPU's matrix-product speed in oneDNN, so the only way to train faster is fewer
multiplications. Both tilings read a 6x6 input tile per output tile (4x4 outputs of a 3x3
kernel, or 3x3 outputs of a 4x4 kernel) and need 36 products per channel pair instead of 144:
the work becomes 36 batched matrix products (`torch.bmm`), framed by small fixed linear
transforms. Where `pays_off` says so, forward + backward measured 1.0-1.85x oneDNN (3x3) and
1.4-1.7x (4x4: 256 -> 512 channels, 100 tiles) on 2 cores (`python benchmarks/throughput.py
--reference-settings`, "without Winograd", gives the whole-step effect). The transforms are
memory-bound: on a host whose memory is busy with other tenants the gain shrinks.

The sum is the same convolution in another order: results agree with oneDNN to ~1e-5 of the
output's range (the transforms' fractions round differently), far below what training notices,
but not bit for bit. Its backward is written by hand and is not differentiable again: code that
differentiates twice (gradient penalties) runs its convolutions inside
`cpu_convs.twice_differentiable()`.
"""
from __future__ import annotations

import contextlib
from fractions import Fraction

import torch
from torch.nn import functional as F
from torch.utils.weak import WeakIdKeyDictionary

A = 6  # input tile size: output tile m + kernel r - 1, for both tilings
POINTS = (0, 1, -1, 2, -2)  # the interpolation points, and infinity
# The input transform for these points (Lavin & Gray's B^T); it depends only on the points.
_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
       [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]


def filter_transform(r: int) -> list[list[Fraction]]:
    """G (6 x r): the kernel evaluated at each point, over the product of that point's
    distances to the others; infinity takes the kernel's last tap."""
    rows = []
    for p in POINTS:
        scale = Fraction(1)
        for q in POINTS:
            if q != p:
                scale *= p - q
        rows.append([Fraction(p) ** k / scale for k in range(r)])
    return rows + [[Fraction(int(k == r - 1)) for k in range(r)]]


def output_transform(m: int) -> list[list[Fraction]]:
    """A^T (m x 6): the product's values at the points back to m outputs."""
    return [[Fraction(p) ** i for p in POINTS] + [Fraction(int(i == m - 1))] for i in range(m)]


def _kron(rows) -> torch.Tensor:
    t = torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float64)
    return torch.kron(t, t).float()


class Tiling:
    """F(m x m, r x r): each 2-D transform as one matrix product over flattened tiles."""

    def __init__(self, r: int):
        self.r, self.m = r, A - r + 1
        self.input, self.filter, self.output = _kron(_BT), _kron(filter_transform(r)), _kron(output_transform(self.m))


TILINGS = {3: Tiling(3), 4: Tiling(4)}  # kernel size -> F(4x4, 3x3), F(3x3, 4x4)

# Where it measured faster than oneDNN (forward + backward, 2 cores, and within a training step):
# wide layers with enough tiles to fill the products. 4x4 kernels need wider layers and more
# tiles: their transformed weights (36 x out x in, 19 MB for 256 -> 512) are made and read once
# per call, so few tiles leave the products memory-bound (PatchGAN's layer at batch 2: 1.2x
# alone, 0.97x inside a CycleGAN step; at batch 4, pix2pix: a step 1.10x faster).
MIN_CHANNELS = {3: 128, 4: 256}
MIN_TILES = {3: 64, 4: 100}  # 3x3: a 32x32 output map at batch 1; 4x4: a 15x15 map at batch 4


def pays_off(n: int, out_h: int, out_w: int, in_channels: int, out_channels: int, kernel: int = 3) -> bool:
    if kernel not in TILINGS:
        return False
    m = TILINGS[kernel].m
    tiles = n * -(-out_h // m) * -(-out_w // m)
    wide = min(in_channels, out_channels) >= MIN_CHANNELS[kernel]
    return wide and tiles >= MIN_TILES[kernel]


_kept: WeakIdKeyDictionary | None = None  # weight -> (address, its transform), inside kept_transforms()


@contextlib.contextmanager
def kept_transforms():
    """Inside, each weight's transform is made once and kept: a network called twice between
    optimizer steps (CycleGAN's G on (a, b), then on F(b); a discriminator in the generator's
    step and in its own) transforms its weights once. On a training step's cache-cold memory the
    transform took 0.4-0.8 ms for 128 channels (19 MB for 256 -> 512). The caller says when
    weights change (`forget`): optimizers update in place without a trace PyTorch keeps (fused
    Adam leaves `_version` alone), so nothing here could notice."""
    global _kept
    was, _kept = _kept, WeakIdKeyDictionary()
    try:
        yield
    finally:
        _kept = was


def forget(weights) -> None:
    """These weights changed (an optimizer step): transform them afresh."""
    if _kept is not None:
        for w in weights:
            _kept.pop(w, None)


def transformed_weight(weight: torch.Tensor, t: Tiling) -> torch.Tensor:
    """u = G w G^T for every channel pair: 36 x out x in."""
    kept = _kept.get(weight) if _kept is not None else None
    if kept is not None and kept[0] == weight.data_ptr():
        return kept[1]
    k, c, r = weight.size(0), weight.size(1), t.r
    u = (t.filter @ weight.detach().permute(2, 3, 0, 1).reshape(r * r, k * c)).view(A * A, k, c)
    if _kept is not None:
        _kept[weight] = (weight.data_ptr(), u)
    return u


class WinogradConv(torch.autograd.Function):
    """y = conv2d(x, weight, bias), stride 1, no padding (pad x first), weight K x C x r x r."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        t = TILINGS[weight.size(-1)]
        m, r = t.m, t.r
        n, c, h, w = x.shape
        k = weight.size(0)
        oh, ow = h - r + 1, w - r + 1
        th, tw = -(-oh // m), -(-ow // m)            # tiles down and across
        ph, pw = th * m + r - 1 - h, tw * m + r - 1 - w  # zeros below and right to fill the last tiles
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        p = n * th * tw
        tiles = x.unfold(2, A, m).unfold(3, A, m)  # n c th tw 6 6, overlapping views
        tiles = tiles.permute(4, 5, 1, 0, 2, 3).reshape(A * A, c * p)
        v = (t.input @ tiles).view(A * A, c, p)
        u = transformed_weight(weight, t)
        y = t.output @ torch.bmm(u, v).view(A * A, k * p)  # m*m x (k n th tw)
        if bias is not None:
            y.view(m * m, k, p).add_(bias[:, None])
        y = y.view(m, m, k, n, th, tw).permute(3, 2, 4, 0, 5, 1).reshape(n, k, th * m, tw * m)
        y = y[:, :, :oh, :ow].contiguous() if ph or pw else y
        ctx.save_for_backward(u, v)
        ctx.dims = (n, c, h, w, k, th, tw, ph, pw)
        ctx.tiling = t
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        u, v = ctx.saved_tensors
        n, c, h, w, k, th, tw, ph, pw = ctx.dims
        t = ctx.tiling
        m, r = t.m, t.r
        p = n * th * tw
        if ph or pw:
            grad = F.pad(grad, (0, pw, 0, ph))
        g = grad.reshape(n, k, th, m, tw, m).permute(3, 5, 1, 0, 2, 4).reshape(m * m, k * p)
        g = (t.output.t() @ g).view(A * A, k, p)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            gt = t.input.t() @ torch.bmm(u.transpose(1, 2), g).view(A * A, c * p)
            grad_x = _overlap_add(gt.view(A, A, c, n, th, tw).permute(3, 2, 4, 0, 5, 1), m)[:, :, :h, :w]
        if ctx.needs_input_grad[1]:
            gu = torch.bmm(g, v.transpose(1, 2))
            grad_w = (t.filter.t() @ gu.view(A * A, k * c)).view(r, r, k, c).permute(2, 3, 0, 1)
        if ctx.needs_input_grad[2]:
            grad_b = grad[:, :, :h - r + 1, :w - r + 1].sum((0, 2, 3))
        return grad_x, grad_w, grad_b


def _overlap_add(tiles: torch.Tensor, m: int) -> torch.Tensor:
    """n c th 6 tw 6 tiles, m apart -> the n c (m th + m) (m tw + m) map they cover, overlaps
    summed: a tile's rows m..5 are the next tile's first rows (6 - m <= m for both tilings).
    (F.fold does this 2-3x slower.)"""
    n, c, th, _, tw, _ = tiles.shape
    out = tiles.new_zeros(n, c, th + 1, m, tw + 1, m)
    out[:, :, :th, :, :tw, :] += tiles[:, :, :, :m, :, :m]
    out[:, :, 1:, :A - m, :tw, :] += tiles[:, :, :, m:, :, :m]
    out[:, :, :th, :, 1:, :A - m] += tiles[:, :, :, :m, :, m:]
    out[:, :, 1:, :A - m, 1:, :A - m] += tiles[:, :, :, m:, :, m:]
    return out.view(n, c, (th + 1) * m, (tw + 1) * m)


def conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return WinogradConv.apply(x, weight, bias)
