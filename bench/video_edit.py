"""Face edits on a clip, measured: a 10 s, 30 fps, 640x480 clip made from a fixture photo (a camera path, a hand
passing over the face for a second, half a second cut to grey, a tone), edited on the demo model with the
CLI's defaults; then the figures STIT reports, with dlib's face descriptors in place of ArcFace:

- TL-ID / TG-ID: identity similarity (1 - dlib distance) between frames of the edited clip over the same pairs
  of the source clip, adjacent pairs (TL) and all pairs (TG); 1.0 keeps the source's consistency;
- flicker: the mean absolute frame-to-frame change inside the face box, edited over source (goal <= 1.2);
- identity of each edited frame to its source frame (dlib distance; < 0.6 the same person);
- the crop's jitter with and without smoothing; the share of frames with a face that were edited;
- frames per second on this machine: the demo model (with and without tuning) and the 1024 px config-f shape
  (encoder only, random weights).

    python bench/video_edit.py [--photo ../shared/fixtures/photos/biden.jpg] [--seconds 10] [--no-1024]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from clips import make_clip  # noqa: E402
from PIL import Image  # noqa: E402

from editing.align import detect_faces  # noqa: E402
from editing.clip import frames_of, probe_clip  # noqa: E402
from editing.directions import Direction  # noqa: E402
from editing.encoders import Encoder, EncoderConfig  # noqa: E402
from editing.identity import face_descriptor  # noqa: E402
from studio import workflows as wf  # noqa: E402
from studio.workflows.video_edit import edit_video  # noqa: E402
from stylegan_core import (  # noqa: E402
    Generator,
    GeneratorConfig,
    MappingConfig,
    StyleGAN2SynthesisConfig,
    load_generator,
)
from stylegan_core.runtime import tune_allocator  # noqa: E402

FPS, SIZE = 30, (640, 480)


def test_clip(photo: Path, seconds: float, out: Path) -> tuple[Path, range, range]:
    """The clip, the frames a hand passes over the face in and the frames cut to grey."""
    frames = round(seconds * FPS)
    hand = range(round(4 * FPS), round(5 * FPS))  # a hand passes over the face during the fifth second
    cut = range(round(7 * FPS), round(7.5 * FPS))

    def paint(i: int, frame: np.ndarray) -> None:
        if i in hand:
            t = (i - hand.start) / len(hand)
            x = round(-200 + t * (SIZE[0] + 200))
            frame[120:420, max(0, x) : max(0, x + 200)] = (196, 150, 120)  # skin-toned, flat

    image = Image.open(photo).convert("RGB")
    box = detect_faces(image)[0]
    centre = ((box.left + box.right) / 2 / image.width, (box.top + box.bottom) / 2 / image.height)
    path = make_clip(out, image, frames=frames, fps=FPS, size=SIZE, blank=cut, centre=centre, zoom_from=1.5,
                     quality=7, paint=paint, pan_px=60)  # fmt: skip
    return path, hand, cut


def face_box(frame: np.ndarray):
    boxes = detect_faces(Image.fromarray(frame))
    return max(boxes, key=lambda b: b.area) if boxes else None


def consistency(source: Path, edited: Path) -> dict:
    """TL-ID, TG-ID, flicker and per-frame identity over the frames where dlib finds the face in both clips."""
    src, out = list(frames_of(probe_clip(source))), list(frames_of(probe_clip(edited)))
    boxes = [face_box(f) for f in src]
    faces = [i for i, b in enumerate(boxes) if b is not None]
    d_src = {i: face_descriptor(src[i]) for i in faces}
    d_out = {i: face_descriptor(out[i]) for i in faces}

    def similarity(d: dict, a: int, b: int) -> float:
        return 1 - float(np.linalg.norm(d[a] - d[b]))

    adjacent = [(a, a + 1) for a in faces if a + 1 in d_src]
    every = list(combinations(faces[::3], 2))  # every third face frame: all pairs of those
    tl = np.mean([similarity(d_out, a, b) for a, b in adjacent]) / np.mean(
        [similarity(d_src, a, b) for a, b in adjacent]
    )
    tg = np.mean([similarity(d_out, a, b) for a, b in every]) / np.mean([similarity(d_src, a, b) for a, b in every])
    change_src, change_out = [], []
    for a, b in adjacent:
        box = boxes[a]
        window = (slice(max(0, box.top), box.bottom), slice(max(0, box.left), box.right))
        change_src.append(np.abs(src[b][window].astype(float) - src[a][window]).mean())
        change_out.append(np.abs(out[b][window].astype(float) - out[a][window]).mean())
    identity = [float(np.linalg.norm(d_src[i] - d_out[i])) for i in faces]
    return {
        "TL-ID": float(tl),
        "TG-ID": float(tg),
        "flicker (edited / source)": float(np.mean(change_out) / np.mean(change_src)),
        "identity to source, mean": float(np.mean(identity)),
        "identity to source, worst": float(np.max(identity)),
        "frames with a face (dlib, source)": len(faces),
    }


def speed_1024(clip: Path) -> float:
    torch.manual_seed(0)
    G = Generator(GeneratorConfig("stylegan2", 1024, 3, MappingConfig(), StyleGAN2SynthesisConfig())).eval()
    G.requires_grad_(False)
    encoder = Encoder(EncoderConfig("e4e", 18)).eval()
    direction = {"smile": Direction("smile", np.ones(512, np.float32), space="w")}
    out = Path(tempfile.mkdtemp()) / "big.mp4"
    result = edit_video(G, clip, out, "smile=1", direction, encoder)
    return result.frames / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", default=str(ROOT.parent / "shared" / "fixtures" / "photos" / "biden.jpg"))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pti", type=int, default=100)
    parser.add_argument("--no-1024", action="store_true")
    args = parser.parse_args()
    tune_allocator()
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    clip, hand, cut = test_clip(Path(args.photo), args.seconds, work / "source.mp4")
    G = load_generator("demo")
    encoder, directions = wf.model_encoder("demo", G), wf.edit_directions(G, "demo")
    for pti in (args.pti, 0):
        started = time.perf_counter()
        result = edit_video(G, clip, work / f"edited-{pti}.mp4", "smile=2", directions, encoder, pti_steps=pti)
        seconds = time.perf_counter() - started
        print(f"\ndemo model, smile +2, PTI {pti} steps: {result.summary()}")
        print(f"  {result.frames} frames in {seconds:.0f} s: {result.frames / seconds:.1f} frames/s")
        figures = consistency(clip, result.path)
        print(
            f"  share edited: {result.edited_frames} / {figures.pop('frames with a face (dlib, source)')} frames "
            f"where dlib finds the face in the source (a hand passes over it in {len(hand)} frames, {len(cut)} are "
            "cut to grey)"
        )
        for name, value in figures.items():
            print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    if not args.no_1024:
        short, *_ = test_clip(Path(args.photo), 1, work / "short.mp4")
        print(f"\n1024 px config-f shape, encoder only (random weights): {speed_1024(short):.2f} frames/s")


if __name__ == "__main__":
    main()
