"""The Morph tab: a video through the faces added from the editor."""

from __future__ import annotations

import gradio as gr

from studio import workflows as wf

from .common import MODELS, Page, friendly, gpu, number
from .files import scratch_file


def build(page: Page) -> None:
    with gr.Tab("Morph"):
        keys = gr.State([])
        add_btn = gr.Button("Add the editor face")
        keys_label = gr.Markdown("0 faces")
        with gr.Row():
            frames = gr.Slider(8, 240, value=48, step=1, label="Frames")
            fps = gr.Slider(4, 60, value=24, step=1, label="fps")
        morph_btn = gr.Button("Make the video", variant="primary")
        video = gr.Video(label="Morph")
    add_btn.click(add_to_morph, [page.current, keys], [keys, keys_label], api_name="add_to_morph")
    morph_btn.click(run_morph, [page.model, keys, frames, fps], video, api_name="morph")


@friendly
def add_to_morph(latent: wf.Latent | None, keys: list):
    if latent is None:
        raise gr.Error("Pick a face first (Generate or Project).")
    keys = [*keys, latent]
    return keys, f"{len(keys)} face(s): " + ", ".join(k.label for k in keys)


@friendly
@gpu
def run_morph(model: str, keys: list, frames: int, fps: int):
    if len(keys) < 2:
        raise gr.Error("Add at least two faces to morph between.")
    frames, fps = int(number(frames, "a number of frames")), int(number(fps, "a frame rate"))
    G = MODELS.for_latent(model, keys[0])
    return str(wf.morph_video(G, keys, frames, fps, scratch_file("morph.mp4")))
