"""Pivotal tuning (Roich et al. 2021, "Pivotal Tuning for Latent-based Editing of Real Images").

The generator's synthesis weights are tuned so that the pivot latent (an encoder's or a projection's code)
renders the photo itself; a locality regulariser keeps what the generator makes elsewhere in W as it was, so
edits around the pivot behave as on the original model. The shared generator is never modified: tuning works on
a copy, which belongs to that one photo.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.imaging import area_resize, to_uint8

from .lpips import LPIPS, shared_lpips
from .project import target_tensor

LOSS_PX = 256  # LPIPS is measured at most at this size, as in projection


@dataclass(frozen=True)
class PTIOptions:
    """The paper's settings (its code's defaults), with the locality regulariser on."""

    steps: int = 350
    lr: float | None = None  # None: the paper's 3e-4 for models of 256 px and more, 1e-3 for smaller ones
    l2_weight: float = 1.0  # pixel MSE beside LPIPS on the pivot
    lpips_stop: float = 0.06  # stop once the pivot's LPIPS is under this
    locality_weight: float = 0.1  # weight of LPIPS and of L2 between original and tuned renders near the pivot
    locality_alpha: float = 30.0  # how far from the pivot, towards a random w, the regulariser looks
    seed: int = 0
    batch: int = 0  # pivots tuned on per step, taken in turn, where several are given (a clip's frames); 0: all
    precision: str = "bf16"  # the tuning steps' renders (stylegan_core.precision); the result renders in fp32


@dataclass
class PTIResult:
    generator: Generator  # the tuned copy, eval mode, no gradients
    image: np.ndarray  # [H, W, C] uint8: the pivot rendered by the tuned generator (noise const)
    lpips: float
    psnr: float
    steps: int
    seconds: float


def default_lr(G: Generator) -> float:
    """The paper's 3e-4 was set for 1024 px FFHQ; a small model needs more: on the 64 px demo model, 100 steps at
    3e-4 left four real photos at LPIPS 0.26 on average (dlib: not the same person), while 350 steps at 1e-3
    reached 0.06-0.075 on two of them (dlib distance 0.35-0.47, the same person)."""
    return 3e-4 if G.img_resolution >= 256 else 1e-3


def _lpips_at_loss_size(lpips: LPIPS, image: Tensor, target: Tensor) -> Tensor:
    size = min(image.shape[-1], LOSS_PX)
    return lpips(area_resize(image, size), area_resize(target, size)).mean()  # over a batch of pivots


def _lpips_and_l2(lpips: LPIPS, image: Tensor, target: Tensor, l2_weight: float) -> Tensor:
    return _lpips_at_loss_size(lpips, image, target) + l2_weight * F.mse_loss(image, target)


def _locality_point(G: Generator, pivot: Tensor, alpha: float, generator: torch.Generator) -> Tensor:
    """w_r = w_p + alpha (w_z - w_p) / |w_z - w_p|, w_z a random face's latent: [1, num_ws, w_dim]."""
    z = torch.randn(1, G.z_dim, generator=generator).to(G.device)
    with torch.no_grad():
        w_z = G.mapping(z, None)
    step = w_z - pivot
    return pivot + alpha * step / step[:, :1].norm(dim=-1, keepdim=True)


def _in_turn(count: int, batch: int, step: int) -> Tensor:
    """The pivots a step tunes on: all of them, or `batch` of them in turn."""
    if not batch or batch >= count:
        return torch.arange(count)
    return torch.arange(step * batch, (step + 1) * batch) % count


def tune_generator(
    G: Generator,
    pivot: Tensor,
    target: Image.Image | np.ndarray | Tensor,
    *,
    options: PTIOptions = PTIOptions(),  # noqa: B008  (frozen: a shared default is safe)
    lpips: LPIPS | None = None,
    callback: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PTIResult:
    """A copy of G whose synthesis renders `pivot` [1, num_ws, w_dim] as `target` (an aligned face); or, with
    pivots [N, num_ws, w_dim] and targets [N, 3, H, W], each pivot as its target (a clip's frames)."""
    start = time.perf_counter()
    device = G.device
    lpips = lpips or shared_lpips(str(device))
    pivot = pivot.detach().to(device)
    t = target.to(device) if isinstance(target, Tensor) else target_tensor(target, G.img_resolution).to(device)
    tuned = copy.deepcopy(G).eval().requires_grad_(False)
    tuned.synthesis.requires_grad_(True)
    params = [p for p in tuned.synthesis.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=options.lr or default_lr(G))
    rng = torch.Generator().manual_seed(options.seed)
    steps = 0
    for step in range(options.steps):
        if should_stop is not None and should_stop():
            break
        some = _in_turn(len(pivot), options.batch, step)
        image = tuned.synthesis(pivot[some], noise_mode="const", precision=options.precision)
        pivot_lpips = _lpips_at_loss_size(lpips, image, t[some])
        if pivot_lpips.item() < options.lpips_stop:
            break
        loss = pivot_lpips + options.l2_weight * F.mse_loss(image, t[some])
        if options.locality_weight:
            w_r = _locality_point(G, pivot[some], options.locality_alpha, rng)
            with torch.no_grad():
                original = G.synthesis(w_r, noise_mode="const", precision=options.precision)
            drifted = tuned.synthesis(w_r, noise_mode="const", precision=options.precision)
            loss = loss + options.locality_weight * _lpips_and_l2(lpips, drifted, original, 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps = step + 1
        if callback is not None:
            callback(steps, options.steps)
    tuned.requires_grad_(False)
    with torch.no_grad():
        final = tuned.synthesis(pivot, noise_mode="const")
        score = float(_lpips_at_loss_size(lpips, final, t))
    image = to_uint8(final)[0]
    target_pixels = to_uint8(t)[0]
    mse = float(((torch.from_numpy(image).float() - torch.from_numpy(target_pixels).float()) ** 2).mean())
    return PTIResult(
        tuned, image, score, 10 * math.log10(255.0**2 / max(mse, 1e-10)), steps, time.perf_counter() - start
    )
