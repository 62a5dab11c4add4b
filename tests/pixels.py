"""Comparing 8-bit renders of the same float images made along different kernel paths (batch sizes, CPUs)."""

from __future__ import annotations

import numpy as np


def assert_same_picture(ours: np.ndarray, expected: np.ndarray, max_fraction: float = 0.001) -> None:
    """Equal but for a few pixels one grey level apart: float results that differ by ~1e-6 (another CPU's
    convolution kernels, another batch size) can round to neighbouring 8-bit values at a .5 boundary."""
    assert ours.shape == expected.shape and ours.dtype == expected.dtype == np.uint8
    diff = np.abs(ours.astype(np.int16) - expected.astype(np.int16))
    assert diff.max() <= 1, f"pixels differ by up to {diff.max()} grey levels"
    assert (diff > 0).mean() <= max_fraction, f"{(diff > 0).mean():.2%} of the values differ"
