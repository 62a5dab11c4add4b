"""Process-wide tuning that makes large-tensor work on the CPU much faster.

glibc returns every large allocation to the OS on free, so each new activation tensor is
page-faulted (and zeroed by the kernel) again: on these CPUs that doubled the cost of FIR filters and
added ~30% to convolutions. Keeping freed memory in the heap removes it. Set STUDIO_KEEP_MALLOC=1
to leave the allocator alone. Importing this module changes nothing: the entry points (the CLI, the app, the
benchmarks) call `tune_allocator()`, so a library user's process keeps its own allocator settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_tuned = False


def tune_allocator(trim_threshold_bytes: int = 1 << 30) -> bool:
    """Serve large tensors from the heap and keep up to `trim_threshold_bytes` of freed memory (glibc only)."""
    global _tuned
    if _tuned or os.environ.get("STUDIO_KEEP_MALLOC") == "1" or not sys.platform.startswith("linux"):
        return _tuned
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
    _tuned = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold_bytes))
    return _tuned


def allocator_tuned() -> bool:
    """Whether `tune_allocator` has changed this process's allocator."""
    return _tuned
