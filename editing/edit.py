"""Edited latents and images for seeds or projected latents: the step the CLI and the app share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.imaging import to_uint8
from stylegan_core.seeds import z_batch

from .directions import Direction, DirectionError, edit_ws, edit_z, move_to_distance
from .hold import HeldReadings, steps_for, walk_holding
from .mixing import PRESETS, layer_preset


def parse_layers(text: str | None, num_ws: int) -> list[int] | None:
    """'all' / None -> None; 'coarse', 'middle+fine', '4-7', '0,2,8-17' -> sorted layer indices."""
    if text is None or text.strip() in ("", "all"):
        return None
    layers: set[int] = set()
    for part in text.replace("+", ",").split(","):
        part = part.strip()
        if part in PRESETS:
            layers.update(layer_preset(num_ws, part))
            continue
        try:
            lo, hi = (int(v) for v in part.split("-", 1)) if "-" in part else (int(part), int(part))
        except ValueError:
            raise ValueError(f"bad layers {text!r}: use all, coarse, middle, fine, 4-7 or 0,2,8-17") from None
        if lo > hi:
            raise ValueError(f"bad layers {text!r}: the range {part!r} ends before it starts")
        layers.update(range(lo, hi + 1))
    if not 0 <= min(layers) <= max(layers) < num_ws:
        raise ValueError(f"layers {text!r} reach outside this model's 0..{num_ws - 1}")
    return sorted(layers)


def z_for_seeds(G: Generator, seeds: Sequence[int]) -> Tensor:  # [len(seeds), z_dim]
    return z_batch(seeds, G.z_dim, G.device)


@torch.no_grad()
def edited_ws(
    G: Generator,
    direction: Direction,
    alpha: float,
    *,
    z: Tensor | None = None,  # [N, z_dim]: seeds; edits happen before truncation, as InterFaceGAN does
    ws: Tensor | None = None,  # [N, num_ws, w_dim]: projected latents, used as they are
    layers: Sequence[int] | None = None,
    truncation_psi: float = 1.0,
    absolute: bool = False,
    held: HeldReadings | None = None,  # a scorer's readings of attributes the edit must leave where they are
) -> Tensor:  # [N, num_ws, w_dim]
    """The latent moved by `alpha` along `direction` (or, `absolute`, to distance `alpha` from the boundary);
    with `held`, walked there in steps that keep those readings (editing.hold)."""
    if (z is None) == (ws is None):
        raise ValueError("give either z (seeds) or ws (a projected latent)")
    direction.check_fits(G.num_ws, G.w_dim, G.z_dim)
    hold = held is not None and alpha != 0
    if direction.space == "z":
        if z is None:
            raise DirectionError(f"{direction.name!r} is a Z direction; it needs seeds, not a projected W latent")
        start = G.mapping(z, None) if hold else None  # the unedited face, only for the walk
        moved = G.mapping(move_to_distance(z, direction, alpha) if absolute else edit_z(z, direction, alpha), None)
    else:
        start = ws if ws is not None else G.mapping(z, None)
        if absolute:
            n, num_ws, dim = start.shape
            moved = move_to_distance(start.reshape(n * num_ws, dim), direction, alpha).reshape(n, num_ws, dim)
        else:
            moved = edit_ws(start, direction, alpha, layers)
    if z is not None and truncation_psi != 1:
        moved = G.mapping.truncate(moved, truncation_psi)
        start = G.mapping.truncate(start, truncation_psi) if start is not None else None
    return walk_holding(G, start, moved, held, steps=steps_for(alpha)) if hold else moved


@torch.no_grad()
def edit_strip(
    G: Generator,
    direction: Direction,
    alphas: Sequence[float],
    *,
    noise_mode: str = "const",
    **latent: object,
) -> list[np.ndarray]:
    """One [H, W, C] uint8 image per alpha for a single latent (`z=` or `ws=`, as `edited_ws`)."""
    return [to_uint8(G.synthesis(edited_ws(G, direction, a, **latent), noise_mode=noise_mode))[0] for a in alphas]
