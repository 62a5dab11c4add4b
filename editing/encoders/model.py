"""Image -> W+ encoders of the e4e / pSp family on an IR-SE backbone, in plain PyTorch.

Three heads, as in the official code: pSp's `GradualStyleEncoder` (one code per style from a feature pyramid),
e4e's `Encoder4Editing` (the same blocks, but style 0 is a base code and the others are offsets from it, which
keeps codes near W and editable) and pSp's W-only encoder (`learn_in_w`: one code repeated over every style).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from stylegan_core.errors import CheckpointError
from stylegan_core.files import give_default_mode
from stylegan_core.precision import compute_dtype
from stylegan_core.state import load_state_strict

from .irse import STAGE_UNITS, IRSEBackbone

ENCODER_KINDS = ("e4e", "psp", "psp_w")
COARSE, MIDDLE = 3, 7  # styles 0-2 read c3, 3-6 the 32 px pyramid level, 7+ the 64 px one (official split)
ENCODER_CONFIG_NAME = "encoder_config.json"
ENCODER_WEIGHTS_NAME = "encoder.safetensors"


@dataclass(frozen=True)
class EncoderConfig:
    """Sizes of an encoder; the official FFHQ encoders are the defaults with n_styles 18."""

    kind: str  # 'e4e', 'psp' or 'psp_w'
    n_styles: int  # the generator's num_ws
    style_dim: int = 512  # the generator's w_dim
    input_channels: int = 3
    stage_depths: tuple[int, ...] = (64, 128, 256, 512)
    stage_units: tuple[int, ...] = STAGE_UNITS[50]
    input_size: int = 256  # images are resized to this before encoding
    model: str = ""  # the generator it was made for, if known
    extra: dict = field(default_factory=dict, compare=False)  # provenance (trainer, opts), not used to build

    def __post_init__(self) -> None:
        if self.kind not in ENCODER_KINDS:
            raise ValueError(f"encoder kind must be one of {', '.join(ENCODER_KINDS)}, got {self.kind!r}")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> EncoderConfig:
        values = json.loads(Path(path).read_text())
        for key in ("stage_depths", "stage_units"):
            values[key] = tuple(values[key])
        return cls(**values)


class EqualLinear(nn.Module):
    """rosinality's equalised-learning-rate linear layer (lr_mul 1): y = x (W / sqrt(in))^T + b."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = 1 / math.sqrt(in_features)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class StyleBlock(nn.Module):
    """A feature map of side `spatial` -> one code: stride-2 convs with LeakyReLU(0.01) down to 1x1, then a linear."""

    def __init__(self, in_channels: int, out_channels: int, spatial: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(int(math.log2(spatial))):
            layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, 2, 1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(out_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:  # [N, C, S, S] -> [N, out]
        return self.linear(self.convs(x).flatten(1))


def _upsample_add(x: Tensor, y: Tensor) -> Tensor:
    return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=True) + y


class Encoder(nn.Module):
    """`encoder(x [N, C, 256, 256] in [-1, 1]) -> codes [N, n_styles, style_dim]`, `latent_avg` added (a zero
    buffer where the encoder was trained without it)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        depths = config.stage_depths
        self.backbone = IRSEBackbone(config.input_channels, depths, config.stage_units)
        if config.kind == "psp_w":
            self.linear = EqualLinear(depths[-1], config.style_dim)
        else:
            side = config.input_size // 16  # c3's side
            sides = [side if i < COARSE else 2 * side if i < MIDDLE else 4 * side for i in range(config.n_styles)]
            self.styles = nn.ModuleList(StyleBlock(depths[-1], config.style_dim, s) for s in sides)
            self.latlayer1 = nn.Conv2d(depths[2], depths[-1], 1)
            self.latlayer2 = nn.Conv2d(depths[1], depths[-1], 1)
        rows = 1 if config.kind == "psp_w" else config.n_styles
        self.register_buffer("latent_avg", torch.zeros(rows, config.style_dim))

    def forward(self, x: Tensor) -> Tensor:
        c1, c2, c3 = self.backbone(x)
        if self.config.kind == "psp_w":
            w = self.linear(c3.mean(dim=(2, 3)))  # [N, style_dim]
            return (w + self.latent_avg[0])[:, None].repeat(1, self.config.n_styles, 1)
        p2 = _upsample_add(c3, self.latlayer1(c2))
        p1 = _upsample_add(p2, self.latlayer2(c1))
        features = [c3 if i < COARSE else p2 if i < MIDDLE else p1 for i in range(self.config.n_styles)]
        codes = [block(f) for block, f in zip(self.styles, features, strict=True)]
        if self.config.kind == "e4e":  # style 0 is the base code, the others are offsets from it
            codes = [codes[0]] + [codes[0] + delta for delta in codes[1:]]
        return torch.stack(codes, dim=1) + self.latent_avg

    @property
    def device(self) -> torch.device:
        return self.latent_avg.device

    def check_fits(self, num_ws: int, w_dim: int, what: str = "the generator") -> None:
        check_fits(self.config, num_ws, w_dim, what)

    def preprocess(self, image: Image.Image | np.ndarray) -> Tensor:
        """An RGB image (any size) as the input the official inference builds: resized to 256 px (bilinear),
        then (x / 255 - 0.5) / 0.5. -> [1, 3, 256, 256]"""
        img = Image.fromarray(image) if isinstance(image, np.ndarray) else image.convert("RGB")
        size = self.config.input_size
        if img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        return ((x - 0.5) / 0.5).to(self.device)

    @torch.no_grad()
    def encode(self, image: Image.Image | np.ndarray, precision: str = "fp32") -> Tensor:  # -> [1, n_styles, w_dim]
        """The image's code; `precision` "bf16" runs the backbone in bfloat16 autocast, channels-last, where that is
        native (stylegan_core.precision); the code is float32 either way."""
        x = self.preprocess(image)
        if compute_dtype(precision, x.device) == torch.float32:
            return self(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self(x.contiguous(memory_format=torch.channels_last)).float()

    def save_pretrained(self, directory: str | Path, *, half: bool = False) -> Path:
        """encoder_config.json + encoder.safetensors, loadable anywhere an encoder is asked for; `half` stores the
        floating-point weights as float16 (half the size; they load back as float32)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save(directory / ENCODER_CONFIG_NAME)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(directory / ENCODER_WEIGHTS_NAME), metadata={"format": "pt"})
        give_default_mode(directory / ENCODER_WEIGHTS_NAME)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> Encoder:
        directory = Path(directory)
        encoder = cls(EncoderConfig.load(directory / ENCODER_CONFIG_NAME))
        load_state_strict(encoder, load_file(str(directory / ENCODER_WEIGHTS_NAME)), str(directory))
        return encoder.eval().requires_grad_(False)


def check_fits(config: EncoderConfig, num_ws: int, w_dim: int, what: str = "the generator") -> None:
    """A clear error where an encoder's codes cannot drive `what` (another number of styles or width)."""
    if (config.n_styles, config.style_dim) != (num_ws, w_dim):
        raise CheckpointError(
            f"this encoder makes {config.n_styles} styles of {config.style_dim}, but {what} takes "
            f"{num_ws} of {w_dim}: it was trained for another generator"
        )


def is_native_encoder(path: Path) -> bool:
    return (path / ENCODER_CONFIG_NAME).is_file() and (path / ENCODER_WEIGHTS_NAME).is_file()
