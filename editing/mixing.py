"""Style mixing: take some layers' styles from another latent; coarse / middle / fine presets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.imaging import to_uint8
from stylegan_core.seeds import z_batch

PRESETS = ("coarse", "middle", "fine")


def layer_preset(num_ws: int, preset: str) -> list[int]:
    """Layers of a preset. The first 4 ws drive 4-8 px (pose, face shape), the next 4 16-32 px
    (features, eyes), the rest the fine detail and colour; for 18 ws: 0-3, 4-7, 8-17."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {PRESETS} or explicit layers")
    if num_ws >= 9:
        bounds = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, num_ws)}
    else:  # tiny models: thirds
        third = max(num_ws // 3, 1)
        bounds = {"coarse": (0, third), "middle": (third, 2 * third), "fine": (2 * third, num_ws)}
    lo, hi = bounds[preset]
    return list(range(lo, hi))


def mix_ws(ws_a: Tensor, ws_b: Tensor, layers_from_b: Sequence[int]) -> Tensor:
    """ws [N, num_ws, w_dim] of A with the listed layers taken from B (broadcast over N)."""
    if ws_a.shape[1:] != ws_b.shape[1:]:
        raise ValueError(f"latents of different shapes: {tuple(ws_a.shape)} and {tuple(ws_b.shape)}")
    out = ws_a.clone()
    idx = list(layers_from_b)
    if any(not 0 <= i < ws_a.shape[1] for i in idx):
        raise ValueError(f"layers {idx} outside 0..{ws_a.shape[1] - 1}")
    out[:, idx] = ws_b.expand_as(ws_a)[:, idx]
    return out


@torch.no_grad()
def seed_ws(G: Generator, seeds: Sequence[int], truncation_psi: float = 1.0) -> Tensor:
    """ws [len(seeds), num_ws, w_dim] with the model's truncation (all layers; the first 8 for StyleGAN v1)."""
    z = z_batch(seeds, G.z_dim, G.device)
    ws = G.mapping(z, None)
    return G.mapping.truncate(ws, truncation_psi) if truncation_psi != 1 else ws


@torch.no_grad()
def style_mixing_grid(
    G: Generator,
    row_seeds: Sequence[int],
    col_seeds: Sequence[int],
    styles: Sequence[int],
    *,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
) -> tuple[np.ndarray, dict[tuple[int, int], np.ndarray]]:
    """The official style-mixing figure: column seeds on top, row seeds on the left, and in each cell
    the row latent with `styles` taken from the column latent. Returns (grid [H, W, C] uint8, cells)."""
    row_ws, col_ws = seed_ws(G, row_seeds, truncation_psi), seed_ws(G, col_seeds, truncation_psi)
    singles = {}
    for seed, ws in [*zip(row_seeds, row_ws, strict=True), *zip(col_seeds, col_ws, strict=True)]:
        singles[(seed, seed)] = to_uint8(G.synthesis(ws[None], noise_mode=noise_mode))[0]
    cells = {}
    for r, rw in zip(row_seeds, row_ws, strict=True):
        mixed = mix_ws(rw[None].expand(len(col_seeds), -1, -1), col_ws, styles)
        for c, img in zip(col_seeds, to_uint8(G.synthesis(mixed, noise_mode=noise_mode)), strict=True):
            cells[(r, c)] = img
    size = G.img_resolution
    canvas = np.full(((len(row_seeds) + 1) * size, (len(col_seeds) + 1) * size, G.img_channels), 255, np.uint8)
    for j, c in enumerate(col_seeds):
        canvas[:size, (j + 1) * size : (j + 2) * size] = singles[(c, c)]
    for i, r in enumerate(row_seeds):
        canvas[(i + 1) * size : (i + 2) * size, :size] = singles[(r, r)]
        for j, c in enumerate(col_seeds):
            canvas[(i + 1) * size : (i + 2) * size, (j + 1) * size : (j + 2) * size] = cells[(r, c)]
    return canvas, cells
