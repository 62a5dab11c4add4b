"""Faces from seeds: a page of the app's gallery, the CLI's `generate`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stylegan_core import Generator

from .latents import PREVIEW_PRECISION, Latent, render, seed_latents

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
    precision: str = PREVIEW_PRECISION,
) -> SeedPage:
    """Seeds page * per_page onwards; `thumbnail` caps the image size (a picked face renders in full)."""
    first = page * per_page
    seeds = [s for s in range(first, first + per_page) if s <= LAST_SEED]
    latents = seed_latents(G, model, seeds, psi)
    images = render(G, latents, noise_mode, size=thumbnail, precision=precision)
    return SeedPage(images, [lat.label for lat in latents], latents, first)
