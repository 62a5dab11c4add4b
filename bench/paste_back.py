"""Paste-back: how well each blend puts an edited face back into its photo, and how fast the journey is.

1. On the demo model (its encoder, refine, PTI where needed) for the one-face photos of ../shared/fixtures/photos,
   per blend: the unedited round trip (PSNR of the face region against the photo), seam visibility (mean gradient
   magnitude in the mask's edge band divided by the photo's own there; 1.0 = no seam), unedited and at smile +2,
   and the edited face's dlib distance to the original photo's face (< 0.6: the same person).
2. Paste-back time for a 12 MP photo (obama.jpg upscaled to 12 MP) per blend, on this CPU.
3. `retouch_photo` wall time on the demo model with tuning, and at the 1024 px config-f shape with the encoder
   alone (random weights: the time, not the picture).

    python bench/paste_back.py [--photos obama.jpg,biden.jpg] [--part quality|speed|all]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from editing.align import align_face  # noqa: E402
from editing.directions import Direction  # noqa: E402
from editing.encoders import Encoder, EncoderConfig  # noqa: E402
from editing.identity import face_descriptor  # noqa: E402
from editing.paste import BLENDS, face_mask, mask_box, paste_back  # noqa: E402
from studio import workflows as wf  # noqa: E402
from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig, load_generator  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "photos"
BLEND_MODES = [b for b in BLENDS if b != "auto"]


def _gradient(image: np.ndarray) -> np.ndarray:  # [H, W] gradient magnitude of the grey image
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


def _measures(photo: np.ndarray, pasted: np.ndarray, placement) -> tuple[float, float]:
    """(face-region PSNR dB against the photo, seam ratio in the mask's edge band)."""
    box = mask_box(placement)
    mask = face_mask(placement, box)
    region = (slice(box[1], box[3]), slice(box[0], box[2]))
    inside, band = mask > 0.5, (mask > 0.02) & (mask < 0.98)
    diff = pasted[region].astype(np.float64) - photo[region].astype(np.float64)
    psnr = 10 * np.log10(255**2 / max((diff[inside] ** 2).mean(), 1e-10))
    seam = _gradient(pasted[region])[band].mean() / max(_gradient(photo[region])[band].mean(), 1e-6)
    return float(psnr), float(seam)


def _identity(reference: np.ndarray, photo: np.ndarray, face: int) -> float:
    aligned = np.asarray(align_face(Image.fromarray(photo), size=256, face=face).image)
    return float(np.linalg.norm(reference - face_descriptor(aligned)))


def quality(names: list[str]) -> None:
    G = load_generator("demo")
    encoder, directions = wf.model_encoder("demo", G), wf.edit_directions(G, "demo")
    rows: dict[str, list] = {b: [] for b in BLEND_MODES}
    for name in names:
        photo = wf.read_photo(PHOTOS / name)
        pixels = np.asarray(photo)
        started = time.perf_counter()
        inversion = wf.invert_photo(G, "demo", photo, preset="refine", encoder=encoder, pti_steps="auto")
        drawer = inversion.generator or G
        latent = inversion.latent
        smiling = wf.apply_edits(drawer, latent, directions, {"smile": 2})
        unedited, edited = wf.render(drawer, [latent, smiling])
        seconds = time.perf_counter() - started
        reference = face_descriptor(np.asarray(align_face(photo, size=256, face=latent.placement.face_index).image))
        print(f"{name}: face {latent.placement.side:.0f} px, inverted in {seconds:.0f} s ({inversion.report})")
        for blend in BLEND_MODES:
            same = paste_back(pixels, unedited, latent.placement, unedited=unedited, blend=blend)
            smile = paste_back(pixels, edited, latent.placement, unedited=unedited, blend=blend)
            psnr, seam = _measures(pixels, same, latent.placement)
            _, seam_edit = _measures(pixels, smile, latent.placement)
            distance = _identity(reference, smile, latent.placement.face_index)
            rows[blend].append((psnr, seam, seam_edit, distance))
            Image.fromarray(smile).save(f"/tmp/paste_{Path(name).stem}_{blend}.jpg", quality=90)
    print("\n(auto picks detail for all of these: 64 px renders of faces far larger in the photo)")
    print("| blend | round trip PSNR dB (face) | seam unedited | seam smile +2 | identity at smile +2 |")
    print("|---|---|---|---|---|")
    for blend, values in rows.items():
        m = np.mean(np.array(values), axis=0)
        print(f"| {blend} | {m[0]:.1f} | {m[1]:.2f} | {m[2]:.2f} | {m[3]:.3f} |")


def speed() -> None:
    photo = wf.read_photo(PHOTOS / "obama.jpg")
    factor = (12e6 / (photo.width * photo.height)) ** 0.5  # 12 MP, the photo's shape
    big = photo.resize((round(photo.width * factor), round(photo.height * factor)), Image.Resampling.BICUBIC)
    aligned = align_face(big, size=64)
    placement = wf.face_placements(big)[0]
    face = np.asarray(aligned.image)
    pixels = np.asarray(big)
    print(f"\n12 MP paste-back ({big.width}x{big.height}, face crop {placement.side:.0f} px, 64 px render):")
    for blend in BLEND_MODES:
        paste_back(pixels, face, placement, unedited=face, blend=blend)  # warm-up
        started = time.perf_counter()
        for _ in range(3):
            paste_back(pixels, 255 - face, placement, unedited=face, blend=blend)
        print(f"  {blend}: {(time.perf_counter() - started) / 3:.3f} s")
    G = load_generator("demo")
    started = time.perf_counter()
    wf.retouch_photo(
        G, "demo", photo, "smile=2", wf.edit_directions(G, "demo"), encoder=wf.model_encoder("demo", G), pti_steps=350
    )
    print(f"studio retouch on the demo model, refine + PTI 350 steps: {time.perf_counter() - started:.1f} s")
    torch.manual_seed(0)
    big_g = Generator(GeneratorConfig("stylegan2", 1024, 3, MappingConfig(), StyleGAN2SynthesisConfig())).eval()
    big_g.requires_grad_(False)
    encoder = Encoder(EncoderConfig("e4e", 18)).eval()
    direction = {"smile": Direction("smile", np.ones(512, np.float32), space="w")}
    wf.retouch_photo(big_g, "x", photo, "smile=1", direction, preset="encode", encoder=encoder, pti_steps=0)  # warm
    started = time.perf_counter()
    wf.retouch_photo(big_g, "x", photo, "smile=1", direction, preset="encode", encoder=encoder, pti_steps=0)
    print(
        f"retouch at the 1024 px config-f shape, encoder only (random weights): {time.perf_counter() - started:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", default="obama.jpg,biden.jpg,astronaut.png")
    parser.add_argument("--part", default="all", choices=["quality", "speed", "all"])
    args = parser.parse_args()
    tune_allocator()
    if not PHOTOS.is_dir():
        sys.exit(f"needs the fixture photos at {PHOTOS}")
    if args.part in ("quality", "all"):
        quality(args.photos.split(","))
    if args.part in ("speed", "all"):
        speed()


if __name__ == "__main__":
    main()
