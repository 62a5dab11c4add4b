"""The Video tab: a clip in, the same clip out with the face edited in every frame where it is found, steady, in
place, with its sound (see `studio.workflows.video_edit`)."""

from __future__ import annotations

import contextlib

import gradio as gr

from studio import workflows as wf
from studio.workflows import video_edit as video

from .common import MODELS, Page, friendly, gpu, number
from .files import png, scratch_file

PTI_STEPS = 100
TUNING_NOTE = (
    "Every frame is encoded (instant), one generator is tuned on 8 frames of the clip (about a minute for 100 "
    "steps on the demo model, 2 CPU cores), then each edited face is put back. Frames without the face stay as "
    f"they were. Clips up to {video.MAX_SECONDS:g} s."
)


def build(page: Page, edits: gr.JSON) -> None:
    """`edits`: the Edit tab's sliders, which "Use the Edit tab's edits" copies here."""
    with gr.Tab("Video"):
        with gr.Row():
            clip = gr.Video(label="Clip (upload)", sources=["upload"], elem_id="video-in")
            edited = gr.Video(label="Edited clip", interactive=False, elem_id="video-out")
        gr.Examples([str(p) for p in wf.sample_clips()], clip, label="Or try the example clip")
        with gr.Row():
            wanted = gr.Textbox("smile=2", label="Edits (name=strength, ...)", scale=3, elem_id="video-edits")
            from_editor = gr.Button("Use the Edit tab's edits", scale=1)
        with gr.Row():
            pti = gr.Slider(
                0, 350, value=PTI_STEPS, step=10, label="Tune the generator on the clip (PTI steps, 0: off)"
            )
            face = gr.Number(0, precision=0, minimum=0, label="Face (0: the largest)")
            gr.Markdown(TUNING_NOTE)
        with gr.Row():
            preview_btn = gr.Button("Preview one frame")
            start_btn = gr.Button("Edit the clip", variant="primary", scale=2)
            stop_btn = gr.Button("Stop", variant="stop")
        with gr.Row():
            preview = gr.Image(label="One frame, edited", interactive=False, format="png", height=320)
            summary = gr.Markdown()
    private = dict(api_visibility="private")
    from_editor.click(edits_as_text, edits, wanted, **private)
    edits.change(follow_editor, [edits, wanted], wanted, **private)  # the Edit tab's picker picks here too
    inputs = [page.model, clip, wanted, pti, face]
    preview_btn.click(preview_edit, [page.model, clip, wanted, face], preview, api_name="video_preview")
    editing = start_btn.click(edit_clip, inputs, [edited, summary], api_name="video_edit")
    stop_btn.click(None, None, None, cancels=[editing], **private)


def edits_as_text(edits: dict | None) -> str:
    """The Edit tab's sliders {"smile": {"strength": 2, ...}} as 'smile=2' (the strengths that are not 0)."""
    parts = [f"{name}={edit.get('strength', 0):g}" for name, edit in (edits or {}).items() if edit.get("strength")]
    if not parts:
        raise gr.Error("The Edit tab has no edit yet: move a slider there first, or type one here.")
    return ", ".join(parts)


def follow_editor(edits: dict | None, typed: str) -> str:
    """The Edit tab's sliders as this tab's edits whenever they change (where they edit anything)."""
    try:
        return edits_as_text(edits)
    except gr.Error:
        return typed


def _clip_path(path: str | None) -> str:
    if not path:
        raise gr.Error("Upload a clip first.")
    return path


@friendly
@gpu
def preview_edit(model: str, clip: str | None, edits: str, face: float):
    G, encoder = MODELS.get(model), _encoder(model)
    frame = video.preview_frame(
        G, _clip_path(clip), edits, MODELS.directions(model), encoder, face=int(number(face, "a face number"))
    )
    return png(frame)


def _encoder(model: str):
    encoder = MODELS.encoder(model)
    if encoder is None:
        raise gr.Error(f"{model} has no image encoder: video edits encode every frame with one.")
    return encoder


@friendly
@gpu(duration=600)
def edit_clip(
    model: str,
    clip: str | None,
    edits: str,
    pti_steps: float,
    face: float,
    progress=gr.Progress(),  # noqa: B008  (Gradio injects progress through this default)
):
    """The clip with the face edited in every frame where it is found (MP4, its own size, rate and sound)."""
    clip = _clip_path(clip)
    G, encoder = MODELS.get(model), _encoder(model)
    steps, which = int(number(pti_steps, "a number of tuning steps (0: none)")), int(number(face, "a face number"))
    out = scratch_file("edited.mp4")

    def work(events: wf.Progress) -> video.VideoEdit:
        directions = MODELS.directions(model)
        return video.edit_video(G, clip, out, edits, directions, encoder, face=which, pti_steps=steps, progress=events)

    yield None, "Editing the clip..."  # Gradio can cancel a handler only once it has yielded
    with contextlib.closing(wf.stream(work)) as items:  # Stop or a closed tab closes it: the work stops too
        for item in items:
            if isinstance(item, wf.Finished):
                yield str(item.result.path), item.result.summary()
            else:
                label = video.STAGES.get(item.stage, item.stage)
                progress(item.step / max(item.total, 1), desc=f"{label}: {item.step}/{item.total}")
