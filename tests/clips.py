"""Test clips made from a photo: a known camera path over it (pan, zoom, turn), blank frames where asked, and
a sine-tone sound track; written with the ffmpeg imageio-ffmpeg ships."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def camera_path(
    count: int, pan_px: float = 30, zoom_from: float = 1.0, zoom: float = 0.15, turn_deg: float = 4
) -> list[tuple]:
    """(dx, dy, scale, degrees) per frame: a slow pan right and down, a zoom in from `zoom_from`, a small turn."""
    t = np.linspace(0, 1, count)
    return [(pan_px * s, pan_px * 0.5 * s, zoom_from * (1 + zoom * s), turn_deg * np.sin(np.pi * s)) for s in t]


def frame_from(
    photo: Image.Image,
    size: tuple[int, int],
    dx: float,
    dy: float,
    scale: float,
    degrees: float,
    centre: tuple[float, float] = (0.5, 0.5),
) -> np.ndarray:
    """The photo seen by a camera aimed at `centre` (fractions of the photo) moved by (dx, dy) px, zoomed by
    `scale`, turned by `degrees`: [H, W, 3] uint8."""
    w, h = size
    cx, cy = centre[0] * photo.width, centre[1] * photo.height
    turned = photo.rotate(degrees, resample=Image.Resampling.BILINEAR, center=(cx, cy))
    side_w, side_h = photo.width / scale, photo.width / scale * h / w
    left = cx - side_w / 2 + dx
    top = cy - side_h / 2 + dy
    box = (left, top, left + side_w, top + side_h)
    return np.asarray(turned.convert("RGB").resize(size, Image.Resampling.BILINEAR, box=box))


def make_tone(path: Path, seconds: float) -> Path:
    """A 440 Hz tone of `seconds` (any container ffmpeg writes by the file's extension: .wav, .m4a, ...)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi"]
    subprocess.run([*command, "-i", f"sine=frequency=440:duration={seconds:.3f}", str(path)], check=True)
    return path


def make_clip(
    path: Path,
    photo: Image.Image,
    *,
    frames: int = 24,
    fps: float = 12,
    size: tuple[int, int] = (320, 240),
    blank: Sequence[int] = (),
    audio: bool = True,
    centre: tuple[float, float] = (0.5, 0.5),
    zoom_from: float = 1.0,
    quality: float = 9,
    paint: Callable[[int, np.ndarray], None] | None = None,
    pan_px: float = 30,
) -> Path:
    """An MP4 of the photo along `camera_path` (aimed at `centre`), frames in `blank` a flat grey, with a 440 Hz
    tone if `audio`; `paint(i, frame)` may draw on each frame (something passing in front of the face)."""
    import imageio_ffmpeg

    tone = make_tone(path.with_suffix(".wav"), frames / fps) if audio else None
    writer = imageio_ffmpeg.write_frames(
        str(path),
        size,
        fps=fps,
        codec="libx264",
        quality=quality,
        macro_block_size=1,
        audio_path=str(tone) if tone else None,
        audio_codec="aac" if tone else None,
    )
    writer.send(None)
    for i, move in enumerate(camera_path(frames, pan_px=pan_px, zoom_from=zoom_from)):
        frame = np.full((size[1], size[0], 3), 128, np.uint8) if i in blank else frame_from(photo, size, *move, centre)
        if paint is not None:
            frame = frame.copy()
            paint(i, frame)
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    if tone:
        tone.unlink()
    return path
