"""Frames -> GIF (Pillow) or MP4 (imageio-ffmpeg, optional)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def save_video(frames: list[np.ndarray], path: str, fps: int = 10) -> None:
    """Frames [H, W, C] uint8 -> .gif (Pillow) or .mp4 (needs imageio-ffmpeg)."""
    if not frames:
        raise ValueError("no frames to write")
    if str(path).lower().endswith(".gif"):
        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        return
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise ValueError("MP4 output needs the imageio and imageio-ffmpeg packages; use a .gif path") from None
    with imageio.get_writer(path, fps=fps, codec="libx264", quality=8, macro_block_size=1) as writer:
        for f in frames:
            writer.append_data(f)
