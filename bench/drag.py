"""Drag to edit on the demo model: do the dragged points land on their targets, as an independent eye sees it?

Where the content under each handle went is measured by dense optical flow (OpenCV's DIS, on a 4x upscale) from
the original render to the dragged one, not by the drag's own tracker. Natural moves with room to measure: dlib's
68 landmarks of demo faces (found on a 4x upscale), moved a few pixels the way a face can move: one point (the left
mouth corner out) and five (both mouth corners out, the chin down, both brows up). The figure is the mean distance
to the targets after the drag over the same before it (the paper: 0.19 for one point, 0.27 for five). Also seconds
per step here, on the demo model and at the 1024 px config-f shape (random weights).

    python bench/drag.py [--faces 6] [--steps 200] [--lr 0.002] [--check-meter]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from time import perf_counter as now
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from bench.generate import record_convs, timed  # noqa: E402
from editing.align import detect_faces, face_landmarks, largest_face  # noqa: E402
from editing.drag import DragOptions, drag, feature_stage  # noqa: E402
from editing.lpips import shared_lpips  # noqa: E402
from studio import workflows as wf  # noqa: E402
from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig, load_generator  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402

UPSCALE = 4
MASK_RADIUS = 8.0  # px of the demo model's 64: the movable region around the points in the masked runs
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
    """[K, 2] where the content at `points` moved, by DIS optical flow on 4x upscales, read bilinearly at each point.
    DIS at its finest scale, every patch position and a light smoothness term: OpenCV's MEDIUM preset smooths a
    move of a few pixels that fades within 2-3 px (what a drag makes) to 59-80% of its size; these settings err
    by 6-20% of it (`--check-meter`)."""

    def grey(image: np.ndarray) -> np.ndarray:
        big = cv2.resize(image, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        return cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setFinestScale(0)
    dis.setPatchStride(1)
    dis.setVariationalRefinementAlpha(5.0)
    flow = dis.calc(grey(before), grey(after), None)
    moved = []
    for x, y in points:
        centre = ((x + 0.5) * UPSCALE - 0.5, (y + 0.5) * UPSCALE - 0.5)
        fx, fy = (cv2.getRectSubPix(flow[..., i], (1, 1), centre)[0, 0] for i in range(2))
        moved.append([x + fx / UPSCALE, y + fy / UPSCALE])
    return np.array(moved)


def local_warp(
    image: np.ndarray, centres: np.ndarray, moves: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """(image [H, W, 3] with the content at each centre [K, 2] moved by moves [K, 2], fading as a Gaussian of
    `sigma` px (0: the whole image shifts), where each centre's content went [K, 2]): a known answer for the meter."""

    def displacement(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = np.zeros_like(x), np.zeros_like(y)
        for (cx, cy), (mx, my) in zip(centres, moves, strict=True):
            fade = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2)) if sigma else np.ones_like(x)
            dx, dy = dx + mx * fade, dy + my * fade
        return dx, dy

    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    source_x, source_y = xs.copy(), ys.copy()
    for _ in range(40):  # invert the forward displacement: each output pixel's source s with s + D(s) = p
        dx, dy = displacement(source_x, source_y)
        source_x, source_y = (xs - dx).astype(np.float32), (ys - dy).astype(np.float32)
    warped = cv2.remap(image, source_x, source_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    dx, dy = displacement(centres[:, 0], centres[:, 1])
    return warped, centres + np.stack([dx, dy], axis=1)


def check_meter(faces: list) -> None:
    """The meter on known moves of the same faces: the whole face shifted, and the bench's moves made by local
    warps fading within sigma px; the mean error over the mean move (0: exact)."""
    print("| known move | one point | five points |")
    print("|---|---|---|")
    for sigma in (0, 2, 3, 5):
        errors = []
        for moves in (ONE, FIVE):
            error, size = [], []
            for _, image, lm in faces:
                centres = np.array([lm[i] for i, _, _ in moves])
                shift = np.array([[dx, dy] for _, dx, dy in moves], dtype=float)
                warped, truth = local_warp(image, centres, shift if sigma else shift[:1].repeat(len(shift), 0), sigma)
                error.append(np.linalg.norm(flow_at(image, warped, centres) - truth, axis=1).mean())
                size.append(np.linalg.norm(truth - centres, axis=1).mean())
            errors.append(np.mean(error) / np.mean(size))
        name = "whole face shifted" if sigma == 0 else f"local, sigma {sigma} px"
        print(f"| {name} | {errors[0]:.2f} | {errors[1]:.2f} |")


class Figures(NamedTuple):
    ratio: float  # mean distance to the targets after the drag over the same before it (flow)
    before: float  # mean px from handles to targets
    seconds_per_step: float
    lpips_outside: float  # LPIPS-VGG of the result against the original outside the movable region


def movable_region(points: np.ndarray, size: int, radius: float) -> np.ndarray:
    """[size, size] uint8: 255 within `radius` px of any handle or target of points [K, 4], 0 elsewhere."""
    ys, xs = np.mgrid[0:size, 0:size]
    near = np.zeros((size, size), dtype=bool)
    for x, y in points.reshape(-1, 2):
        near |= (xs - x) ** 2 + (ys - y) ** 2 <= radius**2
    return near.astype(np.uint8) * 255


def lpips_outside(before: np.ndarray, after: np.ndarray, region: np.ndarray) -> float:
    """LPIPS-VGG between two [H, W, 3] images where only pixels outside `region` count (inside, `after` takes the
    original's pixels)."""

    def to_tensor(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1

    kept = np.where(region[..., None] > 0, before, after)
    return float(shared_lpips("cpu")(to_tensor(before), to_tensor(kept)))


def protocol(G: Generator, faces: list, moves: list, options: DragOptions, mask_radius: float | None = None) -> Figures:
    """The drag of `moves` on each face, measured by optical flow; with `mask_radius`, only the region within that
    many px of the points may move. LPIPS outside that region is reported either way (radius 8 px when unmasked)."""
    before_all, after_all, per_step, outside = [], [], [], []
    for ws, image, lm in faces:
        handles = np.array([lm[i] for i, _, _ in moves])
        targets = handles + np.array([[dx, dy] for _, dx, dy in moves], dtype=float)
        points = np.concatenate([handles, targets], axis=1).clip(0, G.img_resolution - 1)
        region = movable_region(points, G.img_resolution, mask_radius or MASK_RADIUS)
        result = drag(G, ws, points.tolist(), mask=region if mask_radius else None, options=options)
        landed = flow_at(image, result.image, points[:, :2])
        before_all.append(np.linalg.norm(points[:, 2:] - points[:, :2], axis=1).mean())
        after_all.append(np.linalg.norm(points[:, 2:] - landed, axis=1).mean())
        per_step.append(result.seconds / max(result.steps, 1))
        outside.append(lpips_outside(image, result.image, region))
    return Figures(
        float(np.mean(after_all) / np.mean(before_all)),
        float(np.mean(before_all)),
        float(np.mean(per_step)),
        float(np.mean(outside)),
    )


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


def step_time_1024(steps: int = 5) -> tuple[float, float]:
    """(seconds per drag step at the 1024 px config-f shape, seconds of the bare convolutions that step must run:
    each one's forward and input gradient up to the features' block, timed alone in the same run)."""
    torch.manual_seed(0)
    G = Generator(GeneratorConfig("stylegan2", 1024, 3, MappingConfig(), StyleGAN2SynthesisConfig())).eval()
    G.requires_grad_(False)
    ws = G.mapping(torch.randn(1, G.z_dim), None)
    drag(G, ws, [[500, 500, 510, 500]], options=DragOptions(steps=1))  # warm-up
    ended: list[float] = []  # when each step ended: the steady step time, without the start and the final render
    drag(G, ws, [[500, 500, 560, 500]], options=DragOptions(steps=steps + 1), callback=lambda *_: ended.append(now()))
    calls = record_convs(G, 1, run=lambda: G.synthesis.features(ws, feature_stage(G)))

    def bare_step() -> None:
        for op, x, weight, kwargs in calls:
            x.requires_grad_(True)
            y = getattr(F, op)(x, weight, **kwargs)
            torch.autograd.grad(y, x, torch.ones_like(y))

    return statistics.median(np.diff(ended)), timed(bare_step, steps)


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
    parser.add_argument("--check-meter", action="store_true", help="only check the flow meter on known moves")
    args = parser.parse_args()
    tune_allocator()
    G = load_generator("demo")
    faces = demo_faces(G, args.faces)
    if args.check_meter:
        return check_meter(faces)
    options = DragOptions(
        steps=args.steps,
        lr=args.lr,
        r1=args.r1,
        r2=args.r2,
        feature_px=args.feature_px,
        free_layers=args.free_layers,
    )
    print(f"demo model, {len(faces)} faces with dlib landmarks, {options}")
    print(
        "| points | mask | distance before (px) | after / before (flow) | paper | LPIPS outside the region | s / step |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, moves, paper in (("1", ONE, 0.19), ("5", FIVE, 0.27)):
        for radius in (None, MASK_RADIUS):
            got = protocol(G, faces, moves, options, mask_radius=radius)
            mask = f"{radius:g} px around the points" if radius else "none"
            print(
                f"| {name} | {mask} | {got.before:.2f} | {got.ratio:.2f} | {paper} | {got.lpips_outside:.3f} "
                f"| {got.seconds_per_step:.3f} |"
            )
    if not args.no_1024:
        step, bare = step_time_1024()
        print(
            f"1024 px config-f shape (random weights): {step:.2f} s / step; its bare convolutions (forward and input "
            f"gradient) {bare:.2f} s: {step / bare:.2f}x"
        )


if __name__ == "__main__":
    main()
