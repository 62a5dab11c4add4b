"""What every tab's handlers share: the process's models, the page's frame (model box and editor face), and
turning failures into one-line messages in the page (never a traceback, never a path on the server)."""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
import re
import tempfile
import traceback
from dataclasses import dataclass

import gradio as gr
import torch

from studio import workflows as wf
from stylegan_core.hub import default_model_name
from stylegan_core.precision import effective_precision

from .files import png

try:  # ZeroGPU Spaces: run the GPU-bound functions on a borrowed GPU; elsewhere a no-op
    import spaces

    gpu = spaces.GPU
except ImportError:

    def gpu(fn=None, **_kwargs):
        return fn if fn is not None else (lambda f: f)


log = logging.getLogger("studio.app")
DEVICE = os.environ.get("STUDIO_DEVICE", "cuda" if torch.cuda.is_available() else "cpu")
# On a public Space a visitor must not open the server's files by typing a path into the model box.
LOCAL_MODELS = os.environ.get("STUDIO_LOCAL_MODELS", "0" if os.environ.get("SPACE_ID") else "1") == "1"
MODELS = wf.ModelCache(size=2, device=DEVICE, allow_local=LOCAL_MODELS)
FACE_PX = 320  # faces are shown at least this tall, whatever the model's resolution
PHOTO = "Your photo"  # how messages name an upload (never by the server's copy of it)
_SERVER_PATH = re.compile(rf"(?:{re.escape(tempfile.gettempdir())}|/tmp)/\S*?([^/\s]+)(?=[:\s]|$)")


@dataclass
class Page:
    """The components every tab reads or writes: the model box, the face in the editor and how it is shown."""

    model: gr.Dropdown
    current: gr.State  # the face in the editor (a workflows.Latent)
    picked: gr.Markdown | None = None  # its label (drawn by the Generate tab)
    picked_image: gr.Image | None = None  # its picture (drawn by the Generate tab)

    @property
    def editor(self) -> list:
        """The outputs of a handler that puts a face into the editor (see `into_editor`)."""
        return [self.current, self.picked, self.picked_image]


def face_image(label: str, **kwargs) -> gr.Image:
    """An output picture of a face, shown at least FACE_PX tall."""
    return gr.Image(label=label, interactive=False, format="png", height=FACE_PX, elem_classes="face", **kwargs)


def without_server_paths(text: str) -> str:
    """A message with every temporary path on the server cut to its file name."""
    return _SERVER_PATH.sub(r"\1", text)


def _as_message(exc: Exception, where: str) -> gr.Error:
    if isinstance(exc, ValueError | OSError | RuntimeError):  # expected: bad input, missing file, offline Hub
        return gr.Error(without_server_paths(str(exc).split("\n")[0]))
    log.error("unexpected error in %s:\n%s", where, traceback.format_exc())
    return gr.Error("Something went wrong on our side; please try again.")


def friendly(fn):
    """Every expected failure becomes a message in the page; anything else a short notice, never a traceback."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:
                raise _as_message(exc, fn.__name__) from None

        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            raise _as_message(exc, fn.__name__) from None

    return call


def number(value: float | None, what: str) -> float:
    """A number box's or slider's value: an emptied box (None) or, through the API, NaN is a message."""
    if value is None or not math.isfinite(value):
        raise gr.Error(f"Enter {what}.")
    return value


def read_upload(path: str | None):
    """A visitor's photo through our own reader, named as theirs in every message."""
    if not path:
        raise gr.Error("Upload a photo first.")
    return wf.read_photo(path, shown_name=PHOTO)


def start_model(name: str | None = None) -> str:
    """The model the page opens with (default: FFHQ online, the demo model offline); the operator's choice
    may be a file even where visitors' paths are refused."""
    name = name or default_model_name()
    MODELS.trust(name)
    return name


def about_text() -> str:
    """The page's About: what renders in which precision on this server."""
    fast = effective_precision(wf.PREVIEW_PRECISION, DEVICE)
    where = (
        "this server has native bfloat16, so they run in bf16"
        if fast == "bf16"
        else "this server has no native bfloat16 (it needs AVX512-BF16 / AMX or an Ampere+ GPU), so they run in fp32"
    )
    return (
        "Pure-PyTorch StyleGAN v1 / 2 / 3 (the official generators' pixels in fp32).\n\n"
        "**Precision.** The gallery, slider previews, drag steps, pivotal tuning, encoders and video frames use the "
        "fast path: the generator's convolutions in bfloat16, channels-last (47-55 dB PSNR against fp32 for "
        f"StyleGAN2 / 3, under a grey level on average); {where}. A face's full render, `studio generate` and "
        "the classic projection stay fp32."
    )


def release_face(latent) -> None:
    """gr.State's delete_callback: a session's tuned generator goes when the session does."""
    MODELS.release(latent)


def model_choices(default: str) -> list[str]:
    choices = wf.model_choices()
    return choices + ([default] if default not in choices else [])


def into_editor(model: str, latent: wf.Latent):
    """The editor's new face: its state, its label and its picture."""
    return latent, f"In the editor: {latent.label}", png(wf.render(MODELS.for_latent(model, latent), latent)[0])


def progress_for(progress, desc: str) -> wf.Progress:
    """A workflow's progress events as the page's progress bar."""
    return wf.Progress(lambda e: progress(e.step / max(e.total, 1), desc=f"{desc}: {e.step}/{e.total}"))
