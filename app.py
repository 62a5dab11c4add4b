"""StyleGAN Studio web app: generate, project, edit, mix and morph faces (Gradio; Hugging Face Spaces ready).

A thin layer: layout, event wiring and per-visitor `gr.State`. The work happens in `studio.service`.
Run `python app.py` (or `STUDIO_MODEL=demo python app.py` to force the bundled model).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import os
import tempfile
import time
import traceback
from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image

from editing.align import align_face, detect_faces, largest_face
from editing.identity import SAME_PERSON_THRESHOLD
from editing.latents import LatentError, load_w, save_w
from studio import service
from stylegan_core.hub import REGISTRY, default_model_name
from stylegan_core.imaging import read_image

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
MODELS = service.ModelCache(size=2, device=DEVICE, allow_local=LOCAL_MODELS)
SLIDERS = 8  # direction slider slots; labelled after the active model's directions
PER_PAGE = 8
PROJECTION_STEPS = {"fast": 100, "classic": 1000}
THUMBNAIL_PX = 256  # gallery pages of bigger models stop their synthesis here; a picked face renders in full
FACE_PX = 320  # faces are shown at least this tall, whatever the model's resolution
CSS = ".face img { width: 100%; height: 100%; object-fit: contain; }"


def _as_message(exc: Exception, where: str) -> gr.Error:
    if isinstance(exc, ValueError | OSError | RuntimeError):  # expected: bad input, missing file, offline Hub
        return gr.Error(str(exc).split("\n")[0])
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


SCRATCH = Path(tempfile.gettempdir()) / "stylegan-studio"
SCRATCH_MAX_AGE_S = 3600


_last_prune = 0.0


def _scratch_file(name: str) -> Path:
    """A fresh path for a file handed to a visitor; files older than an hour go, checked once a minute."""
    global _last_prune
    SCRATCH.mkdir(exist_ok=True)
    if time.time() - _last_prune > 60:
        _last_prune = time.time()
        for old in SCRATCH.glob("*/*"):
            if time.time() - old.stat().st_mtime > SCRATCH_MAX_AGE_S:
                old.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    old.parent.rmdir()
    return Path(tempfile.mkdtemp(dir=SCRATCH)) / name


def _png(image: np.ndarray | Image.Image) -> str:
    """An image as a PNG file for Gradio. Gradio caches files by copy-and-rename, but arrays by rewriting a
    file named after their content in place, so two visitors given the same picture at once (the same seed
    page) could be served a half-written file."""
    path = _scratch_file("face.png")
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(path)
    return str(path)


def _number(value: float | None, what: str) -> float:
    """A number box's or slider's value: an emptied box (None) or, through the API, NaN is a message."""
    if value is None or not math.isfinite(value):
        raise gr.Error(f"Enter {what}.")
    return value


def _model_choices() -> list[str]:
    return [name for name, e in REGISTRY.items() if e.repo_id or e.bundled]


# --- handlers -------------------------------------------------------------------------------------------------


@friendly
@gpu
def generate_page(model: str, page: int, psi: float, noise_mode: str):
    page, psi = int(_number(page, "a page number")), _number(psi, "a truncation psi")
    G = MODELS.get(model)
    items, latents = service.seed_page(G, model, page, PER_PAGE, psi, noise_mode, thumbnail=THUMBNAIL_PX)
    first = page * PER_PAGE
    gallery = [(_png(img), caption) for img, caption in items]
    return gallery, latents, f"Seeds {first}-{first + PER_PAGE - 1} of **{model}**"


@friendly
@gpu
def pick_from_gallery(model: str, latents: list, evt: gr.SelectData):
    if not latents:
        raise gr.Error("Generate a page of faces first.")
    return _into_editor(model, latents[evt.index])


@friendly
def detect(photo_path: str | None):
    if not photo_path:
        raise gr.Error("Upload a photo first.")
    photo = read_image(photo_path)
    boxes = detect_faces(photo)
    if not boxes:
        raise gr.Error("No face found in the photo (try a frontal, well-lit photo with the face at least 80 px wide).")
    chosen = largest_face(boxes)
    choices = [str(i) for i in range(len(boxes))]
    return _png(service.boxes_preview(photo, boxes, chosen)), gr.update(choices=choices, value=str(chosen))


@friendly
@gpu(duration=180)  # ZeroGPU: a classic 1000-step projection needs more than the default 60 s slot
def run_projection(
    model: str, photo_path: str | None, face: str | None, preset: str, space: str, steps: int, progress=gr.Progress()
):  # noqa: B008  (Gradio injects progress through this default)
    if not photo_path:
        raise gr.Error("Upload a photo first.")
    G = MODELS.get(model)
    aligned = align_face(read_image(photo_path), size=G.img_resolution, face=int(face) if face else None).image
    aligned_png = _png(aligned)
    yield aligned_png, None, None, None, gr.update()
    for step, total, preview, latent, summary in service.project_steps(
        G, model, aligned, preset=preset, space=space, steps=int(_number(steps, "a number of steps"))
    ):
        progress(step / total, desc=f"projecting: step {step}/{total}")
        if latent is None:
            if preview is not None:
                yield gr.update(), _png(preview), None, None, gr.update()
            continue
        npz = save_w(_scratch_file("projected_w.npz"), torch.from_numpy(latent.ws))
        yield aligned_png, _png(preview), summary, str(npz), latent


@friendly
@gpu
def pick_seed(model: str, seed: int, psi: float):
    seed, psi = int(_number(seed, "a seed (a whole number from 0)")), _number(psi, "a truncation psi")
    return _into_editor(model, service.seed_latents(MODELS.get(model), model, [seed], psi)[0])


@friendly
def load_latent(model: str, path: str | None):
    """A visitor's own latent file (`projected_w.npz` from here or from NVIDIA's projector) into the editor."""
    if not path:
        raise gr.Error("Choose a projected_w.npz file first.")
    G = MODELS.get(model)
    try:
        ws = load_w(path, G.num_ws, G.w_dim)
    except LatentError as exc:  # without the server-side path of the upload
        raise gr.Error(str(exc).replace(f"{path}: ", "")) from None
    return _into_editor(model, service.Latent(ws.numpy(), model, f"latent {Path(path).name}"))


@friendly
@gpu
def use_projection(model: str, latent):
    if latent is None:
        raise gr.Error("Project a photo first.")
    return _into_editor(model, latent)


def _into_editor(model: str, latent: service.Latent):
    """The editor's new face: its state, its label and its picture."""
    return latent, f"In the editor: {latent.label}", _png(service.render(MODELS.get(model), latent)[0])


@friendly
def direction_labels(model: str):
    names = list(MODELS.directions(model))[:SLIDERS]
    updates = []
    for i in range(SLIDERS):
        if i < len(names):
            d = MODELS.directions(model)[names[i]]
            r = max(3.0, d.typical_alpha * 1.5)
            updates.append(gr.update(label=names[i].replace("_", " "), visible=True, minimum=-r, maximum=r, value=0))
        else:
            updates.append(gr.update(visible=False, value=0))
    return updates


def _edited(model: str, latent, layers: str, values, preview: bool):
    if latent is None:
        raise gr.Error("Pick a face first: click one in Generate, or project a photo.")
    G = MODELS.get(model)
    directions = MODELS.directions(model)
    names = list(directions)[:SLIDERS]
    edited = service.apply_edits(G, latent, directions, dict(zip(names, values, strict=False)), layers)
    size = min(G.img_resolution, 256) if preview else None
    return edited, service.render(G, edited, size=size)[0]


@friendly
@gpu
def edit_preview(model: str, latent, layers: str, *values):
    return _png(_edited(model, latent, layers, values, preview=True)[1])


@friendly
@gpu
def edit_full(model: str, latent, layers: str, *values):
    """The edited face at full resolution and, for a projected photo, how far it is from being that person."""
    edited, image = _edited(model, latent, layers, values, preview=False)
    distance = service.identity_to_photo(edited, image)
    if distance is None:
        return _png(image), ""
    verdict = "same person" if distance < SAME_PERSON_THRESHOLD else "no longer reads as the same person"
    return _png(image), f"Identity distance to your photo: **{distance:.3f}** ({verdict}; dlib's threshold 0.6)"


@friendly
def reset_sliders():
    return [gr.update(value=0) for _ in range(SLIDERS)]


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
    mixed, strip = service.mix_images(MODELS.get(model), a, b, presets)
    return _png(mixed), _png(strip)


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
    G = MODELS.get(model)
    path = _scratch_file("morph.mp4")
    frames, fps = int(_number(frames, "a number of frames")), int(_number(fps, "a frame rate"))
    return str(service.morph_video(G, keys, frames, fps, path))


# --- layout ---------------------------------------------------------------------------------------------------


def build(default_model: str | None = None) -> gr.Blocks:
    default_model = default_model or default_model_name()
    MODELS.trust(default_model)  # the operator's choice may be a file even where visitors' paths are refused
    # delete_cache: Gradio's copies of visitors' uploads and our outputs go after an hour
    with gr.Blocks(title="StyleGAN Studio", delete_cache=(SCRATCH_MAX_AGE_S, SCRATCH_MAX_AGE_S)) as demo:
        gr.Markdown("# StyleGAN Studio\nGenerate, project, edit, mix and morph StyleGAN faces.")
        with gr.Row():
            choices = _model_choices() + ([default_model] if default_model not in _model_choices() else [])
            kinds = "a name, a local file or run folder, or a Hub repo" if LOCAL_MODELS else "a name or a Hub repo"
            model = gr.Dropdown(
                choices, value=default_model, label=f"Model ({kinds})", allow_custom_value=True, scale=2
            )
            status = gr.Markdown(f"Active model: **{default_model}**")
        current = gr.State(None)  # the face in the editor (a service.Latent)
        page_latents = gr.State([])
        with gr.Tab("Generate"):
            with gr.Row():
                psi = gr.Slider(0.0, 1.0, value=0.7, step=0.05, label="Truncation psi")
                noise = gr.Radio(["const", "random", "none"], value="const", label="Noise")
                page = gr.Number(value=0, precision=0, label="Page", minimum=0, maximum=2**32 // PER_PAGE - 1)
            with gr.Row():
                prev_btn, gen_btn, next_btn = (
                    gr.Button("Previous"),
                    gr.Button("Generate", variant="primary"),
                    gr.Button("Next"),
                )
                rand_btn = gr.Button("Random page")
            gallery = gr.Gallery(
                label="Click a face to edit it",
                columns=4,
                height="auto",
                elem_id="gallery",
                format="png",
                allow_preview=False,
            )
            with gr.Row():
                seed_box = gr.Number(value=0, precision=0, label="or edit seed", minimum=0, maximum=2**32 - 1)
                seed_btn = gr.Button("Seed -> editor")
            picked = gr.Markdown()
            picked_image = gr.Image(
                label="Face in the editor", interactive=False, format="png", height=200, elem_classes="face"
            )
        with gr.Tab("Project"):
            with gr.Row():
                photo = gr.Image(type="filepath", label="Photo (upload or webcam)", sources=["upload", "webcam"])
                boxes = gr.Image(label="Faces found", interactive=False, format="png")
            with gr.Row():
                face = gr.Dropdown([], label="Face (largest by default)", interactive=True, allow_custom_value=True)
                preset = gr.Radio(["fast", "classic"], value="fast", label="Preset")
                space = gr.Radio(["w", "w+"], value="w+", label="Latent space")
                steps = gr.Slider(10, 1000, value=PROJECTION_STEPS["fast"], step=10, label="Steps")
            with gr.Row():
                proj_btn = gr.Button("Project", variant="primary", scale=3)
                stop_btn = gr.Button("Stop", variant="stop", scale=1)
            with gr.Row():
                aligned = gr.Image(
                    label="Aligned photo", interactive=False, format="png", height=FACE_PX, elem_classes="face"
                )
                recon = gr.Image(
                    label="Reconstruction", interactive=False, format="png", height=FACE_PX, elem_classes="face"
                )
            metrics = gr.JSON(label="Result")
            with gr.Row():
                latent_file = gr.File(label="projected_w.npz")
                latent_upload = gr.File(label="or load a latent into the editor (.npz)", file_types=[".npz", ".npy"])
            projected = gr.State(None)
            use_btn = gr.Button("Edit this face")
        with gr.Tab("Edit"):
            layers = gr.Radio(list(service.LAYER_CHOICES), value="all", label="Layers")
            sliders = [
                gr.Slider(-3, 3, value=0, step=0.1, label=f"direction {i}", visible=False) for i in range(SLIDERS)
            ]
            with gr.Row():
                reset_btn = gr.Button("Reset")
            edited = gr.Image(label="Edited face", interactive=False, format="png", height=FACE_PX, elem_classes="face")
            identity = gr.Markdown()
        with gr.Tab("Mix"):
            with gr.Row():
                set_a, set_b = gr.Button("Editor face -> A"), gr.Button("Editor face -> B")
            a_label, b_label = gr.Markdown("A: (none)"), gr.Markdown("B: (none)")
            face_a, face_b = gr.State(None), gr.State(None)
            presets = gr.CheckboxGroup(["coarse", "middle", "fine"], value=["fine"], label="Styles taken from B")
            mix_btn = gr.Button("Mix", variant="primary")
            with gr.Row():
                mixed = gr.Image(
                    label="A with B's styles", interactive=False, format="png", height=FACE_PX, elem_classes="face"
                )
                strip = gr.Image(
                    label="A | B | mix", interactive=False, format="png", height=FACE_PX, elem_classes="face"
                )
        with gr.Tab("Morph"):
            keys = gr.State([])
            add_btn = gr.Button("Add the editor face")
            keys_label = gr.Markdown("0 faces")
            with gr.Row():
                frames = gr.Slider(8, 240, value=48, step=1, label="Frames")
                fps = gr.Slider(4, 60, value=24, step=1, label="fps")
            morph_btn = gr.Button("Make the video", variant="primary")
            video = gr.Video(label="Morph")

        gen_inputs = [model, page, psi, noise]
        gen_outputs = [gallery, page_latents, picked]
        gen_btn.click(generate_page, gen_inputs, gen_outputs, api_name="generate")
        next_btn.click(lambda p: p + 1, page, page, api_visibility="private").then(
            generate_page, gen_inputs, gen_outputs, api_visibility="private"
        )
        prev_btn.click(lambda p: max(p - 1, 0), page, page, api_visibility="private").then(
            generate_page, gen_inputs, gen_outputs, api_visibility="private"
        )
        rand_btn.click(lambda: int(np.random.randint(0, 10_000)), None, page, api_visibility="private").then(
            generate_page, gen_inputs, gen_outputs, api_visibility="private"
        )
        gallery.select(
            pick_from_gallery, [model, page_latents], [current, picked, picked_image], api_visibility="private"
        )
        seed_btn.click(pick_seed, [model, seed_box, psi], [current, picked, picked_image], api_name="pick_seed")
        model.change(lambda m: f"Active model: **{m}**", model, status, api_visibility="private").then(
            direction_labels, model, sliders, api_visibility="private"
        )
        demo.load(direction_labels, model, sliders, api_visibility="private")

        photo.change(detect, photo, [boxes, face], api_name="detect")
        preset.change(lambda p: PROJECTION_STEPS[p], preset, steps, api_visibility="private")
        projecting = proj_btn.click(
            run_projection,
            [model, photo, face, preset, space, steps],
            [aligned, recon, metrics, latent_file, projected],
            api_name="project",
        )
        stop_btn.click(None, None, None, cancels=[projecting], api_visibility="private")
        use_btn.click(use_projection, [model, projected], [current, picked, picked_image], api_name="use_projection")
        latent_upload.upload(
            load_latent, [model, latent_upload], [current, picked, picked_image], api_name="load_latent"
        )

        edit_inputs = [model, current, layers, *sliders]
        for s in sliders:
            s.change(
                edit_preview,
                edit_inputs,
                edited,
                trigger_mode="always_last",
                show_progress="hidden",
                api_visibility="private",
            )
            s.release(edit_full, edit_inputs, [edited, identity], api_visibility="private")
        layers.change(edit_full, edit_inputs, [edited, identity], api_visibility="private")
        current.change(edit_full, edit_inputs, [edited, identity], api_visibility="private")
        reset_btn.click(reset_sliders, None, sliders, api_visibility="private").then(
            edit_full, edit_inputs, [edited, identity], api_visibility="private"
        )
        gr.Button("Render", visible=False).click(edit_full, edit_inputs, [edited, identity], api_name="edit")
        gr.Button("Preview", visible=False).click(edit_preview, edit_inputs, edited, api_name="preview")

        set_a.click(set_slot, [current, gr.State("A")], [face_a, a_label], api_name="set_a")
        set_b.click(set_slot, [current, gr.State("B")], [face_b, b_label], api_name="set_b")
        mix_btn.click(run_mix, [model, face_a, face_b, presets], [mixed, strip], api_name="mix")
        add_btn.click(add_to_morph, [current, keys], [keys, keys_label], api_name="add_to_morph")
        morph_btn.click(run_morph, [model, keys, frames, fps], video, api_name="morph")
    return demo


def serve(
    default_model: str | None = None, *, server_name: str = "0.0.0.0", block: bool = True, quiet: bool = False
) -> gr.Blocks:
    """Build and launch the app with its production settings; `block=False` returns at once (tests, benchmarks),
    the address being `demo.local_url`. Gradio picks a free port from 7860 unless GRADIO_SERVER_PORT says."""
    demo = build(default_model)
    demo.queue(default_concurrency_limit=2, max_size=32)
    demo.launch(
        max_file_size="15mb",
        show_error=False,
        css=CSS,
        server_name=server_name,
        prevent_thread_lock=not block,
        quiet=quiet,
    )
    return demo


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    serve(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"))


if __name__ == "__main__":
    main()
