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
    r1: float | None = None  # motion supervision radius, image px (None: 3 px at 512, scaled, at least 1)
    r2: float | None = None  # tracking search radius, image px (None: 12 px at 512, scaled, at least 2)
    stop: float | None = None  # a handle this close to its target is there (None: 1 px, 2 from 5 points, at 512)
    mask_weight: float = 20.0  # lambda: how strongly features outside the movable region keep still
    feature_px: int | None = None  # the features' stage by its size (None: a quarter of the image, at least 32)

    def radii(self, resolution: int, points: int) -> tuple[float, float, float]:
        scale = resolution / REFERENCE_PX
        r1 = self.r1 if self.r1 is not None else max(1.0, 3 * scale)
        r2 = self.r2 if self.r2 is not None else max(2.0, 12 * scale)
        stop = self.stop if self.stop is not None else max(1.0, (2 if points >= 5 else 1) * scale)
        return r1, r2, stop


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
    """The synthesis stage whose features drag reads: the first at least `feature_px` wide (default a quarter of
    the image, at least 32 px, as the official code's 128 px block of its 512 px models)."""
    want = feature_px or min(G.img_resolution, max(32, G.img_resolution // 4))
    sizes = G.synthesis.feature_sizes
    return next((i for i, size in enumerate(sizes) if size >= want), len(sizes) - 1)


def _sample(features: Tensor, xy: Tensor) -> Tensor:
    """Bilinear features [C, P] at points xy [P, 2] (image px, centres at whole numbers) of features [1, C, H, W]."""
    h, w = features.shape[-2:]
    grid = torch.stack([xy[:, 0] / (w - 1), xy[:, 1] / (h - 1)], dim=-1) * 2 - 1
    return F.grid_sample(features, grid[None, None], mode="bilinear", align_corners=True)[0, :, 0]


def _disk(radius: float) -> Tensor:
    """[P, 2] the whole-pixel offsets within `radius` of the origin."""
    r = math.floor(radius)
    grid = torch.stack(torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="xy"), -1)
    offsets = grid.reshape(-1, 2).float()
    return offsets[offsets.norm(dim=1) <= radius]


def motion_loss(features: Tensor, handles: Tensor, targets: Tensor, r1: float, stop: float) -> Tensor:
    """Motion supervision: for each handle not yet at its target, L1 between the features at q + d and the
    detached features at q (q within r1 of the handle, d the unit step towards the target)."""
    loss = features.new_zeros(())
    disk = _disk(r1).to(features.device)
    for handle, target in zip(handles, targets, strict=True):
        towards = target - handle
        distance = towards.norm()
        if distance < stop:
            continue
        q = handle + disk
        loss = loss + F.l1_loss(_sample(features, q + towards / distance), _sample(features, q).detach())
    return loss


def track(features: Tensor, first: Tensor, handles: Tensor, r2: float) -> Tensor:
    """Point tracking: each handle's new place [K, 2], the pixel within r2 (a square window, inside the image)
    whose feature is nearest (L2) to the handle's first feature first[k] [C]."""
    h, w = features.shape[-2:]
    moved = []
    for handle, f0 in zip(handles, first.T, strict=True):
        x, y = handle.round().long().tolist()
        r = math.ceil(r2)
        x0, x1, y0, y1 = max(0, x - r), min(w, x + r + 1), max(0, y - r), min(h, y + r + 1)
        window = features[0, :, y0:y1, x0:x1]  # [C, h', w']
        distance = (window - f0[:, None, None]).norm(dim=0)
        index = int(distance.argmin())
        moved.append([x0 + index % (x1 - x0), y0 + index // (x1 - x0)])
    return torch.tensor(moved, dtype=torch.float32, device=features.device)


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
    r1, r2, stop = options.radii(size, len(array))
    stage = feature_stage(G, options.feature_px)
    device = G.device
    handles = torch.tensor(array[:, :2], dtype=torch.float32, device=device)
    targets = torch.tensor(array[:, 2:], dtype=torch.float32, device=device)
    start = ws.detach().to(device, torch.float32)
    free_count = min(options.free_layers, G.num_ws)
    free = start[:, :free_count].clone().requires_grad_(True)
    fixed = start[:, free_count:]
    optimiser = torch.optim.Adam([free], lr=options.lr)

    def features_of(w_free: Tensor) -> Tensor:  # [1, C, size, size]
        raw = G.synthesis.features(torch.cat([w_free, fixed], dim=1), stage, noise_mode="const")
        return F.interpolate(raw, size=(size, size), mode="bilinear", align_corners=False)

    steps, reached = 0, False
    for step in range(options.steps):
        if should_stop is not None and should_stop():
            break
        features = features_of(free)
        if step == 0:  # what the handles and the still region look like at the start
            first_features = features.detach()
            first = _sample(first_features, handles)  # [C, K]
        else:
            handles = track(features.detach(), first, handles, r2)
        if bool(((targets - handles).norm(dim=1) < stop).all()):
            reached = True
            break
        loss = motion_loss(features, handles, targets, r1, stop)
        if movable is not None:
            still = 1 - movable.to(device)
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
            handles = track(features_of(free), first, handles, r2)
        reached = bool(((targets - handles).norm(dim=1) < stop).all())
    with torch.no_grad():
        image = to_uint8(G.synthesis(result_ws, noise_mode="const"))[0]
    return DragResult(
        result_ws, handles.cpu().numpy(), targets.cpu().numpy(), image, steps, time.perf_counter() - started, reached
    )
