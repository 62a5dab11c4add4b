"""Identity check: distance between dlib face descriptors (its ResNet, shipped by face-recognition-models).

dlib's usual threshold: below 0.6 the two faces are taken to be the same person. Inputs are aligned
faces; when the detector misses a face (small or stylised), the box FFHQ alignment puts faces in is used.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from .align import DLIB_LOCK, FaceBox, detect_faces, dlib_model_file, face_shape, largest_face

SAME_PERSON_THRESHOLD = 0.6


@lru_cache(maxsize=1)
def _recogniser():
    import dlib

    return dlib.face_recognition_model_v1(str(dlib_model_file("dlib_face_recognition_resnet_model_v1.dat")))


def face_descriptor(img: Image.Image | np.ndarray) -> np.ndarray:  # [128]
    pil = Image.fromarray(img) if isinstance(img, np.ndarray) else img.convert("RGB")
    if min(pil.size) < 150:  # the recogniser wants a face of ~150 px; small renders are upscaled
        scale = 150 / min(pil.size)
        pil = pil.resize((round(pil.width * scale), round(pil.height * scale)), Image.Resampling.LANCZOS)
    boxes = detect_faces(pil)
    if boxes:
        box = boxes[largest_face(boxes)]
    else:
        w, h = pil.size
        box = FaceBox(round(0.22 * w), round(0.25 * h), round(0.78 * w), round(0.85 * h))
    arr = np.asarray(pil)
    shape = face_shape(arr, box)
    with DLIB_LOCK:
        return np.asarray(_recogniser().compute_face_descriptor(arr, shape), dtype=np.float64)


def identity_distance(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Euclidean distance of the two faces' descriptors (< 0.6: same person by dlib's convention)."""
    return distance_to_descriptor(face_descriptor(a), b)


def distance_to_descriptor(reference: np.ndarray, img: Image.Image | np.ndarray) -> float:
    """identity_distance with the first face's descriptor [128] already computed (one photo, many edits)."""
    return float(np.linalg.norm(reference - face_descriptor(img)))
