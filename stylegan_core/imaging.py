"""Generator output -> uint8 pixels and image grids (official rounding); safe reading of photos."""

from __future__ import annotations

import math
from pathlib import Path
from typing import IO

import numpy as np
import torch
from PIL import Image


def area_resize(img: torch.Tensor, size: int) -> torch.Tensor:  # [N, C, H, W] -> [N, C, size, size]
    """Downsample by averaging (what NVIDIA's projector does before its VGG loss); a no-op at `size`."""
    return torch.nn.functional.interpolate(img, size=(size, size), mode="area") if img.shape[-1] != size else img


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


MAX_IMAGE_PIXELS = 50_000_000  # ~7000 x 7000; larger uploads are refused before decoding
READABLE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")  # JPEG also opens MPO (phone photos)


class ImageReadError(ValueError):
    """A file that is not an image we can use (with the reason)."""


def read_image(
    source: str | Path | IO[bytes], *, max_pixels: int = MAX_IMAGE_PIXELS, shown_name: str | None = None
) -> Image.Image:
    """Open a photo safely as 8-bit RGB: format allow-list, size checked before decoding, EXIF
    orientation applied, first frame of animations, 16-bit / grey / palette / alpha / CMYK converted.
    Messages name `shown_name` (default: the path), one short reason per kind of failure."""
    from PIL import ImageOps, UnidentifiedImageError

    name = shown_name or getattr(source, "name", source)
    if isinstance(source, str | Path) and Path(source).is_file() and Path(source).stat().st_size == 0:
        raise ImageReadError(f"{name}: the file is empty")
    try:
        img = Image.open(source, formats=READABLE_FORMATS)
    except Image.DecompressionBombError:
        raise ImageReadError(f"{name}: image too large (limit {max_pixels // 1_000_000} MP)") from None
    except FileNotFoundError:
        raise ImageReadError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{name}: is a folder, not an image") from None
    except PermissionError:
        raise ImageReadError(f"{name}: not allowed to read it (permissions)") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageReadError(f"{name}: not an image (PNG, JPEG, WebP, BMP, TIFF or GIF expected)") from None
    if img.width * img.height > max_pixels:
        raise ImageReadError(f"{name}: {img.width}x{img.height} is too large (limit {max_pixels // 1_000_000} MP)")
    try:
        img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img)
    except (OSError, ValueError, SyntaxError):
        raise ImageReadError(f"{name}: the image is truncated or corrupt") from None
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        scale = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / scale * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        img = Image.fromarray(np.clip(np.asarray(img) * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def center_crop_resize(img: Image.Image, size: int) -> Image.Image:
    """Largest centred square, resized to size x size with Lanczos."""
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
