"""Video clips in and out through the ffmpeg that imageio-ffmpeg ships: what a clip holds (size, frame rate,
length, sound), its frames streamed one at a time, and a writer that keeps the source's sound track."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np


class ClipError(ValueError):
    """A file that cannot be edited as a clip (the message says why)."""


@dataclass(frozen=True)
class ClipInfo:
    path: str
    width: int
    height: int
    fps: Fraction
    seconds: float
    has_audio: bool

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def frame_estimate(self) -> int:
        """About how many frames it has (from its length and rate; for progress, not for logic)."""
        return max(1, round(self.seconds * float(self.fps)))


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_clip(path: str | Path, shown_name: str | None = None) -> ClipInfo:
    """The clip's size (as played: rotation applied), frame rate, length and whether it has sound; ClipError for a
    file that is not a video or has no video stream."""
    name = shown_name or Path(path).name
    if not Path(path).is_file():
        raise ClipError(f"{name}: no such file")
    listing = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    streams = [line for line in listing.splitlines() if re.search(r"Stream #\d+:\d+", line)]
    video = [line for line in streams if " Video: " in line and "attached pic" not in line]
    if not streams:
        raise ClipError(f"{name} is not a video file ffmpeg can read")
    if not video:
        raise ClipError(f"{name} has no video stream (only {', '.join(_kinds(streams))})")
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (RuntimeError, StopIteration) as exc:
        raise ClipError(f"{name}: ffmpeg cannot decode its video ({str(exc).splitlines()[0][:120]})") from None
    finally:
        reader.close()
    rate = re.search(r"(\d+(?:\.\d+)?)(k?) fps", video[0])
    fps = _fps(rate.group(1)) if rate else Fraction(meta.get("fps") or 0).limit_denominator(1001)
    if fps <= 0:
        raise ClipError(f"{name}: its frame rate cannot be read")
    width, height = meta["size"]
    audio = any(" Audio: " in line for line in streams)
    return ClipInfo(str(path), int(width), int(height), fps, float(meta.get("duration") or 0), audio)


def _fps(text: str) -> Fraction:
    """ffmpeg's rounded rate as the exact one it stands for (29.97 -> 30000/1001)."""
    value = float(text)
    for base in (24, 25, 30, 48, 50, 60, 120):
        if abs(value - base * 1000 / 1001) < 0.006:
            return Fraction(base * 1000, 1001)
    return Fraction(value).limit_denominator(1000)


def _kinds(streams: list[str]) -> list[str]:
    return sorted({m.group(1).lower() for line in streams if (m := re.search(r": (Audio|Subtitle|Data): ", line))})


def frames_of(info: ClipInfo) -> Iterator[np.ndarray]:
    """Every frame [H, W, 3] uint8 in order, decoded as it is asked for (a clip is never held whole)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(info.path)
    try:
        next(reader)  # the metadata
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(info.height, info.width, 3)
    finally:
        reader.close()


class ClipWriter:
    """Frames -> an H.264 MP4 at the source's size and rate, with the source's sound track where it has one.
    Written to a `.partial` file beside the target and renamed on a clean close; removed on any failure."""

    def __init__(self, path: str | Path, like: ClipInfo, quality: float = 8) -> None:
        import imageio_ffmpeg

        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial.mp4")
        even = like.width % 2 == 0 and like.height % 2 == 0  # 4:2:0 needs even sides; odd ones keep their size
        self._writer = imageio_ffmpeg.write_frames(
            str(self.partial),
            like.size,
            fps=like.fps,
            codec="libx264",
            quality=quality,
            macro_block_size=1,
            pix_fmt_out="yuv420p" if even else "yuv444p",
            audio_path=like.path if like.has_audio else None,
            audio_codec="aac" if like.has_audio else None,
            output_params=["-movflags", "+faststart"],
        )
        self._writer.send(None)
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        self._writer.send(np.ascontiguousarray(frame, dtype=np.uint8))
        self.frames += 1

    def __enter__(self) -> ClipWriter:
        return self

    def __exit__(self, kind, _value, _tb) -> None:
        try:
            self._writer.close()
        finally:
            if kind is None and self.partial.exists():
                self.partial.replace(self.path)
            else:
                self.partial.unlink(missing_ok=True)
