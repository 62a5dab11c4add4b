"""Differentiable augmentation for small datasets, with ADA's adaptive probability.

Each image is, with probability p per transform: flipped, translated by up to 1/8 of its size
(reflect padding), and changed in brightness, saturation and contrast. The same pipeline is applied
to real and generated images before D, so G never learns the augmentations (Karras et al. 2020;
Zhao et al. 2020). p follows ADA's rule: raised when D is over-confident on reals (E[sign D(x)] > target).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class AdaptiveAugment:
    def __init__(self, *, target: float = 0.6, speed_kimg: float = 500.0, p: float = 0.0) -> None:
        self.p = p
        self.target = target
        self.speed_kimg = speed_kimg
        self._signs: list[Tensor] = []

    def __call__(self, x: Tensor) -> Tensor:  # [N, C, H, W] -> [N, C, H, W]
        if self.p <= 0:
            return x
        return augment(x, self.p)

    def observe(self, real_logits: Tensor) -> None:
        self._signs.append(real_logits.detach().sign().mean())

    def adjust(self, images_seen: int) -> None:
        """Move p towards keeping E[sign D(real)] at the target; `images_seen` since the last call."""
        if not self._signs:
            return
        rt = torch.stack(self._signs).mean().item()
        self._signs.clear()
        step = images_seen / (self.speed_kimg * 1000)
        self.p = float(min(max(self.p + step * (1 if rt > self.target else -1), 0.0), 1.0))


def _per_sample(p: float, n: int, device: torch.device) -> Tensor:
    return (torch.rand(n, 1, 1, 1, device=device) < p).float()


def augment(x: Tensor, p: float) -> Tensor:
    N, C, H, W = x.shape
    dev = x.device
    flip = _per_sample(p, N, dev)
    x = flip * x.flip(3) + (1 - flip) * x
    # Integer translation with reflect padding, as one gather.
    shift = (torch.rand(N, 2, device=dev) * 2 - 1) * 0.125 * _per_sample(p, N, dev).reshape(N, 1)
    pad = max(H, W) // 8 + 1
    padded = F.pad(x, [pad, pad, pad, pad], mode="reflect")
    dy = (shift[:, 0] * H).round().long() + pad
    dx = (shift[:, 1] * W).round().long() + pad
    rows = (torch.arange(H, device=dev)[None, :] + dy[:, None])[:, None, :, None].expand(N, C, H, W + 2 * pad)
    x = padded.gather(2, rows)
    cols = (torch.arange(W, device=dev)[None, :] + dx[:, None])[:, None, None, :].expand(N, C, H, W)
    x = x.gather(3, cols)
    # Colour: brightness, saturation, contrast.
    b = torch.randn(N, 1, 1, 1, device=dev) * 0.2 * _per_sample(p, N, dev)
    x = x + b
    if C == 3:
        mean = x.mean(dim=1, keepdim=True)
        s = torch.exp2(torch.randn(N, 1, 1, 1, device=dev) * _per_sample(p, N, dev))
        x = mean + (x - mean) * s
    c = torch.exp2(torch.randn(N, 1, 1, 1, device=dev) * 0.5 * _per_sample(p, N, dev))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * c
