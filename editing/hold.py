"""Conditional edits that hold what a scorer reads, not only a linear boundary.

Projecting a direction off the held attributes' boundary normals (InterFaceGAN) keeps their *linear* readings;
a classifier's reading still moves where it is not linear in W. Given a differentiable reader of the held
attributes, the edit is walked in small steps instead: each step loses its component along the gradients of
the held readings at the current face (and is scaled back to its length), and the drift of the readings from
where they started is undone by the least-norm correction, so the reader sees them unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from stylegan_core import Generator

# images [N, 3, H, W] in [-1, 1] -> the held readings [N, k], differentiable
HeldReadings = Callable[[Tensor], Tensor]

STEPS_PER_UNIT = 4  # steps per unit of edit strength (the drift correction keeps errors from adding up)


def steps_for(strength: float) -> int:
    """How many steps a walk of this strength takes (at least two)."""
    return max(2, math.ceil(STEPS_PER_UNIT * abs(strength)))


def _jacobian(G: Generator, ws: Tensor, read: HeldReadings, noise_mode: str) -> tuple[Tensor, Tensor]:
    """The held readings [N, k] at `ws` [N, num_ws, w_dim] and their gradients [N, k, num_ws * w_dim]."""
    with torch.enable_grad():
        x = ws.detach().requires_grad_(True)
        readings = read(G.synthesis(x, noise_mode=noise_mode))  # [N, k]; each face reads only its own latent
        k = readings.shape[1]
        rows = [torch.autograd.grad(readings[:, j].sum(), x, retain_graph=j < k - 1)[0] for j in range(k)]
    return readings.detach(), torch.stack(rows, 1).flatten(2)


def walk_holding(
    G: Generator,
    start: Tensor,  # [N, num_ws, w_dim]: the faces before the edit
    end: Tensor,  # [N, num_ws, w_dim]: after it, as the plain (or linearly held) edit puts them
    read: HeldReadings,
    *,
    steps: int,
    noise_mode: str = "const",
) -> Tensor:  # [N, num_ws, w_dim]
    """The edit from `start` towards `end` in `steps` steps with the held readings kept where they were at
    `start`. Only the layers the edit moves are moved."""
    displacement = (end - start).flatten(1)  # [N, D]
    layers = ((end - start).abs().sum(-1, keepdim=True) > 0).to(start.dtype).expand_as(start).flatten(1)  # [N, D]
    step = displacement / steps
    length = step.norm(dim=1, keepdim=True)
    ws = start.flatten(1).clone()
    initial: Tensor | None = None
    for _ in range(steps):
        readings, jac = _jacobian(G, ws.view_as(start), read, noise_mode)
        initial = readings if initial is None else initial
        jac = jac * layers[:, None]  # [N, k, D]: gradients on the layers the edit may move
        basis = torch.linalg.qr(jac.transpose(1, 2)).Q  # [N, D, k], orthonormal span of the gradients
        free = step - (basis @ (basis.transpose(1, 2) @ step[..., None]))[..., 0]
        free_length = free.norm(dim=1, keepdim=True)
        free = torch.where(free_length > 1e-6 * length, free * length / free_length.clamp_min(1e-12), 0.0)
        eye = torch.eye(jac.shape[1], dtype=jac.dtype, device=jac.device)
        gram = jac @ jac.transpose(1, 2) + 1e-8 * eye  # [N, k, k]
        drift = (readings - initial)[..., None]  # [N, k, 1]
        correction = -(jac.transpose(1, 2) @ torch.linalg.solve(gram, drift))[..., 0]  # least-norm, undoes drift
        ws = ws + (free + correction) * layers  # exactly nothing elsewhere (QR leaves rounding there)
    return ws.view_as(start).detach()
