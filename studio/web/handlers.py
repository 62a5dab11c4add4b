"""The app's event handlers: thin adapters from Gradio's values to `studio.workflows` and back.

Each turns what the page sends (numbers, file paths, `gr.State` values) into a workflow call and its typed
result into what the page shows (PNG files, Markdown, updates). Expected failures become one-line messages
in the page, never a traceback, and never a path on the server.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import os
import random
import re
import tempfile
import traceback
from collections import Counter
from dataclasses import asdict

import gradio as gr
import torch

from studio import workflows as wf
from stylegan_core.hub import default_model_name

from .files import png, scratch_file

try:  # ZeroGPU Spaces: run the GPU-bound functions on a borrowed GPU; elsewhere a no-op
    import spaces

    gpu = spaces.GPU
except ImportError:

    def gpu(fn=None, **_kwargs):
        return fn if fn is not None else (lambda f: f)


log = logging.getLogger("studio.app")
DEVICE = os.environ.get("STUDIO_DEVICE", "cuda" if torch.cuda.is_available() else "cpu")
# On a public Space a visitor must not open the server's files by typing a path into the model box.
LOCAL_MODELS = os.environ.get("STUDIO_LOCAL_MODELS", "0" if os.environ.get("SPACE_ID") else "1") == "1"
MODELS = wf.ModelCache(size=2, device=DEVICE, allow_local=LOCAL_MODELS)
PER_PAGE = 8
PROJECTION_STEPS = {"refine": 30, "fast": 100, "classic": 1000}
PRESETS = list(PROJECTION_STEPS)
PTI_MAX_STEPS = 350  # PTI's own default
THUMBNAIL_PX = 256  # gallery pages of bigger models stop their synthesis here; a picked face renders in full
PHOTO = "Your photo"  # how messages name an upload (never by the server's copy of it)
_SERVER_PATH = re.compile(rf"(?:{re.escape(tempfile.gettempdir())}|/tmp)/\S*?([^/\s]+)(?=[:\s]|$)")


def without_server_paths(text: str) -> str:
    """A message with every temporary path on the server cut to its file name."""
    return _SERVER_PATH.sub(r"\1", text)


def _as_message(exc: Exception, where: str) -> gr.Error:
    if isinstance(exc, ValueError | OSError | RuntimeError):  # expected: bad input, missing file, offline Hub
        return gr.Error(without_server_paths(str(exc).split("\n")[0]))
    log.error("unexpected error in %s:\n%s", where, traceback.format_exc())
    return gr.Error("Something went wrong on our side; please try again.")


def friendly(fn):
    """Every expected failure becomes a message in the page; anything else a short notice, never a traceback."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:
                raise _as_message(exc, fn.__name__) from None

        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            raise _as_message(exc, fn.__name__) from None

    return call


def _number(value: float | None, what: str) -> float:
    """A number box's or slider's value: an emptied box (None) or, through the API, NaN is a message."""
    if value is None or not math.isfinite(value):
        raise gr.Error(f"Enter {what}.")
    return value


def _photo(path: str | None):
    if not path:
        raise gr.Error("Upload a photo first.")
    return wf.read_photo(path, shown_name=PHOTO)


def start_model(name: str | None = None) -> str:
    """The model the page opens with (default: FFHQ online, the demo model offline); the operator's choice
    may be a file even where visitors' paths are refused."""
    name = name or default_model_name()
    MODELS.trust(name)
    return name


def random_page() -> int:
    return random.randrange(10_000)


def preset_for(model: str):
    """The Project tab's preset for a model: refine where it has an encoder (with its steps), else fast."""
    preset = wf.default_preset(model)
    return gr.update(value=preset), gr.update(value=PROJECTION_STEPS[preset])


def release_face(latent) -> None:
    """gr.State's delete_callback: a session's tuned generator goes when the session does."""
    MODELS.release(latent)


def model_choices(default: str) -> list[str]:
    choices = wf.model_choices()
    return choices + ([default] if default not in choices else [])


# --- Generate -------------------------------------------------------------------------------------------------


@friendly
@gpu
def generate_page(model: str, page: int, psi: float, noise_mode: str):
    page, psi = int(_number(page, "a page number")), _number(psi, "a truncation psi")
    result = wf.seed_page(MODELS.get(model), model, page, PER_PAGE, psi, noise_mode, thumbnail=THUMBNAIL_PX)
    gallery = [(png(img), caption) for img, caption in zip(result.images, result.captions, strict=True)]
    return gallery, result.latents, f"Seeds {result.first_seed}-{result.first_seed + PER_PAGE - 1} of **{model}**"


@friendly
@gpu
def pick_from_gallery(model: str, latents: list, evt: gr.SelectData):
    if not latents:
        raise gr.Error("Generate a page of faces first.")
    return _into_editor(model, latents[evt.index])


@friendly
@gpu
def pick_seed(model: str, seed: int, psi: float):
    seed, psi = int(_number(seed, "a seed (a whole number from 0)")), _number(psi, "a truncation psi")
    return _into_editor(model, wf.seed_latents(MODELS.get(model), model, [seed], psi)[0])


def _into_editor(model: str, latent: wf.Latent):
    """The editor's new face: its state, its label and its picture."""
    return latent, f"In the editor: {latent.label}", png(wf.render(MODELS.for_latent(model, latent), latent)[0])


# --- Project --------------------------------------------------------------------------------------------------


@friendly
def detect(photo_path: str | None):
    found = wf.find_faces(_photo(photo_path))
    choices = [str(i) for i in range(len(found.boxes))]
    return png(found.preview), gr.update(choices=choices, value=str(found.chosen))


@friendly
@gpu(duration=180)  # ZeroGPU: a classic 1000-step projection needs more than the default 60 s slot
def run_projection(
    model: str,
    photo_path: str | None,
    face: str | None,
    preset: str,
    space: str,
    steps: int,
    pti_steps: int = 0,
    progress=gr.Progress(),  # noqa: B008  (Gradio injects progress through this default)
):
    photo = _photo(photo_path)
    steps = int(_number(steps, "a number of steps"))
    pti_steps = int(_number(pti_steps, "a number of tuning steps (0: none)"))
    G = MODELS.get(model)
    encoder = MODELS.encoder(model) if preset == "refine" else None
    if preset == "refine" and encoder is None:
        raise gr.Error(f"{model} has no image encoder: choose the fast or classic preset.")

    def work(events: wf.Progress) -> wf.Inversion:
        face_index = int(face) if face else None
        return wf.invert_photo(
            G,
            model,
            photo,
            face=face_index,
            preset=preset,
            space=space,
            steps=steps,
            encoder=encoder,
            pti_steps=pti_steps,
            preview_every=10,
            progress=events,
        )

    yield None, None, None, None, gr.update()  # Gradio can cancel a handler only once it has yielded
    with contextlib.closing(wf.stream(work)) as items:  # closed by Stop or a closed tab: the work stops too
        yield from _projection_updates(items, progress)


def _projection_updates(items, progress):
    """What the page shows of a projection as it goes: the aligned photo, previews, then the result."""
    aligned = None
    for item in items:
        if isinstance(item, wf.Finished):
            inversion = item.result
            if inversion.generator is not None:  # this visitor's own tuned generator draws the face from now on
                inversion.latent.tuned_key = MODELS.tuned.add(inversion.generator)
            npz = inversion.latent.save(scratch_file("projected_w.npz"))
            yield aligned, png(inversion.image), inversion.report.to_json(), str(npz), inversion.latent
        elif item.stage == "align":
            aligned = png(item.preview)
            yield aligned, None, None, None, gr.update()
        elif item.stage == "encode":  # the encoder's face at once
            yield gr.update(), png(item.preview), None, None, gr.update()
        else:
            doing = "tuning the generator" if item.stage == "tune" else "projecting"
            progress(item.step / item.total, desc=f"{doing}: step {item.step}/{item.total}")
            if item.preview is not None:
                yield gr.update(), png(item.preview), None, None, gr.update()


@friendly
def load_latent(model: str, path: str | None):
    """A visitor's own latent file (`projected_w.npz` from here or from NVIDIA's projector) into the editor."""
    if not path:
        raise gr.Error("Choose a projected_w.npz file first.")
    return _into_editor(model, wf.latent_from_file(MODELS.get(model), model, path))


@friendly
@gpu
def use_projection(model: str, latent):
    if latent is None:
        raise gr.Error("Project a photo first.")
    return _into_editor(model, latent)


# --- Edit -----------------------------------------------------------------------------------------------------


SHOWN_PER_GROUP = 2  # sliders a model opens with, per group; the picker adds any other
SLIDER_ROWS = 16  # directions edited at once (each has its row); the picker offers every one of the model


def _progress_for(progress, desc: str) -> wf.Progress:
    """A workflow's progress events as the page's progress bar."""
    return wf.Progress(lambda e: progress(e.step / max(e.total, 1), desc=f"{desc}: {e.step}/{e.total}"))


@friendly
def direction_menu(
    model: str,
    progress=gr.Progress(),  # noqa: B008  (Gradio injects progress through this default)
):
    """The picker of every direction of the model (grouped, searchable), a few opened as sliders, no edits yet.
    Z boundaries get their W equivalents here, once per model."""
    directions = MODELS.directions(model, _progress_for(progress, "W equivalents of the Z directions"))
    sliders = wf.sliders_for(directions)
    opened, per_group = [], Counter()
    for slider in sliders:
        if per_group[slider.group] < SHOWN_PER_GROUP:
            opened.append(slider.name)
            per_group[slider.group] += 1
    return gr.update(choices=_choices(sliders), value=opened), {}


@friendly
def list_directions(model: str) -> list[dict]:
    """Every direction of the model as the Edit tab lists it (API: which names `edit` takes)."""
    directions = MODELS.directions(model)
    listed = []
    for slider in wf.sliders_for(directions):
        direction = directions[slider.name]
        listed.append({**asdict(slider), "space": direction.space, "description": direction.description})
    return listed


def slider_rows(model: str, chosen: list[str] | None, edits: dict | None):
    """The slider rows for the picked directions, in the model's order, each set to its edit; the other rows
    hidden. Returns the row -> direction list, then (row, strength, layers, keep fixed) updates for every row."""
    sliders = wf.sliders_for(MODELS.directions(model))
    picked = [s for s in sliders if s.name in set(chosen or [])][:SLIDER_ROWS]
    edits = edits or {}
    updates = []
    for slider in picked:
        edit = edits.get(slider.name, {})
        updates += [
            gr.update(visible=True),
            gr.update(
                label=f"{slider.label} ({slider.group})",
                minimum=-slider.limit,
                maximum=slider.limit,
                value=edit.get("strength", 0),
            ),
            gr.update(label=f"layers (own: {slider.layers})", value=edit.get("layers")),
            gr.update(choices=_choices([s for s in sliders if s.name != slider.name]), value=edit.get("hold", [])),
        ]
    updates += [gr.update(visible=False), gr.update(), gr.update(), gr.update()] * (SLIDER_ROWS - len(picked))
    return [[s.name for s in picked], *updates]


def keep_picked(edits: dict | None, chosen: list[str] | None) -> dict:
    """The edits of the directions still picked (a visitor removed one from the picker: its edit goes too)."""
    return {name: edit for name, edit in (edits or {}).items() if name in set(chosen or [])}


def row_setter(row: int, key: str):
    """The handler of one slider row's control: the page's edits with the row's direction's `key` (strength,
    layers, hold) set to the control's value."""

    def set_edit(edits: dict | None, shown: list[str], value) -> dict:
        edits = dict(edits or {})
        if row < len(shown):
            name = shown[row]
            edits[name] = {**edits.get(name, {"strength": 0.0}), key: value}
        return edits

    return set_edit


def _choices(sliders: list[wf.Slider]) -> list[tuple[str, str]]:
    """Picker entries: "hair · blond hair" shown (typing either word finds it), the direction's key sent."""
    return [(f"{s.group} · {s.label}", s.name) for s in sliders]


def _edited(model: str, latent, layers: str, edits, preview: bool):
    if latent is None:
        raise gr.Error("Pick a face first: click one in Generate, or project a photo.")
    G = MODELS.for_latent(model, latent)
    directions, scorer = MODELS.directions(model), wf.attribute_scorer(model, G)
    edited = wf.apply_edits(G, latent, directions, wf.parse_edits(edits), layers or "all", scorer)
    size = min(G.img_resolution, 256) if preview else None
    return edited, wf.render(G, edited, size=size)[0]


@friendly
@gpu
def edit_preview(model: str, latent, layers: str, edits):
    return png(_edited(model, latent, layers, edits, preview=True)[1])


@friendly
@gpu
def edit_full(model: str, latent, layers: str, edits):
    """The edited face at full resolution and, for a projected photo, how far it is from being that person.
    `edits`: {"smile": 2, "age": {"strength": -1, "hold": ["eyeglasses"], "layers": "4-7"}} or "smile=2, age=-1"."""
    edited, image = _edited(model, latent, layers, edits, preview=False)
    distance = wf.identity_to_photo(edited, image)
    if distance is None:
        return png(image), ""
    verdict = "same person" if distance < wf.SAME_PERSON else "no longer reads as the same person"
    return png(image), f"Identity distance to your photo: **{distance:.3f}** ({verdict}; dlib's threshold 0.6)"


# --- Mix and morph --------------------------------------------------------------------------------------------


@friendly
def set_slot(latent, _which: str):
    if latent is None:
        raise gr.Error("Pick a face first (Generate or Project).")
    return latent, f"{latent.label}"


@friendly
@gpu
def run_mix(model: str, a, b, presets: list[str]):
    if a is None or b is None:
        raise gr.Error("Set both face A and face B from the editor's current face.")
    result = wf.mix_faces(MODELS.for_latent(model, a), a, b, presets)
    return png(result.image), png(result.strip)


@friendly
def add_to_morph(latent, keys: list):
    if latent is None:
        raise gr.Error("Pick a face first (Generate or Project).")
    keys = [*keys, latent]
    return keys, f"{len(keys)} face(s): " + ", ".join(k.label for k in keys)


@friendly
@gpu
def run_morph(model: str, keys: list, frames: int, fps: int):
    if len(keys) < 2:
        raise gr.Error("Add at least two faces to morph between.")
    frames, fps = int(_number(frames, "a number of frames")), int(_number(fps, "a frame rate"))
    G = MODELS.for_latent(model, keys[0])
    return str(wf.morph_video(G, keys, frames, fps, scratch_file("morph.mp4")))
