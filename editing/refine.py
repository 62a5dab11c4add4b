"""Refining a supervised direction by optimising the edit itself through a differentiable attribute reader.

A linear boundary in W (InterFaceGAN) is the best linear separator of an attribute's readings, but where
the attribute is not a linear function of W (the demo model's smile: a least-squares fit explains a third
of its variance) the boundary's normal barely moves it. Refinement starts from that normal and, over
batches of generated samples, maximises the attribute's change between the edits -alpha and +alpha while
penalising the change of every other reading. It learns one unit direction per edited layer, each
stepping one standard deviation of the sampled ws along it, so alpha keeps its meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.sampling import sample_ws

from .directions import Direction, layer_mask

# images [N, 3, H, W] in [-1, 1] -> {name: [N] value, or [N, K] class probabilities}, differentiable
Reader = Callable[[Tensor], dict[str, Tensor]]


@dataclass(frozen=True)
class RefineOptions:
    steps: int = 400
    batch: int = 12  # samples per step (each rendered at -alpha and +alpha)
    alpha: float = 2.0  # the edit strength optimised for, in std
    value_weight: float = 0.3  # penalty per unit of mean absolute change of another value
    class_weight: float = 1.0  # penalty per unit of mean L1 change of another factor's class probabilities
    lr: float = 0.02
    truncation_psi: float = 0.7
    seed: int = 0


@contextmanager
def _frozen(module: torch.nn.Module) -> Iterator[None]:
    """Its parameters need no gradients while only the direction learns; restored afterwards."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _per_layer_step(units: Tensor, cov: Tensor, mask: Tensor) -> Tensor:  # [L, D], [D, D], [L, 1] -> [L, D]
    """Each layer's unit direction times the std of the sampled ws along it; zero on unedited layers."""
    u = units / units.norm(dim=1, keepdim=True).clamp_min(1e-12)
    std = torch.einsum("ld,de,le->l", u, cov, u).clamp_min(0).sqrt()
    return u * std[:, None] * mask


def target_value(readings: dict[str, Tensor], target: str) -> Tensor:  # -> [N]
    """The reading to raise: a value, or the probability of a two-class factor's second class (glasses on).
    A probability, not log-odds: unbounded log-odds outweigh every penalty and buy confidence with the face."""
    reading = readings.get(target)
    if reading is not None and reading.ndim == 2 and reading.shape[1] == 2:
        return reading[:, 1]
    if reading is None or reading.ndim != 1:
        raise ValueError(
            f"the reader gives no value or two-class probability named {target!r}; it reads {', '.join(readings)}"
        )
    return reading


def side_effect_penalty(low: dict[str, Tensor], high: dict[str, Tensor], target: str, options: RefineOptions) -> Tensor:
    """Weighted mean absolute change, from `low` to `high`, of every reading but the target's."""
    penalty = torch.zeros(())
    for name, before in low.items():
        if name == target:
            continue
        change = (high[name] - before).abs()
        weight = options.value_weight if change.ndim == 1 else options.class_weight
        penalty = penalty + weight * change.reshape(len(change), -1).sum(1).mean()
    return penalty


def refine(
    G: Generator,
    read: Reader,
    direction: Direction,
    target: str,
    *,
    options: RefineOptions = RefineOptions(),
    progress: Callable[[int, int], None] | None = None,  # (steps done, steps)
) -> Direction:
    """`direction` (a W direction found for `target`) optimised to move `target` and nothing else, as a
    per-layer [num_ws, w_dim] direction on the same layers."""
    if direction.space != "w":
        raise ValueError(f"direction {direction.name!r} lives in Z; refinement works in W")
    direction.check_fits(G.num_ws, G.w_dim)
    device = G.device
    mask = layer_mask(G.num_ws, direction.layers, device)  # [L, 1]
    with torch.no_grad():
        w_all = sample_ws(G, 5000, options.seed)  # [5000, D], untruncated, as discovery scales its vectors
    cov = torch.cov((w_all - w_all.mean(0)).T)  # [D, D]
    start = torch.as_tensor(direction.vector, dtype=torch.float32, device=device)
    units = start.expand(G.num_ws, G.w_dim).clone().requires_grad_(True)  # [L, D]
    opt = torch.optim.Adam([units], lr=options.lr)
    gen = torch.Generator().manual_seed(options.seed)
    with _frozen(G), torch.enable_grad():
        for step in range(options.steps):
            z = torch.randn(options.batch, G.z_dim, generator=gen).to(device)  # the same on every device
            with torch.no_grad():
                ws = G.mapping(z, None, truncation_psi=options.truncation_psi)  # [B, L, D]
            edit = options.alpha * _per_layer_step(units, cov, mask)
            readings = read(G.synthesis(torch.cat([ws - edit, ws + edit]), noise_mode="const"))
            value = target_value(readings, target)  # [2B]
            low = {k: v[: options.batch] for k, v in readings.items()}
            high = {k: v[options.batch :] for k, v in readings.items()}
            gain = (value[options.batch :] - value[: options.batch]).mean()
            loss = side_effect_penalty(low, high, target, options) - gain
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if progress:
                progress(step + 1, options.steps)
    vector = _per_layer_step(units.detach(), cov, mask).cpu()
    how = f"; refined through the scorer for {options.steps} steps, one direction per layer"
    normal = direction.normal
    if normal is None and direction.vector.ndim == 1:
        normal = direction.unit().vector  # the boundary it started from: what holding this attribute projects out
    # typical_alpha: the strength it was optimised for, where it is clearly visible (the app's slider range)
    return replace(
        direction,
        vector=vector.numpy(),
        normal=normal,
        method=direction.method + "+refined",
        description=direction.description.rstrip(")") + how + ")",
        typical_alpha=options.alpha,
    )
