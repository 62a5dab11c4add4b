"""Checkpoint formats: detect what a file is by its bytes, read it safely, load it strictly.

Supported: our native `config.json` + `model.safetensors`; official NVIDIA pickles, PyTorch and
TensorFlow-era StyleGAN v1 alike (read with a restricted unpickler, nothing executed); `.npz` exports of
the TF variables; rosinality `.pt` checkpoints (`torch.load(weights_only=True)`); and state-dict
safetensors beside a JSON of the constructor kwargs (as in the reference data).
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from ..config import GeneratorConfig
from ..constants import CONFIG_METADATA_KEY, CONFIG_NAME, RUN_SNAPSHOT_PREFIX, WEIGHTS_NAME
from ..errors import CheckpointError
from ..generator import Generator, is_native_model, load_native_model
from ..hub import resolve
from ..state import load_state_strict
from .nvidia import generator_from_snapshot, read_pickle
from .nvidia_config import config_from_nvidia_kwargs, family_from_class_path
from .rosinality import config_from_rosinality, convert_rosinality, estimate_w_avg, is_rosinality
from .tf_stylegan1 import generator_from_tf_npz, generator_from_tf_pickle, is_npz, is_tf_pickle

__all__ = [
    "RUN_SNAPSHOT_PREFIX",
    "CheckpointError",
    "detect_format",
    "generator_from_rosinality",
    "load_checkpoint",
    "load_generator",
    "load_state_strict",
    "newest_run_snapshot",
    "run_snapshots",
]


def run_snapshots(run: Path) -> list[Path]:
    """A training run directory's snapshot directories, oldest first (names sort by kimg); one still being
    written is a `.partial` directory and never counts."""
    return sorted(p for p in run.glob(f"{RUN_SNAPSHOT_PREFIX}*") if not p.name.endswith(".partial"))


def newest_run_snapshot(run: Path) -> Path | None:
    """The newest snapshot of a training run directory that holds a model."""
    return max((p for p in run_snapshots(run) if is_native_model(p)), default=None)


def detect_format(path: Path) -> str:
    """'native' (directory), 'run' (a training run's directory), 'safetensors', 'npz', 'torch-zip', 'pickle';
    CheckpointError for anything else."""
    if path.is_dir():
        if is_native_model(path):
            return "native"
        if newest_run_snapshot(path) is not None:
            return "run"
        raise CheckpointError(
            f"{path}: a directory without {CONFIG_NAME} + {WEIGHTS_NAME} (a model) or "
            f"{RUN_SNAPSHOT_PREFIX}* snapshots holding them (a training run)"
        )
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 9:
        raise CheckpointError(f"{path}: too short to be a checkpoint ({path.stat().st_size} bytes)")
    if head[:4] == b"PK\x03\x04":
        return "npz" if is_npz(path) else "torch-zip"
    if head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    header_len = int.from_bytes(head[:8], "little")
    if head[8:9] == b"{" and 0 < header_len < 100_000_000:
        return "safetensors"
    raise CheckpointError(
        f"{path}: not a checkpoint this tool knows (expected an NVIDIA .pkl, a rosinality .pt, an .npz of "
        "StyleGAN v1 variables, a .safetensors file or a directory with config.json + model.safetensors)"
    )


def _read_torch_zip(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: a torch file that cannot be read safely ({str(exc).splitlines()[0]})") from None


def generator_from_rosinality(sd: dict, latent_avg: torch.Tensor | None, source: str) -> Generator:
    """A rosinality `g_ema` state dict as our Generator (w_avg estimated when the file has no latent_avg)."""
    try:
        config = config_from_rosinality(sd)
    except CheckpointError as exc:
        raise CheckpointError(f"{source}: {exc}") from None
    G = Generator(config)
    designed = dict(G.state_dict())
    state = convert_rosinality(sd, latent_avg, designed)
    if latent_avg is None:  # files saved without latent_avg: estimate it as rosinality's mean_latent does
        state["mapping.w_avg"] = designed["mapping.w_avg"]
        load_state_strict(G, state, source)
        G.mapping.w_avg.copy_(estimate_w_avg(G))
        return G
    return load_state_strict(G, state, source)


def _from_safetensors(path: Path) -> Generator:
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable safetensors file ({exc})") from None
    source = str(path)
    if CONFIG_METADATA_KEY in metadata:
        config = GeneratorConfig.from_dict(json.loads(metadata[CONFIG_METADATA_KEY]))
        return load_state_strict(Generator(config), state, source)
    sidecar = path.with_suffix(".json")
    sidecar_meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    if is_rosinality(state):
        return generator_from_rosinality(state, state.pop("latent_avg", None), source)
    if "init_kwargs" in sidecar_meta and "class_path" in sidecar_meta:
        family = family_from_class_path(sidecar_meta["class_path"])
        config = config_from_nvidia_kwargs(sidecar_meta["init_kwargs"], family)
        return load_state_strict(Generator(config), state, source)
    if (path.parent / CONFIG_NAME).is_file():
        return load_state_strict(Generator(GeneratorConfig.load(path.parent / CONFIG_NAME)), state, source)
    raise CheckpointError(
        f"{path}: safetensors weights without a config (expected {CONFIG_NAME} beside it, "
        f"or {sidecar.name} with the official init_kwargs)"
    )


def load_checkpoint(path: str | Path, *, network: str = "G_ema") -> Generator:
    """Load a local checkpoint of any supported format into a Generator (eval mode, CPU, fp32).

    `network` picks the net of an official training snapshot: `G_ema` (= TF's `Gs`, the default) or `G`. A
    directory of our trainer's run loads its newest snapshot (G_ema).
    """
    path = Path(path).expanduser()
    kind = detect_format(path)
    if kind == "run":  # its newest snapshot's G_ema
        path, kind = newest_run_snapshot(path), "native"
    if kind == "native":
        G = load_native_model(path)
    elif kind == "pickle":
        data = read_pickle(path)
        reader = generator_from_tf_pickle if is_tf_pickle(data) else generator_from_snapshot
        config, state = reader(data, network, str(path))
        G = load_state_strict(Generator(config), state, str(path))
    elif kind == "npz":
        config, state = generator_from_tf_npz(path)
        G = load_state_strict(Generator(config), state, str(path))
    elif kind == "torch-zip":
        ckpt = _read_torch_zip(path)
        if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
            keys = ", ".join(list(ckpt)[:6]) if isinstance(ckpt, dict) else type(ckpt).__name__
            raise CheckpointError(f"{path}: a torch file, but not a rosinality checkpoint (no 'g_ema'; has {keys})")
        G = generator_from_rosinality(dict(ckpt["g_ema"]), ckpt.get("latent_avg"), str(path))
    else:
        G = _from_safetensors(path)
    return G.eval().requires_grad_(False)


def load_generator(
    name_or_path: str | Path, *, network: str = "G_ema", device: str | torch.device = "cpu", allow_local: bool = True
) -> Generator:
    """Load by local path, registry name or Hub repo id (see `stylegan_core.hub`; `allow_local=False`: no paths)."""
    path = resolve(str(name_or_path), allow_local=allow_local)
    return load_checkpoint(path, network=network).to(device)
