"""The Edit tab: the editor's face moved along the model's directions with a slider row per picked direction;
a projected face is also shown edited in its own photo (see `photo_panel`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

import gradio as gr

from studio import workflows as wf

from . import photo_panel
from .common import MODELS, Page, face_image, friendly, gpu, progress_for
from .editor import edited_face
from .files import png

SHOWN_PER_GROUP = 2  # sliders a model opens with, per group; the picker adds any other
SLIDER_ROWS = 16  # directions edited at once (each has its row); the picker offers every one of the model


def build(page: Page, demo: gr.Blocks) -> gr.JSON:
    """The tab; returns its edits ({name: {"strength", "layers", "hold"}}), which the Video tab can take."""
    with gr.Tab("Edit"):
        edits = gr.JSON({}, visible="hidden")  # {name: {"strength", "layers", "hold"}}: what the sliders say
        shown = gr.State([])  # the direction each slider row shows, row by row
        with gr.Row():
            picker = gr.Dropdown(
                [],
                multiselect=True,
                max_choices=SLIDER_ROWS,
                label=f"Directions (type to search; each one picked gets a slider, up to {SLIDER_ROWS})",
                scale=3,
            )
            layers = gr.Radio(list(wf.LAYER_CHOICES), value="all", label="Layers (of directions without their own)")
            reset_btn = gr.Button("Reset", scale=0)
        with gr.Row():
            with gr.Column(scale=3):
                rows = [_slider_row() for _ in range(SLIDER_ROWS)]  # (row, strength, layers, keep fixed)
            with gr.Column(scale=2):
                edited = face_image("Edited face", elem_id="edited")
                identity = gr.Markdown()
        panel = photo_panel.build(page, layers, edits)
        api_buttons = [gr.Button(name, visible=False) for name in ("Render", "Preview", "Directions")]
        listing = gr.JSON(visible=False)
    private = dict(api_visibility="private")
    inputs = [page.model, page.current, layers, edits]
    render_btn, preview_btn, directions_btn = api_buttons  # the API's named endpoints
    render_btn.click(edit_full, inputs, [edited, identity], api_name="edit")
    preview_btn.click(edit_preview, inputs, edited, api_name="preview")
    directions_btn.click(list_directions, page.model, listing, api_name="directions")
    full = dict(fn=edit_full, inputs=inputs, outputs=[edited, identity], **private)
    menu = dict(fn=direction_menu, inputs=page.model, outputs=[picker, edits], **private)
    page.model.change(**menu)
    demo.load(**menu)
    row_outputs = [shown, *[c for row in rows for c in row]]
    picker.change(slider_rows, [page.model, picker, edits], row_outputs, **private)
    picker.input(keep_picked, [edits, picker], edits, **private)
    for i, (_, strength, own, hold) in enumerate(rows):
        for box, key in ((strength, "strength"), (own, "layers"), (hold, "hold")):  # a visitor's changes only
            box.input(row_setter(i, key), [edits, shown, box], edits, **private)
        strength.release(**full).then(**panel.full)
    edits.change(edit_preview, inputs, edited, trigger_mode="always_last", show_progress="hidden", **private).then(
        **panel.preview
    )
    for source in (layers, page.current):
        source.change(**full).then(**panel.full)
    reset_btn.click(lambda: {}, None, edits, **private).then(
        slider_rows, [page.model, picker, edits], row_outputs, **private
    ).then(**full).then(**panel.full)
    return edits


def _slider_row():
    with gr.Row(visible=False) as row:
        return (
            row,
            gr.Slider(-3, 3, value=0, step=0.1, scale=3),
            gr.Dropdown(list(wf.LAYER_CHOICES), value=None, scale=1),
            gr.Dropdown([], value=[], multiselect=True, label="keep fixed", scale=2),
        )


@friendly
def direction_menu(
    model: str,
    progress=gr.Progress(),  # noqa: B008  (Gradio injects progress through this default)
):
    """The picker of every direction of the model (grouped, searchable), a few opened as sliders, no edits yet.
    Z boundaries get their W equivalents here, once per model."""
    directions = MODELS.directions(model, progress_for(progress, "W equivalents of the Z directions"))
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


@friendly
@gpu
def edit_preview(model: str, latent: wf.Latent | None, layers: str, edits):
    G = MODELS.for_latent(model, edited := edited_face(model, latent, layers, edits))
    return png(wf.render(G, edited, size=min(G.img_resolution, 256), precision=wf.PREVIEW_PRECISION)[0])


@friendly
@gpu
def edit_full(model: str, latent: wf.Latent | None, layers: str, edits):
    """The edited face at full resolution and, for a projected photo, how far it is from being that person.
    `edits`: {"smile": 2, "age": {"strength": -1, "hold": ["eyeglasses"], "layers": "4-7"}} or "smile=2, age=-1"."""
    edited = edited_face(model, latent, layers, edits)
    image = wf.render(MODELS.for_latent(model, edited), edited)[0]
    distance = wf.identity_to_photo(edited, image)
    if distance is None:
        return png(image), ""
    verdict = "same person" if distance < wf.SAME_PERSON else "no longer reads as the same person"
    return png(image), f"Identity distance to your photo: **{distance:.3f}** ({verdict}; dlib's threshold 0.6)"
