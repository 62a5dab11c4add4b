"""A visitor's or a user's photo: read safely, its faces found, one aligned like FFHQ."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from editing.align import AlignedFace, FaceBox, align_face, detect_some_face, largest_face
from stylegan_core.imaging import read_image

PREVIEW_WIDTH = 768
SAMPLES = Path(__file__).resolve().parent.parent / "web" / "examples"  # shipped with the package (licences there)


def sample_photos() -> list[Path]:
    """Photos that ship with the package (one face, two faces, an astronaut): for trying things out."""
    return sorted(SAMPLES.glob("*.jpg"))


def sample_clips() -> list[Path]:
    """Clips that ship with the package (a camera path over the example portrait, with sound)."""
    return sorted(SAMPLES.glob("*.mp4"))


def read_photo(path: str | Path, shown_name: str | None = None) -> Image.Image:
    """Any upload or file as 8-bit RGB, through our own reader: every failure is one short message that names
    `shown_name` (what the user called the file), never the server's copy of it."""
    return read_image(path, shown_name=shown_name or Path(path).name)


def save_photo(pixels: np.ndarray, path: str | Path, icc_profile: bytes | None = None) -> Path:
    """An edited photo [H, W, 3] uint8 as PNG, or JPEG at quality 95 for .jpg / .jpeg, with no metadata but the
    colour profile (no EXIF, no GPS)."""
    path = Path(path)
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if path.suffix.lower() in (".jpg", ".jpeg"):
        options.update(quality=95, subsampling=0)
    Image.fromarray(pixels).save(path, **options)
    return path


@dataclass
class FaceChoice:
    """The faces found in a photo, the one chosen by default (the largest), and a picture of them."""

    boxes: list[FaceBox]
    chosen: int
    preview: Image.Image  # the photo with numbered boxes, at most PREVIEW_WIDTH wide


def find_faces(photo: Image.Image) -> FaceChoice:
    boxes = detect_some_face(photo)
    chosen = largest_face(boxes)
    return FaceChoice(boxes, chosen, boxes_preview(photo, boxes, chosen))


def boxes_preview(photo: Image.Image, boxes: list[FaceBox], chosen: int) -> Image.Image:
    """The photo with numbered face boxes (the chosen one in green), at most PREVIEW_WIDTH px wide."""
    img = photo.copy()
    scale = min(1.0, PREVIEW_WIDTH / img.width)
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    draw = ImageDraw.Draw(img)
    for i, b in enumerate(boxes):
        xy = [b.left * scale, b.top * scale, b.right * scale, b.bottom * scale]
        draw.rectangle(xy, outline=(40, 200, 60) if i == chosen else (230, 60, 40), width=3)
        draw.text((xy[0] + 4, xy[1] + 2), str(i), fill=(255, 255, 0))
    return img


def align_photo(
    photo: Image.Image, size: int, face: int | None = None, boxes: list[FaceBox] | None = None
) -> AlignedFace:
    """The chosen face (default: the largest) cropped and rotated as FFHQ was, `size` px square (`boxes`: the
    faces already found in the photo, so it is not searched again)."""
    return align_face(photo, size=size, face=face, boxes=boxes)
