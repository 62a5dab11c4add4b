"""Photo -> latent: align, project, measure. One report type for `projection.json`, the app and the API."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from editing.align import FaceBox
from editing.encoders import Encoder, default_encoder, load_encoder
from editing.identity import distance_to_descriptor, face_descriptor
from editing.lpips import LPIPS, shared_lpips
from editing.paste import Placement
from editing.project import PRESETS, project, target_tensor
from editing.pti import PTIOptions, tune_generator
from editing.video import save_video
from stylegan_core import Generator
from stylegan_core.errors import CheckpointError
from stylegan_core.hub import base_model, record_tuned_from
from stylegan_core.imaging import area_resize, to_pil, to_uint8

from .latents import ALIGNMENT_FILE, TUNED_DIR, Latent
from .photos import align_photo
from .progress import SILENT, Progress

SAME_PERSON = 0.6  # dlib's face-descriptor distance below which two faces are one person
PTI_STEPS = 350  # PTI's own default number of tuning steps


@dataclass(frozen=True)
class ProjectionReport:
    """How well a latent reproduces its photo; these names are `projection.json`'s, the app's and the API's."""

    lpips: float  # VGG16-LPIPS between the aligned photo and the reconstruction (lower is closer)
    psnr: float  # dB
    identity_distance: float | None  # dlib descriptor distance (< 0.6: same person); None without a face
    steps: int  # optimisation steps (0 for the encoder alone)
    seconds: float
    preset: str  # encode, refine, fast or classic
    space: str
    pti_steps: int = 0  # generator tuning steps run (0: the shared generator renders the latent)

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
    generator: Generator | None = None  # the generator tuned for this photo (PTI), else None

    def save(self, outdir: str | Path, video: str | None = None) -> Path:
        """projected_w.npz, proj.png, target.png, projection.json, alignment.json (where the face sits in its
        photo; the optimisation as `video`); with PTI also pti/ (config.json + model.safetensors +
        tuned_from.json), the tuned generator that renders proj.png from the latent, with its model's directions."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        self.latent.save(outdir / "projected_w.npz")
        to_pil(self.image).save(outdir / "proj.png")
        to_pil(self.target).save(outdir / "target.png")
        (outdir / "projection.json").write_text(json.dumps(self.report.to_json(), indent=1))
        if video:
            save_video(self.frames, str(outdir / video))
        if self.latent.placement is not None:
            (outdir / ALIGNMENT_FILE).write_text(json.dumps(self.latent.placement.to_json(), indent=1))
        if self.generator is not None:
            record_tuned_from(self.generator.save_pretrained(outdir / TUNED_DIR), base_model(self.latent.model))
        return outdir


def model_encoder(model: str, G: Generator, spec: str | None = None) -> Encoder:
    """The encoder asked for (a name, an official checkpoint or our folder), else the model's own; checked
    against G (its number of styles and width), with a clear error where the model has none."""
    spec = spec or default_encoder(model)
    if spec is None:
        raise CheckpointError(
            f"{model} has no encoder: pass one with --encoder, or train one with "
            f"`studio train-encoder --network {model} --outdir DIR`; `--preset fast` needs none"
        )
    encoder = load_encoder(spec).encoder.to(G.device)
    encoder.check_fits(G.num_ws, G.w_dim, f"the model {model}")
    return encoder


def encoder_with_decoder(spec: str, device: str = "cpu") -> tuple[Generator, Encoder]:
    """An official e4e / pSp checkpoint's decoder and encoder: the pair it was trained as."""
    loaded = load_encoder(spec)
    if loaded.decoder is None:
        raise CheckpointError(f"{spec}: an encoder without a decoder; give the generator it was made for (--network)")
    return loaded.decoder.to(device), loaded.encoder.to(device)


def default_preset(model: str) -> str:
    """refine (instant encoder + a few steps) where the model has an encoder, else fast optimisation."""
    return "refine" if default_encoder(model) else "fast"


def default_pti(model: str, G: Generator) -> int | str:
    """How a photo of `model` is tuned by default: "auto" (PTI where the projection alone is not the same person)
    for models with an encoder up to 256 px, else 0 (tuning a 1024 px model takes half an hour on a CPU)."""
    return "auto" if default_encoder(model) and G.img_resolution <= 256 else 0


def _measure(G: Generator, ws: torch.Tensor, target: np.ndarray, lpips: LPIPS) -> tuple[np.ndarray, float, float]:
    """The render of ws [1, num_ws, w_dim] (noise const), its LPIPS to `target` and PSNR in dB."""
    with torch.no_grad():
        image = G.synthesis(ws.to(G.device), noise_mode="const")
        t = target_tensor(target, G.img_resolution).to(G.device)
        size = min(G.img_resolution, 256)
        score = float(lpips(area_resize(image, size), area_resize(t, size)))
    pixels = to_uint8(image)[0]
    mse = float(((pixels.astype(np.float64) - target.astype(np.float64)) ** 2).mean())
    return pixels, score, 10 * math.log10(255.0**2 / max(mse, 1e-10))


def invert_photo(
    G: Generator,
    model: str,
    photo: Image.Image,
    *,
    align: bool = True,
    face: int | None = None,
    boxes: list[FaceBox] | None = None,
    preset: str = "fast",
    space: str | None = None,
    steps: int | None = None,
    encoder: Encoder | None = None,
    pti_steps: int | str = 0,
    precision: str | None = None,
    seed: int = 0,
    preview_every: int = 0,
    identity: bool = True,
    progress: Progress = SILENT,
) -> Inversion:
    """The photo's face aligned like FFHQ (unless `align` is off), then its latent: `encode` (the encoder's code,
    instant), `refine` (that code polished by a few LPIPS steps in W+), or `fast` / `classic` optimisation from
    sampled starts; `pti_steps` then tunes a copy of G around it (pivotal tuning), which renders the result
    ("auto": PTI_STEPS where the projection alone is not the same person by dlib). Previews go out through
    `progress`; `identity` adds dlib's distance to the photo. The latent keeps where the face sits in the photo;
    `boxes`: the photo's faces when they were already found. `precision` (stylegan_core.precision) for the
    optimisation and the tuning steps; None: the preset's (classic fp32, fast and refine bf16), tuning bf16."""
    started = time.perf_counter()
    placement = None
    if align:
        aligned = align_photo(photo, G.img_resolution, face, boxes)
        target, placement = aligned.image, Placement.of(aligned, photo.size)
    else:
        target = photo
    target_pixels = np.asarray(target.convert("RGB").resize((G.img_resolution,) * 2, Image.Resampling.LANCZOS))
    progress.report("align", 1, 1, np.asarray(target.convert("RGB")))
    lpips = shared_lpips(str(G.device))
    init_ws, frames, done, encoded = None, [], 0, None
    if preset in ("encode", "refine"):
        if encoder is None:
            raise ValueError(f"the {preset} preset needs an encoder")
        init_ws = encoder.encode(target)  # [1, num_ws, w_dim]
        if preset == "encode":  # the result: rendered and measured once
            encoded = _measure(G, init_ws, target_pixels, lpips)
            preview = encoded[0]
        else:
            with torch.no_grad():
                preview = to_uint8(G.synthesis(init_ws, noise_mode="const"))[0]
        progress.report("encode", 1, 1, preview)  # the encoder's face at once, before any refinement
    ws = init_ws
    if preset != "encode":
        chosen = PRESETS[preset]
        if precision is not None:
            chosen = dataclasses.replace(chosen, reduced_precision=precision == "bf16")
        result = project(
            G,
            target,
            preset=chosen,
            space=space,
            steps=steps,
            seed=seed,
            lpips=lpips,
            init_ws=init_ws,
            preview_every=preview_every,
            callback=lambda step, total, preview: progress.report("project", step, total, preview),
            should_stop=progress.stopped,
        )
        ws, frames, done = result.ws, result.frames, result.steps
    descriptor = face_descriptor(target_pixels) if identity or pti_steps == "auto" else None  # later edits use it
    if pti_steps == "auto":  # tune only where the projection alone is not the same person
        projected = result.image if preset != "encode" else encoded[0]
        far = descriptor is None or distance_to_descriptor(descriptor, projected) >= SAME_PERSON
        pti_steps = PTI_STEPS if far else 0
    tuned = None
    if pti_steps:
        tuning = tune_generator(
            G,
            ws,
            target_pixels,
            options=PTIOptions(steps=pti_steps, seed=seed, precision=precision or PTIOptions.precision),
            lpips=lpips,
            callback=progress.counter("tune"),
            should_stop=progress.stopped,
        )
        tuned = tuning.generator
        image, score, psnr = tuning.image, tuning.lpips, tuning.psnr  # measured by the tuning itself
    elif preset != "encode":  # as the optimisation left it (classic's tuned noise included)
        image, score, psnr = result.image, result.lpips, result.psnr
    else:
        image, score, psnr = encoded
    report = ProjectionReport(
        lpips=round(score, 4),
        psnr=round(psnr, 2),
        identity_distance=None if descriptor is None else round(distance_to_descriptor(descriptor, image), 3),
        steps=done,
        seconds=round(time.perf_counter() - started, 1),
        preset=preset,
        space="w+" if preset in ("encode", "refine") else space or PRESETS[preset].space,
        pti_steps=tuning.steps if pti_steps else 0,
    )
    latent = Latent(ws.cpu().numpy(), model, "projected photo", descriptor, placement=placement)
    return Inversion(latent, image, target_pixels, report, frames, tuned)
