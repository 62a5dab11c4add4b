"""A face as a visitor or a script holds it: its W+ latent, the model it belongs to, a label."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from editing.latents import LatentError, load_w, save_w
from editing.paste import PasteError, Placement
from stylegan_core import Generator
from stylegan_core.imaging import to_uint8
from stylegan_core.seeds import z_batch

# What is looked at in passing (the gallery, slider previews, drag steps, video frames) renders in bf16 where
# the hardware has it natively (stylegan_core.precision: fp32 elsewhere); saved results render in fp32.
PREVIEW_PRECISION = "bf16"


@dataclass
class Latent:
    """One face in W+: what a visitor keeps in their session (deep-copyable, no tensors)."""

    ws: np.ndarray  # [1, num_ws, w_dim] float32
    model: str
    label: str
    photo_descriptor: np.ndarray | None = None  # [128] dlib descriptor of the photo a projected face came from
    tuned_key: str | None = None  # its generator tuned by PTI, in a TunedGenerators store; None: the shared model
    placement: Placement | None = None  # where a projected face sits in its photo (for paste-back)
    photo: str | None = None  # the photo file it was projected from, where the caller keeps it (the app's upload)

    def tensor(self, G: Generator) -> torch.Tensor:  # [1, num_ws, w_dim] on G's device
        if self.ws.shape[1:] != (G.num_ws, G.w_dim):
            raise ValueError(f"this face was made with another model ({self.model}); pick or project it again")
        return torch.from_numpy(self.ws).to(G.device)

    def save(self, path: str | Path) -> Path:
        """As the official `projected_w.npz` (key `w`, [1, num_ws, w_dim]), which NVIDIA's tools read too."""
        return save_w(path, torch.from_numpy(self.ws))


@torch.no_grad()
def seed_latents(G: Generator, model: str, seeds: list[int], psi: float) -> list[Latent]:
    """The faces of `seeds` (NVIDIA's seed -> z), truncated towards the average face by `psi`."""
    ws = G.mapping(z_batch(seeds, G.z_dim, G.device), None)  # [N, num_ws, w_dim]
    ws = G.mapping.truncate(ws, psi) if psi != 1 else ws
    return [Latent(w[None].cpu().numpy(), model, f"seed {s}") for s, w in zip(seeds, ws, strict=True)]


@torch.no_grad()
def render(
    G: Generator,
    latents: list[Latent] | Latent,
    noise_mode: str = "const",
    size: int | None = None,
    precision: str = "fp32",
) -> list[np.ndarray]:
    """[H, W, C] uint8 per latent; `size` gives a quick preview: synthesis stops at that resolution where the
    architecture allows it (StyleGAN2 skip), else the full image is downsampled. `precision`: PREVIEW_PRECISION
    for what is looked at in passing (stylegan_core.precision)."""
    latents = [latents] if isinstance(latents, Latent) else latents
    ws = torch.cat([lat.tensor(G) for lat in latents])
    return list(to_uint8(G.synthesize_at(ws, size or G.img_resolution, noise_mode, precision)))


ALIGNMENT_FILE = "alignment.json"  # beside projected_w.npz: where the face sits in its photo
TUNED_DIR = "pti"  # beside projected_w.npz: the generator tuned to that photo


def latent_from_file(G: Generator, model: str, path: str | Path, shown_name: str | None = None) -> Latent:
    """A `projected_w.npz` (ours or NVIDIA's projector's) as a face of `model`, with the photo placement saved
    beside it when there is one; errors name `shown_name` (an upload's own file name), never the server's copy."""
    shown_name = shown_name or Path(path).name
    try:
        ws = load_w(path, G.num_ws, G.w_dim)
    except LatentError as exc:
        raise LatentError(str(exc).replace(str(path), shown_name)) from None
    return Latent(ws.numpy(), model, f"latent {shown_name}", placement=placement_beside(path))


def placement_beside(path: str | Path) -> Placement | None:
    """The alignment record `studio project` wrote beside a latent file, or None where there is none."""
    record = Path(path).parent / ALIGNMENT_FILE
    if not record.is_file():
        return None
    try:
        return Placement.from_json(json.loads(record.read_text()))
    except (ValueError, PasteError) as exc:
        raise LatentError(f"{record.name} beside {Path(path).name} is unreadable: {exc}") from None


def tuned_beside(path: str | Path) -> Path | None:
    """The generator tuned to the latent's photo (`pti/` beside it), or None."""
    folder = Path(path).parent / TUNED_DIR
    return folder if (folder / "config.json").is_file() else None
