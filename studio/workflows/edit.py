"""Attribute edits: the app's sliders over one face, the CLI's strips over seeds or a latent file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from editing.directions import Direction, edit_ws
from editing.edit import edit_strip, parse_layers, z_for_seeds
from editing.identity import distance_to_descriptor
from stylegan_core import Generator

from .latents import Latent

LAYER_CHOICES = ("all", "coarse", "middle", "fine", "coarse+middle", "middle+fine")


@dataclass(frozen=True)
class Slider:
    """One direction as a slider: the direction's key, what a person reads, and a range that shows its effect."""

    name: str
    label: str
    limit: float  # the slider runs from -limit to +limit


def sliders_for(directions: dict[str, Direction], slots: int) -> list[Slider]:
    """The first `slots` directions as sliders, in the order the model lists them: the one mapping from slider
    position to direction that the page and the edit both use."""
    return [
        Slider(name, name.replace("_", " "), max(3.0, d.typical_alpha * 1.5))
        for name, d in list(directions.items())[:slots]
    ]


def apply_edits(
    G: Generator, latent: Latent, directions: dict[str, Direction], strengths: dict[str, float], layers: str = "all"
) -> Latent:
    """The face moved along every direction with a non-zero strength, on the chosen layers."""
    ws = latent.tensor(G)  # [1, num_ws, w_dim]
    chosen = parse_layers(layers, G.num_ws)
    for name, alpha in strengths.items():
        if alpha:
            ws = edit_ws(ws, directions[name], float(alpha), chosen)
    return Latent(ws.cpu().numpy(), latent.model, latent.label + " (edited)", latent.photo_descriptor, latent.tuned_key)


def identity_to_photo(latent: Latent, image: np.ndarray) -> float | None:
    """dlib's distance between a projected face's photo and an image of it (< 0.6: same person); None for
    faces that did not come from a photo."""
    if latent.photo_descriptor is None:
        return None
    return distance_to_descriptor(latent.photo_descriptor, image)


@dataclass
class EditStrip:
    """One latent edited at several strengths."""

    stem: str  # seed0042 or the latent file's name
    alphas: list[float]
    images: list[np.ndarray]  # [H, W, C] uint8 per alpha
    identity_distances: list[float] | None = None  # to the reference photo, per alpha


def edit_strips(
    G: Generator,
    direction: Direction,
    alphas: Sequence[float],
    *,
    seeds: Sequence[int] = (),
    latent: Latent | None = None,
    layers: str | None = None,
    truncation_psi: float = 1.0,
    absolute: bool = False,
    noise_mode: str = "const",
    reference: np.ndarray | None = None,  # [128] dlib descriptor of the photo to compare with
) -> list[EditStrip]:
    """A strip per seed (edited before truncation, as InterFaceGAN does) or for `latent` (as it is)."""
    chosen = parse_layers(layers, G.num_ws)
    sources = [(f"seed{s:04d}", {"z": z_for_seeds(G, [s])}) for s in seeds]
    if latent is not None:
        sources.append((latent.label, {"ws": latent.tensor(G)}))
    strips = []
    for stem, start in sources:
        images = edit_strip(
            G,
            direction,
            alphas,
            layers=chosen,
            truncation_psi=truncation_psi,
            absolute=absolute,
            noise_mode=noise_mode,
            **start,
        )
        distances = None if reference is None else [distance_to_descriptor(reference, img) for img in images]
        strips.append(EditStrip(stem, list(alphas), images, distances))
    return strips
