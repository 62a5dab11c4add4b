"""Drag to edit, for the app, the CLI and the API: a face (a seed, a projected photo with its tuned generator, an
edit or a mix) dragged by handle -> target points; the result is a latent like any other."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from editing.drag import DragError, DragOptions, check_points, drag
from stylegan_core import Generator
from stylegan_core.imaging import to_uint8

from .latents import Latent
from .progress import SILENT, Progress

HANDLE, TARGET = (230, 40, 40), (40, 110, 240)  # red handles, blue targets, as DragGAN's page draws them
DRAWN_MIN_PX = 448  # small renders are enlarged (nearest) to about this before points are drawn on them


def parse_points(text: str) -> list[list[float]]:
    """'120,200>130,180; 90,90>90,70' -> [[120, 200, 130, 180], [90, 90, 90, 70]] (handle > target, image px)."""
    points = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        try:
            handle, target = part.split(">")
            points.append([float(v) for v in (*handle.split(","), *target.split(","))])
        except ValueError:
            raise DragError(f"bad point {part!r}: write hx,hy>tx,ty (pixels), points separated by ';'") from None
        if len(points[-1]) != 4:
            raise DragError(f"bad point {part!r}: write hx,hy>tx,ty (pixels), points separated by ';'")
    if not points:
        raise DragError("no points: write hx,hy>tx,ty (pixels), e.g. '30,40>34,40; 20,20>20,16'")
    return points


def drawn_scale(resolution: int) -> int:
    """How much `draw_points` enlarges a render of this size (nearest), so points can be seen and clicked."""
    return max(1, DRAWN_MIN_PX // resolution)


def draw_points(
    image: np.ndarray, handles: np.ndarray, targets: np.ndarray, pending: Sequence[float] | None = None
) -> np.ndarray:
    """The image [H, W, 3] enlarged by `drawn_scale`, with each handle (red), its target (blue) and an arrow
    between them; `pending` [x, y] is a handle clicked whose target is not yet."""
    scale = drawn_scale(image.shape[0])
    picture = Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(picture)
    radius = max(3, picture.width // 80)

    def centre(x: float, y: float) -> tuple[float, float]:
        return (x + 0.5) * scale, (y + 0.5) * scale

    def dot(xy: tuple[float, float], colour: tuple[int, int, int]) -> None:
        x, y = xy
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour, outline=(255, 255, 255))

    for (hx, hy), (tx, ty) in zip(np.asarray(handles), np.asarray(targets), strict=True):
        h, t = centre(hx, hy), centre(tx, ty)
        _arrow(draw, h, t, width=max(1, radius // 2))
        dot(h, HANDLE)
        dot(t, TARGET)
    if pending is not None:
        dot(centre(*pending), HANDLE)
    return np.asarray(picture)


def _arrow(draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float], width: int) -> None:
    """A white arrow from start to end, its head at end."""
    draw.line([start, end], fill=(255, 255, 255), width=width)
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = float(np.hypot(dx, dy))
    if length < 1:
        return
    ux, uy, head = dx / length, dy / length, min(length / 2, 4.0 * width + 4)
    for side in (1, -1):  # two barbs, 30 degrees either side of the shaft
        bx = end[0] - head * (ux * 0.866 - side * uy * 0.5)
        by = end[1] - head * (uy * 0.866 + side * ux * 0.5)
        draw.line([end, (bx, by)], fill=(255, 255, 255), width=width)


@dataclass
class Dragged:
    latent: Latent  # the dragged face (its photo placement and tuned generator kept)
    image: np.ndarray  # [H, W, 3] uint8, no points drawn
    handles: np.ndarray  # [K, 2] where the handles ended
    targets: np.ndarray  # [K, 2]
    steps: int
    seconds: float
    reached: bool
    frames: list[np.ndarray] = field(default_factory=list)  # previews with the points drawn

    def points_json(self) -> dict:
        return {
            "handles": self.handles.round(2).tolist(),
            "targets": self.targets.round(2).tolist(),
            "reached": self.reached,
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
        }

    def save(self, outdir: str | Path) -> Path:
        """projected_w.npz, drag.png (no points), points.json (where the handles ended) and, with previews,
        drag.mp4 (the steps, points drawn)."""
        from editing.video import save_video

        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        self.latent.save(outdir / "projected_w.npz")
        Image.fromarray(self.image).save(outdir / "drag.png")
        (outdir / "points.json").write_text(json.dumps(self.points_json(), indent=1) + "\n")
        if self.frames:
            save_video(self.frames, str(outdir / "drag.mp4"), fps=10)
        return outdir


def drag_face(
    G: Generator,
    latent: Latent,
    points: Sequence[Sequence[float]] | str,
    *,
    mask: np.ndarray | None = None,
    options: DragOptions = DragOptions(),  # noqa: B008  (frozen: a shared default is safe)
    preview_every: int = 0,
    progress: Progress = SILENT,
) -> Dragged:
    """The face dragged so each handle's content reaches its target (`points`: [[hx, hy, tx, ty], ...] or
    'hx,hy>tx,ty; ...' in image px of G's output); every `preview_every` steps a preview with the points drawn
    goes out through `progress` (stage "drag") and into the result's frames."""
    points = parse_points(points) if isinstance(points, str) else points
    targets = check_points(points, G.img_resolution)[:, 2:]
    frames: list[np.ndarray] = []

    def on_step(step: int, total: int, handles: np.ndarray, ws: torch.Tensor) -> None:
        preview = None
        if preview_every and (step % preview_every == 0 or step == 1):
            with torch.no_grad():
                image = G.synthesis(ws, noise_mode="const", precision=options.precision)
                preview = draw_points(to_uint8(image)[0], handles, targets)
            frames.append(preview)
        progress.report("drag", step, total, preview)

    result = drag(
        G, latent.tensor(G), points, mask=mask, options=options, callback=on_step, should_stop=progress.stopped
    )
    if preview_every:
        frames.append(draw_points(result.image, result.handles, result.targets))
    dragged = dataclasses.replace(latent, ws=result.ws.cpu().numpy(), label=latent.label + " (dragged)")
    return Dragged(
        dragged, result.image, result.handles, result.targets, result.steps, result.seconds, result.reached, frames
    )
