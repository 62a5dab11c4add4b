"""Official NVIDIA network pickles (stylegan2-ada-pytorch, stylegan3) -> config + state dict.

Read with the restricted unpickler: the embedded source is never executed. The family is inferred
from what is stored (class names, recorded kwargs, submodule names), since the pickles carry no
module names.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from ..config import GeneratorConfig
from ..errors import CheckpointError
from .nvidia_config import Family, config_from_nvidia_kwargs
from .safe_pickle import PersistentObject, load_restricted

NETWORK_KEYS = ("G_ema", "G", "D")


def read_pickle(path: str | Path) -> Any:
    """Whatever a network pickle holds, read with the restricted unpickler (nothing executed)."""
    with open(path, "rb") as f:
        return load_restricted(f, source=str(path))


def check_snapshot(data: Any, source: str) -> dict[str, Any]:
    """The snapshot dict ({G, D, G_ema, augment_pipe, training_set_kwargs, ...}) with inert networks."""
    if not isinstance(data, dict) or not any(isinstance(data.get(k), PersistentObject) for k in NETWORK_KEYS):
        raise CheckpointError(f"{source}: a pickle, but not an NVIDIA network snapshot (no G / G_ema / D networks)")
    return data


def read_network_pickle(path: str | Path) -> dict[str, Any]:
    return check_snapshot(read_pickle(path), str(path))


def collect_state_dict(obj: PersistentObject, prefix: str = "") -> dict[str, torch.Tensor]:
    """Rebuild `module.state_dict()` from the pickled `__dict__`s, in the module's own order."""
    state = obj.state
    out: dict[str, torch.Tensor] = {}
    for name, param in (state.get("_parameters") or {}).items():
        if param is not None:
            out[prefix + name] = param
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for name, buf in (state.get("_buffers") or {}).items():
        if buf is not None and name not in skip:
            out[prefix + name] = buf
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, PersistentObject):
            out.update(collect_state_dict(child, prefix + name + "."))
        elif child is not None:
            raise CheckpointError(f"submodule {prefix + name!r} is not a persistent network object")
    return out


def _find_first(obj: PersistentObject, class_name: str) -> PersistentObject | None:
    """Depth-first search for the first submodule of the given class."""
    for child in obj.submodules().values():
        if isinstance(child, PersistentObject):
            if child.class_name == class_name:
                return child
            found = _find_first(child, class_name)
            if found is not None:
                return found
    return None


def infer_family(generator: PersistentObject) -> Family:
    synthesis = generator.submodules().get("synthesis")
    if not isinstance(synthesis, PersistentObject):
        raise CheckpointError("generator has no synthesis network")
    if "input" in synthesis.submodules():
        return "stylegan3"
    kwargs = generator.state.get("_init_kwargs") or {}
    return "stylegan2-ada" if "synthesis_kwargs" in kwargs else "stylegan2"


def _stored_sg2_overrides(generator: PersistentObject) -> dict[str, Any]:
    """Attributes the layers recorded themselves; they win over defaults resolved from kwargs."""
    overrides: dict[str, Any] = {}
    layer = _find_first(generator, "SynthesisLayer")
    if layer is not None and "conv_clamp" in layer.state:
        clamp = layer.state["conv_clamp"]
        overrides["conv_clamp"] = None if clamp is None else float(clamp)
    block = _find_first(generator, "SynthesisBlock")
    if block is not None and "architecture" in block.state:
        overrides["architecture"] = str(block.state["architecture"])
    return overrides


def network_from_snapshot(
    data: dict[str, Any], network: str, source: str
) -> tuple[PersistentObject, dict[str, torch.Tensor]]:
    """Any network of a snapshot (`G_ema`, `G`, `D`): its inert object (class name, recorded kwargs)
    and its state dict, without building a module. The trainer resumes a discriminator from this."""
    network = "G_ema" if network == "Gs" else network
    if network not in data:
        present = [k for k in NETWORK_KEYS if k in data]
        raise CheckpointError(f"{source}: no network {network!r} in this pickle (it has: {', '.join(present)})")
    obj = data[network]
    if not isinstance(obj, PersistentObject):
        raise CheckpointError(f"{source}: {network!r} is a {type(obj).__name__}, not a network")
    return obj, collect_state_dict(obj)


def network_from_pickle(path: str | Path, network: str) -> tuple[PersistentObject, dict[str, torch.Tensor]]:
    return network_from_snapshot(read_network_pickle(path), network, str(path))


def generator_from_snapshot(
    data: dict[str, Any], network: str, source: str
) -> tuple[GeneratorConfig, dict[str, torch.Tensor]]:
    """Config and state dict of one generator in an NVIDIA snapshot (`G_ema` by default, or `G`)."""
    obj, state = network_from_snapshot(check_snapshot(data, source), network, source)
    if obj.class_name != "Generator":
        raise CheckpointError(
            f"{source}: {network!r} is a {obj.class_name}, not a Generator; only generators can be built "
            "(its weights are readable with stylegan_core.formats.nvidia.network_from_pickle)"
        )
    family = infer_family(obj)
    kwargs = obj.state.get("_init_kwargs")
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{source}: the generator carries no constructor kwargs")
    try:
        config = config_from_nvidia_kwargs(kwargs, family)
    except CheckpointError as exc:
        raise CheckpointError(f"{source}: {exc}") from None
    if config.architecture == "stylegan2":
        config = dataclasses.replace(
            config, synthesis=dataclasses.replace(config.synthesis, **_stored_sg2_overrides(obj))
        )
    return config, state
