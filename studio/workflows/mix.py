"""Style mixing: two faces (the app), or the official seed grid (the CLI)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from editing.mixing import layer_preset, mix_ws, style_mixing_grid
from stylegan_core import Generator
from stylegan_core.imaging import make_grid

from .latents import Latent, render


def mix(G: Generator, a: Latent, b: Latent, presets: Sequence[str]) -> Latent:
    """A with the chosen coarse / middle / fine layers taken from B."""
    layers = sorted({i for p in presets for i in layer_preset(G.num_ws, p)})
    ws = mix_ws(a.tensor(G), b.tensor(G), layers)
    label = f"{a.label} + {'/'.join(presets) or 'no'} styles of {b.label}"
    return dataclasses.replace(a, ws=ws.cpu().numpy(), label=label)  # drawn by A's generator, put back in A's photo


@dataclass
class MixResult:
    latent: Latent
    image: np.ndarray  # [H, W, C] uint8: the mix
    strip: np.ndarray  # [H, 3W, C] uint8: A | B | mix


def mix_faces(G: Generator, a: Latent, b: Latent, presets: Sequence[str]) -> MixResult:
    mixed = mix(G, a, b, presets)
    images = render(G, [a, b, mixed])
    return MixResult(mixed, images[2], make_grid(images, cols=3))


@dataclass
class MixGrid:
    styles: list[int]
    grid: np.ndarray  # [H, W, C] uint8: column seeds on top, row seeds on the left
    cells: dict[tuple[int, int], np.ndarray]  # (row seed, column seed) -> image


def mix_grid(
    G: Generator,
    rows: Sequence[int],
    cols: Sequence[int],
    styles: Sequence[int],
    *,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
) -> MixGrid:
    """NVIDIA's style-mixing figure: each row seed with `styles` taken from each column seed."""
    grid, cells = style_mixing_grid(G, rows, cols, styles, truncation_psi=truncation_psi, noise_mode=noise_mode)
    return MixGrid(list(styles), grid, cells)
