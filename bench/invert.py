"""Inversion: encode, refine, PTI, fast and classic, measured the same way, and the encoder's speed.

1. On the bundled demo model (with its shipped encoder): LPIPS-VGG, PSNR, dlib identity distance and seconds per
   face for each method, on held-out demo renders (seeds from 1,000,000, never seen in training) and on the real
   photos of ../shared/fixtures/photos; with PTI, a smile edit on top: how far the scorer's smile reading moves and
   whether the face stays the same person.
2. The FFHQ-sized encoder (IR-SE50, 256 px input, 18 styles; random weights) forward time on this CPU, and upload
   to an editable face at the FFHQ 1024 px config-f shape: alignment + encoder + first render.

    python bench/invert.py                      # both parts
    python bench/invert.py --part methods --renders 8
    python bench/invert.py --part speed
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from editing.align import align_face  # noqa: E402
from editing.encoders import Encoder, EncoderConfig  # noqa: E402
from studio import workflows as wf  # noqa: E402
from stylegan_core import (  # noqa: E402
    Generator,
    GeneratorConfig,
    MappingConfig,
    StyleGAN2SynthesisConfig,
    load_generator,  # noqa: E402
)
from stylegan_core.imaging import read_image, to_uint8  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402
from stylegan_core.seeds import z_batch  # noqa: E402
from training.scorer import SCORER_PATH, PortraitScorer  # noqa: E402

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "photos"
METHODS = {  # name: (preset, steps, PTI steps)
    "encode": ("encode", None, 0),
    "refine": ("refine", None, 0),
    "refine + PTI": ("refine", None, 350),
    "fast": ("fast", None, 0),
    "classic": ("classic", None, 0),
}


def _renders(G: Generator, count: int) -> list[Image.Image]:
    z = z_batch(list(range(1_000_000, 1_000_000 + count)), G.z_dim, G.device)
    with torch.no_grad():
        return [Image.fromarray(img) for img in to_uint8(G(z, truncation_psi=0.7))]


def _smile_edit(G: Generator, inversion: wf.Inversion, scorer: PortraitScorer, directions: dict) -> tuple[float, float]:
    """The smile reading's change and the identity distance to the photo after a smile edit of +2."""
    drawer = inversion.generator or G
    edited = wf.apply_edits(drawer, inversion.latent, directions, wf.parse_edits({"smile": 2.0}))
    images = torch.from_numpy(np.stack([inversion.image, wf.render(drawer, edited)[0]])).permute(0, 3, 1, 2)
    smile = scorer.scores(images.float() / 127.5 - 1)["smile"]
    identity = wf.identity_to_photo(edited, wf.render(drawer, edited)[0])
    return float(smile[1] - smile[0]), float(identity)


def methods(renders: int, photos: int, only: list[str]) -> None:
    G = load_generator("demo")
    encoder = wf.model_encoder("demo", G)
    scorer = PortraitScorer.load(SCORER_PATH)
    directions = wf.ModelCache().directions("demo")
    sets = {"held-out demo renders": [(img, False) for img in _renders(G, renders)]} if renders else {}
    if PHOTOS.is_dir() and photos:
        files = [PHOTOS / n for n in ("obama.jpg", "biden.jpg", "astronaut.png", "two_people.jpg")][:photos]
        sets["real photos"] = [(read_image(p), True) for p in files]
    for title, targets in sets.items():
        print(f"\n{title} ({len(targets)}):")
        print("| method | LPIPS | PSNR dB | identity distance | seconds | smile edit: reading moves / identity |")
        print("|---|---:|---:|---:|---:|---|")
        for name, (preset, steps, pti) in METHODS.items():
            if only and name not in only:
                continue
            rows, edits = [], []
            for photo, align in targets:
                inversion = wf.invert_photo(
                    G, "demo", photo, align=align, preset=preset, steps=steps, encoder=encoder, pti_steps=pti
                )
                r = inversion.report
                rows.append((r.lpips, r.psnr, r.identity_distance, r.seconds))
                if pti:
                    edits.append(_smile_edit(G, inversion, scorer, directions))
            mean = np.mean(np.array(rows, dtype=float), axis=0)
            edit = f"{np.mean([e[0] for e in edits]):+.2f} / {np.mean([e[1] for e in edits]):.3f}" if edits else ""
            print(f"| {name} | {mean[0]:.3f} | {mean[1]:.1f} | {mean[2]:.3f} | {mean[3]:.1f} | {edit} |")


def speed(repeats: int) -> None:
    torch.manual_seed(0)
    encoder = Encoder(EncoderConfig("e4e", 18)).eval()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        encoder(x)  # warm-up
        t = time.perf_counter()
        for _ in range(repeats):
            encoder(x)
    forward = (time.perf_counter() - t) / repeats
    print(
        f"\nFFHQ-sized e4e encoder (IR-SE50, 256 px, 18 styles), forward: {forward:.2f} s "
        f"on {torch.get_num_threads()} threads"
    )
    G = Generator(GeneratorConfig("stylegan2", 1024, 3, MappingConfig(), StyleGAN2SynthesisConfig())).eval()
    G.requires_grad_(False)
    photo = read_image(PHOTOS / "obama.jpg") if PHOTOS.is_dir() else None
    if photo is None:
        print("upload to editable face: needs ../shared/fixtures/photos")
        return
    with torch.no_grad():
        G.synthesis(G.mapping.w_avg[None, None].repeat(1, G.num_ws, 1))  # warm-up
        t = time.perf_counter()
        aligned = align_face(photo, size=1024).image
        t_align = time.perf_counter()
        codes = encoder.encode(aligned)
        t_encode = time.perf_counter()
        G.synthesis(codes, noise_mode="const")
        t_render = time.perf_counter()
    print(
        f"upload -> editable face at 1024 px config-f: {t_render - t:.2f} s "
        f"(align {t_align - t:.2f}, encode {t_encode - t_align:.2f}, first render {t_render - t_encode:.2f})"
    )


def main() -> None:
    tune_allocator()  # as the CLI and the app do
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["all", "methods", "speed"], default="all")
    parser.add_argument("--renders", type=int, default=6)
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma list of methods (default: all), e.g. 'refine,fast'")
    args = parser.parse_args()
    if args.part in ("all", "methods"):
        methods(args.renders, args.photos, [m for m in args.only.split(",") if m])
    if args.part in ("all", "speed"):
        speed(args.repeats)


if __name__ == "__main__":
    main()
