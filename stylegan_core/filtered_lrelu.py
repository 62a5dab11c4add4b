"""StyleGAN3's filtered leaky ReLU: bias, upsample, leaky ReLU + clamp, low-pass, downsample."""

from __future__ import annotations

import math

from torch import Tensor

from .ops import Padding, bias_act, upfirdn2d


def filtered_lrelu(
    x: Tensor,  # [N, C, H, W]
    *,
    fu: Tensor | None,  # upsampling filter: [k] separable or [k, k]
    fd: Tensor | None,  # downsampling filter: [k] separable or [k, k] (radial)
    bias: Tensor | None,  # [C]
    up: int = 1,
    down: int = 1,
    padding: Padding = (0, 0, 0, 0),
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
) -> Tensor:  # [N, C, H', W']
    """Same result as NVIDIA's `filtered_lrelu` (its reference path) to float rounding."""
    x = bias_act(x, bias)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    return upfirdn2d(x, fd, down=down)
