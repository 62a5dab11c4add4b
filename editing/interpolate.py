"""Morphs between faces (lerp in W, slerp in Z) and variations of one latent."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.imaging import to_uint8
from stylegan_core.seeds import z_samples

from .mixing import layer_preset, mix_ws


def slerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """Spherical interpolation between z vectors [N, z_dim] (the Gaussian's typical set is a shell)."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def path_ws(
    G: Generator, keys: Sequence[Tensor], frames: int, *, space: str = "w", truncation_psi: float = 1.0
) -> list[Tensor]:
    """`frames` ws [1, num_ws, w_dim] along keys: ws (space 'w', linear) or z [1, z_dim] (space 'z', slerp)."""
    if len(keys) < 2:
        raise ValueError("a morph needs at least two faces")
    if frames < len(keys):
        raise ValueError(f"{frames} frames cannot visit {len(keys)} faces")
    out = []
    for i in range(frames):
        pos = i / (frames - 1) * (len(keys) - 1)
        k = min(int(pos), len(keys) - 2)
        t = pos - k
        if space == "z":
            ws = G.mapping(slerp(keys[k], keys[k + 1], t), None)
            out.append(G.mapping.truncate(ws, truncation_psi) if truncation_psi != 1 else ws)
        else:
            out.append(keys[k].lerp(keys[k + 1], t))
    return out


@torch.no_grad()
def render(
    G: Generator,
    ws_list: Sequence[Tensor],
    *,
    noise_mode: str = "const",
    progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    frames = []
    for i, ws in enumerate(ws_list):
        frames.append(to_uint8(G.synthesis(ws.to(G.device), noise_mode=noise_mode))[0])
        if progress:
            progress(i + 1, len(ws_list))
    return frames


@torch.no_grad()
def variations(
    G: Generator,
    ws: Tensor,
    n: int,
    *,
    layers: str = "fine",
    seed: int = 0,
    truncation_psi: float = 0.7,
    new_noise: bool = False,
) -> list[np.ndarray]:
    """The latent with its `layers` styles resampled from random faces (and optionally random noise)."""
    z = z_samples(n, G.z_dim, seed, G.device)
    others = G.mapping(z, None, truncation_psi=truncation_psi)
    mixed = mix_ws(ws.to(G.device).expand(n, -1, -1), others, layer_preset(G.num_ws, layers))
    torch.manual_seed(seed)
    return list(to_uint8(G.synthesis(mixed, noise_mode="random" if new_noise else "const")))
