"""Attribute directions: `w' = w + alpha * n` on all or some layers, saved as small files with metadata.

A direction lives in W (one [w_dim] vector for every layer, or a per-layer [num_ws, w_dim] one) or in Z
(InterFaceGAN's Z boundaries). Files: our `.safetensors` (vector + JSON metadata), InterFaceGAN `.npy`
boundaries, encoder4editing `.pt` tensors (read with `weights_only=True`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from stylegan_core.files import give_default_mode

Space = Literal["w", "z"]
METADATA_KEY = "stylegan_studio_direction"


class DirectionError(ValueError):
    """A direction that does not fit the model or a file that is not a direction."""


@dataclass(frozen=True)
class Direction:
    """A named edit direction; `layers=None` means every layer (InterFaceGAN's convention)."""

    name: str
    vector: np.ndarray = field(repr=False)  # [dim] or, per layer, [num_ws, w_dim]
    space: Space = "w"
    layers: tuple[int, ...] | None = None
    model: str = ""  # the model it was made for (its W space is the only one it means anything in)
    method: str = ""  # interfacegan, sefa, ganspace, e4e, ...
    description: str = ""
    typical_alpha: float = 3.0  # the strength at which the edit is clearly visible (slider range in the app)
    attribute: str = ""  # the attribute as its authors named it (CelebA's No_Beard for our "beard", sign flipped)
    group: str = ""  # hair, face, expression, accessories, age / gender, pose: where the app lists it
    # [w_dim] unit normal of the attribute's boundary when the vector is not one (refined per-layer directions):
    # what holding this attribute fixed projects out
    normal: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        vector = np.asarray(self.vector, dtype=np.float32)
        if vector.ndim in (2, 3) and vector.shape[0] == 1:
            vector = vector[0]  # InterFaceGAN / e4e store [1, dim] and [1, num_ws, dim]
        if vector.ndim not in (1, 2) or not np.isfinite(vector).all():
            raise DirectionError(f"direction {self.name!r}: expected a finite [dim] or [num_ws, dim] vector")
        if self.space not in ("w", "z"):
            raise DirectionError(f"direction {self.name!r}: space must be 'w' or 'z', got {self.space!r}")
        if self.space == "z" and vector.ndim != 1:
            raise DirectionError(f"direction {self.name!r}: a Z direction is one vector")
        object.__setattr__(self, "vector", vector)
        if self.normal is not None:
            object.__setattr__(self, "normal", np.asarray(self.normal, dtype=np.float32).reshape(-1))
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(int(i) for i in self.layers))

    @property
    def dim(self) -> int:
        return int(self.vector.shape[-1])

    @property
    def label(self) -> str:
        """What a person reads: `blond hair` for `blond_hair`, `smile (interfacegan++)` for a second set's smile
        (`interfacegan-pp-sg2-ffhq/smile`)."""
        set_name, _, name = self.name.rpartition("/")
        return name.replace("_", " ") + (f" ({self.method or set_name})" if set_name else "")

    def per_layer(self, num_ws: int) -> np.ndarray:  # [num_ws, w_dim]
        """The displacement this direction makes on each layer at strength 1 (zero outside its layers)."""
        vector = np.broadcast_to(self.vector, (num_ws, self.dim)) if self.vector.ndim == 1 else self.vector
        return vector * layer_mask(num_ws, self.layers).numpy()

    def holding(self, *held: Direction, num_ws: int | None = None) -> Direction:
        """InterFaceGAN's conditional edit: this direction with its component along every held direction
        removed, so a move along it leaves their linear readings where they were (age without eyeglasses).
        Directions with layer ranges or per-layer vectors are compared layer by layer (`num_ws` needed
        unless one of them is per-layer). The length is kept, so a strength means what it meant before."""
        if not held:
            return self
        if any(h.space != self.space for h in held):
            raise DirectionError(f"{self.name!r} lives in {self.space.upper()}; hold directions of the same space")
        held = tuple(h if h.normal is None else replace(h, vector=h.normal, layers=None) for h in held)
        together = (self, *held)
        if all(d.vector.ndim == 1 and d.layers is None for d in together):
            vectors = [d.vector for d in together]
        else:
            num_ws = num_ws or next((d.vector.shape[0] for d in together if d.vector.ndim == 2), None)
            if num_ws is None:
                raise DirectionError("holding directions with layer ranges needs the model's num_ws")
            vectors = [d.per_layer(num_ws) for d in together]
        flat = [torch.from_numpy(np.ascontiguousarray(v).reshape(-1)).double() for v in vectors]
        free = project_off(flat[0], torch.stack(flat[1:]))
        if free.norm() < 1e-6 * flat[0].norm():
            raise DirectionError(f"{self.name!r} lies in the span of {', '.join(h.name for h in held)}")
        free *= flat[0].norm() / free.norm()
        names = ", ".join(h.name for h in held)
        return replace(
            self,
            vector=free.float().numpy().reshape(vectors[0].shape),
            layers=self.layers if vectors[0] is self.vector else None,
            description=f"{self.description} (holding {names})".strip(),
        )

    def unit(self) -> Direction:
        """The same direction with unit norm (per-layer vectors: unit norm over all layers)."""
        norm = float(np.linalg.norm(self.vector))
        if norm == 0:
            raise DirectionError(f"direction {self.name!r} is zero")
        return replace(self, vector=self.vector / norm)

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file

        meta = {k: v for k, v in asdict(self).items() if k not in ("vector", "normal")}
        tensors = {"vector": np.ascontiguousarray(self.vector)}
        if self.normal is not None:
            tensors["normal"] = np.ascontiguousarray(self.normal)
        save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(meta)})
        give_default_mode(path)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, *, name: str | None = None, space: Space | None = None) -> Direction:
        """Our `.safetensors`, an InterFaceGAN `.npy` or an encoder4editing `.pt` direction."""
        path = Path(path)
        stem = path.stem
        try:
            if path.suffix == ".npy":
                vector = np.load(path, allow_pickle=False)
                inferred: Space = "w" if ("_w_" in stem or stem.endswith("_w")) else "z"
                return cls(name or stem, vector, space or inferred, method="interfacegan")
            if path.suffix == ".pt":
                tensor = torch.load(path, map_location="cpu", weights_only=True)
                if not isinstance(tensor, Tensor):
                    raise DirectionError(f"{path}: expected one tensor, found a {type(tensor).__name__}")
                return cls(name or stem, tensor.numpy(), space or "w", method="e4e")
            from safetensors import safe_open

            with safe_open(str(path), framework="numpy") as f:
                meta = json.loads((f.metadata() or {}).get(METADATA_KEY, "{}"))
                vector = f.get_tensor("vector")
                if "normal" in f.keys():  # noqa: SIM118 (safe_open has no __contains__)
                    meta["normal"] = f.get_tensor("normal")
        except DirectionError:
            raise
        except Exception as exc:  # any unreadable file: numpy, torch and safetensors raise different types
            raise DirectionError(f"{path}: not a direction file ({type(exc).__name__}: {exc})") from None
        meta.setdefault("name", name or stem)
        return cls(vector=vector, **meta)

    def check_fits(self, num_ws: int, w_dim: int, z_dim: int | None = None) -> None:
        """Clear error for a direction made for a model of another shape."""
        want = (z_dim or w_dim) if self.space == "z" else w_dim
        if self.dim != want:
            raise DirectionError(
                f"direction {self.name!r} has {self.dim} dims but this model's {self.space.upper()} has {want}; "
                f"it was made for {self.model or 'another model'}"
            )
        if self.vector.ndim == 2 and self.vector.shape[0] != num_ws:
            raise DirectionError(f"direction {self.name!r} has {self.vector.shape[0]} layers, this model {num_ws}")
        if self.layers is not None and any(not 0 <= i < num_ws for i in self.layers):
            raise DirectionError(f"direction {self.name!r}: layers {self.layers} outside 0..{num_ws - 1}")


def project_off(vector: Tensor, normals: Tensor) -> Tensor:  # [dim], [k, dim] -> [dim]
    """`vector` minus its projection on the span of the rows of `normals`."""
    basis = torch.linalg.qr(normals.T.to(vector.dtype)).Q  # [dim, k], orthonormal
    return vector - basis @ (basis.T @ vector)


def layer_mask(num_ws: int, layers: Sequence[int] | None, device: torch.device | None = None) -> Tensor:
    """[num_ws, 1] mask of the layers an edit touches (all when `layers` is None)."""
    mask = torch.zeros([num_ws, 1], device=device)
    if layers is None:
        mask[:] = 1
    else:
        for i in layers:
            if not 0 <= i < num_ws:
                raise DirectionError(f"layer {i} outside 0..{num_ws - 1}")
            mask[i] = 1
    return mask


def edit_ws(
    ws: Tensor,  # [N, num_ws, w_dim]
    direction: Direction,
    alpha: float,
    layers: Sequence[int] | None = None,
) -> Tensor:  # [N, num_ws, w_dim]
    """`w + alpha * n` on `layers` (else the direction's own layers, else all). alpha 0 is the identity."""
    if direction.space != "w":
        raise DirectionError(f"direction {direction.name!r} lives in Z: use edit_z before the mapping network")
    num_ws, w_dim = ws.shape[1], ws.shape[2]
    direction.check_fits(num_ws, w_dim)
    on_layers = direction if layers is None else replace(direction, layers=tuple(layers))
    n = torch.as_tensor(on_layers.per_layer(num_ws), dtype=ws.dtype, device=ws.device)  # [num_ws, w_dim]
    return ws + alpha * n.unsqueeze(0)


def edit_z(z: Tensor, direction: Direction, alpha: float) -> Tensor:  # [N, z_dim] -> [N, z_dim]
    """`z + alpha * n` for a Z direction, on z rescaled to norm sqrt(z_dim) as InterFaceGAN does.

    The rescale does not change the image (the mapping network normalises z first) but makes
    distances along `n` comparable with InterFaceGAN's.
    """
    if direction.space != "z":
        raise DirectionError(f"direction {direction.name!r} lives in W: use edit_ws after the mapping network")
    z = z * (math.sqrt(z.shape[1]) / z.norm(dim=1, keepdim=True))
    return z + alpha * torch.as_tensor(direction.vector, dtype=z.dtype, device=z.device)


def move_to_distance(latent: Tensor, direction: Direction, distance: float) -> Tensor:
    """InterFaceGAN's `linear_interpolate`: place a [N, dim] latent at signed `distance` from the boundary."""
    n = torch.as_tensor(direction.unit().vector, dtype=latent.dtype, device=latent.device)
    if n.ndim != 1:
        raise DirectionError("distances are defined for single-vector (InterFaceGAN) boundaries")
    return latent + (distance - latent @ n).unsqueeze(1) * n
