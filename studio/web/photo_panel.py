"""The Edit tab's photo panel: a projected face's edit shown in the visitor's own photo (a small photo while a
slider moves, full size on release), its download, and group photos retouched face by face or all at once."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
from PIL import Image

from editing.paste import BLENDS
from studio import workflows as wf

from .common import MODELS, PHOTO, Page, friendly, gpu
from .editor import edited_face
from .files import png, scratch_file

PREVIEW_SIDE = 768  # the photo's longer side while a slider moves
NOT_A_PHOTO = "Project a photo (Project tab) to see the edit in the photo itself."


def build(page: Page, layers: gr.Radio, edits: gr.JSON) -> SimpleNamespace:
    """The panel's layout and its own events; returns the `.then(**...)` steps the sliders chain: `preview`
    (after each move) and `full` (on release)."""
    with gr.Row():
        photo_view = gr.Image(label="Your photo, edited", interactive=False, height=480, elem_id="edited-photo")
        with gr.Column():
            blend = gr.Radio(list(BLENDS), value="auto", label="Blend (auto: direct where the render covers the face)")
            download = gr.File(
                label="Download the edited photo (full size, no metadata but its colour profile)",
                elem_id="photo-download",
            )
            keep_btn = gr.Button("Keep this edit in the photo (then project another face of it)")
            every_btn = gr.Button("Apply these edits to every face of the photo")
            stop_btn = gr.Button("Stop", variant="stop")
            note = gr.Markdown()
    retouched = gr.State(None)  # {"source": the upload's sha256, "path": that photo with the faces kept so far}
    private = dict(api_visibility="private")
    inputs = [page.model, page.current, layers, edits, blend, retouched]
    full = dict(fn=photo_full, inputs=inputs, outputs=[photo_view, download, note], **private)
    blend.change(**full)
    gr.Button("Edited photo", visible=False).click(
        photo_full, inputs, [photo_view, download, note], api_name="edited_photo"
    )
    keep_btn.click(keep_in_photo, inputs, [retouched, note], api_name="keep_in_photo")
    every = every_btn.click(every_face, inputs, [photo_view, download, note], api_name="every_face")
    stop_btn.click(None, None, None, cancels=[every], **private)
    preview = dict(fn=photo_preview, inputs=inputs, outputs=photo_view, show_progress="hidden", **private)
    return SimpleNamespace(full=full, preview=preview)


def _base_photo(latent: wf.Latent, retouched: dict | None) -> Image.Image:
    """The photo the edit goes into: the visitor's upload, or it with the faces they kept so far."""
    try:
        kept = retouched and retouched.get("source") == _fingerprint(latent.photo)
        return wf.read_photo(retouched["path"] if kept else latent.photo, shown_name=PHOTO)
    except OSError:
        raise gr.Error("Your photo is no longer on the server (uploads are kept an hour): project it again.") from None


def _fingerprint(path: str) -> str:
    """The photo's content hash: the same photo uploaded again (each API call uploads its own copy) is the same."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _in_photo(model: str, latent, layers: str, edits, blend: str, retouched, max_side: int | None):
    edited = edited_face(model, latent, layers, edits)
    G = MODELS.for_latent(model, edited)
    size = min(G.img_resolution, 256) if max_side else None
    image = wf.render(G, edited, size=size)[0]
    return wf.paste_images(G, latent, [image], _base_photo(latent, retouched), blend, max_side)[0]


def _has_photo(latent: wf.Latent | None) -> bool:
    return latent is not None and latent.placement is not None and latent.photo is not None


@friendly
@gpu
def photo_preview(model: str, latent, layers: str, edits, blend: str, retouched):
    if not _has_photo(latent):
        return None
    return png(_in_photo(model, latent, layers, edits, blend, retouched, PREVIEW_SIDE))


def _download(pixels, source: str) -> str:
    """The edited photo as a visitor's file: JPEG at quality 95, no metadata but the colour profile (no GPS)."""
    return str(wf.save_photo(pixels, scratch_file("edited.jpg"), Image.open(source).info.get("icc_profile")))


@friendly
@gpu
def photo_full(model: str, latent, layers: str, edits, blend: str, retouched):
    """The editor's face edited in its photo at full size, and that photo as a download (API: `/edited_photo`)."""
    if not _has_photo(latent):
        return None, None, NOT_A_PHOTO if latent is not None else ""
    path = _download(_in_photo(model, latent, layers, edits, blend, retouched, None), latent.photo)
    return path, path, ""


@friendly
@gpu
def keep_in_photo(model: str, latent, layers: str, edits, blend: str, retouched):
    """This face's edit stays in the photo: another face of it projected next is edited on top of this one."""
    if not _has_photo(latent):
        raise gr.Error(NOT_A_PHOTO)
    path = wf.save_photo(_in_photo(model, latent, layers, edits, blend, retouched, None), scratch_file("retouched.png"))
    kept = {"source": _fingerprint(latent.photo), "path": str(path)}
    return kept, "Kept. Pick another face in the Project tab and project it."


@friendly
@gpu(duration=600)
def every_face(
    model: str,
    latent,
    layers: str,
    edits,
    blend: str,
    retouched,
    progress=gr.Progress(),  # noqa: B008  (Gradio injects progress through this default)
):
    """The page's edits on every face of the editor face's photo (each projected and tuned as the model's default
    says); faces too small for the model are left and listed."""
    if not _has_photo(latent):
        raise gr.Error(NOT_A_PHOTO)
    G, photo = MODELS.get(model), _base_photo(latent, retouched)
    preset = wf.default_preset(model)

    def work(events: wf.Progress) -> wf.Retouch:
        return wf.retouch_photo(
            G,
            model,
            photo,
            edits,
            MODELS.directions(model),
            faces="all",
            preset=preset,
            encoder=MODELS.encoder(model) if preset == "refine" else None,
            pti_steps=wf.default_pti(model, G),
            blend=blend,
            layers=layers or "all",
            scorer=wf.attribute_scorer(model, G),
            progress=events,
        )

    yield gr.update(), gr.update(), "Retouching every face..."  # cancellable from here on
    with contextlib.closing(wf.stream(work)) as items:
        for item in items:
            if isinstance(item, wf.Finished):
                path = _download(item.result.image, latent.photo)
                skipped = ", ".join(f"face {i} ({side:.0f} px)" for i, side in item.result.skipped)
                yield (
                    path,
                    path,
                    f"{len(item.result.faces)} face(s) edited"
                    + (f"; too small for this model, left as they are: {skipped}" if skipped else ""),
                )
            elif item.total:
                progress(item.step / item.total, desc=f"{item.stage}: {item.step}/{item.total}")
