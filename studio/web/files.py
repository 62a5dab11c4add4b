"""Files handed to visitors: each in a fresh folder of its own, deleted after an hour."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from studio.workflows import sample_photos

SCRATCH = Path(tempfile.gettempdir()) / "stylegan-studio"
SCRATCH_MAX_AGE_S = 3600

_last_prune = 0.0


def scratch_file(name: str) -> Path:
    """A fresh path for a file handed to a visitor; files older than an hour go, checked once a minute."""
    global _last_prune
    SCRATCH.mkdir(exist_ok=True)
    if time.time() - _last_prune > 60:
        _last_prune = time.time()
        for old in SCRATCH.glob("*/*"):
            if time.time() - old.stat().st_mtime > SCRATCH_MAX_AGE_S:
                old.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    old.parent.rmdir()
    return Path(tempfile.mkdtemp(dir=SCRATCH)) / name


def png(image: np.ndarray | Image.Image) -> str:
    """An image as a PNG file for Gradio. Gradio caches files by copy-and-rename, but arrays by rewriting a
    file named after their content in place, so two visitors given the same picture at once (the same seed
    page) could be served a half-written file."""
    path = scratch_file("face.png")
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(path)
    return str(path)


def example_photos() -> list[str]:
    """The Project tab's example photos (licences in examples/LICENSES.md)."""
    return [str(p) for p in sample_photos()]
