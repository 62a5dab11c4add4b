"""Typed, frozen generator configuration, saved as `config.json` beside `model.safetensors`."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

CONFIG_FORMAT_VERSION = 1

Architecture = Literal["stylegan1", "stylegan2", "stylegan3"]


@dataclass(frozen=True)
class MappingConfig:
    """Mapping network z (+ class label c) -> w, as NVIDIA's `MappingNetwork`."""

    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    num_layers: int = 8
    embed_features: int | None = None  # label embedding width; None = w_dim
    layer_features: int | None = None  # hidden width; None = w_dim
    lr_multiplier: float = 0.01
    w_avg_beta: float = 0.998
    default_truncation_cutoff: int | None = None  # layers truncated when no cutoff is given; None = all


@dataclass(frozen=True)
class StyleGAN1SynthesisConfig:
    """StyleGAN (v1) synthesis network: the official TensorFlow `G_synthesis` (AdaIN styles)."""

    fmap_base: int = 8192
    fmap_decay: float = 1.0
    fmap_max: int = 512
    blur_filter: tuple[float, ...] | None = (1.0, 2.0, 1.0)
    fused_scale: bool | Literal["auto"] = "auto"  # 'auto': fused transposed conv for outputs >= 128 px
    use_noise: bool = True
    use_pixel_norm: bool = False
    use_instance_norm: bool = True
    use_styles: bool = True

    def channels(self, resolution: int) -> int:
        stage = int(math.log2(resolution)) - 1
        return min(int(self.fmap_base / (2.0 ** (stage * self.fmap_decay))), self.fmap_max)

    def fused_at(self, resolution: int) -> bool:
        """Whether the upsampling conv producing `resolution` px is the fused transposed conv."""
        return resolution >= 128 if self.fused_scale == "auto" else bool(self.fused_scale)


@dataclass(frozen=True)
class StyleGAN2SynthesisConfig:
    """StyleGAN2 synthesis network (NVIDIA's `networks_stylegan2.SynthesisNetwork`)."""

    channel_base: int = 32768
    channel_max: int = 512
    architecture: Literal["skip", "resnet", "orig"] = "skip"
    conv_clamp: float | None = 256.0  # None: no clamping (rosinality checkpoints)
    resample_filter: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0)
    use_noise: bool = True
    kernel_size: int = 3

    def channels(self, resolution: int) -> int:
        return min(self.channel_base // resolution, self.channel_max)


@dataclass(frozen=True)
class StyleGAN3SynthesisConfig:
    """StyleGAN3 synthesis network (NVIDIA's `networks_stylegan3.SynthesisNetwork`), configs T and R."""

    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    conv_kernel: int = 3  # 1 for config R
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False  # True for config R
    conv_clamp: float | None = 256.0
    magnitude_ema_beta: float = 0.999


SynthesisConfig = StyleGAN1SynthesisConfig | StyleGAN2SynthesisConfig | StyleGAN3SynthesisConfig

SYNTHESIS_CONFIGS: dict[str, type] = {
    "stylegan1": StyleGAN1SynthesisConfig,
    "stylegan2": StyleGAN2SynthesisConfig,
    "stylegan3": StyleGAN3SynthesisConfig,
}


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to build a generator; its weights live in the state dict."""

    architecture: Architecture
    img_resolution: int
    img_channels: int = 3
    mapping: MappingConfig = field(default_factory=MappingConfig)
    synthesis: SynthesisConfig = field(default_factory=StyleGAN2SynthesisConfig)

    def __post_init__(self) -> None:
        if self.architecture not in SYNTHESIS_CONFIGS:
            raise ValueError(f"unknown architecture {self.architecture!r}")
        expected = SYNTHESIS_CONFIGS[self.architecture]
        if not isinstance(self.synthesis, expected):
            raise TypeError(f"{self.architecture} needs a {expected.__name__}, got {type(self.synthesis).__name__}")
        res = self.img_resolution
        if self.architecture != "stylegan3" and (res < 4 or res & (res - 1)):
            raise ValueError(f"{self.architecture} resolution must be a power of two >= 4, got {res}")

    @property
    def z_dim(self) -> int:
        return self.mapping.z_dim

    @property
    def c_dim(self) -> int:
        return self.mapping.c_dim

    @property
    def w_dim(self) -> int:
        return self.mapping.w_dim

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["format_version"] = CONFIG_FORMAT_VERSION
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GeneratorConfig:
        d = dict(d)
        version = d.pop("format_version", CONFIG_FORMAT_VERSION)
        if version > CONFIG_FORMAT_VERSION:
            raise ValueError(f"config format version {version} is newer than this code ({CONFIG_FORMAT_VERSION})")
        arch = d["architecture"]
        if arch not in SYNTHESIS_CONFIGS:
            raise ValueError(f"unknown architecture {arch!r}")
        synth_cls = SYNTHESIS_CONFIGS[arch]
        synth = dict(d.get("synthesis", {}))
        for key in ("resample_filter", "blur_filter"):
            if synth.get(key) is not None:
                synth[key] = tuple(synth[key])
        return cls(
            architecture=arch,
            img_resolution=int(d["img_resolution"]),
            img_channels=int(d.get("img_channels", 3)),
            mapping=_strict_build(MappingConfig, d.get("mapping", {})),
            synthesis=_strict_build(synth_cls, synth),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> GeneratorConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _strict_build(cls: type, values: dict[str, Any]) -> Any:
    """Build a config dataclass, naming unknown fields instead of silently dropping them."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    return cls(**values)
