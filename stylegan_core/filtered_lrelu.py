"""StyleGAN3's filtered leaky ReLU: bias, upsample, leaky ReLU + clamp, low-pass, downsample.

The official reference upsamples by inserting zeros and filters every sample, then filters at the
high rate and throws 3 of 4 results away. Here the upsampling is polyphase (a depthwise transposed
convolution touches only the real samples) and the downsampling filter is a strided convolution:
the same numbers with a fraction of the work.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from .ops import Padding, bias_act, can_run_inplace


def _crop_or_pad(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """x.narrow(dim, start, length), zero-filled where the window leaves x."""
    size = x.shape[dim]
    lo, hi = max(-start, 0), max(start + length - size, 0)
    if lo or hi:
        pad = [0, 0] * (x.ndim - 1 - dim) + [lo, hi]
        x = F.pad(x, pad)
        start += lo
    return x.narrow(dim, start, length)


def _upsample_axis(x: Tensor, f: Tensor, up: int, pad0: int, pad1: int, dim: int) -> Tensor:
    """Along dim (2 = H, 3 = W): zero-insert by `up`, pad, convolve with f [K] times `up`: polyphase."""
    C, K, n = x.shape[1], f.numel(), x.shape[dim]
    shape = [1, 1, 1, 1]
    shape[dim] = K
    stride = (up, 1) if dim == 2 else (1, up)
    w = (f * up).to(x.dtype).reshape(shape).expand(C, 1, *shape[2:])
    full = F.conv_transpose2d(x, w, stride=stride, groups=C)  # out[i*up + k] += x[i] * f[k]
    out_len = n * up + pad0 + pad1 - K + 1
    return _crop_or_pad(full, dim, K - 1 - pad0, out_len)


def _downsample(x: Tensor, f: Tensor | None, down: int) -> Tensor:
    """Convolve with f ([K] separable or [K, K]) and keep every `down`-th sample: one strided pass."""
    if f is None:
        return x[:, :, ::down, ::down] if down > 1 else x
    C = x.shape[1]
    f = f.to(x.dtype).flip(list(range(f.ndim)))
    if f.ndim == 2:
        return F.conv2d(x, f[None, None].expand(C, 1, *f.shape), stride=down, groups=C)
    x = F.conv2d(x, f.reshape(1, 1, 1, -1).expand(C, 1, 1, -1), stride=(1, down), groups=C)
    return F.conv2d(x, f.reshape(1, 1, -1, 1).expand(C, 1, -1, 1), stride=(down, 1), groups=C)


def filtered_lrelu(
    x: Tensor,  # [N, C, H, W]
    *,
    fu: Tensor | None,  # upsampling filter [K] (separable), None = identity
    fd: Tensor | None,  # downsampling filter [K] separable or [K, K] radial, None = identity
    bias: Tensor | None,  # [C]
    up: int = 1,
    down: int = 1,
    padding: Padding = (0, 0, 0, 0),
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
) -> Tensor:  # [N, C, H', W']
    """Same result as NVIDIA's `filtered_lrelu` (its reference path) to float rounding; x is not modified."""
    px0, px1, py0, py1 = padding
    x = bias_act(x, bias)  # a new tensor: the caller's x stays untouched
    if fu is None:
        if up > 1:
            raise ValueError("upsampling needs a filter")
        x = _crop_or_pad(x, 3, -px0, x.shape[3] + px0 + px1)
        x = _crop_or_pad(x, 2, -py0, x.shape[2] + py0 + py1)
    else:
        if fu.ndim != 1:
            raise ValueError("the upsampling filter must be separable (1-D taps)")
        x = _upsample_axis(x, fu, up, px0, px1, dim=3)
        x = _upsample_axis(x, fu, up, py0, py1, dim=2)
    if slope == 1 and gain == 1:  # the ToRGB layer: only the clamp
        if clamp is not None:
            x = x.clamp_(-clamp, clamp) if can_run_inplace(x) else x.clamp(-clamp, clamp)
    else:
        x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp, inplace=True)
    return _downsample(x, fd, down)
