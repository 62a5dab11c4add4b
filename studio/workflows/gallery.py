"""Faces from seeds: a page of the app's gallery, the CLI's `generate`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stylegan_core import Generator
from stylegan_core.sampling import generate_from_seeds

from .latents import Latent, render, seed_latents
from .progress import SILENT, Progress

LAST_SEED = 2**32 - 1  # NumPy's RandomState takes seeds below 2**32


@dataclass
class SeedPage:
    """One page of the gallery: the images with their captions, and the latents a click picks from."""

    images: list[np.ndarray]  # [H, W, C] uint8 each
    captions: list[str]
    latents: list[Latent]
    first_seed: int


def seed_page(
    G: Generator,
    model: str,
    page: int,
    per_page: int,
    psi: float,
    noise_mode: str = "const",
    thumbnail: int | None = None,
) -> SeedPage:
    """Seeds page * per_page onwards; `thumbnail` caps the image size (a picked face renders in full)."""
    first = page * per_page
    seeds = [s for s in range(first, first + per_page) if s <= LAST_SEED]
    latents = seed_latents(G, model, seeds, psi)
    images = render(G, latents, noise_mode, size=thumbnail)
    return SeedPage(images, [lat.label for lat in latents], latents, first)


def seed_images(
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
    progress: Progress = SILENT,
) -> list[np.ndarray]:
    """One [H, W, C] uint8 image per seed, exactly as NVIDIA's gen_images.py makes it (batch size 1)."""
    if G.c_dim == 0:
        class_idx = None
    return generate_from_seeds(
        G,
        seeds,
        truncation_psi=truncation_psi,
        truncation_cutoff=truncation_cutoff,
        noise_mode=noise_mode,
        class_idx=class_idx,
        translate=translate,
        rotate=rotate,
        batch_size=batch_size,
        callback=progress.counter("generate"),
    )
