"""Generator output -> uint8 pixels and image grids, with the official rounding."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] in about [-1, 1] -> [N, H, W, C] uint8, as gen_images.py: (x * 127.5 + 128) clamped, truncated."""
    return (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()


def to_pil(pixels: np.ndarray) -> Image.Image:
    """[H, W, C] uint8 -> PIL image (RGB, or L for one channel)."""
    if pixels.shape[-1] == 1:
        return Image.fromarray(pixels[..., 0], "L")
    return Image.fromarray(pixels, "RGB")


def make_grid(images: list[np.ndarray], cols: int | None = None) -> np.ndarray:
    """Tile equally sized [H, W, C] uint8 images row by row (cols defaults to about the square root)."""
    if not images:
        raise ValueError("no images to tile")
    n = len(images)
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    h, w, c = images[0].shape
    grid = np.zeros([rows * h, cols * w, c], dtype=np.uint8)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        grid[r * h : (r + 1) * h, q * w : (q + 1) * w] = img
    return grid
