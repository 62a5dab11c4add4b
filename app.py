"""StyleGAN Studio web app: generate, project, edit, drag, mix and morph faces; edit faces in clips (Gradio).

This file assembles the page: the model box, the face in the editor that every tab shares, and the tabs, each a
module of `studio.web` with its layout, its wiring and its handlers, which call `studio.workflows` (the same
functions the CLI calls). Run `python app.py` (or `STUDIO_MODEL=demo python app.py` to force the bundled model).
"""

from __future__ import annotations

import logging
import os

import gradio as gr

from studio.web import drag_tab, edit_tab, generate_tab, mix_tab, morph_tab, project_tab, video_tab
from studio.web.common import LOCAL_MODELS, Page, about_text, model_choices, release_face, start_model
from studio.web.files import SCRATCH_MAX_AGE_S
from stylegan_core.runtime import tune_allocator

CSS = ".face img { width: 100%; height: 100%; object-fit: contain; }"


def build(default_model: str | None = None) -> gr.Blocks:
    default_model = start_model(default_model)
    # delete_cache: Gradio's copies of visitors' uploads and our outputs go after an hour
    with gr.Blocks(title="StyleGAN Studio", delete_cache=(SCRATCH_MAX_AGE_S, SCRATCH_MAX_AGE_S)) as demo:
        gr.Markdown("# StyleGAN Studio\nGenerate, project, edit, drag, mix and morph faces; edit the face in a clip.")
        with gr.Row():
            kinds = "a name, a local file or run folder, or a Hub repo" if LOCAL_MODELS else "a name or a Hub repo"
            model = gr.Dropdown(
                model_choices(default_model),
                value=default_model,
                label=f"Model ({kinds})",
                allow_custom_value=True,
                scale=2,
            )
            status = gr.Markdown(f"Active model: **{default_model}**")
        page = Page(model, gr.State(None, delete_callback=release_face))
        generate_tab.build(page, demo)
        project_tab.build(page, demo)
        edits = edit_tab.build(page, demo)
        drag_tab.build(page)
        video_tab.build(page, edits)
        mix_tab.build(page)
        morph_tab.build(page)
        with gr.Accordion("About", open=False):
            gr.Markdown(about_text())
        model.change(lambda m: f"Active model: **{m}**", model, status, api_visibility="private")
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
