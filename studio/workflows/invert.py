"""Photo -> latent: align, project, measure. One report type for `projection.json`, the app and the API."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from editing.identity import distance_to_descriptor, face_descriptor
from editing.project import PRESETS, project
from editing.video import save_video
from stylegan_core import Generator
from stylegan_core.imaging import to_pil

from .latents import Latent
from .photos import align_photo
from .progress import SILENT, Progress

SAME_PERSON = 0.6  # dlib's face-descriptor distance below which two faces are one person


@dataclass(frozen=True)
class ProjectionReport:
    """How well a latent reproduces its photo; these names are `projection.json`'s, the app's and the API's."""

    lpips: float  # VGG16-LPIPS between the aligned photo and the reconstruction (lower is closer)
    psnr: float  # dB
    identity_distance: float | None  # dlib descriptor distance (< 0.6: same person); None without a face
    steps: int
    seconds: float
    preset: str
    space: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Inversion:
    """A photo's latent with its pictures and report."""

    latent: Latent
    image: np.ndarray  # [H, W, C] uint8 reconstruction
    target: np.ndarray  # [H, W, C] uint8 aligned photo at the model's resolution
    report: ProjectionReport
    frames: list[np.ndarray] = field(default_factory=list)  # previews of the optimisation

    def save(self, outdir: str | Path, video: str | None = None) -> Path:
        """projected_w.npz, proj.png, target.png, projection.json (and the optimisation as `video`)."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        self.latent.save(outdir / "projected_w.npz")
        to_pil(self.image).save(outdir / "proj.png")
        to_pil(self.target).save(outdir / "target.png")
        (outdir / "projection.json").write_text(json.dumps(self.report.to_json(), indent=1))
        if video:
            save_video(self.frames, str(outdir / video))
        return outdir


def invert_photo(
    G: Generator,
    model: str,
    photo: Image.Image,
    *,
    align: bool = True,
    face: int | None = None,
    preset: str = "fast",
    space: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    preview_every: int = 0,
    identity: bool = True,
    progress: Progress = SILENT,
) -> Inversion:
    """The photo's face aligned like FFHQ (unless `align` is off) and projected into G's W / W+ with LPIPS;
    previews go out through `progress` every `preview_every` steps; `identity` adds dlib's distance."""
    target = align_photo(photo, G.img_resolution, face).image if align else photo
    progress.report("align", 1, 1, np.asarray(target.convert("RGB")))
    result = project(
        G,
        target,
        preset=preset,
        space=space,
        steps=steps,
        seed=seed,
        preview_every=preview_every,
        callback=lambda step, total, preview: progress.report("project", step, total, preview),
        should_stop=progress.stopped,
    )
    descriptor = face_descriptor(result.target) if identity else None  # kept: later edits compare to it
    report = ProjectionReport(
        lpips=round(result.lpips, 4),
        psnr=round(result.psnr, 2),
        identity_distance=None if descriptor is None else round(distance_to_descriptor(descriptor, result.image), 3),
        steps=result.steps,
        seconds=round(result.seconds, 1),
        preset=preset,
        space=space or PRESETS[preset].space,
    )
    latent = Latent(result.ws.numpy(), model, "projected photo", descriptor)
    return Inversion(latent, result.image, result.target, report, result.frames)
