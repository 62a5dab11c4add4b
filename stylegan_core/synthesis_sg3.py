"""StyleGAN3 (alias-free) synthesis network, configs T and R.

Module and tensor names follow NVIDIA's `networks_stylegan3` so official state dicts load as they are.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal
import scipy.special
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import StyleGAN3SynthesisConfig
from .filtered_lrelu import filtered_lrelu
from .layers import FullyConnectedLayer
from .ops import held_detached
from .precision import compute_dtype, to_compute


def modulated_conv2d_sg3(
    x: Tensor,  # [N, I, H, W]
    weight: Tensor,  # [O, I, k, k]
    styles: Tensor,  # [N, I]
    *,
    demodulate: bool = True,
    padding: int = 0,
    input_gain: Tensor | None = None,  # [] or [N, I]
) -> Tensor:  # [N, O, H', W']
    """StyleGAN3's modulated convolution: pre-normalised weights and styles, then demodulation."""
    N = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if demodulate:
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(N, 1, in_ch, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]
        w = w * dcoefs.reshape(N, out_ch, 1, 1, 1)
    if input_gain is not None:
        w = w * input_gain.expand(N, in_ch).reshape(N, 1, in_ch, 1, 1)
    if N == 1:
        return F.conv2d(x, w[0].to(x.dtype), padding=padding)
    x = x.reshape(1, N * in_ch, *x.shape[2:])
    x = F.conv2d(x, w.reshape(N * out_ch, in_ch, kh, kw).to(x.dtype), padding=padding, groups=N)
    return x.reshape(N, out_ch, *x.shape[2:])


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False) -> Tensor | None:
    """Kaiser-windowed low-pass filter: separable 1-D taps, or a radially symmetric jinc [k, k]."""
    if numtaps == 1:
        return None
    if not radial:
        f = scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        return torch.as_tensor(f, dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    f *= np.outer(window, window)
    f /= np.sum(f)
    return torch.as_tensor(f, dtype=torch.float32)


class SynthesisInput(nn.Module):
    """Fourier-feature input, rotated and translated by the first w and by a user transform."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float) -> None:
        super().__init__()
        self.channels = channels
        self.size = size
        self.sampling_rate = sampling_rate
        self.bandwidth = bandwidth
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= bandwidth
        phases = torch.rand([channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4, weight_init=0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3, 3))  # inverse of the user's transform of the image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: Tensor, transform: Tensor | None = None) -> Tensor:  # [N, w_dim] -> [N, C, S, S]
        N = w.shape[0]
        transforms = (self.transform if transform is None else transform.to(w)).unsqueeze(0)  # [1, 3, 3]
        freqs = self.freqs.unsqueeze(0)  # [1, C, 2]
        phases = self.phases.unsqueeze(0)  # [1, C]
        t = self.affine(w)  # [N, 4] = (r_c, r_s, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device).unsqueeze(0).repeat([N, 1, 1])
        m_r[:, 0, 0] = t[:, 0]
        m_r[:, 0, 1] = -t[:, 1]
        m_r[:, 1, 0] = t[:, 1]
        m_r[:, 1, 1] = t[:, 0]
        m_t = torch.eye(3, device=w.device).unsqueeze(0).repeat([N, 1, 1])
        m_t[:, 0, 2] = -t[:, 2]
        m_t[:, 1, 2] = -t[:, 3]
        transforms = m_r @ m_t @ transforms  # rotate, then translate, then the user transform
        phases = phases + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        # Dampen out-of-band frequencies that a user transform may introduce.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = 0.5 * self.size / self.sampling_rate
        theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grids = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)
        x = (grids.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # [N, S, S, C]
        x = x + phases.unsqueeze(1).unsqueeze(2)
        x = torch.sin(x * (np.pi * 2))
        x = x * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayerSG3(nn.Module):
    """Modulated conv + filtered leaky ReLU (up, nonlinearity, low-pass, down) of one StyleGAN3 layer."""

    def __init__(
        self,
        w_dim: int,
        *,
        is_torgb: bool,
        is_critically_sampled: bool,
        in_channels: int,
        out_channels: int,
        in_size: int,
        out_size: int,
        in_sampling_rate: int,
        out_sampling_rate: int,
        in_cutoff: float,
        out_cutoff: float,
        in_half_width: float,
        out_half_width: float,
        config: StyleGAN3SynthesisConfig,
    ) -> None:
        super().__init__()
        self.is_torgb = is_torgb
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.out_size = out_size
        self.conv_kernel = 1 if is_torgb else config.conv_kernel
        self.conv_clamp = config.conv_clamp
        self.magnitude_ema_beta = config.magnitude_ema_beta
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else config.lrelu_upsampling)
        self.up_factor = int(np.rint(tmp_sampling_rate / in_sampling_rate))
        up_taps = config.filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer(
            "up_filter",
            design_lowpass_filter(up_taps, in_cutoff, in_half_width * 2, tmp_sampling_rate),
        )
        self.down_factor = int(np.rint(tmp_sampling_rate / out_sampling_rate))
        down_taps = config.filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        radial = config.use_radial_filters and not is_critically_sampled
        self.register_buffer(
            "down_filter",
            design_lowpass_filter(down_taps, out_cutoff, out_half_width * 2, tmp_sampling_rate, radial=radial),
        )
        # Padding so that the output has out_size samples (symmetric interpretation, paper App. C.3).
        pad_total = (out_size - 1) * self.down_factor + 1
        pad_total -= (in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += up_taps + down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = (pad_lo, pad_hi, pad_lo, pad_hi)

    def forward(self, x: Tensor, w: Tensor, *, update_emas: bool = False) -> Tensor:
        if update_emas:
            with torch.autograd.no_grad():
                magnitude_cur = x.detach().to(torch.float32).square().mean()
                self.magnitude_ema.copy_(magnitude_cur.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        input_gain = self.magnitude_ema.rsqrt()
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel**2))
        x = modulated_conv2d_sg3(
            x,
            self.weight,
            styles,
            padding=self.conv_kernel - 1,
            demodulate=not self.is_torgb,
            input_gain=input_gain,
        )
        return filtered_lrelu(
            x,
            fu=self.up_filter,
            fd=self.down_filter,
            bias=self.bias.to(x.dtype),
            up=self.up_factor,
            down=self.down_factor,
            padding=self.padding,
            gain=1.0 if self.is_torgb else math.sqrt(2),
            slope=1.0 if self.is_torgb else 0.2,
            clamp=self.conv_clamp,
        )


class SynthesisNetworkSG3(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R]; layers named L{i}_{size}_{channels} as NVIDIA's."""

    def __init__(self, config: StyleGAN3SynthesisConfig, w_dim: int, img_resolution: int, img_channels: int) -> None:
        super().__init__()
        self.config = config
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.num_ws = config.num_layers + 2
        n = config.num_layers
        # Geometric progression of cutoffs and minimum stopbands, layer by layer.
        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * config.last_stopband_rel
        exponents = np.minimum(np.arange(n + 1) / (n - config.num_critical), 1)
        cutoffs = config.first_cutoff * (last_cutoff / config.first_cutoff) ** exponents
        stopbands = config.first_stopband * (last_stopband / config.first_stopband) ** exponents
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
        sizes = sampling_rates + config.margin_size * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((config.channel_base / 2) / cutoffs, config.channel_max))
        channels[-1] = img_channels

        self.input = SynthesisInput(
            w_dim,
            channels=int(channels[0]),
            size=int(sizes[0]),
            sampling_rate=sampling_rates[0],
            bandwidth=cutoffs[0],
        )
        self.layer_names: list[str] = []
        self._feature_sizes = tuple(int(rate) for rate in sampling_rates)  # each layer's image-aligned part
        for idx in range(n + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayerSG3(
                w_dim,
                is_torgb=idx == n,
                is_critically_sampled=idx >= n - config.num_critical,
                in_channels=int(channels[prev]),
                out_channels=int(channels[idx]),
                in_size=int(sizes[prev]),
                out_size=int(sizes[idx]),
                in_sampling_rate=int(sampling_rates[prev]),
                out_sampling_rate=int(sampling_rates[idx]),
                in_cutoff=cutoffs[prev],
                out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev],
                out_half_width=half_widths[idx],
                config=config,
            )
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    @property
    def early_exit_resolutions(self) -> tuple[int, ...]:
        """Only the full resolution: every layer carries the whole frame's signal, there is no smaller image to
        stop at (see `Generator.synthesize_at`)."""
        return (self.img_resolution,)

    @property
    def feature_sizes(self) -> tuple[int, ...]:
        """The side of each layer's feature map without its margin (the part aligned with the image), in
        synthesis order (`features(ws, stage)` reads one)."""
        return self._feature_sizes

    def features(
        self,
        ws: Tensor,
        stage: int,
        *,
        noise_mode: str = "const",
        precision: str = "fp32",
        free_layers: int | None = None,
    ) -> Tensor:
        """ws [N, num_ws, w_dim] -> layer `stage`'s float32 features [N, C, S, S] with the margin cropped (S as
        in feature_sizes), running no layer after it. `free_layers`: only ws[:, :free_layers] may need gradients
        (the later layers run them detached)."""
        dtype = compute_dtype(precision, ws.device)
        ws = [held_detached(w, i, free_layers) for i, w in enumerate(ws.to(torch.float32).unbind(dim=1))]
        x = to_compute(self.input(ws[0]), dtype)
        for name, w in zip(self.layer_names[: stage + 1], ws[1:], strict=False):
            x = getattr(self, name)(x, w)
        margin = (x.shape[-1] - self.feature_sizes[stage]) // 2
        x = x[:, :, margin : x.shape[-2] - margin, margin : x.shape[-1] - margin] if margin > 0 else x
        return x.float()

    def forward(
        self,
        ws: Tensor,
        *,
        noise_mode: str = "const",
        transform: Tensor | None = None,
        update_emas: bool = False,
        precision: str = "fp32",
    ) -> Tensor:
        """ws [N, num_ws, w_dim] -> img [N, C, R, R] float32. `noise_mode` is accepted for a uniform seam
        (StyleGAN3 has no noise inputs); `transform` is the 3x3 inverse image transform (as gen_images.py
        writes into `input.transform`); `precision` as in `stylegan_core.precision`."""
        dtype = compute_dtype(precision, ws.device)
        ws = ws.to(torch.float32).unbind(dim=1)
        x = to_compute(self.input(ws[0], transform), dtype)
        for name, w in zip(self.layer_names, ws[1:], strict=False):
            x = getattr(self, name)(x, w, update_emas=update_emas)
        if self.config.output_scale != 1:
            x = x * self.config.output_scale
        return x.to(torch.float32)
