"""The Mix tab: face A with the coarse / middle / fine styles of face B."""

from __future__ import annotations

import gradio as gr

from studio import workflows as wf

from .common import MODELS, Page, face_image, friendly, gpu
from .files import png


def build(page: Page) -> None:
    with gr.Tab("Mix"):
        with gr.Row():
            set_a, set_b = gr.Button("Editor face -> A"), gr.Button("Editor face -> B")
        a_label, b_label = gr.Markdown("A: (none)"), gr.Markdown("B: (none)")
        face_a, face_b = gr.State(None), gr.State(None)
        presets = gr.CheckboxGroup(["coarse", "middle", "fine"], value=["fine"], label="Styles taken from B")
        mix_btn = gr.Button("Mix", variant="primary")
        with gr.Row():
            mixed, strip = face_image("A with B's styles"), face_image("A | B | mix")
    set_a.click(set_slot, [page.current, gr.State("A")], [face_a, a_label], api_name="set_a")
    set_b.click(set_slot, [page.current, gr.State("B")], [face_b, b_label], api_name="set_b")
    mix_btn.click(run_mix, [page.model, face_a, face_b, presets], [mixed, strip], api_name="mix")


@friendly
def set_slot(latent: wf.Latent | None, _which: str):
    if latent is None:
        raise gr.Error("Pick a face first (Generate or Project).")
    return latent, f"{latent.label}"


@friendly
@gpu
def run_mix(model: str, a: wf.Latent | None, b: wf.Latent | None, presets: list[str]):
    if a is None or b is None:
        raise gr.Error("Set both face A and face B from the editor's current face.")
    result = wf.mix_faces(MODELS.for_latent(model, a), a, b, presets)
    return png(result.image), png(result.strip)
