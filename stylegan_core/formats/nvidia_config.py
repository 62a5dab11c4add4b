"""Official NVIDIA constructor kwargs -> our typed GeneratorConfig.

Three code bases wrote the pickles people use; their constructors differ only in defaults:
stylegan2-ada-pytorch (`training.networks`), stylegan3's `training.networks_stylegan2` and
`training.networks_stylegan3`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ..config import GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig, StyleGAN3SynthesisConfig
from ..errors import CheckpointError

Family = Literal["stylegan2-ada", "stylegan2", "stylegan3"]

FAMILY_BY_MODULE: dict[str, Family] = {
    "training.networks": "stylegan2-ada",
    "training.networks_stylegan2": "stylegan2",
    "training.networks_stylegan3": "stylegan3",
}

# Kwargs that only steer speed or precision in the official code; they do not change fp32 outputs.
_PRECISION_ONLY = {"num_fp16_res", "use_fp16", "fp16_channels_last", "channels_last", "fused_modconv_default"}

_MAPPING_DEFAULTS: dict[Family, dict[str, Any]] = {
    "stylegan2-ada": dict(num_layers=8, lr_multiplier=0.01, w_avg_beta=0.995),
    "stylegan2": dict(num_layers=8, lr_multiplier=0.01, w_avg_beta=0.998),
    "stylegan3": dict(num_layers=2, lr_multiplier=0.01, w_avg_beta=0.998),
}
_SG2_CONV_CLAMP_DEFAULT = {"stylegan2-ada": None, "stylegan2": 256.0}


def family_from_class_path(class_path: str) -> Family:
    module = class_path.rsplit(".", 1)[0]
    if module not in FAMILY_BY_MODULE:
        raise CheckpointError(f"unsupported generator class {class_path!r}; known modules: {sorted(FAMILY_BY_MODULE)}")
    return FAMILY_BY_MODULE[module]


def _take(kwargs: dict[str, Any], key: str, default: Any) -> Any:
    return kwargs.pop(key) if key in kwargs else default


def _mapping_config(family: Family, z_dim: int, c_dim: int, w_dim: int, raw: Mapping[str, Any]) -> MappingConfig:
    kw = dict(raw)
    defaults = _MAPPING_DEFAULTS[family]
    if kw.pop("activation", "lrelu") != "lrelu":
        raise CheckpointError("only lrelu mapping networks are supported")
    cfg = MappingConfig(
        z_dim=z_dim,
        c_dim=c_dim,
        w_dim=w_dim,
        num_layers=int(_take(kw, "num_layers", defaults["num_layers"])),
        embed_features=_take(kw, "embed_features", None),
        layer_features=_take(kw, "layer_features", None),
        lr_multiplier=float(_take(kw, "lr_multiplier", defaults["lr_multiplier"])),
        w_avg_beta=float(_take(kw, "w_avg_beta", defaults["w_avg_beta"]) or defaults["w_avg_beta"]),
    )
    if family == "stylegan3" and (cfg.embed_features or cfg.layer_features):
        raise CheckpointError("StyleGAN3 mapping networks take no embed_features / layer_features")
    _reject_unknown(kw, "mapping_kwargs")
    return cfg


def _reject_unknown(kw: dict[str, Any], where: str) -> None:
    unknown = sorted(set(kw) - _PRECISION_ONLY)
    if unknown:
        raise CheckpointError(f"unsupported {where} in the checkpoint: {', '.join(unknown)}")


def config_from_nvidia_kwargs(init_kwargs: Mapping[str, Any], family: Family) -> GeneratorConfig:
    """Rebuild the config from a Generator's recorded `init_kwargs`, resolving each family's defaults."""
    kw = dict(init_kwargs)
    try:
        z_dim, c_dim, w_dim = int(kw.pop("z_dim")), int(kw.pop("c_dim")), int(kw.pop("w_dim"))
        img_resolution, img_channels = int(kw.pop("img_resolution")), int(kw.pop("img_channels"))
    except KeyError as exc:
        raise CheckpointError(f"generator kwargs lack {exc.args[0]!r}") from None
    mapping = _mapping_config(family, z_dim, c_dim, w_dim, kw.pop("mapping_kwargs", {}) or {})
    synth_kw = dict(kw.pop("synthesis_kwargs", {}) or {}) if family == "stylegan2-ada" else {}
    synth_kw.update(kw)  # stylegan3's code base passes synthesis kwargs flat
    if family == "stylegan3":
        synthesis = _sg3_synthesis_config(synth_kw)
        arch = "stylegan3"
    else:
        synthesis = _sg2_synthesis_config(synth_kw, family)
        arch = "stylegan2"
    return GeneratorConfig(
        architecture=arch,
        img_resolution=img_resolution,
        img_channels=img_channels,
        mapping=mapping,
        synthesis=synthesis,
    )


def _sg2_synthesis_config(kw: dict[str, Any], family: Family) -> StyleGAN2SynthesisConfig:
    clamp = _take(kw, "conv_clamp", _SG2_CONV_CLAMP_DEFAULT[family])
    if kw.pop("activation", "lrelu") != "lrelu":
        raise CheckpointError("only lrelu synthesis layers are supported")
    cfg = StyleGAN2SynthesisConfig(
        channel_base=int(_take(kw, "channel_base", 32768)),
        channel_max=int(_take(kw, "channel_max", 512)),
        architecture=_take(kw, "architecture", "skip"),
        conv_clamp=None if clamp is None else float(clamp),
        resample_filter=tuple(float(v) for v in _take(kw, "resample_filter", (1, 3, 3, 1))),
        use_noise=bool(_take(kw, "use_noise", True)),
        kernel_size=int(_take(kw, "kernel_size", 3)),
    )
    if cfg.architecture not in ("skip", "resnet", "orig"):
        raise CheckpointError(f"unknown synthesis architecture {cfg.architecture!r}")
    _reject_unknown(kw, "synthesis kwargs")
    return cfg


def _sg3_synthesis_config(kw: dict[str, Any]) -> StyleGAN3SynthesisConfig:
    defaults = StyleGAN3SynthesisConfig()
    values: dict[str, Any] = {}
    for name in (
        "channel_base",
        "channel_max",
        "num_layers",
        "num_critical",
        "first_cutoff",
        "first_stopband",
        "last_stopband_rel",
        "margin_size",
        "output_scale",
        "conv_kernel",
        "filter_size",
        "lrelu_upsampling",
        "use_radial_filters",
        "conv_clamp",
        "magnitude_ema_beta",
    ):
        if name in kw:
            value = kw.pop(name)
            default = getattr(defaults, name)
            values[name] = value if value is None or isinstance(default, bool) else type(default)(value)
    _reject_unknown(kw, "synthesis kwargs")
    return StyleGAN3SynthesisConfig(**values)
