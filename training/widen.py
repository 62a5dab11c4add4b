"""Widen a training snapshot's networks without changing what they compute, so training can go on with more capacity.

`--channel-base B` raises G's and D's channel_base (channel_max stays): the layers at the resolutions it touches
get more channels. Every new channel starts from the usual random init and every weight that *reads* a new
channel starts at zero, so the widened G draws the same images and the widened D gives the same scores; the
weights kept are rescaled for the larger fan-in of the equalised learning rate, and the Adam moments follow
(new entries: the layer's mean second moment, so their first steps are not outsized). Net2Net (Chen et al.,
2016) for StyleGAN2.

    studio widen runs/demo15 runs/demo16 --channel-base 4096 && studio train --resume runs/demo16 ...
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from stylegan_core.config import GeneratorConfig
from stylegan_core.files import give_default_mode
from stylegan_core.generator import Generator

from .discriminator import Discriminator, DiscriminatorConfig
from .errors import TrainingError
from .snapshots import LOG_FILE, STATE_FILE, STATE_JSON, latest_snapshot, network_state

ADAM_MOMENTS = ("exp_avg", "exp_avg_sq")


def _fan_in(shape: torch.Size) -> int:
    """Inputs per output of a weight [O, I, ...]: what the equalised learning rate divides by (its square root)."""
    return math.prod(shape[1:]) if len(shape) > 1 else 1


def widen_tensor(old: torch.Tensor, fresh: torch.Tensor) -> tuple[torch.Tensor, float]:
    """old [O, I, ...] into fresh's larger shape: kept block rescaled, reads of new inputs zero, new rows fresh.

    Returns the tensor and the scale applied to the kept block (1 for biases and unchanged shapes)."""
    if old.shape == fresh.shape:
        return old.clone(), 1.0
    out = fresh.clone()
    o = old.shape[0]
    scale = math.sqrt(_fan_in(fresh.shape) / _fan_in(old.shape)) if old.dim() > 1 else 1.0
    if old.dim() > 1:
        out[:o, old.shape[1] :] = 0  # old outputs ignore the new inputs
        out[:o, : old.shape[1]] = old * scale
    else:
        out[:o] = old
    return out, scale


def widen_state(tensors: dict[str, torch.Tensor], fresh: dict[str, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """All of a snapshot's tensors (G., D., G_ema., opt_G., opt_D.) for the widened networks."""
    out: dict[str, torch.Tensor] = {}
    scales: dict[str, float] = {}
    for net in ("G", "D", "G_ema"):
        for name, value in fresh["D" if net == "D" else "G"].items():
            key = f"{net}.{name}"
            out[key], scales[key] = widen_tensor(tensors[key], value)
    for key, old in tensors.items():
        if not key.startswith("opt_"):
            continue
        opt, rest = key.split(".", 1)  # opt_G.<param>.<moment>, opt_D.<param>.<moment>
        param, moment = rest.rsplit(".", 1)
        param = f"{opt.removeprefix('opt_')}.{param}"
        if moment not in ADAM_MOMENTS or old.shape == out[param].shape:
            out[key] = old.clone()
            continue
        scale = scales[param]
        kept = old / (scale if moment == "exp_avg" else scale**2)  # gradients shrink as the weights grow
        fill = 0.0 if moment == "exp_avg" else float(kept.mean())
        grown = torch.full_like(out[param], fill)
        grown[tuple(slice(0, n) for n in old.shape)] = kept
        out[key] = grown
    return out


def _networks(
    tensors: dict[str, torch.Tensor], gcfg: GeneratorConfig, dcfg: DiscriminatorConfig
) -> tuple[Generator, Discriminator]:
    """A snapshot's G_ema and D."""
    G, D = Generator(gcfg).eval(), Discriminator(dcfg).eval()
    G.load_state_dict(network_state(tensors, "G_ema"))
    D.load_state_dict(network_state(tensors, "D"))
    return G, D


@torch.no_grad()
def _same_function(before: tuple[Generator, Discriminator], after: tuple[Generator, Discriminator]) -> bool:
    """Do the widened G_ema and D compute what the originals did (a few latents, const noise)?"""
    (G0, D0), (G1, D1) = before, after
    n = math.lcm(4, D0.config.eye_pack or 1, D0.config.mouth_pack or 1)  # whole packs for the pack critics
    z = torch.randn([n, G0.z_dim], generator=torch.Generator().manual_seed(0))
    c = torch.zeros([n, G0.c_dim])
    c[:, :1] = 1  # some class, for conditional networks
    img0, img1 = G0(z, c, noise_mode="const"), G1(z, c, noise_mode="const")
    return torch.allclose(img0, img1, atol=1e-4) and torch.allclose(D0(img0, c), D1(img0, c), atol=1e-4)


def widen_snapshot(source: Path, dest: Path, channel_base: int, seed: int = 0) -> Path:
    """The newest snapshot of `source` with G and D at `channel_base`, as a new run directory `dest`."""
    snapshot = latest_snapshot(source)
    if snapshot is None:
        raise TrainingError(f"{source}: no complete training snapshot to widen")
    if dest.exists():
        raise TrainingError(f"{dest} exists; widening writes a new run directory")
    counters = json.loads((snapshot / STATE_JSON).read_text())
    gcfg = GeneratorConfig.from_dict(counters["G_config"])
    dcfg = DiscriminatorConfig(**counters["D_config"])
    if channel_base <= max(gcfg.synthesis.channel_base, dcfg.channel_base):
        raise TrainingError(
            f"--channel-base {channel_base} must be above the snapshot's "
            f"({gcfg.synthesis.channel_base} in G, {dcfg.channel_base} in D)"
        )
    wide_g = replace(gcfg, synthesis=replace(gcfg.synthesis, channel_base=channel_base))
    wide_d = replace(dcfg, channel_base=channel_base)
    with torch.random.fork_rng():  # the new channels' init, without touching the caller's random state
        torch.manual_seed(seed)
        fresh = {"G": Generator(wide_g).state_dict(), "D": Discriminator(wide_d).state_dict()}
    old = load_file(str(snapshot / STATE_FILE))
    tensors = widen_state(old, fresh)
    widened = _networks(tensors, wide_g, wide_d)
    if not _same_function(_networks(old, gcfg, dcfg), widened):
        raise TrainingError(
            f"at channel_base {channel_base} the 4 px layers would widen too, which changes what D computes "
            "(its minibatch-std channel and label projection sit there): choose a smaller one"
        )
    snap = dest / snapshot.name
    snap.mkdir(parents=True)
    widened[0].save_pretrained(snap)
    save_file(tensors, str(snap / STATE_FILE))
    give_default_mode(snap / STATE_FILE)
    counters.update(G_config=wide_g.to_dict(), D_config=wide_d.to_dict(), widened_from=str(snapshot))
    (snap / STATE_JSON).write_text(json.dumps(counters, indent=1))
    if (snapshot.parent / LOG_FILE).is_file():  # the run's history goes on in the new directory
        shutil.copy(snapshot.parent / LOG_FILE, dest / LOG_FILE)
    return snap
