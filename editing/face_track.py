"""One face followed through a clip: its landmarks frame by frame, short gaps bridged, and its FFHQ crop smoothed
over time so the crop does not jitter (STIT, Tzaban et al. 2022: Gaussian over frames, sigma 1 for the crop's
centre and 3 for its axes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .align import FaceBox, faces_worth_aligning, ffhq_quad

CENTER_SIGMA = 1.0  # frames; STIT's defaults
XY_SIGMA = 3.0
LANDMARK_SIGMA = 1.0  # the paste mask's landmarks
MAX_GAP = 5  # frames without a detection bridged between two with one
START_MIN_SCORE = 0.3  # dlib's detector score a face needs to start a track (faces in our clips score 1-3; its
# false alarms on a clip of the Earth at night scored 0.0-0.1)


@dataclass(frozen=True)
class CropFrame:
    """The FFHQ crop of one frame: its centre [2] and horizontal half-axis [2] (the vertical one is it turned
    90 degrees), with the landmarks [68, 2] the paste mask is drawn from."""

    centre: np.ndarray
    axis: np.ndarray
    landmarks: np.ndarray

    @classmethod
    def of(cls, landmarks: np.ndarray) -> CropFrame:
        quad = ffhq_quad(landmarks)[0]
        return cls((quad[0] + quad[2]) / 2, (quad[3] - quad[0]) / 2, landmarks.astype(np.float64))

    @property
    def quad(self) -> np.ndarray:  # [4, 2] as ffhq_quad orders it
        x = self.axis
        y = np.flipud(x) * [-1, 1]
        c = self.centre
        return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])

    @property
    def side(self) -> float:
        return float(np.hypot(*self.axis) * 2)


def follow(boxes: Sequence[FaceBox], previous: FaceBox | None, face: int = 0) -> int | None:
    """Which of a frame's faces is the one followed: with no face before (the clip's start, or the face lost for a
    while), the `face`-th of those scoring START_MIN_SCORE or more, as `faces_worth_aligning` orders them (the
    largest first); else the one nearest the previous frame's face, if it is within a face's width of it. None
    where there is none."""
    if not boxes:
        return None
    if previous is None:
        strong = [i for i, box in enumerate(boxes) if box.score >= START_MIN_SCORE]
        if not strong:
            return None
        order = [strong[i] for i in faces_worth_aligning([boxes[i] for i in strong])]
        return order[face] if face < len(order) else None
    centre = np.array([(previous.left + previous.right) / 2, (previous.top + previous.bottom) / 2])
    width = previous.right - previous.left
    distances = [np.hypot((b.left + b.right) / 2 - centre[0], (b.top + b.bottom) / 2 - centre[1]) for b in boxes]
    best = int(np.argmin(distances))
    return best if distances[best] <= width else None


def runs(found: Sequence[bool]) -> list[tuple[int, int]]:
    """[(start, end)] of the stretches of consecutive True, end exclusive."""
    stretches, start = [], None
    for i, present in enumerate([*found, False]):
        if present and start is None:
            start = i
        elif not present and start is not None:
            stretches.append((start, i))
            start = None
    return stretches


def bridge_gaps(landmarks: list[np.ndarray | None], max_gap: int = MAX_GAP) -> list[np.ndarray | None]:
    """Gaps of up to `max_gap` frames between two frames with landmarks filled by linear interpolation (a blink of
    the detector, a hand passing); longer gaps and the clip's ends stay empty."""
    filled = list(landmarks)
    known = [i for i, lm in enumerate(landmarks) if lm is not None]
    for a, b in zip(known, known[1:], strict=False):
        if 1 < b - a <= max_gap + 1:
            for i in range(a + 1, b):
                t = (i - a) / (b - a)
                filled[i] = landmarks[a] * (1 - t) + landmarks[b] * t
    return filled


def smooth_crops(
    landmarks: list[np.ndarray | None],
    centre_sigma: float = CENTER_SIGMA,
    xy_sigma: float = XY_SIGMA,
    landmark_sigma: float = LANDMARK_SIGMA,
) -> list[CropFrame | None]:
    """Each frame's crop with its centre, axes and landmarks smoothed over time (Gaussian, within each stretch of
    frames that have a face; sigma 0: as detected); None where the frame has no face."""
    crops: list[CropFrame | None] = [None] * len(landmarks)
    for start, end in runs([lm is not None for lm in landmarks]):
        raw = [CropFrame.of(lm) for lm in landmarks[start:end]]
        centres = _smooth(np.stack([c.centre for c in raw]), centre_sigma)
        axes = _smooth(np.stack([c.axis for c in raw]), xy_sigma)
        marks = _smooth(np.stack([c.landmarks for c in raw]), landmark_sigma)
        for i in range(end - start):
            crops[start + i] = CropFrame(centres[i], axes[i], marks[i])
    return crops


def _smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """values [T, ...] smoothed along T (edges held: 'nearest')."""
    if sigma <= 0 or len(values) < 2:
        return values
    return gaussian_filter1d(values, sigma, axis=0, mode="nearest")


def crop_jitter(crops: Sequence[CropFrame | None]) -> float:
    """How much the crop shakes: the mean size of the second difference of its corners (what steady motion does
    not cause), over the crop's side, in per cent; 0 for a crop that moves steadily or not at all."""
    shakes = []
    for start, end in runs([c is not None for c in crops]):
        if end - start < 3:
            continue
        quads = np.stack([crops[i].quad for i in range(start, end)])  # [T, 4, 2]
        sides = np.array([crops[i].side for i in range(start + 1, end - 1)])
        second = np.linalg.norm(quads[2:] - 2 * quads[1:-1] + quads[:-2], axis=2).mean(axis=1)
        shakes.extend(second / sides * 100)
    return float(np.mean(shakes)) if shakes else 0.0
