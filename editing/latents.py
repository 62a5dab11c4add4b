"""Latents on disk: `projected_w.npz` with key `w` of shape [1, num_ws, w_dim], as NVIDIA's projector writes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


class LatentError(ValueError):
    """A latent file that is unreadable or made for a model of another shape."""


def save_w(path: str | Path, ws: Tensor) -> Path:
    """Write ws [1, num_ws, w_dim] (or [num_ws, w_dim]) as the official `projected_w.npz`."""
    ws = ws.detach().to("cpu", torch.float32)
    if ws.ndim == 2:
        ws = ws[None]
    if ws.ndim != 3 or ws.shape[0] != 1:
        raise LatentError(f"expected one latent [1, num_ws, w_dim], got {tuple(ws.shape)}")
    np.savez(path, w=ws.numpy())
    return Path(path)


def load_w(path: str | Path, num_ws: int | None = None, w_dim: int | None = None) -> Tensor:
    """ws [1, num_ws, w_dim] from an `.npz` (key `w`) or `.npy`; a single w [w_dim] is broadcast.

    With `num_ws` / `w_dim` given, a latent from a model of another shape is a clear error.
    """
    path = Path(path)
    try:
        if path.suffix == ".npy":
            w = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as f:
                if "w" not in f.files:
                    raise LatentError(f"{path}: no array 'w' (it has: {', '.join(f.files) or 'nothing'})")
                w = f["w"]
    except LatentError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        # numpy's own words would suggest loading the file as a pickle; say what the file should be instead
        raise LatentError(
            f"{path}: not a latent file (expected projected_w.npz with an array 'w', or an .npy "
            f"array; {type(exc).__name__})"
        ) from None
    w = torch.from_numpy(np.asarray(w, dtype=np.float32))
    if w.ndim == 1 or (w.ndim == 2 and w.shape[0] == 1 and num_ws not in (None, 1)):
        w = w.reshape(1, 1, -1).expand(1, num_ws or 1, -1).clone()
    elif w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or w.shape[0] != 1:
        raise LatentError(f"{path}: expected w of shape [1, num_ws, w_dim], got {tuple(w.shape)}")
    if (num_ws is not None and w.shape[1] != num_ws) or (w_dim is not None and w.shape[2] != w_dim):
        raise LatentError(
            f"{path}: this latent is [1, {w.shape[1]}, {w.shape[2]}] but the model needs [1, {num_ws}, {w_dim}]; "
            "it was made with another model"
        )
    if not torch.isfinite(w).all():
        raise LatentError(f"{path}: the latent holds NaN or infinite values")
    return w
