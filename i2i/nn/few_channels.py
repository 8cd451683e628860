"""Wide-kernel convolutions with 1-4 channels on one side (a generator's 7x7 first and last
layers), in forms that oneDNN runs at speed.

Why: oneDNN vectorises over output channels, so a conv that produces 3 channels fills 3 of 16
lanes. Two of a ResNet generator's sums are like that: its 7x7 output layer (32 -> 3), and the
input gradient of its 7x7 first layer (3 <- 32). Both ran at 20-40 GFLOP/s where the other layers
run at 150-190 (2 cores, AVX-512).

- Output phases: y's pixels (2i+a, 2j+b) for each phase (a, b) are a stride-2 conv of x with the
  kernel shifted by (a, b) in an 8x8 window. So one stride-2 conv with 4x the output channels and
  a pixel shuffle give the same sums with 1.3x the products: 1.7 vs 4.1 ms (32 -> 3, 7x7, 128 px).
- The gradients go where oneDNN is fast. The output layer's input gradient is a conv from 3 to 32
  channels, and its weight gradient is taken as that of the equal transposed conv (0.8 and 1.1 ms
  against 5.9 and 4.4 for the plain conv's backward). The first layer keeps oneDNN's forward and
  weight gradient, and its input gradient is the output-phase sum.

The backward is written by hand and is not differentiable again: `cpu_convs` uses these only
outside `twice_differentiable()`.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

PHASES = 2  # 2x2 output phases: 3 channels become 12, a kernel 7x7 becomes 8x8


def phase_weight(w: torch.Tensor, s: int = PHASES) -> torch.Tensor:
    """(k s s) x c x (kh+s-1) x (kw+s-1): phase (a, b)'s kernel is w shifted by (a, b)."""
    k, c, kh, kw = w.shape
    shifted = [F.pad(w, (b, s - 1 - b, a, s - 1 - a)) for a in range(s) for b in range(s)]
    return torch.stack(shifted, 1).reshape(k * s * s, c, kh + s - 1, kw + s - 1)


def correlate(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """conv2d(x, w), stride 1, no padding, for a w with few output channels: one stride-s conv
    over the output's s x s phases, then a pixel shuffle. The bottom and right are padded to whole
    phases and cropped back."""
    s = PHASES
    oh, ow = x.size(2) - w.size(2) + 1, x.size(3) - w.size(3) + 1
    ph, pw = -oh % s, -ow % s
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    y = F.pixel_shuffle(F.conv2d(x, phase_weight(w, s), stride=s), s)
    return y[:, :, :oh, :ow] if ph or pw else y


def _full_padding(w: torch.Tensor) -> list[int]:
    return [w.size(3) - 1, w.size(3) - 1, w.size(2) - 1, w.size(2) - 1]


def _flipped_transposed(w: torch.Tensor) -> torch.Tensor:
    """The kernel whose correlation with a full-padded output gradient is the input gradient."""
    return w.flip(2, 3).transpose(0, 1)


def _gradients(ctx, g, input_grad, weight_and_bias_grads):
    """The backward both layers share: each gradient only where autograd needs it."""
    x, w = ctx.saved_tensors
    g = g.contiguous()
    need_x, need_w, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]
    grad_x = input_grad(g, w) if need_x else None
    grad_w, grad_b = weight_and_bias_grads(g, x, w, need_w, need_b) if need_w or need_b else (None, None)
    return grad_x, grad_w, grad_b


def _conv_input_grad(g, w):
    """A few-output layer's input gradient: a conv from its few channels to many (oneDNN's fast case)."""
    return F.conv2d(F.pad(g, _full_padding(w)), _flipped_transposed(w))


def _transposed_weight_and_bias_grads(g, x, w, need_w, need_b):
    """The weight gradient of the same sum written as a transposed conv (oneDNN runs that one fast)."""
    grad_w = None
    if need_w:
        pad = (w.size(2) - 1, w.size(3) - 1)
        grad_wt = torch.ops.aten.convolution_backward(g, x, _flipped_transposed(w), None, (1, 1), pad, (1, 1), True,
                                                      (0, 0), 1, (False, True, False))[1]
        grad_w = _flipped_transposed(grad_wt)
    return grad_w, g.sum((0, 2, 3)) if need_b else None


def _phase_input_grad(g, w):
    """A few-input layer's input gradient: a correlation with few outputs, by output phases."""
    return correlate(F.pad(g, _full_padding(w)), _flipped_transposed(w))


def _onednn_weight_and_bias_grads(g, x, w, need_w, need_b):
    _, grad_w, grad_b = torch.ops.aten.convolution_backward(g, x, w, [w.size(0)], (1, 1), (0, 0), (1, 1), False,
                                                            (0, 0), 1, (False, need_w, need_b))
    return grad_w, grad_b


class FewOutputsConv(torch.autograd.Function):
    """y = conv2d(x, w, b), stride 1, no padding (pad x first), w with few output channels."""

    @staticmethod
    def forward(ctx, x, w, b):
        y = correlate(x, w)
        if b is not None:
            y = y + b.view(1, -1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        return _gradients(ctx, g, _conv_input_grad, _transposed_weight_and_bias_grads)


class FewInputsConv(torch.autograd.Function):
    """y = conv2d(x, w, b), stride 1, no padding (pad x first), w with few input channels: oneDNN's
    forward and weight gradient, the input gradient by output phases."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return F.conv2d(x, w, b)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        return _gradients(ctx, g, _phase_input_grad, _onednn_weight_and_bias_grads)
