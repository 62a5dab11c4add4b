"""TensorFlow-era StyleGAN (v1) checkpoints -> config + state dict, without TensorFlow.

Official files are pickled `(G, D, Gs)` tuples of `dnnlib.tflib.network.Network`; each network keeps
its weights as a `variables` list of (name, ndarray) pairs and its settings in `static_kwargs`. The
same variables saved to an `.npz` (keys as `Gs.vars`: `dlatent_avg`, `G_mapping/Dense0/weight`, ...)
load too. Sizes come from the variable shapes; the rest from the stored kwargs or the official
defaults (`training/networks_stylegan.py`: `G_style`, `G_mapping`, `G_synthesis`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import GeneratorConfig, MappingConfig, StyleGAN1SynthesisConfig
from ..errors import CheckpointError
from .safe_pickle import TFNetworkStandIn

TF_NETWORK_ALIASES = {"G_ema": "Gs", "Gs": "Gs", "G": "G", "D": "D"}  # our default name -> TF's
_TUPLE_ORDER = ("G", "D", "Gs")

# Official defaults of the kwargs we honour; kwargs the official code ignores (**_kwargs) we ignore too.
_STYLE_DEFAULTS = dict(truncation_cutoff=8, dlatent_avg_beta=0.995)
_MAPPING_DEFAULTS = dict(mapping_lrmul=0.01, mapping_nonlinearity="lrelu", use_wscale=True, normalize_latents=True)
_SYNTHESIS_DEFAULTS = dict(
    fmap_base=8192,
    fmap_decay=1.0,
    fmap_max=512,
    use_styles=True,
    const_input_layer=True,
    use_noise=True,
    nonlinearity="lrelu",
    use_wscale=True,
    use_pixel_norm=False,
    use_instance_norm=True,
    fused_scale="auto",
    blur_filter=[1, 2, 1],
)
# Settings whose other values this port does not implement: refused rather than silently wrong.
_REQUIRED = dict(
    mapping_nonlinearity="lrelu",
    nonlinearity="lrelu",
    use_wscale=True,
    normalize_latents=True,
    const_input_layer=True,
)

_BLOCK = re.compile(r"^G_synthesis/(\d+)x\1/")
_DEAD = re.compile(r"^(lod|G_synthesis/lod|G_synthesis/ToRGB_lod[1-9]\d*/(weight|bias))$")
SQRT2 = math.sqrt(2.0)


def is_tf_pickle(data: Any) -> bool:
    """The official `(G, D, Gs)` tuple, or a single TF network pickled on its own."""
    if isinstance(data, TFNetworkStandIn):
        return True
    return isinstance(data, tuple) and any(isinstance(x, TFNetworkStandIn) for x in data)


def flatten_variables(net: TFNetworkStandIn) -> dict[str, np.ndarray]:
    """`Network.vars`: own variables by local name, components' prefixed with their network name."""
    out: dict[str, np.ndarray] = {}
    for item in net.state.get("variables") or []:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise CheckpointError(f"network {net.name!r}: malformed variables list")
        out[item[0]] = _as_float_array(item[0], item[1])
    for component in net.components.values():
        if not isinstance(component, TFNetworkStandIn):
            raise CheckpointError(f"network {net.name!r}: a component is not a network")
        out.update({f"{component.name}/{k}": v for k, v in flatten_variables(component).items()})
    return out


def _as_float_array(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value) if isinstance(value, np.generic) else value
    if not isinstance(arr, np.ndarray) or arr.dtype.hasobject or arr.dtype.kind not in "fiu":
        raise CheckpointError(f"variable {name!r} is not a numeric array")
    return arr


def _network_kwargs(net: TFNetworkStandIn) -> dict[str, dict[str, Any]]:
    """Kwargs per part: each component's own (they include what G_style passed down), Gs' as fallback."""
    top = net.static_kwargs
    parts = {"style": top, "mapping": dict(top), "synthesis": dict(top)}
    for key, component in net.components.items():
        if key in ("mapping", "synthesis") and isinstance(component, TFNetworkStandIn):
            parts[key].update(component.static_kwargs)
    return parts


def select_network(data: tuple | TFNetworkStandIn, network: str, source: str) -> TFNetworkStandIn:
    """Pick `Gs` (default), `G` or `D` out of the official `(G, D, Gs)` tuple."""
    if isinstance(data, TFNetworkStandIn):
        return data
    wanted = TF_NETWORK_ALIASES.get(network)
    if wanted is None:
        raise CheckpointError(f"{source}: no network {network!r}; a TensorFlow pickle holds G, D and Gs")
    nets = [x for x in data if isinstance(x, TFNetworkStandIn)]
    by_name = {n.name: n for n in nets}
    if wanted not in by_name and len(data) == 3 and len(nets) == 3:
        by_name = dict(zip(_TUPLE_ORDER, nets, strict=True))  # names missing: use the official order
    if wanted not in by_name:
        raise CheckpointError(f"{source}: no network {wanted!r} in this pickle (it has: {', '.join(by_name)})")
    return by_name[wanted]


def generator_from_tf_pickle(
    data: tuple | TFNetworkStandIn, network: str, source: str
) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    net = select_network(data, network, source)
    builder = net.state.get("build_func_name")
    if builder is not None and str(builder).rsplit(".", 1)[-1] != "G_style":
        hint = (
            " (a StyleGAN2 TensorFlow pickle: convert it with stylegan2-ada-pytorch's legacy.py)"
            if (str(builder).endswith("G_main"))
            else ""
        )
        raise CheckpointError(
            f"{source}: network {net.name!r} was built by {builder!r}; it is not a StyleGAN "
            f"v1 generator (G_style){hint}"
        )
    if set(net.components) != {"mapping", "synthesis"}:
        raise CheckpointError(
            f"{source}: network {net.name!r} is not a StyleGAN v1 generator (components: {sorted(net.components)}); "
            "only G and Gs can be built"
        )
    return convert_tf_variables(flatten_variables(net), _network_kwargs(net), source)


def read_tf_npz(path: Path) -> dict[str, np.ndarray]:
    """The variables of an `.npz` export; a leading `Gs/` on every name is accepted."""
    try:
        with np.load(path, allow_pickle=False) as f:
            variables = {k: _as_float_array(k, f[k]) for k in f.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{path}: unreadable .npz ({exc})") from None
    if variables and all(k.startswith("Gs/") for k in variables):
        variables = {k[3:]: v for k, v in variables.items()}
    return variables


def generator_from_tf_npz(path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """An `.npz` of the TF variables; kwargs may sit beside it in `<stem>.json` (else official defaults)."""
    sidecar = path.with_suffix(".json")
    kwargs = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{sidecar}: expected a JSON object of G_style kwargs")
    return convert_tf_variables(read_tf_npz(path), {"style": kwargs, "mapping": kwargs, "synthesis": kwargs}, str(path))


def _setting(kwargs: dict[str, Any], key: str, defaults: dict[str, Any], source: str) -> Any:
    value = kwargs.get(key, defaults[key])
    if key in _REQUIRED and value != _REQUIRED[key]:
        raise CheckpointError(f"{source}: {key}={value!r} is not supported (only {_REQUIRED[key]!r})")
    return value


def _fit_channels(channels: dict[int, int], decay: float) -> StyleGAN1SynthesisConfig | None:
    """fmap_base / fmap_max that reproduce the observed channels per resolution (for decay 1 files)."""
    if decay != 1.0:
        return None
    fmap_max = max(channels.values())
    res, c = min(channels.items(), key=lambda rc: (rc[1], -rc[0]))
    stage = int(math.log2(max(channels))) - 1 if c == fmap_max else int(math.log2(res)) - 1
    cfg = StyleGAN1SynthesisConfig(fmap_base=c * 2**stage, fmap_max=fmap_max)
    return cfg if all(cfg.channels(r) == n for r, n in channels.items()) else None


def config_from_tf_variables(
    variables: dict[str, np.ndarray], kwargs: dict[str, dict[str, Any]], source: str
) -> GeneratorConfig:
    mk, sk, gk = kwargs["mapping"], kwargs["synthesis"], kwargs["style"]
    if "G_mapping/LabelConcat/weight" in variables or int(mk.get("label_size", 0) or 0) > 0:
        raise CheckpointError(f"{source}: conditional (label_size > 0) StyleGAN v1 models are not supported")
    dense = sorted(int(m.group(1)) for k in variables if (m := re.fullmatch(r"G_mapping/Dense(\d+)/weight", k)))
    if not dense or dense != list(range(len(dense))):
        raise CheckpointError(f"{source}: no StyleGAN v1 mapping network (G_mapping/Dense0..N/weight) found")
    first, last = variables["G_mapping/Dense0/weight"], variables[f"G_mapping/Dense{dense[-1]}/weight"]
    for key in ("mapping_nonlinearity", "use_wscale", "normalize_latents"):
        _setting(mk, key, _MAPPING_DEFAULTS, source)
    mapping = MappingConfig(
        z_dim=int(first.shape[0]),
        w_dim=int(last.shape[1]),
        num_layers=len(dense),
        layer_features=int(first.shape[1]) if len(dense) > 1 else None,
        lr_multiplier=float(_setting(mk, "mapping_lrmul", _MAPPING_DEFAULTS, source)),
        w_avg_beta=float(gk.get("dlatent_avg_beta", _STYLE_DEFAULTS["dlatent_avg_beta"]) or 0.995),
        default_truncation_cutoff=gk.get("truncation_cutoff", _STYLE_DEFAULTS["truncation_cutoff"]),
    )
    resolutions = sorted({int(m.group(1)) for k in variables if (m := _BLOCK.match(k))})
    if not resolutions or resolutions != [2**i for i in range(2, len(resolutions) + 2)]:
        raise CheckpointError(f"{source}: no StyleGAN v1 synthesis blocks 4x4 .. RxR found")
    if "G_synthesis/4x4/Const/const" not in variables:
        raise CheckpointError(f"{source}: no learned constant input (const_input_layer=False is not supported)")
    channels = {
        r: int(variables[f"G_synthesis/{r}x{r}/Conv1/weight" if r > 4 else "G_synthesis/4x4/Conv/weight"].shape[-1])
        for r in resolutions
    }
    settings = {k: _setting(sk, k, _SYNTHESIS_DEFAULTS, source) for k in _SYNTHESIS_DEFAULTS}
    blur = settings["blur_filter"]
    synthesis = StyleGAN1SynthesisConfig(
        fmap_base=int(settings["fmap_base"]),
        fmap_decay=float(settings["fmap_decay"]),
        fmap_max=int(settings["fmap_max"]),
        blur_filter=tuple(float(t) for t in blur) if blur is not None else None,
        fused_scale=settings["fused_scale"],
        use_noise="G_synthesis/noise0" in variables,
        use_pixel_norm=bool(settings["use_pixel_norm"]),
        use_instance_norm=bool(settings["use_instance_norm"]),
        use_styles="G_synthesis/4x4/Const/StyleMod/weight" in variables,
    )
    if any(synthesis.channels(r) != c for r, c in channels.items()):
        fitted = _fit_channels(channels, synthesis.fmap_decay)
        if fitted is None:
            raise CheckpointError(f"{source}: channel counts {channels} do not follow fmap_base/fmap_decay/fmap_max")
        synthesis = dataclasses.replace(synthesis, fmap_base=fitted.fmap_base, fmap_max=fitted.fmap_max)
    num_ws = 2 * len(resolutions)
    broadcast = mk.get("dlatent_broadcast")
    if broadcast is not None and int(broadcast) != num_ws:
        raise CheckpointError(f"{source}: dlatent_broadcast={broadcast} but the synthesis has {num_ws} layers")
    img_channels = (
        int(variables["G_synthesis/ToRGB_lod0/weight"].shape[-1])
        if ("G_synthesis/ToRGB_lod0/weight" in variables)
        else 3
    )
    return GeneratorConfig("stylegan1", resolutions[-1], img_channels, mapping, synthesis)


def _tf_to_torch_names(config: GeneratorConfig) -> dict[str, tuple[str, str]]:
    """TF variable name -> (our state-dict key, layout transform)."""
    names: dict[str, tuple[str, str]] = {"dlatent_avg": ("mapping.w_avg", "copy")}
    for i in range(config.mapping.num_layers):
        names[f"G_mapping/Dense{i}/weight"] = (f"mapping.fc{i}.weight", "dense")
        names[f"G_mapping/Dense{i}/bias"] = (f"mapping.fc{i}.bias", "mapping_bias")
    log2 = int(math.log2(config.img_resolution))
    for layer in range(2 * (log2 - 1)):
        res = 2 ** (layer // 2 + 2)
        tf_layer = ("Const", "Conv")[layer % 2] if res == 4 else ("Conv0_up", "Conv1")[layer % 2]
        tf, ours = f"G_synthesis/{res}x{res}/{tf_layer}", f"synthesis.b{res}"
        epi = f"{ours}.epilogue{layer % 2}"
        names[f"G_synthesis/noise{layer}"] = (f"{epi}.noise_const", "noise")
        names[f"{tf}/Noise/weight"] = (f"{epi}.noise_strength", "copy")
        names[f"{tf}/bias"] = (f"{epi}.bias", "copy")
        names[f"{tf}/StyleMod/weight"] = (f"{epi}.affine.weight", "dense")
        names[f"{tf}/StyleMod/bias"] = (f"{epi}.affine.bias", "copy")
        if tf_layer == "Const":
            names[f"{tf}/const"] = (f"{ours}.const", "const")
        else:
            names[f"{tf}/weight"] = (f"{ours}.conv{layer % 2}.weight", "conv")
    names["G_synthesis/ToRGB_lod0/weight"] = ("synthesis.torgb_weight", "conv")
    names["G_synthesis/ToRGB_lod0/bias"] = ("synthesis.torgb_bias", "copy")
    return names


_LAYOUTS = {
    "copy": lambda a: a,
    "dense": lambda a: a.T,  # [in, out] -> [out, in]
    "mapping_bias": lambda a: a / SQRT2,  # lrelu(a + b) = sqrt2 * lrelu(a / sqrt2 + b / sqrt2), see MappingNetwork
    "conv": lambda a: a.transpose(3, 2, 0, 1),  # HWIO -> OIHW
    "noise": lambda a: a.reshape(a.shape[-2:]),  # [1, 1, R, R] -> [R, R]
    "const": lambda a: a[0],  # [1, C, 4, 4] -> [C, 4, 4]
}


def convert_tf_variables(
    variables: dict[str, np.ndarray], kwargs: dict[str, dict[str, Any]], source: str
) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """Config and state dict; every variable must be used, except the ones dead at lod 0."""
    config = config_from_tf_variables(variables, kwargs, source)
    names = _tf_to_torch_names(config)
    unused = [k for k in variables if k not in names and not _DEAD.match(k)]
    if unused:
        raise CheckpointError(f"{source}: variables this StyleGAN v1 port does not know: {', '.join(unused[:8])}")
    state: dict[str, torch.Tensor] = {}
    for tf_name, (key, layout) in names.items():
        if tf_name in variables:
            array = _LAYOUTS[layout](variables[tf_name].astype(np.float64)).astype(np.float32)
            state[key] = torch.from_numpy(np.ascontiguousarray(array))
    return config, state


def is_npz(path: Path) -> bool:
    """An `.npz` archive: a zip whose members are all `.npy` arrays."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return bool(members) and all(m.endswith(".npy") for m in members)
