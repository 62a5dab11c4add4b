"""StyleGAN (v1) synthesis network: the official TensorFlow `G_synthesis` in plain PyTorch.

Per layer: conv (x2 upsampling + [1, 2, 1] blur in the first conv of each block), per-channel noise,
bias, leaky ReLU (gain folded into the conv weights), instance norm, then AdaIN-style modulation
`x * (style_scale + 1) + style_bias`. Stored weights are unscaled (equalised learning rate).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import StyleGAN1SynthesisConfig
from .layers import FullyConnectedLayer
from .ops import LRELU_GAIN, bias_act, can_run_inplace, fir_filter, held_detached, setup_filter
from .precision import compute_dtype, to_compute
from .synthesis_sg2 import check_noise_mode

NORM_EPS = 1e-8  # TF's instance / pixel norm epsilon (not PyTorch's 1e-5)


def fused_upsample_kernel(weight: Tensor) -> Tensor:
    """Conv weight [O, I, 3, 3] -> the [I, O, 4, 4] `conv_transpose2d` kernel of TF's fused upscale.

    TF pads the kernel to 5x5 and sums its four one-pixel shifts; a stride-2 transposed conv with it
    equals nearest x2 upsampling followed by a conv with the kernel rotated by 180 degrees.
    """
    k = F.pad(weight.transpose(0, 1), [1, 1, 1, 1])
    return k[:, :, 1:, 1:] + k[:, :, :-1, 1:] + k[:, :, 1:, :-1] + k[:, :, :-1, :-1]


class ConvSG1(nn.Module):
    """3x3 conv with He-scaled weights (gain sqrt 2), optionally upsampling x2 then blurring."""

    def __init__(self, in_channels: int, out_channels: int, *, up: bool, fused: bool, blur: Tensor | None) -> None:
        super().__init__()
        self.up = up
        self.fused = fused
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        self.weight_gain = LRELU_GAIN / math.sqrt(in_channels * 9)
        if up and blur is not None:
            self.register_buffer("blur_filter", blur, persistent=False)
        else:
            self.blur_filter = None

    def forward(self, x: Tensor) -> Tensor:  # [N, I, H, W] -> [N, O, H*up, W*up], in x's dtype
        w = (self.weight * self.weight_gain).to(x.dtype)
        if not self.up:
            return F.conv2d(x, w, padding=1)
        if self.fused:
            x = F.conv_transpose2d(x, fused_upsample_kernel(w), stride=2, padding=1)
        else:
            x = F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), w, padding=1)
        if self.blur_filter is not None:
            k = self.blur_filter.shape[-1]
            x = fir_filter(F.pad(x, [(k - 1) // 2, k // 2, (k - 1) // 2, k // 2]), self.blur_filter, flip=False)
        return x


class LayerEpilogue(nn.Module):
    """TF's `layer_epilogue`: noise, bias, leaky ReLU, pixel / instance norm, style modulation."""

    def __init__(self, channels: int, w_dim: int, resolution: int, config: StyleGAN1SynthesisConfig) -> None:
        super().__init__()
        self.config = config
        self.resolution = resolution
        if config.use_noise:
            self.noise_strength = nn.Parameter(torch.zeros([channels]))
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.bias = nn.Parameter(torch.zeros([channels]))
        if config.use_styles:
            self.affine = FullyConnectedLayer(w_dim, 2 * channels)

    def forward(self, x: Tensor, w: Tensor, *, noise_mode: str, owned: bool = True) -> Tensor:
        # x [N, C, R, R], w [N, w_dim] -> [N, C, R, R] in x's dtype; `owned`: x is a fresh buffer we may overwrite.
        # A bfloat16 x is worked on in float32: instance norm of near-constant maps needs float32's mantissa.
        dtype = x.dtype
        if dtype != torch.float32:
            x, owned = x.float(), True
        owned = owned and can_run_inplace(x)
        if self.config.use_noise and noise_mode != "none":
            if noise_mode == "random":
                noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device)
            else:
                noise = self.noise_const
            noise = noise * self.noise_strength.reshape(1, -1, 1, 1)
            x = x.add_(noise) if owned else x + noise
            owned = True
        x = bias_act(x, self.bias, act="lrelu", gain=1.0, inplace=owned)  # a fresh tensor from here on
        if self.config.use_pixel_norm:
            x = x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + NORM_EPS)
        scale = shift = None  # instance norm and style folded into one `x * scale + shift` pass
        if self.config.use_instance_norm:
            x = x.sub_(x.mean(dim=(2, 3), keepdim=True)) if can_run_inplace(x) else x - x.mean((2, 3), keepdim=True)
            mean_square = torch.linalg.vector_norm(x, dim=(2, 3), keepdim=True).square() / (x.shape[2] * x.shape[3])
            scale, shift = torch.rsqrt(mean_square + NORM_EPS), torch.zeros_like(mean_square)
        if self.config.use_styles:
            style = self.affine(w).reshape(x.shape[0], 2, x.shape[1], 1, 1)
            gamma, beta = style[:, 0] + 1, style[:, 1]
            scale, shift = (gamma, beta) if scale is None else (scale * gamma, shift * gamma + beta)
        if scale is not None:
            x = x.mul_(scale).add_(shift) if can_run_inplace(x) else torch.addcmul(shift, x, scale)
        return x.to(dtype)


class SynthesisBlockSG1(nn.Module):
    """Two style layers at one resolution: const (4 px) or upsampling conv, then a 3x3 conv."""

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, resolution: int, config: StyleGAN1SynthesisConfig
    ) -> None:
        super().__init__()
        self.resolution = resolution
        blur = setup_filter(config.blur_filter) if config.blur_filter is not None else None
        if resolution == 4:
            self.const = nn.Parameter(torch.ones([out_channels, 4, 4]))
            self.conv0 = None
        else:
            self.conv0 = ConvSG1(in_channels, out_channels, up=True, fused=config.fused_at(resolution), blur=blur)
        self.epilogue0 = LayerEpilogue(out_channels, w_dim, resolution, config)
        self.conv1 = ConvSG1(out_channels, out_channels, up=False, fused=False, blur=None)
        self.epilogue1 = LayerEpilogue(out_channels, w_dim, resolution, config)

    def forward(self, x: Tensor | None, ws: Tensor, *, noise_mode: str, dtype: torch.dtype) -> Tensor:
        # x [N, I, R/2, R/2] (None at 4 px), ws [N, 2, w_dim] -> [N, O, R, R]; the const starts in `dtype`
        if self.conv0 is None:
            x = to_compute(self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1), dtype)
        else:
            x = self.conv0(x)
        x = self.epilogue0(x, ws[:, 0], noise_mode=noise_mode, owned=self.conv0 is not None)
        return self.epilogue1(self.conv1(x), ws[:, 1], noise_mode=noise_mode)


class SynthesisNetworkSG1(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R] in about [-1, 1]; num_ws = 2 * log2(R) - 2."""

    def __init__(self, config: StyleGAN1SynthesisConfig, w_dim: int, img_resolution: int, img_channels: int) -> None:
        super().__init__()
        self.config = config
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.block_resolutions = [2**i for i in range(2, int(math.log2(img_resolution)) + 1)]
        self.num_ws = 2 * len(self.block_resolutions)
        for res in self.block_resolutions:
            in_channels = config.channels(res // 2) if res > 4 else 0
            setattr(self, f"b{res}", SynthesisBlockSG1(in_channels, config.channels(res), w_dim, res, config))
        last = config.channels(img_resolution)
        self.torgb_weight = nn.Parameter(torch.randn([img_channels, last, 1, 1]))
        self.torgb_bias = nn.Parameter(torch.zeros([img_channels]))
        self.torgb_gain = 1 / math.sqrt(last)

    @property
    def early_exit_resolutions(self) -> tuple[int, ...]:
        """Only the full resolution: one ToRGB at the end, no per-block image (see `Generator.synthesize_at`)."""
        return (self.img_resolution,)

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
        `free_layers`: only ws[:, :free_layers] may need gradients (the later blocks run them detached)."""
        return self._run(ws, self.block_resolutions[: stage + 1], noise_mode, precision, free_layers).float()

    def forward(
        self, ws: Tensor, *, noise_mode: str = "const", transform: Tensor | None = None, precision: str = "fp32"
    ) -> Tensor:
        """ws [N, num_ws, w_dim] -> img [N, C, R, R] float32; `precision` as in `stylegan_core.precision`."""
        check_noise_mode(noise_mode)
        if transform is not None:
            raise ValueError("translate / rotate need a StyleGAN3 generator")
        x = self._run(ws, self.block_resolutions, noise_mode, precision)
        return F.conv2d(x, (self.torgb_weight * self.torgb_gain).to(x.dtype), self.torgb_bias.to(x.dtype)).float()

    def _run(
        self, ws: Tensor, resolutions: list[int], noise_mode: str, precision: str, free_layers: int | None = None
    ) -> Tensor:
        """The blocks of `resolutions` in order, from the const: features [N, C, S, S] in the compute dtype; blocks
        whose ws lie beyond `free_layers` run them detached."""
        dtype = compute_dtype(precision, ws.device)
        ws, x = ws.to(torch.float32), None
        for idx, res in enumerate(resolutions):
            block_ws = held_detached(ws[:, 2 * idx : 2 * idx + 2], 2 * idx, free_layers)
            x = getattr(self, f"b{res}")(x, block_ws, noise_mode=noise_mode, dtype=dtype)
        return x
