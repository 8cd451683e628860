"""3x3 convolutions by Winograd's minimal filtering, F(4x4, 3x3) (Lavin & Gray 2016).

Why: the residual blocks of a ResNet generator are 128-256-channel 3x3 convs on 32x32 and
larger maps, and oneDNN already runs them near this CPU's matrix-product speed, so the only way
to train faster is fewer multiplications. Winograd computes each 4x4 output tile from a 6x6
input tile with 36 products per channel pair instead of 144: the work becomes 36 batched
matrix products (`torch.bmm`), framed by small fixed linear transforms. Forward and backward
measured 1.0-1.85x oneDNN on 2 cores where `pays_off` says so, and a CycleGAN step 1.17x
(`python benchmarks/throughput.py --reference-settings`, "without Winograd").

The sum is the same convolution in another order: results agree with oneDNN to ~1e-5 of the
output's range (the transforms' fractions round differently), far below what training notices,
but not bit for bit. Its backward is written by hand and is not differentiable again, so only
generators use it (gradient penalties differentiate discriminators twice).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

M, A = 4, 6  # output and input tile sizes

# The transforms for interpolation points 0, +-1, +-2, infinity (Lavin & Gray, F(4x4, 3x3)),
# as Kronecker products so each 2-D transform is one matrix product over flattened tiles.
_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
       [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
_G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]


def _kron(rows) -> torch.Tensor:
    m = torch.tensor(rows, dtype=torch.float64)
    return torch.kron(m, m).float()


INPUT, FILTER, OUTPUT = _kron(_BT), _kron(_G), _kron(_AT)  # 36x36, 36x9, 16x36

MIN_CHANNELS = 128  # below this (and below MIN_TILES) the transforms cost more than they save
MIN_TILES = 64      # 4x4 output tiles in the batch: a 32x32 output map at batch 1


def pays_off(n: int, out_h: int, out_w: int, in_channels: int, out_channels: int) -> bool:
    """Where it measured faster than oneDNN (forward + backward, 2 cores): wide layers with
    enough tiles to fill the products."""
    tiles = n * -(-out_h // M) * -(-out_w // M)
    return in_channels >= MIN_CHANNELS and out_channels >= MIN_CHANNELS and tiles >= MIN_TILES


class WinogradConv3x3(torch.autograd.Function):
    """y = conv2d(x, weight, bias), stride 1, no padding (pad x first), weight K x C x 3 x 3."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        n, c, h, w = x.shape
        k = weight.size(0)
        th, tw = -(-(h - 2) // M), -(-(w - 2) // M)  # tiles down and across
        ph, pw = th * M + 2 - h, tw * M + 2 - w       # zeros below and right to fill the last tiles
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        p = n * th * tw
        tiles = x.unfold(2, A, M).unfold(3, A, M)  # n c th tw 6 6, overlapping views
        tiles = tiles.permute(4, 5, 1, 0, 2, 3).reshape(A * A, c * p)
        v = (INPUT @ tiles).view(A * A, c, p)
        u = (FILTER @ weight.permute(2, 3, 0, 1).reshape(9, k * c)).view(A * A, k, c)
        y = OUTPUT @ torch.bmm(u, v).view(A * A, k * p)  # 16 x (k n th tw)
        if bias is not None:
            y.view(M * M, k, p).add_(bias[:, None])
        y = y.view(M, M, k, n, th, tw).permute(3, 2, 4, 0, 5, 1).reshape(n, k, th * M, tw * M)
        y = y[:, :, :h - 2, :w - 2].contiguous() if ph or pw else y
        ctx.save_for_backward(u, v)
        ctx.dims = (n, c, h, w, k, th, tw, ph, pw)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        u, v = ctx.saved_tensors
        n, c, h, w, k, th, tw, ph, pw = ctx.dims
        p = n * th * tw
        if ph or pw:
            grad = F.pad(grad, (0, pw, 0, ph))
        g = grad.reshape(n, k, th, M, tw, M).permute(3, 5, 1, 0, 2, 4).reshape(M * M, k * p)
        g = (OUTPUT.t() @ g).view(A * A, k, p)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            gt = INPUT.t() @ torch.bmm(u.transpose(1, 2), g).view(A * A, c * p)
            grad_x = _overlap_add(gt.view(A, A, c, n, th, tw).permute(3, 2, 4, 0, 5, 1))[:, :, :h, :w]
        if ctx.needs_input_grad[1]:
            gu = torch.bmm(g, v.transpose(1, 2))
            grad_w = (FILTER.t() @ gu.view(A * A, k * c)).view(3, 3, k, c).permute(2, 3, 0, 1)
        if ctx.needs_input_grad[2]:
            grad_b = grad[:, :, :h - 2, :w - 2].sum((0, 2, 3))
        return grad_x, grad_w, grad_b


def _overlap_add(tiles: torch.Tensor) -> torch.Tensor:
    """n c th 6 tw 6 tiles, 4 apart -> the n c (4 th + 4) (4 tw + 4) map they cover, overlaps
    summed: a tile's rows 4-5 are the next tile's rows 0-1. (F.fold does this 2-3x slower.)"""
    n, c, th, _, tw, _ = tiles.shape
    out = tiles.new_zeros(n, c, th + 1, M, tw + 1, M)
    out[:, :, :th, :, :tw, :] += tiles[:, :, :, :M, :, :M]
    out[:, :, 1:, :A - M, :tw, :] += tiles[:, :, :, M:, :, :M]
    out[:, :, :th, :, 1:, :A - M] += tiles[:, :, :, :M, :, M:]
    out[:, :, 1:, :A - M, 1:, :A - M] += tiles[:, :, :, M:, :, M:]
    return out.view(n, c, (th + 1) * M, (tw + 1) * M)


def conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return WinogradConv3x3.apply(x, weight, bias)
