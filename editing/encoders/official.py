"""Checkpoints of the official e4e (omertov/encoder4editing) and pSp (eladrich/pixel2style2pixel) trainers.

They hold `{'state_dict': encoder.* and decoder.* weights, 'opts': the trainer's options, 'latent_avg'}`, saved
from a GPU. Read with `torch.load(weights_only=True)` on the CPU: nothing in the file is executed. Sizes come from
the weights wherever the weights say them; `opts` only tells e4e from pSp (their weights have the same keys)
and whether `latent_avg` is added.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.errors import CheckpointError
from stylegan_core.formats import generator_from_rosinality
from stylegan_core.state import load_state_strict

from .model import Encoder, EncoderConfig, check_fits

KINDS_BY_OPTS = {
    "Encoder4Editing": "e4e",
    "GradualStyleEncoder": "psp",
    "BackboneEncoderUsingLastLayerIntoW": "psp_w",
    "SingleStyleCodeEncoder": "psp_w",
}
PSP_DEFAULT_OUTPUT_SIZE = 1024  # what the official pSp inference assumes when a 2020 file lacks output_size


@dataclass
class OfficialEncoder:
    encoder: Encoder
    decoder: Generator | None  # the checkpoint's rosinality generator, as our Generator
    opts: dict


def _read(path: Path) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except pickle.UnpicklingError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"{path}: holds objects other than tensors and plain values, refused ({first})") from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable torch checkpoint (truncated or corrupt? {first})") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        keys = ", ".join(map(str, list(ckpt)[:6])) if isinstance(ckpt, dict) else type(ckpt).__name__
        hint = " (a generator checkpoint: pass it as the network)" if isinstance(ckpt, dict) and "g_ema" in ckpt else ""
        raise CheckpointError(f"{path}: not an e4e / pSp checkpoint: no 'state_dict' (has {keys}){hint}")
    return ckpt


def _stage_units(state: dict[str, Tensor]) -> tuple[int, ...]:
    """Units per stage: a stage starts at unit 0 and at each unit whose shortcut is a conv (the depth changes)."""
    units = sorted({int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.", k))})
    starts = [0] + [u for u in units if f"body.{u}.shortcut_layer.0.weight" in state]
    ends = [*starts[1:], len(units)]
    return tuple(e - s for s, e in zip(starts, ends, strict=True))


def _kind(state: dict[str, Tensor], opts: dict, path: Path) -> str:
    if "linear.weight" in state:
        return "psp_w"
    if "styles.0.linear.weight" not in state:
        raise CheckpointError(f"{path}: encoder weights without a known head (no styles.* and no linear.*)")
    named = KINDS_BY_OPTS.get(str(opts.get("encoder_type")))
    if named in ("e4e", "psp"):
        return named
    return "e4e" if "stylegan_size" in opts or "progressive_steps" in opts else "psp"  # the e4e trainer's keys


def _decoder_styles(decoder: Generator | None, opts: dict) -> int:
    if decoder is not None:
        return decoder.num_ws
    size = opts.get("output_size") or opts.get("stylegan_size") or PSP_DEFAULT_OUTPUT_SIZE
    return 2 * int(size).bit_length() - 4  # 2 log2(size) - 2


def encoder_config_from_state(state: dict[str, Tensor], opts: dict, w_styles: int, path: Path) -> EncoderConfig:
    """Sizes read from the encoder's weights (shapes only); `w_styles` is the style count of a W-only encoder,
    whose weights do not say it."""
    kind = _kind(state, opts, path)
    if kind == "psp_w":
        n_styles, style_dim = w_styles, state["linear.weight"].shape[0]
    else:
        n_styles = len({k.split(".")[1] for k in state if k.startswith("styles.")})
        style_dim = state["styles.0.linear.weight"].shape[0]
    units = _stage_units(state)
    starts = [sum(units[:i]) for i in range(len(units))]
    return EncoderConfig(
        kind=kind,
        n_styles=n_styles,
        style_dim=int(style_dim),
        input_channels=int(state["input_layer.0.weight"].shape[1]),
        stage_depths=tuple(int(state[f"body.{s}.res_layer.1.weight"].shape[0]) for s in starts),
        stage_units=units,
        extra={"source": "official", "encoder_type": opts.get("encoder_type"), "file": path.name},
    )


def _rows(latent_avg: Tensor, shape: torch.Size, path: Path) -> Tensor:
    """latent_avg as [rows, style_dim]: one row per style, or one row for every style."""
    rows = latent_avg.reshape(-1, latent_avg.shape[-1])
    if rows.shape[-1] != shape[-1] or rows.shape[0] not in (1, shape[0]):
        raise CheckpointError(f"{path}: latent_avg {tuple(latent_avg.shape)} does not fit codes {tuple(shape)}")
    return rows.expand(shape).clone()


def load_official_encoder(path: str | Path) -> OfficialEncoder:
    """An official e4e / pSp training checkpoint as our Encoder, and its decoder as our Generator."""
    path = Path(path)
    ckpt = _read(path)
    opts = ckpt.get("opts") if isinstance(ckpt.get("opts"), dict) else {}
    weights = ckpt["state_dict"]
    state = {k[len("encoder.") :]: v for k, v in weights.items() if k.startswith("encoder.")}
    if not state:
        raise CheckpointError(f"{path}: no encoder.* weights in its state_dict: not an e4e / pSp checkpoint")
    decoder_state = {k[len("decoder.") :]: v for k, v in weights.items() if k.startswith("decoder.")}
    decoder = generator_from_rosinality(decoder_state, None, f"{path} (decoder)") if decoder_state else None
    config = encoder_config_from_state(state, opts, _decoder_styles(decoder, opts), path)
    if decoder is not None:
        check_fits(config, decoder.num_ws, decoder.w_dim, "its own decoder")
    encoder = Encoder(config)
    ours = {("backbone." + k if k.startswith(("input_layer.", "body.")) else k): v for k, v in state.items()}
    for key in [k for k in ours if k.endswith("num_batches_tracked")]:  # a count, stored [1] or []: unused here
        ours[key] = ours[key].reshape(())
    latent_avg = ckpt.get("latent_avg")
    use_avg = opts.get("start_from_latent_avg", latent_avg is not None) and latent_avg is not None
    ours["latent_avg"] = _rows(latent_avg, encoder.latent_avg.shape, path) if use_avg else encoder.latent_avg
    load_state_strict(encoder, ours, str(path))
    return OfficialEncoder(encoder.eval().requires_grad_(False), decoder, opts)
