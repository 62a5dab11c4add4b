"""Gradio components changed for this app."""

from __future__ import annotations

import gradio as gr
from gradio.data_classes import ImageData


class PhotoUpload(gr.Image):
    """An image input (upload or webcam) whose file reaches our handler untouched: Gradio's own preprocessing
    opens it with Pillow first, so an empty file, an HTML page named .png or a decompression bomb failed before
    any handler could say why, and a 16-bit photo was clipped to white on its way to RGB. Our reader
    (`studio.workflows.read_photo`) does all of that with a message per kind of failure. Make it with
    `type="filepath", image_mode=None` (its constructor is gr.Image's: Gradio reads the page's properties from
    that signature); the handler always gets the uploaded file's path."""

    is_template = True  # Gradio's mark for a component that is drawn as its parent class (gr.Image)

    @classmethod
    def get_component_class_id(cls) -> str:
        return gr.Image.get_component_class_id()  # else the page would look for a custom component's own script

    def preprocess(self, payload: ImageData | None) -> str | None:
        if payload is None:
            return None
        if payload.path is None:  # a data: URL (an API client's base64 image): Gradio decodes those itself
            return super().preprocess(payload)
        return payload.path
