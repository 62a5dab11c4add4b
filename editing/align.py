"""Face detection, 68 landmarks and FFHQ alignment (the procedure NVIDIA used to build FFHQ).

dlib's frontal face detector finds the faces (image upsampled once), its 68-point shape predictor
(shipped by the `face-recognition-models` package; located without importing it) places the landmarks,
and the FFHQ recipe turns eyes and mouth into an oriented quad that is shrunk, cropped, reflect-padded
with blur and median blending, warped to 4096 px and Lanczos-resized to the output size.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

DETECT_MAX_PIXELS = 4_000_000  # larger photos are searched for faces on a downscaled copy
TRANSFORM_SIZE = 4096
MIN_OUTPUT_SIZE = 16
EXTRA_FACE_MIN_SCORE = 0.5  # dlib's detector score (SVM margin) a second face of a photo needs


class FaceNotFoundError(ValueError):
    """No face in the photo (the message says what to try)."""


@dataclass(frozen=True)
class FaceBox:
    left: int
    top: int
    right: int
    bottom: int
    score: float = 0.0

    @property
    def area(self) -> int:  # dlib's rectangle.area(): inclusive corners
        return (self.right - self.left + 1) * (self.bottom - self.top + 1)

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]


@dataclass
class AlignedFace:
    image: Image.Image  # size x size RGB
    boxes: list[FaceBox]  # every detected face, in dlib's order
    face_index: int  # the one that was aligned
    landmarks: np.ndarray  # [68, 2] in the input photo's pixels
    quad: np.ndarray  # [4, 2] crop corners in the input photo (top-left, bottom-left, bottom-right, top-right)
    procedure: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "boxes": [
                {
                    **dict(zip(("left", "top", "right", "bottom"), b.as_list(), strict=True)),
                    "score": b.score,
                    "area": b.area,
                }
                for b in self.boxes
            ],
            "chosen_face": self.face_index,
            "landmarks68": self.landmarks.astype(int).tolist(),
            "quad": self.quad.tolist(),
            "size": self.image.size[0],
        }


def dlib_model_file(name: str) -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the face-recognition-models package is not installed (pip install face-recognition-models)")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from face-recognition-models")
    return path


# dlib's detector, shape predictor and recogniser crash the process (segmentation fault) when two threads run
# them at once, as two app visitors aligning photos together did: every call into them holds this lock.
DLIB_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _detector():
    import dlib

    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _landmark_predictor():
    import dlib

    return dlib.shape_predictor(str(dlib_model_file("shape_predictor_68_face_landmarks.dat")))


def detect_faces(img: Image.Image) -> list[FaceBox]:
    """Every face dlib finds, in its order (image upsampled once, threshold 0)."""
    scale = 1.0
    if img.width * img.height > DETECT_MAX_PIXELS:
        scale = (DETECT_MAX_PIXELS / (img.width * img.height)) ** 0.5
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)
    with DLIB_LOCK:
        rects, scores, _ = _detector().run(np.asarray(img.convert("RGB")), 1, 0)
    return [
        FaceBox(
            round(r.left() / scale),
            round(r.top() / scale),
            round(r.right() / scale),
            round(r.bottom() / scale),
            float(s),
        )
        for r, s in zip(rects, scores, strict=True)
    ]


def face_shape(rgb: np.ndarray, box: FaceBox):
    """dlib's 68-point shape of the face in `box` of an [H, W, 3] uint8 image (for landmarks and descriptors)."""
    import dlib

    with DLIB_LOCK:
        return _landmark_predictor()(rgb, dlib.rectangle(box.left, box.top, box.right, box.bottom))


def face_landmarks(img: Image.Image, box: FaceBox) -> np.ndarray:  # [68, 2] int
    shape = face_shape(np.asarray(img.convert("RGB")), box)
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.int64)


def largest_face(boxes: list[FaceBox]) -> int:
    """Index of the largest box; the earlier one wins a tie."""
    return max(range(len(boxes)), key=lambda i: (boxes[i].area, -i))


def ffhq_quad(landmarks: np.ndarray) -> tuple[np.ndarray, float, dict]:
    """The oriented crop quad [4, 2] and its side from eyes and mouth corners (iBUG-68 landmarks)."""
    lm = landmarks.astype(np.float64)
    eye_left, eye_right = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]  # the horizontal axis, levelled by the mouth
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    qsize = float(np.hypot(*x) * 2)
    return (
        quad,
        qsize,
        {
            "eye_avg": eye_avg.tolist(),
            "eye_to_eye": eye_to_eye.tolist(),
            "eye_to_mouth": eye_to_mouth.tolist(),
            "c": c.tolist(),
            "qsize": qsize,
        },
    )


def warp_quad(img: Image.Image, quad: np.ndarray, qsize: float, size: int) -> tuple[Image.Image, dict]:
    """FFHQ's shrink / crop / pad-and-blend / quad warp / resize, from the photo to size x size."""
    from scipy.ndimage import gaussian_filter

    quad = quad.copy()
    info: dict = {}
    shrink = int(np.floor(qsize / size * 0.5))
    if shrink > 1:
        rsize = (int(np.rint(float(img.size[0]) / shrink)), int(np.rint(float(img.size[1]) / shrink)))
        img = img.resize(rsize, Image.Resampling.LANCZOS)
        quad /= shrink
        qsize /= shrink
    info["shrink"] = shrink
    border = max(int(np.rint(qsize * 0.1)), 3)
    crop = (
        int(np.floor(quad[:, 0].min())),
        int(np.floor(quad[:, 1].min())),
        int(np.ceil(quad[:, 0].max())),
        int(np.ceil(quad[:, 1].max())),
    )
    crop = (
        max(crop[0] - border, 0),
        max(crop[1] - border, 0),
        min(crop[2] + border, img.size[0]),
        min(crop[3] + border, img.size[1]),
    )
    if crop[2] - crop[0] < img.size[0] or crop[3] - crop[1] < img.size[1]:
        img = img.crop(crop)
        quad -= crop[0:2]
    pad = (
        int(np.floor(quad[:, 0].min())),
        int(np.floor(quad[:, 1].min())),
        int(np.ceil(quad[:, 0].max())),
        int(np.ceil(quad[:, 1].max())),
    )
    pad = (
        max(-pad[0] + border, 0),
        max(-pad[1] + border, 0),
        max(pad[2] - img.size[0] + border, 0),
        max(pad[3] - img.size[1] + border, 0),
    )
    info["padded"] = max(pad) > border - 4
    if info["padded"]:
        pad = np.maximum(pad, int(np.rint(qsize * 0.3)))
        arr = np.pad(np.float32(img), ((pad[1], pad[3]), (pad[0], pad[2]), (0, 0)), "reflect")
        h, w, _ = arr.shape
        yy, xx, _ = np.ogrid[:h, :w, :1]
        mask = np.maximum(
            1.0 - np.minimum(np.float32(xx) / pad[0], np.float32(w - 1 - xx) / pad[2]),
            1.0 - np.minimum(np.float32(yy) / pad[1], np.float32(h - 1 - yy) / pad[3]),
        )
        blur = qsize * 0.02
        arr += (gaussian_filter(arr, [blur, blur, 0]) - arr) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
        arr += (np.median(arr, axis=(0, 1)) - arr) * np.clip(mask, 0.0, 1.0)
        img = Image.fromarray(np.uint8(np.clip(np.rint(arr), 0, 255)), "RGB")
        quad += pad[:2]
    img = img.transform(
        (TRANSFORM_SIZE, TRANSFORM_SIZE), Image.Transform.QUAD, (quad + 0.5).flatten(), Image.Resampling.BILINEAR
    )
    if size < TRANSFORM_SIZE:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return img, info


def check_output_size(size: int) -> int:
    """An aligned face's side: FFHQ warps to TRANSFORM_SIZE and only ever scales down from there."""
    if not MIN_OUTPUT_SIZE <= size <= TRANSFORM_SIZE:
        raise ValueError(f"the aligned size must be {MIN_OUTPUT_SIZE} to {TRANSFORM_SIZE} px, got {size}")
    return size


def align_face(
    img: Image.Image, *, size: int = 1024, face: int | None = None, boxes: list[FaceBox] | None = None
) -> AlignedFace:
    """Detect (unless the photo's `boxes` are given), pick the largest face (or `face`), place landmarks, and
    crop it like FFHQ."""
    check_output_size(size)
    img = img.convert("RGB")
    boxes = boxes or detect_some_face(img)
    if face is None:
        face = largest_face(boxes)
    elif not 0 <= face < len(boxes):
        raise ValueError(f"face {face} does not exist: {len(boxes)} face(s) found (0..{len(boxes) - 1})")
    return _align_detected(img, boxes, face, size)


def align_every_face(img: Image.Image, *, size: int = 1024) -> list[AlignedFace]:
    """Each face cropped like FFHQ (which took every face of a photo), the largest first.

    Faces beside the largest one need a detector score of EXTRA_FACE_MIN_SCORE: weaker detections in a
    photo that has a clear face are mostly badges and patterns (real faces in our test photos score 0.8-3).
    """
    check_output_size(size)
    img = img.convert("RGB")
    boxes = detect_some_face(img)
    return [_align_detected(img, boxes, i, size) for i in faces_worth_aligning(boxes)]


def faces_worth_aligning(boxes: list[FaceBox]) -> list[int]:
    """The largest face first, then the others whose detector score is at least EXTRA_FACE_MIN_SCORE."""
    main = largest_face(boxes)
    return [main, *(i for i, box in enumerate(boxes) if i != main and box.score >= EXTRA_FACE_MIN_SCORE)]


def detect_some_face(img: Image.Image) -> list[FaceBox]:
    """detect_faces, or FaceNotFoundError (a ValueError) with what to try when there is none."""
    boxes = detect_faces(img)
    if not boxes:
        raise FaceNotFoundError(
            "no face found in the photo (try a frontal, well-lit photo with the face at least 80 px wide)"
        )
    return boxes


def _align_detected(img: Image.Image, boxes: list[FaceBox], face: int, size: int) -> AlignedFace:
    landmarks = face_landmarks(img, boxes[face])
    quad, qsize, procedure = ffhq_quad(landmarks)
    aligned, info = warp_quad(img, quad, qsize, size)
    return AlignedFace(aligned, boxes, face, landmarks, quad, {**procedure, **info})
