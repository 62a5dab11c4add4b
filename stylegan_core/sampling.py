"""Seeds -> images, the way NVIDIA's gen_images.py does it (same z, labels, transform, rounding)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .generator import Generator
from .imaging import to_uint8
from .seeds import class_label, input_transform, z_batch, z_samples

ProgressCallback = Callable[[int, int], None]  # (done, total)


@torch.no_grad()
def generate_from_seeds(
    G: Generator,
    seeds: Sequence[int],
    *,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    class_idx: int | None = None,
    translate: tuple[float, float] = (0.0, 0.0),
    rotate: float = 0.0,
    batch_size: int = 1,
    callback: ProgressCallback | None = None,
    precision: str = "fp32",
) -> list[np.ndarray]:
    """One [H, W, C] uint8 image per seed. Batch size 1 in fp32 reproduces the official PNGs exactly."""
    transform = None
    if translate != (0.0, 0.0) or rotate != 0.0:
        if G.config.architecture != "stylegan3":
            raise ValueError("--translate / --rotate need a StyleGAN3 model")
        transform = input_transform(translate, rotate)
    device = G.device
    images: list[np.ndarray] = []
    for start in range(0, len(seeds), batch_size):
        chunk = seeds[start : start + batch_size]
        z = z_batch(chunk, G.z_dim, device)
        c = class_label(G.c_dim, class_idx, len(chunk)).to(device)
        img = G(
            z, c, truncation_psi, truncation_cutoff, noise_mode=noise_mode, transform=transform, precision=precision
        )
        images.extend(to_uint8(img))
        if callback is not None:
            callback(len(images), len(seeds))
    return images


@torch.no_grad()
def sample_ws(G: Generator, n: int, seed: int = 0) -> torch.Tensor:
    """n mapped latents w [n, w_dim] (no truncation) from `z_samples(n, z_dim, seed)`."""
    z = z_samples(n, G.z_dim, seed, G.device)
    return torch.cat([G.mapping(chunk, None)[:, 0] for chunk in z.split(1024)])
