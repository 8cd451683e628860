"""Conv layers (and the reflection pads before them) that take the fastest exact route for each
call on the CPU.

Why: oneDNN's convolutions are near the matrix-product speed for mid-sized layers, and far from
it at the edges: tiny maps (small_maps.py), wide 3x3 and 4x4 stride-1 layers where Winograd does
a quarter of the multiplications (winograd.py), and wide-kernel layers with 1-4 channels on one
side on large maps, a generator's 7x7 first and last layers (few_channels.py: the output layer's
forward 2.5x faster, its backward 2.3x; the first layer's input gradient 2.2x). Reflection pads
keep PyTorch's forward and fold their gradient with slice-adds (reflect_pad.py, 2x).

Each route computes the same convolution; only float rounding differs. The modules are class-swapped at
build time: parameters, state-dict keys and checkpoints are those of nn.Conv2d. Only float32 CPU
tensors take them, never under autocast, tracing, export or compile (those see PyTorch's conv).
Winograd's and few_channels' backward passes are written by hand and cannot be differentiated
again: inside `twice_differentiable()` those layers run as plain autograd (the few-output layer
as the equal transposed convolution, which oneDNN also runs faster than the plain one).
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize

from . import few_channels, small_maps, winograd
from .reflect_pad import reflect_pad

# a layer between an image (1-4 channels) and 16+ channels with a 7x7 or larger kernel on a map of
# 64x64 or more: where the few-channel routes measured faster (a PatchGAN's 1-channel 30x30 head ran
# 0.8x, 3x3 output convs 0.4-0.8x forward)
FEW_CHANNELS, MANY_CHANNELS, FEW_CHANNELS_KERNEL, FEW_CHANNELS_AREA = 4, 16, 7, 64 * 64


_enabled = True
output_phases = True  # few_channels' routes for 7x7 layers to or from an image (benchmarks turn them off)
_hand_backward_allowed = True


@contextlib.contextmanager
def pytorch_convs():
    """PyTorch's own convolution for every call inside: a FLOP counter then counts the direct
    convolution's work, not Winograd's fewer products."""
    global _enabled
    was, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = was


@contextlib.contextmanager
def twice_differentiable():
    """No hand-written backward (Winograd, few_channels) for the calls inside, whose graphs can then
    be differentiated twice (gradient penalties). The other routes are plain autograd."""
    global _hand_backward_allowed
    was, _hand_backward_allowed = _hand_backward_allowed, False
    try:
        yield
    finally:
        _hand_backward_allowed = was


def _eager_cpu_float(x: torch.Tensor) -> bool:
    return (_enabled and x.dim() == 4 and x.device.type == "cpu" and x.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling()
            and not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export())


def _own_route(x: torch.Tensor, conv: nn.Module) -> bool:
    return (_eager_cpu_float(x) and conv.groups == 1 and conv.dilation == (1, 1)
            and not isinstance(conv.padding, str))


class CPUConv2d(nn.Conv2d):
    winograd = False  # use_cpu_convs(..., winograd=True) sets it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _own_route(x, self):
            return super().forward(x)
        if small_maps.applies(x) and self.padding_mode == "zeros":
            return small_maps.conv2d(x, self)
        if self.stride != (1, 1):
            return super().forward(x)
        (kh, kw) = self.kernel_size
        if self.winograd and _hand_backward_allowed and kh == kw and winograd.pays_off(
                x.size(0), x.size(2) + 2 * self.padding[0] - kh + 1, x.size(3) + 2 * self.padding[1] - kw + 1,
                self.in_channels, self.out_channels, kh):
            return winograd.conv(self._padded(x), self.weight, self.bias)
        if min(self.kernel_size) >= FEW_CHANNELS_KERNEL and x.shape[-1] * x.shape[-2] >= FEW_CHANNELS_AREA:
            phases = output_phases and _hand_backward_allowed
            if self.out_channels <= FEW_CHANNELS and self.in_channels >= MANY_CHANNELS:
                if phases:
                    return few_channels.FewOutputsConv.apply(self._padded(x), self.weight, self.bias)
                return F.conv_transpose2d(self._padded(x), self.weight.flip(2, 3).transpose(0, 1), self.bias,
                                          padding=(kh - 1, kw - 1))
            # only its input gradient differs from oneDNN's: an image that needs none takes the plain conv
            if self.in_channels <= FEW_CHANNELS and self.out_channels >= MANY_CHANNELS and phases and x.requires_grad:
                return few_channels.FewInputsConv.apply(self._padded(x), self.weight, self.bias)
        return super().forward(x)

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        """x with this layer's padding added (what the conv then reads with padding 0)."""
        if self.padding == (0, 0):
            return x
        if self.padding_mode == "reflect":
            return reflect_pad(x, self._reversed_padding_repeated_twice)
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        return F.pad(x, self._reversed_padding_repeated_twice, mode=mode)


class CPUConvTranspose2d(nn.ConvTranspose2d):
    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if (output_size is None and self.output_padding == (0, 0) and _own_route(x, self)
                and small_maps.applies(x)):
            return small_maps.conv_transpose2d(x, self)
        return super().forward(x, output_size)


class CPUReflectionPad2d(nn.ReflectionPad2d):
    """The pad before a generator's convs, with reflect_pad's faster backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reflect_pad(x, self.padding) if _eager_cpu_float(x) else super().forward(x)


SWAPS = {nn.Conv2d: CPUConv2d, nn.ConvTranspose2d: CPUConvTranspose2d, nn.ReflectionPad2d: CPUReflectionPad2d}


def use_cpu_convs(net: nn.Module, on: bool = True, winograd: bool = False) -> nn.Module:
    """Give every plain Conv2d / ConvTranspose2d / ReflectionPad2d of `net` these routes (in
    place: the modules keep their parameters and names; spectral-normed or other subclassed convs
    are left).
    `winograd`: also Winograd for wide 3x3 and 4x4 stride-1 layers (its backward cannot be
    differentiated again: penalties run D under `twice_differentiable()`). `on=False` turns them
    back into PyTorch's own modules (benchmarks and tests compare the two)."""
    swaps = SWAPS if on else {fast: plain for plain, fast in SWAPS.items()}
    for m in net.modules():
        if type(m) in swaps:
            m.__class__ = swaps[type(m)]
        elif not on and parametrize.is_parametrized(m) and type(m).__bases__[0] in swaps:
            # spectral norm added after the swap: its per-module class derives from ours
            base = swaps[type(m).__bases__[0]]
            type(m).__bases__, type(m).__name__ = (base,), f"Parametrized{base.__name__}"
        if isinstance(m, CPUConv2d):
            m.winograd = winograd
        else:
            vars(m).pop("winograd", None)
    return net
