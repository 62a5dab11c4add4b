"""StyleGAN2 synthesis network: ws -> image, with the skip / resnet / orig architectures.

Module and tensor names follow NVIDIA's `networks_stylegan2` so official state dicts load as they are.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .config import StyleGAN2SynthesisConfig
from .layers import FullyConnectedLayer
from .ops import (
    LRELU_GAIN,
    bias_act,
    can_run_inplace,
    conv2d_resample,
    held_detached,
    modulated_conv2d,
    setup_filter,
    upsample2d,
)
from .precision import compute_dtype, to_compute

NOISE_MODES = ("const", "random", "none")


def check_noise_mode(noise_mode: str) -> None:
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (optionally upsampling x2) + noise + bias + leaky ReLU + clamp."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        *,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        resample_filter: tuple[float, ...] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.conv_clamp = conv_clamp
        self.padding = kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: Tensor, w: Tensor, *, noise_mode: str = "const", gain: float = 1.0) -> Tensor:
        # x [N, I, R/up, R/up], w [N, w_dim] -> [N, O, R, R]
        styles = self.affine(w)
        x = modulated_conv2d(
            x, self.weight, styles, up=self.up, padding=self.padding, resample_filter=self.resample_filter
        )
        if self.use_noise and noise_mode != "none":
            if noise_mode == "random":
                noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device)
                noise = noise * self.noise_strength
            else:
                noise = self.noise_const * self.noise_strength
            noise = noise.to(x.dtype)
            x = x.add_(noise) if can_run_inplace(x) else x + noise
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act="lrelu", gain=LRELU_GAIN * gain, clamp=clamp, inplace=True)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution to image channels, without demodulation."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, *, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:  # [N, I, R, R] -> [N, C, R, R]
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp, inplace=True)


class SkipConv(nn.Module):
    """The resnet architecture's 1x1 upsampling shortcut (NVIDIA's `Conv2dLayer` without bias)."""

    def __init__(self, in_channels: int, out_channels: int, resample_filter: tuple[float, ...]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:
        w = self.weight * (self.weight_gain * gain)
        return conv2d_resample(x, w.to(x.dtype), f=self.resample_filter, up=2)


class SynthesisBlock(nn.Module):
    """One resolution: (const | conv0 up) -> conv1 -> torgb, joined as skip / resnet / orig."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        config: StyleGAN2SynthesisConfig,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.is_last = is_last
        self.architecture = config.architecture
        self.register_buffer("resample_filter", setup_filter(config.resample_filter))
        layer_kwargs = dict(
            kernel_size=config.kernel_size,
            use_noise=config.use_noise,
            resample_filter=config.resample_filter,
            conv_clamp=config.conv_clamp,
        )
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, **layer_kwargs)
        self.num_conv += 1
        if is_last or config.architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=config.conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and config.architecture == "resnet":
            self.skip = SkipConv(in_channels, out_channels, config.resample_filter)

    def forward(
        self,
        x: Tensor | None,
        img: Tensor | None,
        ws: Tensor,
        *,
        noise_mode: str = "const",
        dtype: torch.dtype = torch.float32,
    ) -> tuple[Tensor, Tensor | None]:
        # ws [N, num_conv + num_torgb, w_dim]; x keeps the compute dtype of the const (`dtype`), img float32
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = to_compute(x.contiguous(memory_format=torch.channels_last), dtype)  # faster convolutions
            x = self.conv1(x, next(w_iter), noise_mode=noise_mode)
        elif self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), noise_mode=noise_mode)
            x = self.conv1(x, next(w_iter), noise_mode=noise_mode, gain=math.sqrt(0.5))
            x = y + x
        else:
            x = self.conv0(x, next(w_iter), noise_mode=noise_mode)
            x = self.conv1(x, next(w_iter), noise_mode=noise_mode)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter)).to(torch.float32)
            img = img + y if img is not None else y
        return x, img


class SynthesisNetworkSG2(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R] in about [-1, 1]."""

    def __init__(self, config: StyleGAN2SynthesisConfig, w_dim: int, img_resolution: int, img_channels: int) -> None:
        super().__init__()
        self.config = config
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        log2 = int(math.log2(img_resolution))
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        self.num_ws = 0
        for res in self.block_resolutions:
            in_channels = config.channels(res // 2) if res > 4 else 0
            is_last = res == img_resolution
            block = SynthesisBlock(in_channels, config.channels(res), w_dim, res, img_channels, is_last, config)
            self.num_ws += block.num_conv + (block.num_torgb if is_last else 0)
            setattr(self, f"b{res}", block)

    @property
    def early_exit_resolutions(self) -> tuple[int, ...]:
        """Resolutions `forward(max_resolution=...)` can stop at: every block's in the skip architecture,
        whose image is the running sum of per-block ToRGB outputs (a cheap, slightly soft preview)."""
        return tuple(self.block_resolutions) if self.config.architecture == "skip" else (self.img_resolution,)

    @property
    def feature_sizes(self) -> tuple[int, ...]:
        """The side of each block's feature map, in synthesis order (`features(ws, stage)` reads one)."""
        return tuple(self.block_resolutions)

    def features(
        self,
        ws: Tensor,
        stage: int,
        *,
        noise_mode: str = "const",
        precision: str = "fp32",
        free_layers: int | None = None,
    ) -> Tensor:
        """ws [N, num_ws, w_dim] -> the float32 features of block `stage` [N, C, S, S], running no block after it.
        `free_layers`: only ws[:, :free_layers] may need gradients; a block whose ws all lie beyond runs them
        detached (its styles then fold into its weights: a cheaper backward)."""
        ws, x, w_idx = ws.to(torch.float32), None, 0
        dtype = compute_dtype(precision, ws.device)
        for res in self.block_resolutions[: stage + 1]:
            block = getattr(self, f"b{res}")
            block_ws = held_detached(ws.narrow(1, w_idx, block.num_conv + block.num_torgb), w_idx, free_layers)
            x, _ = block(x, None, block_ws, noise_mode=noise_mode, dtype=dtype)
            w_idx += block.num_conv
        return x.float()

    def forward(
        self,
        ws: Tensor,
        *,
        noise_mode: str = "const",
        transform: Tensor | None = None,
        max_resolution: int | None = None,
        precision: str = "fp32",
    ) -> Tensor:
        """ws [N, num_ws, w_dim] -> img [N, C, R, R] float32, R = max_resolution (one of early_exit_resolutions)
        or full; `precision` "bf16" runs the convolutions in bfloat16 where native (`stylegan_core.precision`)."""
        check_noise_mode(noise_mode)
        dtype = compute_dtype(precision, ws.device)
        if transform is not None:
            raise ValueError("translate / rotate need a StyleGAN3 generator")
        stop_at = max_resolution or self.img_resolution
        if stop_at not in self.early_exit_resolutions:
            raise ValueError(f"cannot stop at {stop_at} px; possible: {self.early_exit_resolutions}")
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            block_ws = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            x, img = block(x, img, block_ws, noise_mode=noise_mode, dtype=dtype)
            if res == stop_at:
                break
        return img
