"""Your photo back, edited: a projected face's edit put back into the photo, and the whole journey (align, invert,
tune, edit, paste back) for one face or every face of a group photo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from editing.align import FaceBox, detect_some_face, face_landmarks, faces_worth_aligning, ffhq_quad
from editing.directions import Direction
from editing.encoders import Encoder
from editing.paste import PasteError, Placement, check_blend, check_photo_size, paste_back
from stylegan_core import Generator
from training.scorer import PortraitScorer

from .edit import Edits, apply_edits, checked_edits
from .invert import Inversion, invert_photo
from .latents import Latent, render
from .photos import save_photo
from .progress import SILENT, Progress

MIN_FACE_PX = 48  # a face whose crop is smaller than this (or than 1/8 of the model's size) is left as it is


def paste_edit(G: Generator, latent: Latent, edited: Latent, photo: Image.Image, blend: str = "auto") -> np.ndarray:
    """The photo [H, W, 3] uint8 with `edited` (an edit of the projected face `latent`, drawn by G) put back
    where the face came from."""
    return paste_images(G, latent, [render(G, edited)[0]], photo, blend)[0]


def paste_images(
    G: Generator,
    latent: Latent,
    images: Sequence[np.ndarray],
    photo: Image.Image,
    blend: str = "auto",
    max_side: int | None = None,
) -> list[np.ndarray]:
    """Each [S, S, 3] render of an edit of the projected face `latent` (drawn by G) put back into its photo:
    one [H, W, 3] uint8 photo per image (with `max_side`, into the photo resized to fit it: a quick preview)."""
    if latent.placement is None:
        raise PasteError("this face did not come from a photo: project a photo to get it back edited")
    placement = latent.placement
    check_photo_size(placement, photo.size)
    if max_side and max(photo.size) > max_side:
        factor = max_side / max(photo.size)
        placement = placement.scaled(factor)
        photo = photo.resize(placement.photo_size, Image.Resampling.BILINEAR)
    unedited = render(G, latent, size=images[0].shape[0])[0]
    pixels = np.asarray(photo.convert("RGB"))
    return [paste_back(pixels, image, placement, unedited=unedited, blend=blend) for image in images]


def paste_edited(
    G: Generator,
    latent: Latent,
    edited: Latent,
    pixels: np.ndarray,
    placement: Placement,
    blend: str = "auto",
    precision: str = "fp32",
) -> tuple[np.ndarray, np.ndarray]:
    """`pixels` [H, W, 3] uint8 with `edited` (an edit of `latent`; both drawn by G in one batch, the unedited face
    being what the `detail` blend subtracts) pasted at `placement`; returns the new pixels and the edited render."""
    unedited, image = render(G, [latent, edited], precision=precision)
    return paste_back(pixels, image, placement, unedited=unedited, blend=blend), image


def face_placements(photo: Image.Image, boxes: list[FaceBox] | None = None) -> list[Placement]:
    """Every face of the photo with its FFHQ crop, the largest first, then in dlib's order (weak extra detections
    left out, as `align_every_face` does); FaceNotFoundError where there is none. `boxes`: the faces already
    found in the photo."""
    boxes = boxes or detect_some_face(photo)
    placements = []
    for i in faces_worth_aligning(boxes):
        landmarks = face_landmarks(photo, boxes[i])
        placements.append(Placement(photo.size, ffhq_quad(landmarks)[0], landmarks, i))
    return placements


def smallest_face_px(G: Generator) -> float:
    """The crop side under which a face is too small for G to be worth editing."""
    return max(MIN_FACE_PX, G.img_resolution / 8)


@dataclass
class RetouchedFace:
    inversion: Inversion
    edited: Latent
    image: np.ndarray  # [S, S, 3] uint8: the edited aligned face


@dataclass
class Retouch:
    """A photo with its faces edited in place."""

    image: np.ndarray  # [H, W, 3] uint8, the photo's size
    faces: list[RetouchedFace]
    skipped: list[tuple[int, float]] = field(default_factory=list)  # (face index, crop side px): too small

    def save(self, path: str | Path, icc_profile: bytes | None = None) -> Path:
        """PNG, or JPEG at quality 95 for .jpg / .jpeg; no metadata but the colour profile (no GPS, no EXIF)."""
        return save_photo(self.image, path, icc_profile)


def retouch_photo(
    G: Generator,
    model: str,
    photo: Image.Image,
    edits: Edits,
    directions: Mapping[str, Direction],
    *,
    faces: str | int = "largest",
    preset: str = "refine",
    steps: int | None = None,
    encoder: Encoder | None = None,
    pti_steps: int | str = "auto",
    blend: str = "auto",
    layers: str = "all",
    scorer: PortraitScorer | None = None,
    progress: Progress = SILENT,
) -> Retouch:
    """The photo with the chosen faces ("largest", "all" or an index) edited in place: each aligned, inverted
    (`preset` with its `steps`, tuned by PTI as `pti_steps` says), moved by `edits` and pasted back with `blend`.
    Faces too small for G are left as they are and listed in `skipped`."""
    edits = checked_edits(edits, directions)  # before any long work
    check_blend(blend)
    boxes = detect_some_face(photo)  # once: each face's inversion aligns from these
    found = face_placements(photo, boxes)
    if faces == "largest":
        chosen = found[:1]
    elif faces == "all":
        chosen = found
    else:
        chosen = [p for p in found if p.face_index == int(faces)]
        if not chosen:
            raise ValueError(f"face {faces} does not exist: faces found are {[p.face_index for p in found]}")
    smallest = smallest_face_px(G)
    skipped = [(p.face_index, round(p.side, 1)) for p in chosen if p.side < smallest]
    todo = [p for p in chosen if p.side >= smallest]
    if not todo:
        raise ValueError(
            f"every chosen face is too small for this {G.img_resolution} px model (crop under {smallest:.0f} px)"
        )
    result = np.asarray(photo.convert("RGB"))
    done = []
    for number, placement in enumerate(todo):
        progress.report("faces", number, len(todo))
        inversion = invert_photo(
            G,
            model,
            photo,
            face=placement.face_index,
            boxes=boxes,
            preset=preset,
            steps=steps,
            encoder=encoder,
            pti_steps=pti_steps,
            progress=progress,
        )
        if progress.stopped():
            break
        drawer = inversion.generator or G
        edited = apply_edits(drawer, inversion.latent, directions, edits, layers, scorer)
        result, image = paste_edited(drawer, inversion.latent, edited, result, inversion.latent.placement, blend)
        done.append(RetouchedFace(inversion, edited, image))
    progress.report("faces", len(done), len(todo))
    return Retouch(result, done, skipped)
