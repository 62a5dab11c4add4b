"""Paste-back: an edited aligned face put back into the photo it was cropped from, at the photo's full size.

The FFHQ crop is an affine map (a rotated square quad warped to the model's resolution), so its inverse is one
`cv2.warpAffine` into the face's region of the photo. A soft mask (the landmarks' hull raised over the forehead,
feathered in proportion to the face) decides which pixels change; every pixel where the mask is 0 stays the
photo's own, byte for byte. Blends:

- `direct`: the render replaces the face (right where the render is at least as large as the face in the photo);
- `detail`: only the edit's change (edited render minus unedited render) is added to the photo, so the photo's
  own sharpness stays wherever the edit changes nothing (small models on large faces);
- `seamless`: Poisson blending of the render into the photo (OpenCV's `seamlessClone`);
- `auto`: `direct` where the model's resolution covers the face, else `detail`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .align import AlignedFace

BLENDS = ("auto", "direct", "detail", "seamless")
FEATHER = 0.035  # the mask's Gaussian sigma, as a share of the crop quad's side
MASK_WORK_PX = 256  # the mask is drawn and feathered with the face this many px wide, then scaled to the photo
DIRECT_COVERS = 0.8  # auto: `direct` where the render has at least this many px per px of the face's crop


class PasteError(ValueError):
    """The face cannot be put back into this photo (the message says why)."""


@dataclass(frozen=True)
class Placement:
    """Where an aligned face came from: enough to put an edit of it back into its photo."""

    photo_size: tuple[int, int]  # (width, height) of the photo after its EXIF orientation
    quad: np.ndarray  # [4, 2] crop corners in photo pixels: top-left, bottom-left, bottom-right, top-right
    landmarks: np.ndarray  # [68, 2] dlib's landmarks in photo pixels
    face_index: int  # which detected face (dlib's order)

    @property
    def side(self) -> float:
        """The crop quad's side in photo pixels (the face's scale)."""
        return float(np.hypot(*(self.quad[3] - self.quad[0])))

    @classmethod
    def of(cls, aligned: AlignedFace, photo_size: tuple[int, int]) -> Placement:
        """Where `align_face` took its crop from, in a photo of `photo_size` (width, height)."""
        return cls(tuple(photo_size), aligned.quad, aligned.landmarks, aligned.face_index)

    def to_json(self) -> dict:
        return {
            "photo_size": list(self.photo_size),
            "quad": np.asarray(self.quad, dtype=float).tolist(),
            "landmarks68": np.asarray(self.landmarks).tolist(),
            "face_index": self.face_index,
        }

    @classmethod
    def from_json(cls, data: dict) -> Placement:
        try:
            quad = np.asarray(data["quad"], dtype=np.float64)
            landmarks = np.asarray(data["landmarks68"], dtype=np.float64)
            width, height = (int(v) for v in data["photo_size"])
            face = int(data["face_index"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PasteError(f"not an alignment record ({exc})") from None
        if quad.shape != (4, 2) or landmarks.shape != (68, 2):
            raise PasteError("not an alignment record (quad [4, 2] and landmarks68 [68, 2] expected)")
        return cls((width, height), quad, landmarks, face)

    def scaled(self, factor: float) -> Placement:
        """The same face in the photo resized by `factor` (a preview of the photo)."""
        size = (max(1, round(self.photo_size[0] * factor)), max(1, round(self.photo_size[1] * factor)))
        # pixel centres scale about -0.5: centre i of the photo is centre (i + 0.5) * factor - 0.5 of the resized one
        return Placement(size, (self.quad + 0.5) * factor - 0.5, (self.landmarks + 0.5) * factor - 0.5, self.face_index)

    def crop_to_photo(self, size: int, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
        """The [2, 3] affine map from a size x size aligned image's pixel centres to photo pixels (minus
        `offset`): the exact inverse of the FFHQ warp (PIL's QUAD transform then a resize)."""
        q0, ex, ey = self.quad[0], self.quad[3] - self.quad[0], self.quad[1] - self.quad[0]
        origin = q0 + 0.5 * (ex + ey) / size - np.asarray(offset, dtype=np.float64)
        return np.array([[ex[0] / size, ey[0] / size, origin[0]], [ex[1] / size, ey[1] / size, origin[1]]])


def face_outline(landmarks: np.ndarray) -> np.ndarray:
    """[K, 2] the face's outline in photo pixels: the jaw's 17 landmarks and the brows raised over the forehead."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eyes, mouth = lm[36:48].mean(axis=0), lm[48:68].mean(axis=0)
    up = eyes - mouth  # the face's up, as long as eyes-to-mouth
    forehead = lm[17:27] + up * 0.9
    return np.concatenate([lm[0:17], forehead[::-1]])


def face_mask(placement: Placement, box: tuple[int, int, int, int]) -> np.ndarray:
    """[h, w] float32 in [0, 1] over `box` (x0, y0, x1, y1) of the photo: the outline's hull, feathered by a
    Gaussian of FEATHER x the face's side; exactly 0 beyond three sigma of the hull."""
    import cv2

    x0, y0, x1, y1 = box
    scale = min(1.0, MASK_WORK_PX / placement.side)  # draw small, feather small, scale up: fast on 12 MP
    w, h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    hull = cv2.convexHull(((face_outline(placement.landmarks) - (x0, y0)) * scale).astype(np.float32))
    small = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(small, np.round(hull[:, 0] * 16).astype(np.int32), 1.0, cv2.LINE_AA, shift=4)
    sigma = FEATHER * placement.side * scale
    small = cv2.GaussianBlur(small, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    small[small < 1e-3] = 0  # the Gaussian's far tail: nothing there changes a grey level
    if scale == 1.0:
        return small
    return np.clip(cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR), 0, 1)


def mask_box(placement: Placement) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the part of the photo the mask can touch (the hull and its feather), within the photo."""
    outline = face_outline(placement.landmarks)
    reach = 3.5 * FEATHER * placement.side + 2
    (ax, ay), (bx, by) = outline.min(axis=0) - reach, outline.max(axis=0) + reach
    width, height = placement.photo_size
    box = (max(0, int(ax)), max(0, int(ay)), min(width, int(np.ceil(bx))), min(height, int(np.ceil(by))))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise PasteError("the face lies outside the photo")
    return box


def check_photo_size(placement: Placement, size: tuple[int, int]) -> None:
    """PasteError unless a photo of `size` (width, height) is the one the face was aligned on."""
    if tuple(size) != tuple(placement.photo_size):
        raise PasteError(
            f"the face was aligned on a {placement.photo_size[0]}x{placement.photo_size[1]} photo, "
            f"this one is {size[0]}x{size[1]}: give the photo it was projected from"
        )


def check_blend(blend: str) -> str:
    """The blend's name, or PasteError listing the blends there are."""
    if blend not in BLENDS:
        raise PasteError(f"unknown blend {blend!r}: one of {', '.join(BLENDS)}")
    return blend


def choose_blend(resolution: int, placement: Placement) -> str:
    """`direct` where the model's render is about as large as the face is in the photo, else `detail`."""
    return "direct" if resolution >= DIRECT_COVERS * placement.side else "detail"


def paste_back(
    photo: np.ndarray,
    edited: np.ndarray,
    placement: Placement,
    *,
    unedited: np.ndarray | None = None,
    blend: str = "auto",
) -> np.ndarray:
    """The photo [H, W, 3] uint8 with the edited aligned face [S, S, 3] uint8 put back where it came from.
    `unedited` [S, S, 3] (the same latent's render without the edit) is what `detail` subtracts. Returns a new
    [H, W, 3] uint8 array; pixels where the mask is 0 are the photo's own."""
    import cv2

    check_blend(blend)
    check_photo_size(placement, (photo.shape[1], photo.shape[0]))
    size = edited.shape[0]
    blend = choose_blend(size, placement) if blend == "auto" else blend
    if blend == "detail" and unedited is None:
        raise PasteError("the detail blend needs the unedited render too")
    box = mask_box(placement)
    x0, y0, x1, y1 = box
    mask = face_mask(placement, box)[..., None]  # [h, w, 1]
    shrunk = max(8, round(placement.side)) if placement.side < size / 2 else size  # much larger renders: area first
    flags = cv2.INTER_CUBIC if placement.side > size else cv2.INTER_LINEAR
    warp = placement.crop_to_photo(shrunk, (x0, y0))
    region = photo[y0:y1, x0:x1].astype(np.float32)

    def into_photo(image: np.ndarray) -> np.ndarray:  # [S, S, 3] -> [h, w, 3] float32 in the box's pixels
        if shrunk != size:
            image = cv2.resize(image, (shrunk, shrunk), interpolation=cv2.INTER_AREA)
        return cv2.warpAffine(image, warp, (x1 - x0, y1 - y0), flags=flags, borderMode=cv2.BORDER_REPLICATE)

    if blend == "detail":
        change = into_photo(edited.astype(np.float32) - unedited.astype(np.float32))
        pasted = region + change * mask
    elif blend == "direct":
        pasted = region * (1 - mask) + into_photo(edited.astype(np.float32)) * mask
    else:
        pasted = _seamless(region, into_photo(edited.astype(np.float32)), mask[..., 0])
    out = photo.copy()
    changed = mask[..., 0] > 0  # beyond the mask's support the photo's bytes stay as they are
    out[y0:y1, x0:x1][changed] = np.clip(np.rint(pasted[changed]), 0, 255).astype(np.uint8)
    return out


def _seamless(region: np.ndarray, render: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Poisson blending of `render` into `region` (both [h, w, 3] float32) inside the mask's core, then the
    feathered mask over it so its rim fades into the photo."""
    import cv2

    core = (mask > 0.5).astype(np.uint8) * 255
    if not core.any():
        return region
    pad = 2  # seamlessClone needs the mask clear of the destination's border
    dst = cv2.copyMakeBorder(_u8(region), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    src = cv2.copyMakeBorder(_u8(render), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    core = cv2.copyMakeBorder(core, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    x, y, w, h = cv2.boundingRect(core)
    cloned = cv2.seamlessClone(src, dst, core, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
    cloned = cloned[pad:-pad, pad:-pad].astype(np.float32)
    return region * (1 - mask[..., None]) + cloned * mask[..., None]


def _u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
