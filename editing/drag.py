"""Drag to edit (DragGAN: Pan et al., SIGGRAPH 2023, "Drag Your GAN").

Each step optimises the latent so that the generator's features around every handle point move one unit step
towards its target (motion supervision), then finds where each handle went (point tracking: the nearest
neighbour of its first feature in a window around it). Only the first `free_layers` of W+ move; the rest stay at
the start. The features are one synthesis stage's (StyleGAN2 / v1: a block, StyleGAN3: a layer), bilinearly
resized to the image, and a step runs the synthesis no further than that stage: the full image is rendered only
for previews and the result.

Motion supervision follows the official code at its newest (after "Revise to be consistent with paper"): the L1
between the features read at q + d and the *detached* features at q, for q in a disk of radius r1 around the
handle and d the unit vector towards the target, so the content at q is pulled to q + d. Coordinates are image
pixels, x then y, pixel centres at whole numbers (decimals allowed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.imaging import to_uint8

REFERENCE_PX = 512  # the paper's radii (r1 3, r2 12) and stop distances (1, or 2 from 5 points) are for 512 px


class DragError(ValueError):
    """A drag that cannot run as asked (the message says why)."""


@dataclass(frozen=True)
class DragOptions:
    steps: int = 200
    lr: float = 2e-3  # the paper's Adam step size for FFHQ
    free_layers: int = 6  # W+ layers optimised; the rest stay as they were
    r1: float | None = None  # motion supervision radius, image px (None: 3 px at 512, scaled)
    r2: float | None = None  # tracking search radius, image px (None: 12 px at 512, scaled)
    stop: float | None = None  # a handle this close to its target is there (None: 1 px, 2 from 5 points, at 512)
    mask_weight: float = 20.0  # lambda: how strongly features outside the movable region keep still
    feature_px: int | None = None  # the features' stage by its size (None: 128 px, as the official code)
    precision: str = "bf16"  # the steps' features (stylegan_core.precision); the result renders in fp32


@dataclass(frozen=True)
class Geometry:
    """Where a drag works, in image px: its lattice step `unit` (the motion step and the tracker's grid), the
    motion radius r1, the tracking radius r2 and the stop distance. The paper's geometry is a 512 px image over
    128 px features: a unit is a quarter of a feature pixel. Smaller images keep that ratio (a 64 px model over its
    64 px features drags on a quarter-pixel lattice); the radii are the paper's scaled to the image, at least one
    unit for r1 and the stop, two for r2."""

    unit: float
    r1: float
    r2: float
    stop: float

    @classmethod
    def of(cls, options: DragOptions, resolution: int, feature_px: int, points: int) -> Geometry:
        unit = min(1.0, resolution / (4 * feature_px))
        scale = resolution / REFERENCE_PX
        r1 = options.r1 if options.r1 is not None else max(unit, 3 * scale)
        r2 = options.r2 if options.r2 is not None else max(2 * unit, 12 * scale)
        stop = options.stop if options.stop is not None else max(unit, (2 if points >= 5 else 1) * scale)
        return cls(unit, r1, r2, stop)


@dataclass
class DragResult:
    ws: Tensor  # [1, num_ws, w_dim] the dragged latent
    handles: np.ndarray  # [K, 2] where the handles ended (x, y)
    targets: np.ndarray  # [K, 2]
    image: np.ndarray  # [H, W, 3] uint8 the result (noise const)
    steps: int
    seconds: float
    reached: bool  # every handle within the stop distance of its target


def check_points(points: Sequence[Sequence[float]], resolution: int) -> np.ndarray:
    """[[hx, hy, tx, ty], ...] as a [K, 4] array, or DragError naming what is wrong."""
    if len(points) == 0:
        raise DragError("no points: give at least one handle and its target, e.g. [[30, 40, 34, 40]]")
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise DragError("points must be [[hx, hy, tx, ty], ...]: four numbers a point") from None
    if array.ndim != 2 or array.shape[1] != 4:
        raise DragError(f"points must be [[hx, hy, tx, ty], ...]: four numbers a point, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise DragError("points must be finite numbers")
    outside = (array < 0) | (array > resolution - 1)
    if outside.any():
        k = int(np.argwhere(outside.any(axis=1))[0, 0])
        raise DragError(
            f"point {k + 1} {array[k].tolist()} is outside the {resolution}x{resolution} image (0 to {resolution - 1})"
        )
    return array


def check_mask(mask: np.ndarray | None, resolution: int) -> Tensor | None:
    """The movable region [H, W] (non-zero: may move) as a [1, 1, H, W] float tensor, or None."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=-1)
    if mask.shape != (resolution, resolution):
        raise DragError(
            f"the mask is {mask.shape[1]}x{mask.shape[0]}; it must be the image's {resolution}x{resolution}"
        )
    if not mask.any():
        raise DragError("the mask marks nothing as movable")
    return torch.from_numpy((mask > 0).astype(np.float32))[None, None]


def feature_stage(G: Generator, feature_px: int | None = None) -> int:
    """The synthesis stage whose features drag reads: the first at least `feature_px` wide (default 128 px, the
    official code's block, or the last stage of a smaller model)."""
    want = min(G.img_resolution, feature_px or 128)
    sizes = G.synthesis.feature_sizes
    return next((i for i, size in enumerate(sizes) if size >= want), len(sizes) - 1)


def _sample(features: Tensor, xy: Tensor, size: int) -> Tensor:
    """Features [C, P] at points xy [P, 2] (px of a `size` image, centres at whole numbers) of features
    [1, C, h, w]: what the features bilinearly resized to the image hold there, read without resizing them."""
    grid = (xy + 0.5) / size * 2 - 1
    return F.grid_sample(features, grid[None, None], mode="bilinear", align_corners=False, padding_mode="border")[
        0, :, 0
    ]


def _disk(radius: float, unit: float) -> Tensor:
    """[P, 2] the lattice offsets (multiples of `unit`) within `radius` of the origin."""
    r = math.floor(radius / unit + 1e-6)
    grid = torch.stack(torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="xy"), -1)
    offsets = grid.reshape(-1, 2).float() * unit
    return offsets[offsets.norm(dim=1) <= radius + 1e-6]


def motion_loss(features: Tensor, handles: Tensor, targets: Tensor, size: int, geometry: Geometry) -> Tensor:
    """Motion supervision: for each handle not yet at its target, L1 between the features at q + d and the
    detached features at q (q within r1 of the handle, d one unit towards the target); summed over the handles."""
    towards = targets - handles  # [K, 2]
    distance = towards.norm(dim=1, keepdim=True)
    moving = (distance >= geometry.stop)[:, 0]
    if not bool(moving.any()):
        return features.new_zeros(())
    disk = _disk(geometry.r1, geometry.unit).to(features.device)  # [P, 2]
    q = (handles[moving, None] + disk).reshape(-1, 2)  # [K' * P, 2]
    step = (towards[moving] / distance[moving] * geometry.unit).repeat_interleave(len(disk), dim=0)
    pulled, held = _sample(features, q + step, size), _sample(features, q, size).detach()  # [C, K' * P]
    return (pulled - held).abs().mean(dim=0).reshape(-1, len(disk)).mean(dim=1).sum()


def track(features: Tensor, first: Tensor, handles: Tensor, r2: float, size: int, unit: float = 1.0) -> Tensor:
    """Point tracking: each handle's new place [K, 2], the lattice point (steps of `unit` from the handle) within a
    square of half-side r2, inside the image, whose feature is nearest (L2) to the handle's first feature
    first[k] [C]."""
    r = math.floor(r2 / unit + 1e-6)
    steps = torch.arange(-r, r + 1, device=features.device, dtype=torch.float32) * unit
    window = torch.stack(torch.meshgrid(steps, steps, indexing="xy"), -1).reshape(-1, 2)  # [P, 2]
    candidates = handles[:, None] + window  # [K, P, 2]
    found = _sample(features, candidates.reshape(-1, 2), size).reshape(len(first), len(handles), -1)  # [C, K, P]
    distance = (found - first[:, :, None]).norm(dim=0)  # [K, P]
    outside = ((candidates < 0) | (candidates > size - 1)).any(dim=2)
    best = distance.masked_fill(outside, float("inf")).argmin(dim=1)
    return candidates[torch.arange(len(handles)), best]


def drag(
    G: Generator,
    ws: Tensor,
    points: Sequence[Sequence[float]],
    *,
    mask: np.ndarray | None = None,
    options: DragOptions = DragOptions(),  # noqa: B008  (frozen: a shared default is safe)
    callback: Callable[[int, int, np.ndarray, Tensor], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DragResult:
    """ws [1, num_ws, w_dim] moved so that each handle's content reaches its target; `points` [[hx, hy, tx, ty]]
    in image px; `mask` [H, W] (non-zero: movable) keeps the rest's features still. `callback(step, total,
    handles [K, 2], ws)` after each step (render previews there, when wanted)."""
    started = time.perf_counter()
    size = G.img_resolution
    array = check_points(points, size)
    movable = check_mask(mask, size)
    if options.steps < 1:
        raise DragError("steps must be at least 1")
    stage = feature_stage(G, options.feature_px)
    geometry = Geometry.of(options, size, G.synthesis.feature_sizes[stage], len(array))
    device = G.device
    handles = torch.tensor(array[:, :2], dtype=torch.float32, device=device)
    targets = torch.tensor(array[:, 2:], dtype=torch.float32, device=device)
    start = ws.detach().to(device, torch.float32)
    free_count = min(options.free_layers, G.num_ws)
    free = start[:, :free_count].clone().requires_grad_(True)
    fixed = start[:, free_count:]
    optimiser = torch.optim.Adam([free], lr=options.lr)

    def features_of(w_free: Tensor) -> Tensor:  # [1, C, h, h]: the stage's own size, read through _sample
        ws = torch.cat([w_free, fixed], dim=1)
        return G.synthesis.features(ws, stage, noise_mode="const", precision=options.precision, free_layers=free_count)

    def there() -> bool:
        return bool(((targets - handles).norm(dim=1) < geometry.stop).all())

    steps, reached = 0, False
    for step in range(options.steps):
        if should_stop is not None and should_stop():
            break
        features = features_of(free)
        if step == 0:  # what the handles and the still region look like at the start
            first_features = features.detach()
            first = _sample(first_features, handles, size)  # [C, K]
            if movable is not None:  # the share of each feature pixel that must keep still
                still = 1 - F.interpolate(movable.to(device), size=features.shape[-2:], mode="area")
        else:
            handles = track(features.detach(), first, handles, geometry.r2, size, geometry.unit)
        if there():
            reached = True
            break
        loss = motion_loss(features, handles, targets, size, geometry)
        if movable is not None:
            loss = loss + options.mask_weight * F.l1_loss(features * still, first_features * still)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        steps = step + 1
        if callback is not None:
            callback(steps, options.steps, handles.cpu().numpy(), torch.cat([free.detach(), fixed], dim=1))
    result_ws = torch.cat([free.detach(), fixed], dim=1)
    if not reached and steps == options.steps:  # the last step's move, tracked and judged
        with torch.no_grad():
            handles = track(features_of(free), first, handles, geometry.r2, size, geometry.unit)
        reached = there()
    with torch.no_grad():
        image = to_uint8(G.synthesis(result_ws, noise_mode="const"))[0]
    return DragResult(
        result_ws, handles.cpu().numpy(), targets.cpu().numpy(), image, steps, time.perf_counter() - started, reached
    )
