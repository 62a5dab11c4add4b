"""The Generate tab: pages of seeds; a click puts a face into the editor."""

from __future__ import annotations

import random

import gradio as gr

from studio import workflows as wf

from .common import MODELS, Page, friendly, gpu, into_editor, number
from .files import png

PER_PAGE = 8
THUMBNAIL_PX = 256  # gallery pages of bigger models stop their synthesis here; a picked face renders in full


def build(page: Page, demo: gr.Blocks) -> None:
    with gr.Tab("Generate"):
        with gr.Row():
            psi = gr.Slider(0.0, 1.0, value=0.7, step=0.05, label="Truncation psi")
            noise = gr.Radio(["const", "random", "none"], value="const", label="Noise")
            number_box = gr.Number(value=0, precision=0, label="Page", minimum=0, maximum=2**32 // PER_PAGE - 1)
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
        page.picked = gr.Markdown()
        page.picked_image = gr.Image(
            label="Face in the editor", interactive=False, format="png", height=200, elem_classes="face"
        )
    latents = gr.State([])
    inputs, outputs = [page.model, number_box, psi, noise], [gallery, latents, page.picked]
    private = dict(api_visibility="private")
    gen_btn.click(generate_page, inputs, outputs, api_name="generate")
    for button, move in ((next_btn, lambda p: p + 1), (prev_btn, lambda p: max(p - 1, 0))):
        button.click(move, number_box, number_box, **private).then(generate_page, inputs, outputs, **private)
    rand_btn.click(random_page, None, number_box, **private).then(generate_page, inputs, outputs, **private)
    gallery.select(pick_from_gallery, [page.model, latents], page.editor, **private)
    seed_btn.click(pick_seed, [page.model, seed_box, psi], page.editor, api_name="pick_seed")
    demo.load(generate_page, inputs, outputs, **private)  # a first page, unasked


def random_page() -> int:
    return random.randrange(10_000)


@friendly
@gpu
def generate_page(model: str, page: int, psi: float, noise_mode: str):
    page, psi = int(number(page, "a page number")), number(psi, "a truncation psi")
    result = wf.seed_page(MODELS.get(model), model, page, PER_PAGE, psi, noise_mode, thumbnail=THUMBNAIL_PX)
    gallery = [(png(img), caption) for img, caption in zip(result.images, result.captions, strict=True)]
    return gallery, result.latents, f"Seeds {result.first_seed}-{result.first_seed + PER_PAGE - 1} of **{model}**"


@friendly
@gpu
def pick_from_gallery(model: str, latents: list, evt: gr.SelectData):
    if not latents:
        raise gr.Error("Generate a page of faces first.")
    return into_editor(model, latents[evt.index])


@friendly
@gpu
def pick_seed(model: str, seed: int, psi: float):
    seed, psi = int(number(seed, "a seed (a whole number from 0)")), number(psi, "a truncation psi")
    return into_editor(model, wf.seed_latents(MODELS.get(model), model, [seed], psi)[0])
