"""Convolutions on tiny feature maps, computed as one matrix product on the CPU.

Why: oneDNN's CPU convolutions are tuned for large maps. At the bottom of a U-Net (8x8 down to
1x1 maps with 512-1024 channels) and in the last layers of deep discriminators, a conv is a
skinny matrix product over mostly padding, and oneDNN ran it 1.5-3x slower than `unfold` +
`matmul` (transposed: `matmul` + `fold`), forward and backward, on a 2-core machine: about a
fifth of a pix2pix unet_128 training step. The product is the same sum in another order, so
results agree to float rounding (~1e-6); weights, state-dict keys and checkpoints are unchanged.

Only float32 CPU tensors of at most `MAX_AREA` pixels take this path, never while exporting or
compiling (those see the plain convolution); every other call is the normal one.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

MAX_AREA = 64  # input pixels (8 x 8); at 16 x 16 both ways measured the same


def _small(x: torch.Tensor, module: nn.Module) -> bool:
    return (x.dim() == 4 and x.shape[-1] * x.shape[-2] <= MAX_AREA and x.device.type == "cpu"
            and x.dtype == torch.float32 and module.groups == 1 and module.dilation == (1, 1)
            and module.padding_mode == "zeros" and not isinstance(module.padding, str)
            and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling()
            and not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export())


class SmallMapConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _small(x, self):
            return super().forward(x)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        n, _, h, w = x.shape
        cols = F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw))  # N x (C k k) x L
        # one product for the whole batch (a batched one would read the weights once per image)
        y = self.weight.reshape(self.out_channels, -1) @ cols.transpose(0, 1).reshape(cols.size(1), -1)
        if self.bias is not None:
            y = y + self.bias[:, None]
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        return y.view(self.out_channels, n, oh, ow).transpose(0, 1)


class SmallMapConvTranspose2d(nn.ConvTranspose2d):
    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if output_size is not None or self.output_padding != (0, 0) or not _small(x, self):
            return super().forward(x, output_size)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        n, c, h, w = x.shape
        cols = self.weight.reshape(c, -1).t() @ x.transpose(0, 1).reshape(c, n * h * w)  # (C_out k k) x N L
        cols = cols.view(cols.size(0), n, h * w).transpose(0, 1)
        y = F.fold(cols, ((h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw), (kh, kw),
                   padding=(ph, pw), stride=(sh, sw))
        return y if self.bias is None else y + self.bias[:, None, None]


SWAPS = {nn.Conv2d: SmallMapConv2d, nn.ConvTranspose2d: SmallMapConvTranspose2d}


def use_small_map_convs(net: nn.Module, on: bool = True) -> nn.Module:
    """Give every plain Conv2d / ConvTranspose2d of `net` the small-map path (in place: the
    modules keep their parameters and names; spectral-normed or other subclassed convs are left).
    `on=False` turns it back into PyTorch's own modules (benchmarks and tests compare the two)."""
    swaps = SWAPS if on else {fast: plain for plain, fast in SWAPS.items()}
    for m in net.modules():
        if type(m) in swaps:
            m.__class__ = swaps[type(m)]
    return net
