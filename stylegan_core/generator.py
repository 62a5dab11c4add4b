"""The generator: mapping + synthesis behind NVIDIA's seam, with native save / load."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from .config import GeneratorConfig
from .constants import CONFIG_METADATA_KEY, CONFIG_NAME, WEIGHTS_NAME
from .errors import CheckpointError
from .files import give_default_mode
from .hub import resolve
from .imaging import area_resize
from .mapping import MappingNetwork
from .state import load_state_strict
from .synthesis_sg1 import SynthesisNetworkSG1
from .synthesis_sg2 import SynthesisNetworkSG2
from .synthesis_sg3 import SynthesisNetworkSG3

SYNTHESIS_NETWORKS: dict[str, type[nn.Module]] = {
    "stylegan1": SynthesisNetworkSG1,
    "stylegan2": SynthesisNetworkSG2,
    "stylegan3": SynthesisNetworkSG3,
}


class Generator(nn.Module):
    """`G.mapping(z, c, psi, cutoff) -> ws [N, num_ws, w_dim]`; `G.synthesis(ws) -> img [N, C, R, R]`.

    State-dict keys are those of NVIDIA's official generators, so their weights load unchanged.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        synth_cls = SYNTHESIS_NETWORKS[config.architecture]
        self.synthesis = synth_cls(config.synthesis, config.w_dim, config.img_resolution, config.img_channels)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(config.mapping, num_ws=self.num_ws)

    z_dim = property(lambda self: self.config.z_dim)
    c_dim = property(lambda self: self.config.c_dim)
    w_dim = property(lambda self: self.config.w_dim)
    img_resolution = property(lambda self: self.config.img_resolution)
    img_channels = property(lambda self: self.config.img_channels)

    def forward(
        self,
        z: Tensor,  # [N, z_dim]
        c: Tensor | None = None,  # [N, c_dim]
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
        transform: Tensor | None = None,
        precision: str = "fp32",
    ) -> Tensor:  # [N, C, R, R] float32
        """`precision`: "fp32" (the official pixels) or "bf16" (`stylegan_core.precision`); mapping is float32."""
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, transform=transform, precision=precision)

    def synthesize_at(self, ws: Tensor, size: int, noise_mode: str = "const", precision: str = "fp32") -> Tensor:
        """ws [N, num_ws, w_dim] -> img [N, C, S, S], S = min(size, img_resolution), for a quick or
        low-resolution look: StyleGAN2 skip synthesis stops at that block (its running ToRGB sum, skipping the
        costly fine blocks); other generators render in full and are area-downsampled."""
        if size < self.img_resolution and size in self.synthesis.early_exit_resolutions:
            return self.synthesis(ws, noise_mode=noise_mode, max_resolution=size, precision=precision)
        img = self.synthesis(ws, noise_mode=noise_mode, precision=precision)
        return area_resize(img, size) if size < img.shape[-1] else img

    @property
    def device(self) -> torch.device:
        return self.mapping.w_avg.device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write `config.json` + `model.safetensors` into `directory` (created if needed)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save(directory / CONFIG_NAME)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        metadata = {"format": "pt", CONFIG_METADATA_KEY: json.dumps(self.config.to_dict())}
        save_file(state, str(directory / WEIGHTS_NAME), metadata=metadata)
        give_default_mode(directory / WEIGHTS_NAME)
        return directory

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path, *, device: str | torch.device = "cpu", allow_local: bool = True
    ) -> Generator:
        """A native model (config.json + model.safetensors) from a directory, a Hub repo id or a registry name.
        Other checkpoint formats (NVIDIA pickles, rosinality .pt, ...) load with `stylegan_core.load_generator`
        or convert once with `studio convert`."""
        path = resolve(str(name_or_path), allow_local=allow_local)
        if not is_native_model(path):
            raise CheckpointError(
                f"{name_or_path}: not a native model ({CONFIG_NAME} + {WEIGHTS_NAME}); load other checkpoints "
                "with stylegan_core.load_generator, or convert them once with `studio convert`"
            )
        return load_native_model(path).to(device)


def is_native_model(path: Path) -> bool:
    """Whether `path` is a directory in our format: config.json beside model.safetensors."""
    return (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file()


def load_native_model(directory: Path) -> Generator:
    """A native model directory, loaded strictly (eval mode, CPU, fp32, no gradients)."""
    G = Generator(GeneratorConfig.load(directory / CONFIG_NAME))
    load_state_strict(G, load_file(str(directory / WEIGHTS_NAME)), str(directory))
    return G.eval().requires_grad_(False)
