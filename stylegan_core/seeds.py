"""Seeds and latents exactly as NVIDIA's tools draw them, and the `0-9,42` range syntax."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch


def parse_seeds(text: str) -> list[int]:
    """'0-9,42' -> [0, 1, ..., 9, 42]; ranges are inclusive. ValueError with a usage hint otherwise."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ValueError(f"bad seed {part!r}: use integers and inclusive ranges, e.g. '0-9,42'") from None
        if a < 0 or b < 0 or a >= 2**32 or b >= 2**32:
            raise ValueError(f"bad seed {part!r}: seeds are between 0 and 2**32 - 1")
        if b < a:
            raise ValueError(f"bad seed range {part!r}: the end is before the start (did you mean '{b}-{a}'?)")
        seeds.extend(range(a, b + 1))
    if not seeds:
        raise ValueError("no seeds given: use e.g. '0-9,42'")
    return seeds


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    """[1, z_dim] float64, exactly `np.random.RandomState(seed).randn(1, z_dim)` as gen_images.py."""
    return np.random.RandomState(seed).randn(1, z_dim)


def z_batch(seeds: Sequence[int], z_dim: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """z [len(seeds), z_dim] (float64, as gen_images.py draws it) for a batch of seeds."""
    return torch.from_numpy(np.concatenate([z_from_seed(s, z_dim) for s in seeds])).to(device)


def z_samples(n: int, z_dim: int, seed: int = 0, device: torch.device | str = "cpu") -> torch.Tensor:
    """z [n, z_dim] float32 from one random stream, `np.random.RandomState(seed).randn(n, z_dim)`: a sample
    of many latents (statistics, discovery), where z_batch gives each seed its own official z."""
    return torch.from_numpy(np.random.RandomState(seed).randn(n, z_dim)).float().to(device)


def class_label(c_dim: int, class_idx: int | None, batch: int = 1) -> torch.Tensor:
    """One-hot labels [batch, c_dim] (empty [batch, 0] for unconditional models), as gen_images.py."""
    label = torch.zeros([batch, c_dim])
    if c_dim == 0:
        return label
    if class_idx is None:
        raise ValueError(f"this model is class-conditional: choose a class between 0 and {c_dim - 1}")
    if not 0 <= class_idx < c_dim:
        raise ValueError(f"class {class_idx} is out of range: this model has classes 0-{c_dim - 1}")
    label[:, class_idx] = 1
    return label


def make_transform(translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0) -> np.ndarray:
    """3x3 image transform as gen_images.py builds it; StyleGAN3 takes its inverse."""
    m = np.eye(3)
    s = math.sin(angle_deg / 360.0 * math.pi * 2)
    c = math.cos(angle_deg / 360.0 * math.pi * 2)
    m[0][0], m[0][1], m[0][2] = c, s, translate[0]
    m[1][0], m[1][1], m[1][2] = -s, c, translate[1]
    return m


def input_transform(translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0) -> torch.Tensor:
    """The value gen_images.py writes into `synthesis.input.transform` (float32 [3, 3])."""
    return torch.from_numpy(np.linalg.inv(make_transform(translate, angle_deg))).to(torch.float32)
