"""Face edits on a clip (after STIT, Tzaban et al. 2022): the face followed through the clip, its crop smoothed
over time, each frame encoded, one generator tuned on a sample of frames, the edit on every frame, each face
pasted back; the clip out at its own size and rate with its sound. Frames are streamed (three passes over the
clip: find the face, encode it, edit and write), so memory does not grow with the clip's length."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from editing.align import FaceBox, detect_faces, face_landmarks
from editing.clip import ClipError, ClipInfo, ClipWriter, frames_of, probe_clip
from editing.directions import Direction
from editing.encoders import Encoder
from editing.face_track import MAX_GAP, CropFrame, bridge_gaps, crop_jitter, follow, smooth_crops
from editing.lpips import shared_lpips
from editing.paste import Placement, check_blend
from editing.project import project, target_tensor
from editing.pti import PTIOptions, tune_generator
from stylegan_core import Generator
from training.scorer import PortraitScorer

from .edit import Edits, apply_edits, checked_edits
from .latents import PREVIEW_PRECISION, Latent
from .progress import SILENT, Progress
from .retouch import paste_edited, smallest_face_px

MAX_SECONDS = 30.0  # the default limit on a clip's length
PTI_FRAMES = 8  # frames the generator is tuned on, spread evenly over the stretches with a face
PTI_BATCH = 2  # of them per tuning step, in turn
BRIDGE_MIN_LIKENESS = 0.6  # a bridged frame's crop must correlate this well with the last detected one
STAGES = {  # the progress stages, as a progress bar names them
    "find": "find the face",
    "encode": "encode the frames",
    "tune": "tune the generator (PTI)",
    "write": "edit and write",
}
DETECT_MAX_SIDE = 960  # frames larger than this are searched for faces at this size (the landmarks at full size)


@dataclass(frozen=True)
class FrameEditor:
    """The edit of one frame's face: its code moved by the edits, drawn by `drawer` and pasted back."""

    drawer: Generator
    edits: list  # DirectionEdits
    directions: Mapping[str, Direction]
    layers: str = "all"
    scorer: PortraitScorer | None = None
    blend: str = "auto"
    precision: str = PREVIEW_PRECISION  # of the frames' renders (stylegan_core.precision)

    def __call__(self, frame: np.ndarray, crop: CropFrame, ws: torch.Tensor) -> np.ndarray:
        """frame [H, W, 3] uint8 with its face, found along `crop` and encoded as ws [1, num_ws, w_dim], edited."""
        latent = Latent(ws.numpy(), "", "frame")
        moved = apply_edits(self.drawer, latent, self.directions, self.edits, self.layers, self.scorer)
        placement = _placement(crop, frame)
        return paste_edited(self.drawer, latent, moved, frame, placement, self.blend, self.precision)[0]


class VideoStopped(RuntimeError):  # noqa: N818  (a stop, not an error)
    """The edit was stopped before the clip was written (no file is left behind)."""


@dataclass
class VideoEdit:
    path: Path  # the edited clip
    frames: int
    face_frames: int  # frames where the face was detected
    edited_frames: int  # frames whose face was edited (detected, or bridged over a detector's miss)
    jitter_raw: float  # crop_jitter of the crops as detected (gaps bridged), per cent of the crop side
    jitter_smoothed: float  # the same after smoothing, over the same frames
    pti_steps: int
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.edited_frames} of {self.frames} frames edited (the face was detected in {self.face_frames}); "
            f"crop jitter {self.jitter_raw:.2f}% -> {self.jitter_smoothed:.2f}% after smoothing; "
            f"{self.seconds:.0f} s"
        )


def check_clip(path: str | Path, max_seconds: float = MAX_SECONDS, shown_name: str | None = None) -> ClipInfo:
    """The clip's facts, or ClipError: not a video, no video stream, longer than `max_seconds`."""
    info = probe_clip(path, shown_name)
    if max_seconds and info.seconds > max_seconds:
        raise ClipError(
            f"{shown_name or Path(path).name} is {info.seconds:.1f} s long; the limit is {max_seconds:g} s "
            "(trim it, or raise the limit)"
        )
    return info


def find_face_track(info: ClipInfo, face: int = 0, progress: Progress = SILENT) -> list[np.ndarray | None]:
    """[T] the followed face's 68 landmarks in each frame (None where it is not found)."""
    landmarks: list[np.ndarray | None] = []
    previous, lost = None, 0
    for frame in frames_of(info):
        _stop_if_asked(progress)
        found = _detect(frame, previous, face)
        if found is None:
            landmarks.append(None)
            lost += 1
            previous = None if lost > MAX_GAP else previous
        else:
            landmarks.append(found[0])
            previous, lost = found[1], 0
        progress.report("find", len(landmarks), max(len(landmarks), info.frame_estimate))
    return landmarks


def _detect(frame: np.ndarray, previous: FaceBox | None, face: int) -> tuple[np.ndarray, FaceBox] | None:
    """The followed face in a frame: its landmarks [68, 2] and box (searched on a copy at most DETECT_MAX_SIDE
    px, placed on the full frame), or None."""
    image = Image.fromarray(frame)
    scale = min(1.0, DETECT_MAX_SIDE / max(image.size))
    small = image if scale == 1 else image.resize((round(image.width * scale), round(image.height * scale)))
    boxes = [_scaled(box, 1 / scale) for box in detect_faces(small)]
    chosen = follow(boxes, previous, face)
    if chosen is None:
        return None
    return face_landmarks(image, boxes[chosen]).astype(np.float64), boxes[chosen]


def _scaled(box: FaceBox, factor: float) -> FaceBox:
    if factor == 1:
        return box
    corners = (round(v * factor) for v in box.as_list())
    return FaceBox(*corners, score=box.score)


def crop_face(frame: np.ndarray, crop: CropFrame, size: int) -> np.ndarray:
    """The frame's face [size, size, 3] aligned like FFHQ along the (smoothed) crop: one affine warp, after an
    area shrink where the face is much larger than `size` (so it is not aliased)."""
    import cv2

    placement = _placement(crop, frame)
    shrink = int(placement.side / size / 2)
    if shrink > 1:
        frame = cv2.resize(frame, None, fx=1 / shrink, fy=1 / shrink, interpolation=cv2.INTER_AREA)
        placement = placement.scaled(frame.shape[1] / placement.photo_size[0])
    to_photo = placement.crop_to_photo(size)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(frame, to_photo, (size, size), flags=flags, borderMode=cv2.BORDER_REFLECT)


def _placement(crop: CropFrame, frame: np.ndarray) -> Placement:
    return Placement((frame.shape[1], frame.shape[0]), crop.quad, crop.landmarks, 0)


def edit_video(
    G: Generator,
    clip: str | Path,
    out: str | Path,
    edits: Edits,
    directions: Mapping[str, Direction],
    encoder: Encoder,
    *,
    face: int = 0,
    pti_steps: int = 0,
    refine_steps: int = 0,
    max_seconds: float = MAX_SECONDS,
    frames_dir: str | Path | None = None,
    blend: str = "auto",
    layers: str = "all",
    scorer: PortraitScorer | None = None,
    precision: str = PREVIEW_PRECISION,
    progress: Progress = SILENT,
) -> VideoEdit:
    """The clip with the `face`-th face (the largest first) edited by `edits` wherever it is found, written to
    `out` (MP4, the source's size, rate and sound); with `frames_dir`, every frame as a PNG too. `refine_steps`
    polishes each frame's code by that many LPIPS steps in W+ (slow; STIT uses the encoder alone); `pti_steps`
    tunes a copy of G on PTI_FRAMES frames first; `precision` is that of the tuning and the frames' renders
    (stylegan_core.precision). Raises VideoStopped (leaving nothing) when stopped."""
    started = time.perf_counter()
    edits = checked_edits(edits, directions)  # before any long work
    check_blend(blend)
    info = check_clip(clip, max_seconds)
    detected = find_face_track(info, face, progress)
    if not any(lm is not None for lm in detected):
        raise ClipError(f"no face found in any frame of {Path(clip).name}")
    bridged = bridge_gaps(detected)
    crops = smooth_crops(bridged)
    size = G.img_resolution
    found = [lm is not None for lm in detected]
    refine = (G, refine_steps) if refine_steps else None
    min_side = smallest_face_px(G)
    ws, samples = _encode_frames(info, crops, found, encoder, size, min_side, refine, precision, progress)
    drawer, tuned_steps = G, 0
    if pti_steps:
        drawer, tuned_steps = _tune(
            G, ws, samples, PTIOptions(pti_steps, batch=PTI_BATCH, precision=precision), progress
        )
    staging = Path(tempfile.mkdtemp(prefix="studio-video-")) if frames_dir is not None else None
    try:
        editor = FrameEditor(drawer, edits, directions, layers, scorer, blend, precision)
        _write_edited(info, crops, ws, editor, out, staging, progress)
        if staging is not None:  # the frames join the clip only once it is whole
            Path(frames_dir).mkdir(parents=True, exist_ok=True)
            for png in sorted(staging.glob("*.png")):
                shutil.move(str(png), Path(frames_dir) / png.name)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return VideoEdit(
        Path(out),
        len(detected),
        sum(lm is not None for lm in detected),
        len(ws),  # every frame with a code is edited
        crop_jitter([CropFrame.of(bridged[i]) if c is not None else None for i, c in enumerate(crops)]),
        crop_jitter(crops),  # both over the frames edited
        tuned_steps,
        time.perf_counter() - started,
    )


def preview_frame(
    G: Generator,
    clip: str | Path,
    edits: Edits,
    directions: Mapping[str, Direction],
    encoder: Encoder,
    *,
    face: int = 0,
    max_seconds: float = MAX_SECONDS,
    blend: str = "auto",
    layers: str = "all",
    scorer: PortraitScorer | None = None,
    precision: str = PREVIEW_PRECISION,
) -> np.ndarray:
    """One frame [H, W, 3] of the clip edited as `edit_video` would (without tuning): the first frame with a
    face from the middle of the clip on, to judge an edit before the whole run."""
    info = check_clip(clip, max_seconds)
    found = None
    for first in (info.frame_estimate // 2, 0):  # from the middle on, else from the start
        frames = (f for i, f in enumerate(frames_of(info)) if i >= first)
        found = next(((f, hit) for f in frames if (hit := _detect(f, None, face)) is not None), None)
        if found is not None:
            break
    if found is None:
        raise ClipError(f"no face found in any frame of {Path(clip).name}")
    frame, crop = found[0], CropFrame.of(found[1][0])
    ws = encoder.encode(crop_face(frame, crop, G.img_resolution), precision).detach().cpu()
    edits = checked_edits(edits, directions)
    edit = FrameEditor(G, edits, directions, layers, scorer, check_blend(blend), precision)
    return edit(frame, crop, ws)


def _encode_frames(
    info: ClipInfo,
    crops: list,
    detected: list[bool],
    encoder: Encoder,
    size: int,
    min_side: float,
    refine: tuple[Generator, int] | None,
    precision: str,
    progress: Progress,
):
    """Each face frame's code {frame: [1, num_ws, w_dim]} and the aligned crops of PTI_FRAMES of them. A bridged
    frame (no detection, crop interpolated) is kept only where its crop still looks like the last detected one
    (a detector's miss), not where the face is gone (a cut, a blank frame, a hand over it): its crop is dropped."""
    face_frames = [i for i, c in enumerate(crops) if c is not None]
    picks = {face_frames[round(k)] for k in np.linspace(0, len(face_frames) - 1, min(PTI_FRAMES, len(face_frames)))}
    ws, samples, last_seen = {}, {}, None
    for i, frame in enumerate(frames_of(info)):
        _stop_if_asked(progress)
        if i >= len(crops) or crops[i] is None:
            continue
        if crops[i].side < min_side:  # too small for the model to draw it better than it is
            crops[i] = None
            continue
        aligned = crop_face(frame, crops[i], size)
        if detected[i]:
            last_seen = aligned
        elif last_seen is None or _likeness(aligned, last_seen) < BRIDGE_MIN_LIKENESS:
            crops[i] = None
            continue
        ws[i] = encoder.encode(aligned, precision).detach()
        if refine is not None:  # the code polished in W+ (the `refine` preset of a photo)
            G, steps = refine
            ws[i] = project(
                G, aligned, preset="refine", steps=steps, init_ws=ws[i], lpips=shared_lpips(str(G.device))
            ).ws
        ws[i] = ws[i].cpu()
        if i in picks and detected[i]:
            samples[i] = aligned
        progress.report("encode", len(ws), len(face_frames), aligned if len(ws) == 1 else None)
    return ws, samples


def _likeness(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two crops' grey levels (1: the same picture; 0 for a flat one)."""
    x, y = a.astype(np.float64).mean(axis=2), b.astype(np.float64).mean(axis=2)
    x, y = x - x.mean(), y - y.mean()
    scale = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / scale) if scale > 1e-6 else 0.0


def _tune(G: Generator, ws: dict, samples: dict, options: PTIOptions, progress: Progress) -> tuple[Generator, int]:
    """A copy of G tuned (PTI, with its locality regulariser) to draw the sample frames from their codes."""
    frames = sorted(samples)
    pivots = torch.cat([ws[i] for i in frames]).to(G.device)  # [N, num_ws, w_dim]
    targets = torch.cat([target_tensor(samples[i], G.img_resolution) for i in frames]).to(G.device)
    result = tune_generator(
        G,
        pivots,
        targets,
        options=options,
        callback=progress.counter("tune"),
        should_stop=progress.stopped,
    )
    _stop_if_asked(progress)
    return result.generator, result.steps


def _write_edited(
    info: ClipInfo, crops: list, ws: dict, edit: FrameEditor, out: str | Path, staging: Path | None, progress: Progress
) -> None:
    """The third pass: every frame, its face edited where it has a code, into the MP4 (and, with a `staging`
    folder, PNGs into it)."""
    with ClipWriter(out, info) as writer:
        for i, frame in enumerate(frames_of(info)):
            _stop_if_asked(progress)
            if i in ws:
                frame = edit(frame, crops[i], ws[i])
            writer.write(frame)
            if staging is not None:
                Image.fromarray(frame).save(staging / f"frame_{i:05d}.png", compress_level=1)
            progress.report("write", i + 1, len(crops))


def _stop_if_asked(progress: Progress) -> None:
    if progress.stopped():
        raise VideoStopped("stopped: no clip was written")
