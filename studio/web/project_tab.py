"""The Project tab: a photo's face found, aligned and projected (with live previews and Stop), its latent out."""

from __future__ import annotations

import contextlib

import gradio as gr

from studio import workflows as wf

from .common import MODELS, Page, face_image, friendly, gpu, into_editor, number, read_upload, release_face
from .components import PhotoUpload
from .files import example_photos, png, scratch_file

PROJECTION_STEPS = {"refine": 30, "fast": 100, "classic": 1000}
PRESETS = list(PROJECTION_STEPS)
PTI_MAX_STEPS = 350  # PTI's own default
TUNING_NOTE = (
    "Tuning the generator (PTI) makes the result the same person where the model alone cannot reach a real photo "
    "(the demo model's cartoon faces): about a minute on 2 CPU cores for 350 steps. *Only where needed* tunes when "
    "dlib's identity distance after the projection is 0.6 or more."
)


def build(page: Page, demo: gr.Blocks) -> None:
    with gr.Tab("Project"):
        with gr.Row():
            photo = PhotoUpload(
                type="filepath", image_mode=None, label="Photo (upload or webcam)", sources=["upload", "webcam"]
            )
            boxes = gr.Image(label="Faces found", interactive=False, format="png")
        gr.Examples(example_photos(), photo, label="Or try an example photo (licences: studio/web/examples)")
        with gr.Row():
            face = gr.Dropdown([], label="Face (largest by default)", interactive=True, allow_custom_value=True)
            preset = gr.Radio(PRESETS, value="fast", label="Preset (refine: the model's encoder, then polish)")
            space = gr.Radio(["w", "w+"], value="w+", label="Latent space")
            steps = gr.Slider(10, 1000, value=PROJECTION_STEPS["fast"], step=10, label="Steps")
        with gr.Row():
            pti = gr.Slider(
                0, PTI_MAX_STEPS, value=0, step=10, label="Tune the generator to this photo (PTI steps, 0: off)"
            )
            when_needed = gr.Checkbox(False, label="Only where needed")
            gr.Markdown(TUNING_NOTE)
        with gr.Row():
            proj_btn = gr.Button("Project", variant="primary", scale=3)
            stop_btn = gr.Button("Stop", variant="stop", scale=1)
        with gr.Row():
            aligned, recon = face_image("Aligned photo"), face_image("Reconstruction")
        metrics = gr.JSON(label="Result")
        with gr.Row():
            latent_file = gr.File(label="projected_w.npz")
            latent_upload = gr.File(label="or load a latent into the editor (.npz)", file_types=[".npz", ".npy"])
        projected = gr.State(None, delete_callback=release_face)
        use_btn = gr.Button("Edit this face")
    private = dict(api_visibility="private")
    photo.change(detect, photo, [boxes, face], api_name="detect")
    preset.change(lambda p: PROJECTION_STEPS[p], preset, steps, **private)
    for event in (page.model.change, demo.load):
        event(defaults_for, page.model, [preset, steps, pti, when_needed], **private)
    projecting = proj_btn.click(
        run_projection,
        [page.model, photo, face, preset, space, steps, pti, when_needed],
        [aligned, recon, metrics, latent_file, projected],
        api_name="project",
    )
    stop_btn.click(None, None, None, cancels=[projecting], **private)
    use_btn.click(use_projection, [page.model, projected], page.editor, api_name="use_projection")
    latent_upload.upload(load_latent, [page.model, latent_upload], page.editor, api_name="load_latent")


def defaults_for(model: str):
    """The model's preset (refine where it has an encoder, with its steps) and its tuning: on, where needed, for
    models with an encoder up to 256 px (a few seconds a step at 1024 px on a CPU)."""
    preset = wf.default_preset(model)
    tune = wf.default_pti(model, MODELS.get(model))
    steps = wf.PTI_STEPS if tune else 0
    return preset, PROJECTION_STEPS[preset], steps, tune == "auto"


@friendly
def detect(photo_path: str | None):
    found = wf.find_faces(read_upload(photo_path))
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
    only_where_needed: bool = False,
    progress=gr.Progress(),  # noqa: B008  (Gradio injects progress through this default)
):
    photo = read_upload(photo_path)
    steps = int(number(steps, "a number of steps"))
    pti_steps = int(number(pti_steps, "a number of tuning steps (0: none)"))
    G = MODELS.get(model)
    encoder = MODELS.encoder(model) if preset == "refine" else None
    if preset == "refine" and encoder is None:
        raise gr.Error(f"{model} has no image encoder: choose the fast or classic preset.")

    def work(events: wf.Progress) -> wf.Inversion:
        return wf.invert_photo(
            G,
            model,
            photo,
            face=int(face) if face else None,
            preset=preset,
            space=space,
            steps=steps,
            encoder=encoder,
            pti_steps="auto" if pti_steps and only_where_needed else pti_steps,
            preview_every=10,
            progress=events,
        )

    yield None, None, None, None, gr.update()  # Gradio can cancel a handler only once it has yielded
    with contextlib.closing(wf.stream(work)) as items:  # closed by Stop or a closed tab: the work stops too
        yield from _projection_updates(items, progress, photo_path)


def _projection_updates(items, progress, photo_path: str):
    """What the page shows of a projection as it goes: the aligned photo, previews, then the result."""
    aligned = None
    for item in items:
        if isinstance(item, wf.Finished):
            inversion = item.result
            if inversion.generator is not None:  # this visitor's own tuned generator draws the face from now on
                inversion.latent.tuned_key = MODELS.tuned.add(inversion.generator)
            inversion.latent.photo = photo_path  # the edit goes back into it
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
    return into_editor(model, wf.latent_from_file(MODELS.get(model), model, path))


@friendly
@gpu
def use_projection(model: str, latent: wf.Latent | None):
    if latent is None:
        raise gr.Error("Project a photo first.")
    return into_editor(model, latent)
