"""The editor's face with the page's edits: what the Edit tab's face and its photo panel both draw."""

from __future__ import annotations

import gradio as gr

from studio import workflows as wf

from .common import MODELS


def edited_face(model: str, latent: wf.Latent | None, layers: str, edits) -> wf.Latent:
    """The editor's face with the page's edits applied (on its own tuned generator where it has one)."""
    if latent is None:
        raise gr.Error("Pick a face first: click one in Generate, or project a photo.")
    G = MODELS.for_latent(model, latent)
    directions, scorer = MODELS.directions(model), wf.attribute_scorer(model, G)
    return wf.apply_edits(G, latent, directions, edits, layers or "all", scorer)
