"""Projection: find the latent (W or W+) whose image matches a target, with an LPIPS-VGG loss.

`classic` follows NVIDIA's projector (W, 1000 Adam steps, lr 0.1 with ramps, latent noise fading over
the first 75%, noise maps optimised and regularised with weight 1e5, w statistics from 10k samples).
`fast` is designed for CPUs: start from the best of 128 sampled latents instead of the mean (compared
at <= 64 px), measure the loss at half resolution for the first 40% of the steps where that is still
128 px or more (StyleGAN2 skip generators then stop their synthesis there), optimise W first and then
W+, keep the noise maps fixed (so later edits render with the same noise), compute in bfloat16 where the
hardware does it natively, and stop after 100 steps.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.imaging import area_resize, to_uint8
from stylegan_core.precision import has_native_bf16
from stylegan_core.sampling import sample_ws

from .lpips import LPIPS

ProgressCallback = Callable[[int, int, "np.ndarray | None"], None]  # (step, steps, preview [H, W, C] or None)


@dataclass(frozen=True)
class ProjectionPreset:
    steps: int
    space: str = "w"  # 'w' or 'w+'
    lr: float = 0.1
    lr_rampdown: float = 0.25
    lr_rampup: float = 0.05
    initial_noise_factor: float = 0.05
    noise_ramp: float = 0.75
    optimize_noise: bool = True
    noise_regularize: float = 1e5
    w_avg_samples: int = 10_000
    init_candidates: int = 0  # >0: start from the best of this many sampled ws (by LPIPS at low resolution)
    low_res_fraction: float = 0.0  # share of the steps measured at half resolution
    w_then_wplus: float = 0.0  # share of the steps optimised in W before switching to W+
    mse_weight: float = 0.0
    reduced_precision: bool = False  # bfloat16 autocast at >= 256 px where the hardware has it natively (~1.7x)


MIN_COARSE_LOSS_PX = 128

PRESETS = {
    "classic": ProjectionPreset(steps=1000),
    "fast": ProjectionPreset(
        steps=100,
        space="w+",
        lr=0.05,
        initial_noise_factor=0.02,
        optimize_noise=False,
        w_avg_samples=2000,
        init_candidates=128,
        low_res_fraction=0.4,
        w_then_wplus=0.3,
        reduced_precision=True,
    ),
    # From an encoder's code (`init_ws=`): a few dozen W+ steps that only polish it, no latent noise; a sampled
    # start replaces the code only where it is closer (a photo unlike anything the encoder learnt from).
    "refine": ProjectionPreset(
        steps=30,  # on the demo model: 0.0177 LPIPS (fast: 0.018 in 100 steps); 25 steps: 0.022
        space="w+",
        lr=0.02,
        initial_noise_factor=0.0,
        optimize_noise=False,
        w_avg_samples=1000,
        init_candidates=64,
        lr_rampup=0.0,
        reduced_precision=True,
    ),
}


@dataclass
class ProjectionResult:
    ws: Tensor  # [1, num_ws, w_dim]
    image: np.ndarray  # [H, W, C] uint8, rendered with the optimised noise
    target: np.ndarray  # [H, W, C] uint8 at the generator's resolution
    lpips: float
    psnr: float
    losses: list[float] = field(default_factory=list)  # total loss per step
    lpips_history: list[float] = field(default_factory=list)  # its LPIPS part (noisy latents, loss resolution)
    seconds: float = 0.0
    steps: int = 0
    frames: list[np.ndarray] = field(default_factory=list)  # previews, for a video of the optimisation


def target_tensor(target: Image.Image | np.ndarray, resolution: int) -> Tensor:
    """A PIL image or uint8 [H, W, C] array -> [1, 3, R, R] in [-1, 1] (centre square, Lanczos)."""
    img = Image.fromarray(target) if isinstance(target, np.ndarray) else target
    img = img.convert("RGB")
    side = min(img.size)
    img = img.crop(
        ((img.width - side) // 2, (img.height - side) // 2, (img.width + side) // 2, (img.height + side) // 2)
    )
    img = img.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def reduced_precision_context(device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA and on CPUs with native bfloat16 (AVX512-BF16 / AMX); elsewhere a no-op,
    since emulated bfloat16 is slower than float32."""
    if device.type in ("cuda", "cpu") and has_native_bf16(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def _loss_resolution(G: Generator, coarse: bool) -> int:
    """The side the LPIPS loss is measured at: the image's, at most 256 (as NVIDIA's projector), halved in
    the coarse phase only while that leaves MIN_COARSE_LOSS_PX: at 32 px VGG's features no longer see a face
    (on the 64 px demo model a 32 px phase doubled `fast`'s final LPIPS, 0.051 against 0.027)."""
    size = min(G.img_resolution, 256)
    return size // 2 if coarse and size // 2 >= MIN_COARSE_LOSS_PX else size


def _noise_buffers(G: Generator) -> dict[str, Tensor]:
    return {name: buf for name, buf in G.synthesis.named_buffers() if name.endswith("noise_const")}


def _noise_regularisation(noises: list[Tensor]) -> Tensor:
    """Penalise spatial autocorrelation of the noise maps at every scale (NVIDIA's projector)."""
    reg = torch.zeros([])
    for v in noises:
        v = v[None, None]
        while True:
            reg = reg + (v * torch.roll(v, shifts=1, dims=3)).mean() ** 2
            reg = reg + (v * torch.roll(v, shifts=1, dims=2)).mean() ** 2
            if v.shape[2] <= 8:
                break
            v = F.avg_pool2d(v, kernel_size=2)
    return reg


@torch.no_grad()
def _full_image(G: Generator, ws: Tensor, precision: contextlib.AbstractContextManager) -> Tensor:
    with precision:
        return G.synthesis(ws, noise_mode="const").float()


@torch.no_grad()
def w_statistics(G: Generator, samples: int, seed: int = 0) -> tuple[Tensor, float, Tensor]:
    """(w_avg [1, w_dim], w_std, sampled ws [samples, w_dim]) from the mapping network."""
    w = sample_ws(G, samples, seed)
    w_avg = w.mean(dim=0, keepdim=True)
    w_std = float(((w - w_avg).square().sum() / samples) ** 0.5)
    return w_avg, w_std, w


def _start_size(G: Generator) -> int:
    return min(max(G.img_resolution // 2, 32), 64)


@torch.no_grad()
def _best_start(
    G: Generator, lpips: LPIPS, target: Tensor, candidates: Tensor, precision: contextlib.AbstractContextManager
) -> tuple[Tensor, float]:
    """The sampled w [1, w_dim] whose (truncated towards the mean) image is closest to the target, and its
    distance, compared at half the image's side, 32 to 64 px: the start only has to get pose, colours and layout
    right."""
    w_avg = G.mapping.w_avg[None]
    candidates = w_avg.lerp(candidates, 0.7)  # truncated starts are safer: fewer artefacts to undo
    size = _start_size(G)
    t = lpips.unit_features(area_resize(target, size))
    best, best_d = None, math.inf
    for chunk in candidates.split(32):
        with precision:
            d = lpips(G.synthesize_at(chunk[:, None].expand(-1, G.num_ws, -1), size).float(), t)
        i = int(d.argmin())
        if d[i] < best_d:
            best, best_d = chunk[i : i + 1], float(d[i])
    return best, best_d


@torch.no_grad()
def _start_distance(G: Generator, lpips: LPIPS, target: Tensor, ws: Tensor) -> float:
    """How far ws [1, num_ws, w_dim] renders from the target, measured as `_best_start` measures."""
    size = _start_size(G)
    return float(lpips(G.synthesize_at(ws, size).float(), area_resize(target, size)))


def project(
    G: Generator,
    target: Image.Image | np.ndarray | Tensor,
    *,
    preset: str | ProjectionPreset = "fast",
    space: str | None = None,
    steps: int | None = None,
    lpips: LPIPS | None = None,
    seed: int = 0,
    preview_every: int = 0,
    callback: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    init_ws: Tensor | None = None,
) -> ProjectionResult:
    """Project `target` (an aligned face) into G's W or W+; G itself is never modified. `init_ws` [1, num_ws, w_dim]
    (an encoder's code) replaces the preset's starting point and its W phase: the optimisation goes on in W+."""
    cfg = PRESETS[preset] if isinstance(preset, str) else preset
    cfg = replace(cfg, **({"space": space} if space else {}), **({"steps": steps} if steps else {}))
    if cfg.space not in ("w", "w+"):
        raise ValueError(f"space must be 'w' or 'w+', got {cfg.space!r}")
    start = time.perf_counter()
    torch.manual_seed(seed)
    lpips = lpips or LPIPS("vgg")
    device = G.device
    lpips = lpips.to(device)
    G = copy.deepcopy(G).eval().requires_grad_(False)  # the noise maps are ours to change
    t = target if isinstance(target, Tensor) else target_tensor(target, G.img_resolution)
    t = t.to(device)
    w_avg, w_std, w_samples = w_statistics(G, cfg.w_avg_samples, seed)
    # bfloat16 pays off where convolutions dominate; a small model would only lose accuracy
    precision = (
        reduced_precision_context(device) if cfg.reduced_precision and G.img_resolution >= 256 else nullcontext()
    )
    w_start = w_avg
    if cfg.init_candidates:
        w_start, distance = _best_start(G, lpips, t, w_samples[: cfg.init_candidates], precision)
        if init_ws is not None and distance < _start_distance(G, lpips, t, init_ws.to(device)):
            init_ws = w_start[:, None].repeat(1, G.num_ws, 1)  # the encoder missed (a photo far from its training)
    per_layer = cfg.space == "w+" and (cfg.w_then_wplus == 0 or init_ws is not None)
    if init_ws is not None:
        w_opt = init_ws.detach().to(device).clone() if per_layer else init_ws.detach().to(device)[:, 0].clone()
    else:
        w_opt = w_start[:, None].repeat(1, G.num_ws, 1) if per_layer else w_start.clone()
    w_opt.requires_grad_(True)
    noises = list(_noise_buffers(G).values())
    if cfg.optimize_noise:
        for buf in noises:
            buf.normal_()
            buf.requires_grad_(True)
    params = [w_opt] + (noises if cfg.optimize_noise else [])
    opt = torch.optim.Adam(params, betas=(0.9, 0.999), lr=cfg.lr)
    with torch.no_grad():  # the target's LPIPS features at each loss resolution (one, where no coarse phase runs)
        target_features = {
            size: lpips.unit_features(area_resize(t, size))
            for size in {_loss_resolution(G, coarse) for coarse in (False, True)}
        }
    result = ProjectionResult(ws=torch.empty(0), image=np.empty(0), target=to_uint8(t)[0], lpips=0.0, psnr=0.0)
    for step in range(cfg.steps):
        if should_stop is not None and should_stop():
            break
        frac = step / cfg.steps
        if cfg.space == "w+" and not per_layer and frac >= cfg.w_then_wplus:  # W -> W+ switch
            w_opt = w_opt.detach()[:, None].repeat(1, G.num_ws, 1).requires_grad_(True)
            opt = torch.optim.Adam([w_opt] + (noises if cfg.optimize_noise else []), betas=(0.9, 0.999), lr=cfg.lr)
            per_layer = True
        w_noise_scale = w_std * cfg.initial_noise_factor * max(0.0, 1.0 - frac / cfg.noise_ramp) ** 2
        lr_ramp = min(1.0, (1.0 - frac) / cfg.lr_rampdown)
        lr_ramp = (0.5 - 0.5 * math.cos(lr_ramp * math.pi)) * (min(1.0, frac / cfg.lr_rampup) if cfg.lr_rampup else 1.0)
        for group in opt.param_groups:
            group["lr"] = cfg.lr * lr_ramp
        ws = w_opt + torch.randn_like(w_opt) * w_noise_scale
        ws = ws if per_layer else ws[:, None].expand(-1, G.num_ws, -1)
        coarse = frac < cfg.low_res_fraction and not cfg.mse_weight  # a pixel loss needs the full image
        size = _loss_resolution(G, coarse)
        with precision:  # the coarse phase renders only what its loss sees
            synth = (G.synthesize_at(ws, size) if coarse else G.synthesis(ws, noise_mode="const")).float()
            loss = lpips(area_resize(synth, size), target_features[size]).sum()
        result.lpips_history.append(loss.item())
        if cfg.mse_weight:
            loss = loss + cfg.mse_weight * F.mse_loss(synth, t)
        if cfg.optimize_noise:
            loss = loss + cfg.noise_regularize * _noise_regularisation(noises)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        result.losses.append(loss.item())
        if cfg.optimize_noise:
            with torch.no_grad():
                for buf in noises:
                    buf -= buf.mean()
                    buf *= buf.square().mean().rsqrt()
        preview = None
        if preview_every and (step % preview_every == 0 or step == cfg.steps - 1):
            full = synth.detach() if synth.shape[-1] == G.img_resolution else _full_image(G, ws.detach(), precision)
            preview = to_uint8(full)[0]
            result.frames.append(preview)
        if callback is not None:
            callback(step + 1, cfg.steps, preview)
    with torch.no_grad():
        ws = w_opt.detach() if per_layer else w_opt.detach()[:, None].repeat(1, G.num_ws, 1)
        final = G.synthesis(ws, noise_mode="const")
        result.ws = ws.cpu()
        result.image = to_uint8(final)[0]
        full_size = _loss_resolution(G, False)
        result.lpips = float(lpips(area_resize(final, full_size), target_features[full_size]))
        mse = float(((torch.from_numpy(result.image).float() - torch.from_numpy(result.target).float()) ** 2).mean())
        result.psnr = 10 * math.log10(255.0**2 / max(mse, 1e-10))
    result.steps = len(result.losses)
    result.seconds = time.perf_counter() - start
    return result
