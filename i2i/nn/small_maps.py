"""Convolutions on tiny feature maps, computed as one matrix product on the CPU.

Why: oneDNN's CPU convolutions are tuned for large maps. At the bottom of a U-Net (8x8 down to
1x1 maps with 512-1024 channels) and in the last layers of deep discriminators, a conv is a
skinny matrix product over mostly padding, and oneDNN ran it 1.5-3x slower than `unfold` +
`matmul` (transposed: `matmul` + `fold`), forward and backward, on a 2-core machine: about a
fifth of a pix2pix unet_128 training step. The product is the same sum in another order, so
results agree to float rounding (~1e-6); weights, state-dict keys and checkpoints are unchanged.

Only float32 CPU tensors of at most `MAX_AREA` pixels take this path (the choice is made in
cpu_convs.py).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

MAX_AREA = 64  # input pixels (8 x 8); at 16 x 16 both ways measured the same


def applies(x: torch.Tensor) -> bool:
    return x.shape[-1] * x.shape[-2] <= MAX_AREA


def conv2d(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    n, _, h, w = x.shape
    cols = F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw))  # N x (C k k) x L
    # one product for the whole batch (a batched one would read the weights once per image)
    y = conv.weight.reshape(conv.out_channels, -1) @ cols.transpose(0, 1).reshape(cols.size(1), -1)
    if conv.bias is not None:
        y = y + conv.bias[:, None]
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return y.view(conv.out_channels, n, oh, ow).transpose(0, 1)


def conv_transpose2d(x: torch.Tensor, conv: nn.ConvTranspose2d) -> torch.Tensor:
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    n, c, h, w = x.shape
    cols = conv.weight.reshape(c, -1).t() @ x.transpose(0, 1).reshape(c, n * h * w)  # (C_out k k) x N L
    cols = cols.view(cols.size(0), n, h * w).transpose(0, 1)
    y = F.fold(cols, ((h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw), (kh, kw),
               padding=(ph, pw), stride=(sh, sw))
    return y if conv.bias is None else y + conv.bias[:, None, None]
