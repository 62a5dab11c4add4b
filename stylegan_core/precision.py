"""The synthesis networks' compute precision: "fp32" (the default, the official pixels) or "bf16".

bf16 runs the convolutions in bfloat16 on channels-last activations (the layout oneDNN's and cuDNN's
fast bf16 kernels want), while the styles, the demodulation, the noise scaling, normalisation
statistics and the image itself stay float32. It pays only where the hardware has native bfloat16
(CUDA GPUs of the Ampere generation on, CPUs with AVX512-BF16 or AMX); elsewhere emulated bfloat16 is
many times slower than float32, so a "bf16" request falls back to float32 and says so once.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode

PRECISIONS = ("fp32", "bf16")
_emulation_allowed = False


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")


@functools.cache
def _cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return torch.backends.mkldnn.is_available() and any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def has_native_bf16(device: torch.device | str) -> bool:
    """Whether bfloat16 convolutions run natively (and so fast) on `device`."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and _cpu_has_native_bf16()


@functools.cache
def _say_fallback_once(device_type: str) -> None:
    warnings.warn(
        f"the bf16 fast path needs native bfloat16, which this {device_type.upper()} lacks (AVX512-BF16 / AMX, "
        "or an Ampere or newer GPU): running fp32, which is faster here",
        RuntimeWarning,
        stacklevel=4,
    )


def compute_dtype(precision: str, device: torch.device | str) -> torch.dtype:
    """The dtype the convolutions run in for `precision` on `device`: bfloat16 only where it is native
    (or emulation is allowed, see `allow_emulated_bf16`), float32 otherwise."""
    check_precision(precision)
    if precision == "fp32":
        return torch.float32
    device = torch.device(device)
    if has_native_bf16(device) or _emulation_allowed:
        return torch.bfloat16
    _say_fallback_once(device.type)
    return torch.float32


def effective_precision(precision: str, device: torch.device | str) -> str:
    """The precision a request really runs in on `device` ("bf16" falls back to "fp32" where not native)."""
    return "bf16" if compute_dtype(precision, device) == torch.bfloat16 else "fp32"


class _Bf16ConvolutionsInFloat32(TorchFunctionMode):
    """bfloat16 convolutions computed as float32 ones of the same bfloat16 numbers, rounded back to bfloat16.

    Native bf16 kernels (oneDNN, cuDNN) accumulate in float32 and round once at the end, so this gives
    their numbers to the order of accumulation, at float32's speed: PyTorch's emulated bf16 kernels on a
    CPU without AVX512-BF16 are about 100x slower (a depthwise filter becomes one call per channel).
    """

    CONVOLUTIONS = frozenset({F.conv2d, F.conv_transpose2d, torch.conv2d, torch.conv_transpose2d})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in self.CONVOLUTIONS or args[0].dtype != torch.bfloat16:
            return func(*args, **kwargs)
        args = [a.float() if isinstance(a, Tensor) else a for a in args]
        kwargs = {k: v.float() if isinstance(v, Tensor) else v for k, v in kwargs.items()}
        return func(*args, **kwargs).to(torch.bfloat16)


@contextlib.contextmanager
def allow_emulated_bf16() -> Iterator[None]:
    """Run "bf16" in bfloat16 even where the hardware has none, to measure its error (or test it) on any
    CPU: the bfloat16 numbers are kept, the convolutions computed in float32 (`_Bf16ConvolutionsInFloat32`).
    Its speed says nothing of native bf16's."""
    global _emulation_allowed
    before, _emulation_allowed = _emulation_allowed, True
    mode = contextlib.nullcontext() if _cpu_has_native_bf16() else _Bf16ConvolutionsInFloat32()
    try:
        with mode:
            yield
    finally:
        _emulation_allowed = before


def to_compute(x: Tensor, dtype: torch.dtype) -> Tensor:
    """Activations [N, C, H, W] in the compute dtype; bfloat16 ones channels-last (fp32 is left as it is)."""
    if dtype == torch.float32:
        return x
    return x.to(dtype).contiguous(memory_format=torch.channels_last)
