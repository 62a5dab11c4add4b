"""StyleGAN Studio web app: generate, project, edit, mix and morph faces (Gradio; Hugging Face Spaces ready).

This file is the page: its layout and which handler each event calls. The handlers (`studio.web.handlers`)
adapt the page's values to `studio.workflows`, where the work happens, the same functions the CLI calls.
Run `python app.py` (or `STUDIO_MODEL=demo python app.py` to force the bundled model).
"""

from __future__ import annotations

import logging
import os

import gradio as gr

from studio import workflows as wf
from studio.web import handlers as h
from studio.web.components import PhotoUpload
from studio.web.files import SCRATCH_MAX_AGE_S, example_photos
from stylegan_core.runtime import tune_allocator

FACE_PX = 320  # faces are shown at least this tall, whatever the model's resolution
CSS = ".face img { width: 100%; height: 100%; object-fit: contain; }"


def build(default_model: str | None = None) -> gr.Blocks:
    default_model = h.start_model(default_model)
    # delete_cache: Gradio's copies of visitors' uploads and our outputs go after an hour
    with gr.Blocks(title="StyleGAN Studio", delete_cache=(SCRATCH_MAX_AGE_S, SCRATCH_MAX_AGE_S)) as demo:
        gr.Markdown("# StyleGAN Studio\nGenerate, project, edit, mix and morph StyleGAN faces.")
        with gr.Row():
            kinds = "a name, a local file or run folder, or a Hub repo" if h.LOCAL_MODELS else "a name or a Hub repo"
            model = gr.Dropdown(
                h.model_choices(default_model),
                value=default_model,
                label=f"Model ({kinds})",
                allow_custom_value=True,
                scale=2,
            )
            status = gr.Markdown(f"Active model: **{default_model}**")
        current = gr.State(None, delete_callback=h.release_face)  # the face in the editor (a workflows.Latent)
        page_latents = gr.State([])
        with gr.Tab("Generate"):
            with gr.Row():
                psi = gr.Slider(0.0, 1.0, value=0.7, step=0.05, label="Truncation psi")
                noise = gr.Radio(["const", "random", "none"], value="const", label="Noise")
                page = gr.Number(value=0, precision=0, label="Page", minimum=0, maximum=2**32 // h.PER_PAGE - 1)
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
                photo = PhotoUpload(
                    type="filepath", image_mode=None, label="Photo (upload or webcam)", sources=["upload", "webcam"]
                )
                boxes = gr.Image(label="Faces found", interactive=False, format="png")
            gr.Examples(example_photos(), photo, label="Or try an example photo (licences: studio/web/examples)")
            with gr.Row():
                face = gr.Dropdown([], label="Face (largest by default)", interactive=True, allow_custom_value=True)
                preset = gr.Radio(h.PRESETS, value="fast", label="Preset (refine: the model's encoder, then polish)")
                space = gr.Radio(["w", "w+"], value="w+", label="Latent space")
                steps = gr.Slider(10, 1000, value=h.PROJECTION_STEPS["fast"], step=10, label="Steps")
                pti = gr.Slider(
                    0,
                    h.PTI_MAX_STEPS,
                    value=0,
                    step=10,
                    label="Tune the generator to this photo (PTI steps, 0: off; each costs about 3 projection steps)",
                )
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
            projected = gr.State(None, delete_callback=h.release_face)
            use_btn = gr.Button("Edit this face")
        with gr.Tab("Edit"):
            edits = gr.JSON({}, visible="hidden")  # {name: {"strength", "layers", "hold"}}: what the sliders say
            shown = gr.State([])  # the direction each slider row shows, row by row
            with gr.Row():
                picker = gr.Dropdown(
                    [],
                    multiselect=True,
                    max_choices=h.SLIDER_ROWS,
                    label=f"Directions (type to search; each one picked gets a slider, up to {h.SLIDER_ROWS})",
                    scale=3,
                )
                layers = gr.Radio(list(wf.LAYER_CHOICES), value="all", label="Layers (of directions without their own)")
                reset_btn = gr.Button("Reset", scale=0)
            with gr.Row():
                with gr.Column(scale=3):
                    rows = []  # (row, strength, layers, keep fixed), shown for the picked directions
                    for _ in range(h.SLIDER_ROWS):
                        with gr.Row(visible=False) as row:
                            rows.append(
                                (
                                    row,
                                    gr.Slider(-3, 3, value=0, step=0.1, scale=3),
                                    gr.Dropdown(list(wf.LAYER_CHOICES), value=None, scale=1),
                                    gr.Dropdown([], value=[], multiselect=True, label="keep fixed", scale=2),
                                )
                            )
                with gr.Column(scale=2):
                    edited = gr.Image(
                        label="Edited face",
                        interactive=False,
                        format="png",
                        height=FACE_PX,
                        elem_classes="face",
                        elem_id="edited",
                    )
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
        gen_btn.click(h.generate_page, gen_inputs, gen_outputs, api_name="generate")
        next_btn.click(lambda p: p + 1, page, page, api_visibility="private").then(
            h.generate_page, gen_inputs, gen_outputs, api_visibility="private"
        )
        prev_btn.click(lambda p: max(p - 1, 0), page, page, api_visibility="private").then(
            h.generate_page, gen_inputs, gen_outputs, api_visibility="private"
        )
        rand_btn.click(h.random_page, None, page, api_visibility="private").then(
            h.generate_page, gen_inputs, gen_outputs, api_visibility="private"
        )
        gallery.select(
            h.pick_from_gallery, [model, page_latents], [current, picked, picked_image], api_visibility="private"
        )
        seed_btn.click(h.pick_seed, [model, seed_box, psi], [current, picked, picked_image], api_name="pick_seed")
        menu = dict(fn=h.direction_menu, inputs=model, outputs=[picker, edits])
        model.change(lambda m: f"Active model: **{m}**", model, status, api_visibility="private").then(
            **menu, api_visibility="private"
        ).then(h.preset_for, model, [preset, steps], api_visibility="private")
        demo.load(**menu, api_visibility="private")
        demo.load(h.preset_for, model, [preset, steps], api_visibility="private")
        demo.load(h.generate_page, gen_inputs, gen_outputs, api_visibility="private")  # a first page, unasked

        photo.change(h.detect, photo, [boxes, face], api_name="detect")
        preset.change(lambda p: h.PROJECTION_STEPS[p], preset, steps, api_visibility="private")
        projecting = proj_btn.click(
            h.run_projection,
            [model, photo, face, preset, space, steps, pti],
            [aligned, recon, metrics, latent_file, projected],
            api_name="project",
        )
        stop_btn.click(None, None, None, cancels=[projecting], api_visibility="private")
        use_btn.click(h.use_projection, [model, projected], [current, picked, picked_image], api_name="use_projection")
        latent_upload.upload(
            h.load_latent, [model, latent_upload], [current, picked, picked_image], api_name="load_latent"
        )

        edit_inputs = [model, current, layers, edits]
        row_outputs = [shown, *[c for row in rows for c in row]]
        picker.change(h.slider_rows, [model, picker, edits], row_outputs, api_visibility="private")
        picker.input(h.keep_picked, [edits, picker], edits, api_visibility="private")
        for i, (_, strength, own, hold) in enumerate(rows):
            for box, key in ((strength, "strength"), (own, "layers"), (hold, "hold")):  # a visitor's changes only
                box.input(h.row_setter(i, key), [edits, shown, box], edits, api_visibility="private")
            strength.release(h.edit_full, edit_inputs, [edited, identity], api_visibility="private")
        edits.change(
            h.edit_preview,
            edit_inputs,
            edited,
            trigger_mode="always_last",
            show_progress="hidden",
            api_visibility="private",
        )
        for source in (layers, current):
            source.change(h.edit_full, edit_inputs, [edited, identity], api_visibility="private")
        reset_btn.click(lambda: {}, None, edits, api_visibility="private").then(
            h.slider_rows, [model, picker, edits], row_outputs, api_visibility="private"
        ).then(h.edit_full, edit_inputs, [edited, identity], api_visibility="private")
        gr.Button("Render", visible=False).click(h.edit_full, edit_inputs, [edited, identity], api_name="edit")
        gr.Button("Preview", visible=False).click(h.edit_preview, edit_inputs, edited, api_name="preview")
        gr.Button("Directions", visible=False).click(
            h.list_directions, model, gr.JSON(visible=False), api_name="directions"
        )

        set_a.click(h.set_slot, [current, gr.State("A")], [face_a, a_label], api_name="set_a")
        set_b.click(h.set_slot, [current, gr.State("B")], [face_b, b_label], api_name="set_b")
        mix_btn.click(h.run_mix, [model, face_a, face_b, presets], [mixed, strip], api_name="mix")
        add_btn.click(h.add_to_morph, [current, keys], [keys, keys_label], api_name="add_to_morph")
        morph_btn.click(h.run_morph, [model, keys, frames, fps], video, api_name="morph")
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
    tune_allocator()  # large tensors from the heap: much faster synthesis on the CPU
    serve(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"))


if __name__ == "__main__":
    main()
