"""rosinality/stylegan2-pytorch checkpoints -> our (NVIDIA-named) config + state dict.

The conversion is a table of key patterns; the shapes of the stored tensors give the config.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import Tensor

from ..config import GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig
from ..errors import CheckpointError

Transform = Callable[[Tensor], Tensor]


def _same(t: Tensor) -> Tensor:
    return t


def _drop_lead(t: Tensor) -> Tensor:  # [1, ...] -> [...]
    return t.reshape(t.shape[1:])


def _scalar(t: Tensor) -> Tensor:  # [1] -> []
    return t.reshape([])


def _flat(t: Tensor) -> Tensor:  # [1, C, 1, 1] -> [C]
    return t.reshape(-1)


def _noise_map(t: Tensor) -> Tensor:  # [1, 1, R, R] -> [R, R]
    return t.reshape(t.shape[-2:])


def _upsample_kernel(t: Tensor) -> Tensor:  # rosinality stores the filter times up**2 = 4
    return t / 4


# (rosinality suffix, our suffix, transform) for a styled conv and for a ToRGB layer.
_CONV_FIELDS = [
    ("conv.weight", "weight", _drop_lead),
    ("conv.modulation.weight", "affine.weight", _same),
    ("conv.modulation.bias", "affine.bias", _same),
    ("noise.weight", "noise_strength", _scalar),
    ("activate.bias", "bias", _same),
]
_TORGB_FIELDS = [
    ("conv.weight", "weight", _drop_lead),
    ("conv.modulation.weight", "affine.weight", _same),
    ("conv.modulation.bias", "affine.bias", _same),
    ("bias", "bias", _flat),
]
# Buffers our model holds that rosinality has no counterpart for: designed [1,3,3,1] filters in layers
# that do not resample (they have no effect on the output), filled from the model's own design.
DESIGNED_ONLY = re.compile(r"synthesis\.b4\.resample_filter|synthesis\.b\d+\.conv1\.resample_filter")


def key_table(log2_res: int, n_mlp: int) -> list[tuple[str, str, Transform]]:
    """Every (rosinality key, our key, transform) of a generator of 2**log2_res px with n_mlp dense layers."""
    table: list[tuple[str, str, Transform]] = [("input.input", "synthesis.b4.const", _drop_lead)]
    for i in range(n_mlp):
        table += [(f"style.{i + 1}.weight", f"mapping.fc{i}.weight", _same)]
        table += [(f"style.{i + 1}.bias", f"mapping.fc{i}.bias", _same)]

    def layer(src: str, dst: str, fields: list[tuple[str, str, Transform]]) -> None:
        table.extend((f"{src}.{a}", f"{dst}.{b}", fn) for a, b, fn in fields)

    layer("conv1", "synthesis.b4.conv1", _CONV_FIELDS)
    layer("to_rgb1", "synthesis.b4.torgb", _TORGB_FIELDS)
    table.append(("noises.noise_0", "synthesis.b4.conv1.noise_const", _noise_map))
    for k, log2 in enumerate(range(3, log2_res + 1)):
        dst = f"synthesis.b{2**log2}"
        layer(f"convs.{2 * k}", f"{dst}.conv0", _CONV_FIELDS)
        layer(f"convs.{2 * k + 1}", f"{dst}.conv1", _CONV_FIELDS)
        layer(f"to_rgbs.{k}", f"{dst}.torgb", _TORGB_FIELDS)
        table.append((f"convs.{2 * k}.conv.blur.kernel", f"{dst}.conv0.resample_filter", _upsample_kernel))
        table.append((f"to_rgbs.{k}.upsample.kernel", f"{dst}.resample_filter", _upsample_kernel))
        table.append((f"noises.noise_{2 * k + 1}", f"{dst}.conv0.noise_const", _noise_map))
        table.append((f"noises.noise_{2 * k + 2}", f"{dst}.conv1.noise_const", _noise_map))
    return table


def fit_channel_params(channels: dict[int, int]) -> tuple[int, int]:
    """(channel_base, channel_max) with min(base // res, max) == channels[res] at every resolution."""
    channel_max = max(channels.values())
    top = max(channels)
    candidates = [channels[top] * top] + [channels[r] * r for r in sorted(channels) if channels[r] < channel_max]
    for base in candidates:
        if all(min(base // r, channel_max) == c for r, c in channels.items()):
            return base, channel_max
    raise CheckpointError(f"channel widths {channels} do not follow the StyleGAN2 channel rule")


def config_from_rosinality(sd: dict[str, Tensor], lr_multiplier: float = 0.01) -> GeneratorConfig:
    """Infer size, style_dim, n_mlp and channel widths from the tensors' names and shapes."""
    if "style.1.weight" not in sd or "input.input" not in sd:
        raise CheckpointError("not a rosinality generator state dict (no style.1.weight / input.input)")
    n_mlp = sum(1 for k in sd if re.fullmatch(r"style\.\d+\.weight", k))
    style_dim = sd["style.1.weight"].shape[1]
    num_up = sum(1 for k in sd if re.fullmatch(r"to_rgbs\.\d+\.conv\.weight", k))
    log2_res = num_up + 2
    channels = {4: sd["conv1.conv.weight"].shape[1]}
    for k in range(num_up):
        channels[2 ** (k + 3)] = sd[f"convs.{2 * k}.conv.weight"].shape[1]
    base, cmax = fit_channel_params(channels)
    return GeneratorConfig(
        architecture="stylegan2",
        img_resolution=2**log2_res,
        img_channels=sd["to_rgb1.conv.weight"].shape[1],
        mapping=MappingConfig(z_dim=style_dim, w_dim=style_dim, num_layers=n_mlp, lr_multiplier=lr_multiplier),
        synthesis=StyleGAN2SynthesisConfig(
            channel_base=base,
            channel_max=cmax,
            conv_clamp=None,
            kernel_size=sd["conv1.conv.weight"].shape[-1],
        ),
    )


def convert_rosinality(
    sd: dict[str, Tensor], latent_avg: Tensor | None, designed: dict[str, Tensor]
) -> dict[str, Tensor]:
    """Map every rosinality tensor exactly once onto our keys; `designed` supplies filter-only buffers."""
    n_mlp = sum(1 for k in sd if re.fullmatch(r"style\.\d+\.weight", k))
    num_up = sum(1 for k in sd if re.fullmatch(r"to_rgbs\.\d+\.conv\.weight", k))
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    for src, dst, fn in key_table(num_up + 2, n_mlp):
        if src not in sd:
            raise CheckpointError(f"rosinality checkpoint lacks {src!r}")
        out[dst] = fn(sd[src])
        used.add(src)
    unknown = sorted(set(sd) - used)
    if unknown:
        raise CheckpointError(f"unexpected key(s) in the rosinality checkpoint: {', '.join(unknown[:8])}")
    if latent_avg is not None:
        out["mapping.w_avg"] = latent_avg.reshape(-1)
    for key, value in designed.items():
        if DESIGNED_ONLY.fullmatch(key):
            out[key] = value
    return out


def estimate_w_avg(G: torch.nn.Module, num_samples: int = 4096, seed: int = 0) -> Tensor:
    """Mean of mapped random z (what rosinality's `mean_latent` computes) for files without latent_avg."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = torch.randn([num_samples, G.z_dim], generator=gen)
        return G.mapping(z, None)[:, 0].mean(dim=0)


def is_rosinality(sd: dict[str, Tensor]) -> bool:
    return "style.1.weight" in sd and "input.input" in sd
