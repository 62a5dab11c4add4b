"""The Drag tab (DragGAN): click a handle then its target on the editor's face, paint the region that may move if
you like, and drag; the result becomes the editor's face (edit it further, paste it into its photo), Undo goes back.
"""

from __future__ import annotations

import contextlib

import gradio as gr
import numpy as np
from PIL import Image

from editing.drag import DragOptions
from studio import workflows as wf

from .common import MODELS, Page, friendly, gpu, into_editor, number
from .files import png, scratch_file

CANVAS_PX = 480  # the clickable face's box (the face is drawn at about 448 px: Gradio maps clicks on unscaled images)
STEP_LIMIT = 200  # the paper's runs stop well before this on faces
HOW_TO = (
    "Click a **handle** (red) on the face, then its **target** (blue); as many pairs as you like. "
    "Optionally paint the region that may move (the rest keeps still). **Start** drags; the result becomes the "
    "editor's face, so the Edit tab edits it further and a projected photo gets it back in place."
)


def build(page: Page) -> None:
    with gr.Tab("Drag"):
        gr.Markdown(HOW_TO)
        with gr.Row():
            canvas = gr.Image(
                label="Click: handle, then target",
                interactive=False,
                format="png",
                height=CANVAS_PX,
                elem_id="drag-canvas",
            )
            region = gr.ImageEditor(
                label="Movable region (optional: paint it)",
                type="numpy",
                sources=(),
                transforms=(),
                layers=False,
                brush=gr.Brush(colors=["#40e040"], default_size=12, color_mode="fixed"),
                height=CANVAS_PX,
                elem_id="drag-region",
            )
        with gr.Row():
            points = gr.Textbox(
                label="Points (handle>target, pixels of the model's image)", scale=3, elem_id="drag-points"
            )
            steps = gr.Slider(10, 500, value=STEP_LIMIT, step=10, label="Step limit")
        with gr.Row():
            start_btn = gr.Button("Start", variant="primary", scale=2)
            stop_btn = gr.Button("Stop", variant="stop")
            undo_btn = gr.Button("Undo last drag")
            reset_btn = gr.Button("Reset points and region")
        with gr.Row():
            report = gr.Markdown()
            latent_file = gr.File(label="projected_w.npz (the dragged face)")
        history = gr.State([])  # the editor's faces before each drag, for Undo
        face = gr.State(None)  # the editor's face as rendered [H, W, 3]: what the clicks are drawn on
        api_points, api_mask = gr.JSON(visible="hidden"), gr.Image(type="numpy", image_mode="L", visible="hidden")
        api_image = gr.Image(visible="hidden", format="png")
        api_btn = gr.Button("Drag", visible=False)  # the API's endpoint (made in the tab: else it splits the tab row)
    private = dict(api_visibility="private")
    page.current.change(show_face, [page.model, page.current, points], [face, canvas, region], **private)
    canvas.select(add_click, [face, points], [points, canvas], **private)
    points.submit(redraw, [face, points], canvas, **private)
    reset_btn.click(reset, face, [points, canvas, region], **private)
    outputs = [canvas, report, latent_file, points, history, *page.editor]
    dragging = start_btn.click(
        start_drag, [page.model, page.current, history, points, region, steps], outputs, **private
    )
    stop_btn.click(None, None, None, cancels=[dragging], **private)
    undo_btn.click(undo, [page.model, history], [history, *page.editor], **private)
    api_btn.click(
        drag_api,
        [page.model, page.current, history, api_points, api_mask, steps],
        [api_image, latent_file, history, *page.editor],
        api_name="drag",
    )


def _split(text: str | None) -> tuple[list[list[float]], list[float] | None]:
    """The points box as complete handle>target pairs and a last handle still waiting for its target."""
    text = (text or "").strip().rstrip(";").strip()
    pending = None
    if text.endswith(">"):
        head, _, last = text[:-1].rpartition(";")
        pending = [float(v) for v in last.split(",")]
        text = head
    return (wf.parse_points(text) if text.strip() else []), pending


def _points_text(pairs: list[list[float]], pending: list[float] | None) -> str:
    parts = [f"{hx:g},{hy:g}>{tx:g},{ty:g}" for hx, hy, tx, ty in pairs]
    if pending is not None:
        parts.append(f"{pending[0]:g},{pending[1]:g}>")
    return "; ".join(parts)


def _canvas(image: np.ndarray, pairs: list[list[float]], pending: list[float] | None) -> np.ndarray:
    array = np.asarray(pairs, dtype=float).reshape(-1, 4)
    return wf.draw_points(image, array[:, :2], array[:, 2:], pending)


@friendly
@gpu
def show_face(model: str, latent: wf.Latent | None, text: str | None):
    """The editor's face rendered once: kept for the clicks, shown enlarged with the points drawn, and put under
    the region editor."""
    if latent is None:
        return None, None, None
    face = wf.render(MODELS.for_latent(model, latent), latent)[0]
    return face, redraw(face, text), _unpainted(face)


def _unpainted(face: np.ndarray) -> dict:
    """The region editor's value: the face enlarged as the canvas shows it, nothing painted."""
    background = wf.draw_points(face, np.zeros((0, 2)), np.zeros((0, 2)))
    return {"background": background, "layers": [], "composite": None}


def reset(face: np.ndarray | None):
    """No points, nothing painted: the face as it is."""
    return "", redraw(face, ""), None if face is None else _unpainted(face)


@friendly
def redraw(face: np.ndarray | None, text: str | None):
    """The shown face [H, W, 3] with the points box's points drawn."""
    if face is None:
        return None
    return png(_canvas(face, *_split(text)))


@friendly
def add_click(face: np.ndarray | None, text: str | None, event: gr.SelectData):
    """A click on the face: a new handle, or the target of the handle clicked before."""
    if face is None:
        raise gr.Error("Pick a face first: click one in Generate, or project a photo.")
    size = face.shape[0]
    scale = wf.drawn_scale(size)
    x, y = ((float(v) + 0.5) / scale - 0.5 for v in event.index[:2])
    x, y = round(min(max(x, 0), size - 1), 1), round(min(max(y, 0), size - 1), 1)
    pairs, pending = _split(text)
    if pending is None:
        pending = [x, y]
    else:
        pairs, pending = [*pairs, [*pending, x, y]], None
    return _points_text(pairs, pending), png(_canvas(face, pairs, pending))


def painted_region(editor: dict | None, resolution: int) -> np.ndarray | None:
    """The movable region [resolution, resolution] (True: may move) from the region editor's painted layer, or
    None where nothing is painted (the whole face may move)."""
    layers = (editor or {}).get("layers") or []
    painted = [np.asarray(layer)[..., -1] > 0 for layer in layers if layer is not None and np.ndim(layer) == 3]
    if not painted or not any(p.any() for p in painted):
        return None
    union = np.logical_or.reduce(painted).astype(np.uint8) * 255
    small = Image.fromarray(union).resize((resolution, resolution), Image.Resampling.BOX)
    return np.asarray(small) > 0  # a pixel any part of which was painted may move


def _dragging(model: str, latent: wf.Latent, points, mask: np.ndarray | None, steps: float, previews: bool = True):
    """The drag as a stream: progress events (with previews: the face and its points every few steps), then
    Finished(Dragged). Close it to stop the drag."""
    steps = int(number(steps, "a step limit"))
    G = MODELS.for_latent(model, latent)
    every = (5 if G.img_resolution <= 256 else 10) if previews else 0
    options = DragOptions(steps=steps)
    return wf.stream(
        lambda events: wf.drag_face(G, latent, points, mask=mask, options=options, preview_every=every, progress=events)
    )


def _report(dragged: wf.Dragged) -> str:
    state = "reached their targets" if dragged.reached else "stopped short of their targets"
    return f"Handles {state} after {dragged.steps} steps ({dragged.seconds:.1f} s)."


@friendly
@gpu(duration=120)
def start_drag(model: str, latent: wf.Latent | None, history: list, text: str | None, region: dict | None, steps):
    """Start: the face and its points redrawn every few steps; at the end the result is the editor's face and
    the points start from where the handles ended."""
    if latent is None:
        raise gr.Error("Pick a face first: click one in Generate, or project a photo.")
    pairs, pending = _split(text)
    if pending is not None:
        raise gr.Error("The last handle has no target yet: click where it should go.")
    if not pairs:
        raise gr.Error("Click a handle on the face, then its target.")
    mask = painted_region(region, MODELS.for_latent(model, latent).img_resolution)
    keep = (gr.update(),) * 6
    yield gr.update(), "Dragging...", *keep  # Gradio can cancel a handler only once it has yielded
    with contextlib.closing(_dragging(model, latent, pairs, mask, steps)) as items:  # Stop closes it
        for item in items:
            if isinstance(item, wf.Finished):
                dragged = item.result
                ended = np.concatenate([dragged.handles, dragged.targets], axis=1).round(1).tolist()
                npz = str(dragged.latent.save(scratch_file("projected_w.npz")))
                canvas = png(_canvas(dragged.image, ended, None))
                history = [*(history or []), latent]
                yield (
                    canvas,
                    _report(dragged),
                    npz,
                    _points_text(ended, None),
                    history,
                    *into_editor(model, dragged.latent),
                )
            elif item.preview is not None:
                yield png(item.preview), f"Dragging: step {item.step} of {item.total}", *keep


@friendly
@gpu(duration=120)
def drag_api(model: str, latent: wf.Latent | None, history: list, points, mask: np.ndarray | None, steps):
    """API: the editor's face dragged by `points` [[hx, hy, tx, ty], ...] (or 'hx,hy>tx,ty; ...') in pixels of
    the model's image, with an optional mask (the model's size, white: may move); returns the image (no points
    drawn) and the latent, and the result becomes the editor's face."""
    if latent is None:
        raise gr.Error("Pick a face first: click one in Generate, or project a photo.")
    if points is None:
        raise gr.Error("Give the points: [[hx, hy, tx, ty], ...] in pixels of the model's image.")
    movable = None if mask is None else mask > 127
    with contextlib.closing(_dragging(model, latent, points, movable, steps, previews=False)) as items:
        dragged = next(item for item in items if isinstance(item, wf.Finished)).result
    npz = str(dragged.latent.save(scratch_file("projected_w.npz")))
    return png(dragged.image), npz, [*(history or []), latent], *into_editor(model, dragged.latent)


@friendly
def undo(model: str, history: list):
    """The editor's face as it was before the last drag."""
    if not history:
        raise gr.Error("Nothing to undo.")
    return history[:-1], *into_editor(model, history[-1])
