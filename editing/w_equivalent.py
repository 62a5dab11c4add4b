"""W-space stand-ins for Z boundaries, so a face known only by its W / W+ latent can be edited by name.

InterFaceGAN's Z boundaries (InterFaceGAN++ for StyleGAN2 and StyleGAN3) are applied before the mapping
network: `mapping(z + alpha n)`. A projected photo, a mix or a morph frame has no z, so each Z boundary gets
a W equivalent from the model's own mapping network: the mean displacement per unit of strength,
`mean over z and alpha of (mapping(z + alpha n) - mapping(z)) / alpha` (docs/directions.md has the
measurement that chose it over a boundary refitted in W). Each depends only on the mapping network, so it
is computed once per model and cached on disk, keyed by the hash of the mapping weights.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.files import give_default_mode

from .directions import Direction, DirectionError
from .discover import linear_boundary

Method = Literal["mean-shift", "boundary"]
ALPHAS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)  # InterFaceGAN's range of strengths
SAMPLES = 2000
CACHE_VERSION = 1


def cache_dir() -> Path:
    """Where W equivalents are kept (STUDIO_CACHE_DIR, else ~/.cache/stylegan-studio)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "stylegan-studio"
    return Path(os.environ.get("STUDIO_CACHE_DIR", default)).expanduser() / "w-equivalents"


def mapping_hash(G: Generator) -> str:
    """sha256 of the mapping network's parameters and buffers (names, shapes and bytes): all a W equivalent
    depends on."""
    digest = hashlib.sha256()
    for name, tensor in sorted(G.mapping.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _vector_key(direction: Direction) -> str:
    return hashlib.sha256(np.ascontiguousarray(direction.vector, dtype=np.float32).tobytes()).hexdigest()[:24]


def _unit_z(G: Generator, samples: int, seed: int) -> Tensor:  # [samples, z_dim], norm sqrt(z_dim)
    z = torch.randn([samples, G.z_dim], generator=torch.Generator().manual_seed(seed)).to(G.device)
    return z * (math.sqrt(G.z_dim) / z.norm(dim=1, keepdim=True))


def _w(G: Generator, z: Tensor) -> Tensor:  # [N, z_dim] -> [N, w_dim]
    return G.mapping(z, None)[:, 0]


@torch.no_grad()
def w_equivalent(
    G: Generator, direction: Direction, *, samples: int = SAMPLES, seed: int = 0, method: Method = "mean-shift"
) -> Direction:
    """The W direction whose `w + alpha v` best stands in for the Z edit `mapping(z + alpha n)`.

    mean-shift: v = mean displacement per unit alpha over `samples` z and the alphas -3..3.
    boundary: InterFaceGAN's recipe redone in W (a linear boundary fitted to the labels sign(n . z)), scaled
    so its mean displacement along itself matches mean-shift's.
    """
    if direction.space != "z":
        raise DirectionError(f"{direction.name!r} already lives in W")
    direction.check_fits(G.num_ws, G.w_dim, G.z_dim)
    n = torch.as_tensor(direction.vector, dtype=torch.float32, device=G.device)
    z = _unit_z(G, samples, seed)
    w = _w(G, z)
    shift = torch.zeros(G.w_dim, dtype=torch.float64, device=G.device)
    for alpha in ALPHAS:
        shift += ((_w(G, z + alpha * n) - w) / alpha).double().mean(0)
    vector = shift / len(ALPHAS)  # [w_dim]
    if method == "boundary":
        normal = linear_boundary(w.cpu(), (z @ n).cpu(), ratio=0.5).double().to(G.device)
        vector = normal * (vector @ normal)
    return _in_w(direction, vector.float().cpu().numpy(), f"{method}, {samples} z")


def _in_w(direction: Direction, vector: np.ndarray, how: str) -> Direction:
    """A Z direction's W equivalent: the same name, attribute and group, the new vector."""
    return replace(
        direction,
        vector=vector,
        space="w",
        method=f"{direction.method} (W equivalent)",
        description=f"{direction.description}; W equivalent ({how})",
    )


class WEquivalents:
    """W equivalents of Z directions for one model, computed once and kept in a safetensors file named
    after the model's mapping hash; a file made for other weights is refused, never used."""

    def __init__(self, G: Generator, folder: Path | None = None, *, samples: int = SAMPLES) -> None:
        self.G = G
        self.samples = samples
        self.hash = mapping_hash(G)
        self.path = (folder or cache_dir()) / f"{self.hash[:32]}.safetensors"
        self.computed = 0  # how many this object computed rather than read (tests, logs)

    def _read(self) -> dict[str, np.ndarray]:
        if not self.path.is_file():
            return {}
        from safetensors import safe_open

        with safe_open(str(self.path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("mapping_sha256") != self.hash:
                raise DirectionError(f"{self.path}: W equivalents of another model (mapping weights differ); delete it")
            if meta.get("version") != str(CACHE_VERSION) or meta.get("samples") != str(self.samples):
                return {}  # made another way: recompute
            return {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)

    def _write(self, vectors: dict[str, np.ndarray]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"mapping_sha256": self.hash, "version": str(CACHE_VERSION), "samples": str(self.samples)}
        partial = self.path.with_suffix(f".{os.getpid()}.partial")
        save_file(vectors, str(partial), metadata=meta)
        give_default_mode(partial)
        partial.replace(self.path)  # atomic: a reader sees the old file or the new one

    def convert(
        self, directions: dict[str, Direction], progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Direction]:
        """Every direction usable on a W / W+ latent: Z ones replaced by their (cached) W equivalents."""
        wanted = {name: d for name, d in directions.items() if d.space == "z"}
        stored = self._read()
        missing = [name for name, d in wanted.items() if _vector_key(d) not in stored]
        for i, name in enumerate(missing):
            if progress:
                progress(i, len(missing))
            stored[_vector_key(wanted[name])] = w_equivalent(self.G, wanted[name], samples=self.samples).vector
            self.computed += 1
        if missing:
            self._write(stored)
            if progress:
                progress(len(missing), len(missing))
        how = f"mean-shift, {self.samples} z"
        return {name: d if d.space == "w" else _in_w(d, stored[_vector_key(d)], how) for name, d in directions.items()}
