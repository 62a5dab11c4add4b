"""Drag to edit on the demo model: do the dragged points land on their targets, as an independent eye sees it?

Where the content under each handle went is measured by dense optical flow (OpenCV's DIS, on a 4x upscale) from
the original render to the dragged one, not by the drag's own tracker. Natural moves with room to measure: dlib's
68 landmarks of demo faces (found on a 4x upscale), moved a few pixels the way a face can move: one point (the left
mouth corner out) and five (both mouth corners out, the chin down, both brows up). The figure is the mean distance
to the targets after the drag over the same before it (the paper: 0.19 for one point, 0.27 for five). Also seconds
per step here, on the demo model and at the 1024 px config-f shape (random weights).

    python bench/drag.py [--faces 6] [--steps 200] [--lr 0.002]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from editing.align import detect_faces, face_landmarks, largest_face  # noqa: E402
from editing.drag import DragOptions, drag  # noqa: E402
from studio import workflows as wf  # noqa: E402
from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig, load_generator  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402

UPSCALE = 4
# (landmark, dx, dy) in the model's pixels: a natural move of each point
ONE = [(48, -3, 0)]
FIVE = [(48, -3, 0), (54, 3, 0), (8, 0, 3), (19, 0, -2), (24, 0, -2)]


def landmarks_of(image: np.ndarray) -> np.ndarray | None:
    """[68, 2] dlib's landmarks in the image's pixels, found on a 4x upscale; None where dlib sees no face."""
    big = Image.fromarray(image).resize((image.shape[1] * UPSCALE,) * 2, Image.Resampling.LANCZOS)
    boxes = detect_faces(big)
    if not boxes:
        return None
    return (face_landmarks(big, boxes[largest_face(boxes)]) + 0.5) / UPSCALE - 0.5


def flow_at(before: np.ndarray, after: np.ndarray, points: np.ndarray) -> np.ndarray:
    """[K, 2] where the content at `points` moved, by DIS optical flow on 4x upscales."""

    def grey(image: np.ndarray) -> np.ndarray:
        big = cv2.resize(image, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        return cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)

    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(grey(before), grey(after), None)
    moved = []
    for x, y in points:
        fx, fy = flow[int(round((y + 0.5) * UPSCALE - 0.5)), int(round((x + 0.5) * UPSCALE - 0.5))]
        moved.append([x + fx / UPSCALE, y + fy / UPSCALE])
    return np.array(moved)


def protocol(G: Generator, faces: list, moves: list, options: DragOptions) -> tuple[float, float, float]:
    """(after / before distance ratio, mean px before, mean seconds per step) over the faces."""
    before_all, after_all, per_step = [], [], []
    for ws, image, lm in faces:
        handles = np.array([lm[i] for i, _, _ in moves])
        targets = handles + np.array([[dx, dy] for _, dx, dy in moves], dtype=float)
        points = np.concatenate([handles, targets], axis=1).clip(0, G.img_resolution - 1)
        result = drag(G, ws, points.tolist(), options=options)
        landed = flow_at(image, result.image, points[:, :2])
        before_all.append(np.linalg.norm(points[:, 2:] - points[:, :2], axis=1).mean())
        after_all.append(np.linalg.norm(points[:, 2:] - landed, axis=1).mean())
        per_step.append(result.seconds / max(result.steps, 1))
    return float(np.mean(after_all) / np.mean(before_all)), float(np.mean(before_all)), float(np.mean(per_step))


def demo_faces(G: Generator, count: int) -> list:
    faces, seed = [], 0
    while len(faces) < count and seed < 200:
        latent = wf.seed_latents(G, "demo", [seed], 0.7)[0]
        image = wf.render(G, latent)[0]
        lm = landmarks_of(image)
        if lm is not None:
            faces.append((torch.from_numpy(latent.ws), image, lm))
        seed += 1
    return faces


def step_time_1024(steps: int = 3) -> float:
    torch.manual_seed(0)
    G = Generator(GeneratorConfig("stylegan2", 1024, 3, MappingConfig(), StyleGAN2SynthesisConfig())).eval()
    G.requires_grad_(False)
    ws = G.mapping(torch.randn(1, G.z_dim), None)
    drag(G, ws, [[500, 500, 510, 500]], options=DragOptions(steps=1))  # warm-up
    result = drag(G, ws, [[500, 500, 530, 500]], options=DragOptions(steps=steps))
    return result.seconds / result.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=DragOptions.lr)
    parser.add_argument("--r1", type=float, default=None)
    parser.add_argument("--r2", type=float, default=None)
    parser.add_argument("--feature-px", type=int, default=None)
    parser.add_argument("--free-layers", type=int, default=DragOptions.free_layers)
    parser.add_argument("--no-1024", action="store_true")
    args = parser.parse_args()
    tune_allocator()
    G = load_generator("demo")
    faces = demo_faces(G, args.faces)
    options = DragOptions(
        steps=args.steps,
        lr=args.lr,
        r1=args.r1,
        r2=args.r2,
        feature_px=args.feature_px,
        free_layers=args.free_layers,
    )
    print(f"demo model, {len(faces)} faces with dlib landmarks, {options}")
    print("| points | distance before (px) | after / before (flow) | paper | s / step |")
    print("|---|---|---|---|---|")
    for name, moves, paper in (("1", ONE, 0.19), ("5", FIVE, 0.27)):
        ratio, before, seconds = protocol(G, faces, moves, options)
        print(f"| {name} | {before:.2f} | {ratio:.2f} | {paper} | {seconds:.3f} |")
    if not args.no_1024:
        print(f"1024 px config-f shape (random weights): {step_time_1024():.2f} s / step")


if __name__ == "__main__":
    main()
