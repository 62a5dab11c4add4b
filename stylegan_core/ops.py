"""Low-level ops of the StyleGAN family in plain PyTorch (no custom kernels, nothing compiled).

These follow the semantics of NVIDIA's reference ops (`upfirdn2d`, `bias_act`, `conv2d_resample`,
`modulated_conv2d`) so that official checkpoints reproduce their outputs, but they are written for
speed on the CPU: separable FIR filters, styles folded into the weights, in-place epilogues.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

Padding = tuple[int, int, int, int]  # (x0, x1, y0, y1), as NVIDIA's ops order it

LRELU_GAIN = math.sqrt(2.0)


def setup_filter(taps: Sequence[float] | Tensor, *, normalize: bool = True) -> Tensor:
    """FIR filter as NVIDIA's `setup_filter`: short 1-D taps become their 2-D outer product.

    Returns [k, k] for fewer than 8 taps, else the 1-D [k] taps (applied separably).
    """
    f = torch.as_tensor(taps, dtype=torch.float32)
    if f.ndim == 0:
        f = f[None]
    if f.ndim == 1 and f.numel() < 8:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    return f


def held_detached(ws: Tensor, first_layer: int, free_layers: int | None) -> Tensor:
    """ws (W+ layers from index `first_layer` on), detached when they all lie at or beyond `free_layers`: layers an
    optimiser holds need no gradient, and without one StyleGAN2 folds their styles into its weights."""
    return ws.detach() if free_layers is not None and first_layer >= free_layers else ws


def can_run_inplace(x: Tensor) -> bool:
    """In-place epilogues are safe when autograd does not track `x`."""
    return not (torch.is_grad_enabled() and x.requires_grad)


def is_channels_last(x: Tensor) -> bool:
    """Whether x [N, C, H, W] is laid out channels-last (channels innermost), one channel excluded."""
    return x.ndim == 4 and x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last)


def _separable_factors(f: Tensor) -> tuple[Tensor, Tensor] | None:
    """Split a rank-1 2-D filter into (column, row) factors, or None when it is not separable."""
    if f.ndim != 2:
        return None
    row = f.sum(dim=0)
    col = f.sum(dim=1)
    total = f.sum()
    if total.abs() < 1e-12:
        return None
    if not torch.allclose(torch.outer(col, row) / total, f, rtol=1e-6, atol=1e-9):
        return None
    return col / total, row


def fir_filter(x: Tensor, f: Tensor, *, gain: float = 1.0, flip: bool = True) -> Tensor:
    """Depthwise 'valid' convolution of x [N, C, H, W] with the FIR filter f ([kh, kw] or separable [k]).

    `flip=True` is a true convolution, as NVIDIA's `upfirdn2d` with `flip_filter=False`.
    """
    N, C, H, W = x.shape
    f = f.to(device=x.device, dtype=x.dtype)
    if f.ndim == 2:
        factors = _separable_factors(f)
        if factors is not None:
            col, row = factors
            return _fir_separable(x, col, row, gain=gain, flip=flip)
        f = f * gain
        if flip:
            f = f.flip([0, 1])
        weight = f[None, None].expand(C, 1, *f.shape)
        return F.conv2d(x, weight, groups=C)
    return _fir_separable(x, f, f, gain=gain, flip=flip)


def _fir_separable(x: Tensor, col: Tensor, row: Tensor, *, gain: float, flip: bool) -> Tensor:
    """Filter along W with `row`, then along H with `col`: two depthwise passes (groups = C)."""
    C = x.shape[1]
    g = math.sqrt(gain)
    row = row * g
    col = col * g
    if flip:
        row = row.flip(0)
        col = col.flip(0)
    x = F.conv2d(x, row.reshape(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return F.conv2d(x, col.reshape(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)


def upfirdn2d(
    x: Tensor,
    f: Tensor | None,
    *,
    up: int = 1,
    down: int = 1,
    padding: int | Padding = 0,
    gain: float = 1.0,
) -> Tensor:
    """Upsample by zero insertion, pad (or crop), FIR filter, downsample: NVIDIA's `upfirdn2d`.

    x: [N, C, H, W]; f: [kh, kw], separable [k] or None; padding: int or (x0, x1, y0, y1).
    """
    if isinstance(padding, int):
        padding = (padding,) * 4
    px0, px1, py0, py1 = padding
    N, C, H, W = x.shape
    if up > 1:  # zero insertion, in x's memory layout (channels-last stays so)
        layout = torch.channels_last if is_channels_last(x) else torch.contiguous_format
        spread = torch.empty(N, C, H * up, W * up, dtype=x.dtype, device=x.device, memory_format=layout).zero_()
        spread[:, :, ::up, ::up] = x
        x = spread
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    if f is not None:
        x = fir_filter(x, f, gain=gain)
    elif gain != 1:
        x = x * gain
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: Tensor, f: Tensor, *, up: int = 2) -> Tensor:
    """Upsample x [N, C, H, W] -> [N, C, H*up, W*up] with the FIR filter f (gain up**2)."""
    fw = f.shape[-1]
    p0 = (fw + up - 1) // 2
    p1 = (fw - up) // 2
    return upfirdn2d(x, f, up=up, padding=(p0, p1, p0, p1), gain=up**2)


def downsample2d(x: Tensor, f: Tensor, *, down: int = 2) -> Tensor:
    """Downsample x [N, C, H, W] -> [N, C, H/down, W/down] with the FIR filter f."""
    fw = f.shape[-1]
    p0 = (fw - down + 1) // 2
    p1 = (fw - down) // 2
    return upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1))


def bias_act(
    x: Tensor,
    bias: Tensor | None = None,
    *,
    act: str = "linear",
    alpha: float = 0.2,
    gain: float | None = None,
    clamp: float | None = None,
    inplace: bool = False,
) -> Tensor:
    """x + bias (along dim 1), activation, gain, clamp: NVIDIA's `bias_act` for 'linear' and 'lrelu'.

    `gain` defaults to sqrt(2) for lrelu and 1 for linear, as in the official op. `inplace=True` lets
    a caller that owns `x` (a fresh convolution output) save the temporaries; ignored under autograd.
    """
    if gain is None:
        gain = LRELU_GAIN if act == "lrelu" else 1.0
    inplace = inplace and can_run_inplace(x)
    if bias is not None:
        shape = [1, -1] + [1] * (x.ndim - 2)
        bias = bias.to(x.dtype).reshape(shape)
        x = x.add_(bias) if inplace else x + bias
    if act == "lrelu":
        x = F.leaky_relu_(x, alpha) if inplace else F.leaky_relu(x, alpha)
    elif act != "linear":
        raise ValueError(f"unsupported activation {act!r} (expected 'linear' or 'lrelu')")
    if gain != 1:
        x = x.mul_(gain) if inplace else x * gain
    if clamp is not None and clamp >= 0:
        # hardtanh == clamp, with a one-pass backward (clamp's takes four)
        x = x.clamp_(-clamp, clamp) if inplace else F.hardtanh(x, -clamp, clamp)
    return x


def conv2d_resample(
    x: Tensor,
    weight: Tensor,
    *,
    f: Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
    groups: int = 1,
    bias: Tensor | None = None,
) -> Tensor:
    """2-D convolution with optional FIR up/downsampling, as NVIDIA's `conv2d_resample`.

    x: [N, I*groups, H, W]; weight: [O*groups, I, kh, kw] (cross-correlation: the weight is used as
    stored, which is what the official layers ask for with their `flip_weight` flags). `bias` is only
    accepted on the paths that apply it exactly (no resampling after the convolution).
    """
    out_ch, in_per_group, kh, kw = weight.shape
    weight = weight.to(x.dtype)  # float32 weights meet bfloat16 activations on the bf16 path
    bias = bias.to(x.dtype) if bias is not None else None
    fw = f.shape[-1] if f is not None else 1
    px0 = px1 = py0 = py1 = padding
    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fw + up - 1) // 2
        py1 += (fw - up) // 2
    if down > 1:
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fw - down + 1) // 2
        py1 += (fw - down) // 2

    if kw == 1 and kh == 1 and down > 1 and up == 1:
        x = upfirdn2d(x, f, down=down, padding=(px0, px1, py0, py1))
        return F.conv2d(x, weight, bias, groups=groups)
    if kw == 1 and kh == 1 and up > 1 and down == 1:
        assert bias is None
        x = F.conv2d(x, weight, groups=groups)
        return upfirdn2d(x, f, up=up, padding=(px0, px1, py0, py1), gain=up**2)
    if down > 1 and up == 1:
        x = upfirdn2d(x, f, padding=(px0, px1, py0, py1))
        return F.conv2d(x, weight, bias, stride=down, groups=groups)
    if up > 1:
        assert bias is None and down == 1
        if groups == 1:
            w = weight.transpose(0, 1)
        else:
            w = weight.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
            w = w.reshape(groups * in_per_group, out_ch // groups, kh, kw)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = F.conv_transpose2d(x, w, stride=up, padding=[pyt, pxt], groups=groups)
        return upfirdn2d(x, f, padding=(px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt), gain=up**2)
    if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return F.conv2d(x, weight, bias, padding=[py0, px0], groups=groups)
    x = upfirdn2d(x, None, padding=(px0, px1, py0, py1))
    return F.conv2d(x, weight, bias, groups=groups)


def modulated_conv2d(
    x: Tensor,
    weight: Tensor,
    styles: Tensor,
    *,
    demodulate: bool = True,
    up: int = 1,
    padding: int = 0,
    resample_filter: Tensor | None = None,
    fused: bool | None = None,
) -> Tensor:
    """StyleGAN2 modulated convolution (NVIDIA's `modulated_conv2d`, without the noise).

    x: [N, I, H, W]; weight: [O, I, k, k]; styles: [N, I] -> [N, O, H*up, W*up].
    `fused` folds each sample's styles into its own weights (one grouped convolution); otherwise
    the activations are scaled before and after one shared convolution. Both give the official
    result to float rounding; the default picks the faster one: fused for a single sample, except
    when the styles need gradients (projection), where backpropagating into per-sample weights
    would cost a second convolution. Styles and demodulation stay float32 whatever x's dtype (bf16).
    """
    N = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if fused is None:
        fused = N == 1 and not (torch.is_grad_enabled() and styles.requires_grad)
    dcoefs = None
    if demodulate:
        # sum_{i,k} (w[o,i,k] * s[n,i])^2 == (s^2) @ (sum_k w^2)^T: no [N, O, I, k, k] temporary.
        dcoefs = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()  # [N, O]
    if fused:
        w = weight.unsqueeze(0) * styles.reshape(N, 1, -1, 1, 1)  # [N, O, I, k, k]
        if dcoefs is not None:
            w = w * dcoefs.reshape(N, -1, 1, 1, 1)
        if N > 1:  # (at N = 1 a reshape restrides the batch axis: PyTorch then no longer sees channels-last)
            x = x.reshape(1, N * in_ch, *x.shape[2:])
        w = w.reshape(N * out_ch, in_ch, kh, kw)  # float32 here; conv2d_resample casts it to x's dtype
        x = conv2d_resample(x, w, f=resample_filter, up=up, padding=padding, groups=N)
        return x.reshape(N, out_ch, *x.shape[2:]) if N > 1 else x
    # the scales take the activations' dtype, so that under bfloat16 autocast the chain stays bfloat16
    x = x * styles.to(x.dtype).reshape(N, -1, 1, 1)
    x = conv2d_resample(x, weight, f=resample_filter, up=up, padding=padding)
    if dcoefs is not None:
        dcoefs = dcoefs.to(x.dtype).reshape(N, -1, 1, 1)
        x = x.mul_(dcoefs) if can_run_inplace(x) else x * dcoefs
    return x


def normalize_2nd_moment(x: Tensor, *, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Scale each vector to unit root-mean-square (the mapping network's input normalisation)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()
