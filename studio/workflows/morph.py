"""Morphs between faces (MP4 / GIF) and variations of one face."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from editing.interpolate import path_ws, render, variations
from editing.video import save_video
from stylegan_core import Generator
from stylegan_core.seeds import z_batch

from .latents import Latent
from .progress import SILENT, Progress


def seed_keys(G: Generator, seeds: Sequence[int], space: str, truncation_psi: float) -> list[torch.Tensor]:
    """Key frames from seeds: z [1, z_dim] for a slerp in Z, else their truncated ws [1, num_ws, w_dim]."""
    keys = []
    for seed in seeds:
        z = z_batch([seed], G.z_dim, G.device)
        keys.append(z if space == "z" else G.mapping(z, None, truncation_psi=truncation_psi))
    return keys


@torch.no_grad()
def morph_frames(
    G: Generator,
    keys: Sequence[torch.Tensor],
    frames: int,
    *,
    space: str = "w",
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    progress: Progress = SILENT,
) -> list[np.ndarray]:
    """`frames` images [H, W, C] uint8 along the keys: lerp in W, or slerp in Z (seed keys only)."""
    ws_list = path_ws(G, keys, frames, space=space, truncation_psi=truncation_psi)
    return render(G, ws_list, noise_mode=noise_mode, progress=progress.counter("render"))


def morph_video(
    G: Generator, faces: Sequence[Latent], frames: int, fps: int, path: Path, progress: Progress = SILENT
) -> Path:
    """The app's morph: a video through the faces a visitor collected."""
    images = morph_frames(G, [f.tensor(G) for f in faces], frames, progress=progress)
    save_video(images, str(path), fps=fps)
    return path


def face_variations(G: Generator, face: Latent, n: int, *, layers: str = "fine", seed: int = 0) -> list[np.ndarray]:
    """The face with its `layers` styles taken from `n` random faces: same person, other details."""
    return variations(G, face.tensor(G), n, layers=layers, seed=seed)
