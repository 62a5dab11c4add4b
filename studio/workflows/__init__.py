"""The user-level tasks, written once for the app, the command line and the Python API.

Each function takes plain inputs (a generator, images, latents, numbers) and returns a typed result; long
work reports through `Progress` (events out, a stop request in). Nothing here prints or knows Gradio.
"""

from .drag import Dragged, drag_face, draw_points, drawn_scale, parse_points
from .edit import (
    LAYER_CHOICES,
    DirectionEdit,
    EditStrip,
    Slider,
    apply_edits,
    as_edits,
    attribute_scorer,
    direction_sets,
    directions_of,
    edit_directions,
    edit_strips,
    identity_to_photo,
    in_w,
    parse_edits,
    sliders_for,
)
from .gallery import LAST_SEED, SeedPage, seed_page
from .invert import (
    PTI_STEPS,
    SAME_PERSON,
    Inversion,
    ProjectionReport,
    default_preset,
    default_pti,
    encoder_with_decoder,
    invert_photo,
    model_encoder,
)
from .latents import PREVIEW_PRECISION, Latent, latent_from_file, render, seed_latents, tuned_beside
from .mix import MixGrid, MixResult, mix, mix_faces, mix_grid
from .models import ModelCache, current_snapshot, model_choices
from .morph import face_variations, morph_frames, morph_video, seed_keys
from .photos import FaceChoice, align_photo, find_faces, read_photo, sample_clips, sample_photos, save_photo
from .progress import SILENT, Finished, Progress, ProgressEvent, stream
from .retouch import Retouch, RetouchedFace, face_placements, paste_edit, paste_images, retouch_photo
from .train import TrainingInterrupted, resume_hint, run_training
from .tuned import TunedGenerators
from .video_edit import VideoEdit, VideoStopped, edit_video, preview_frame

__all__ = [
    "PREVIEW_PRECISION",
    "VideoEdit",
    "VideoStopped",
    "edit_video",
    "preview_frame",
    "Dragged",
    "draw_points",
    "drawn_scale",
    "drag_face",
    "parse_points",
    "LAST_SEED",
    "LAYER_CHOICES",
    "SAME_PERSON",
    "SILENT",
    "DirectionEdit",
    "EditStrip",
    "FaceChoice",
    "Finished",
    "Inversion",
    "Latent",
    "MixGrid",
    "MixResult",
    "ModelCache",
    "Progress",
    "ProgressEvent",
    "ProjectionReport",
    "SeedPage",
    "Slider",
    "TrainingInterrupted",
    "TunedGenerators",
    "align_photo",
    "apply_edits",
    "attribute_scorer",
    "current_snapshot",
    "default_preset",
    "default_pti",
    "PTI_STEPS",
    "direction_sets",
    "directions_of",
    "edit_strips",
    "encoder_with_decoder",
    "face_variations",
    "find_faces",
    "identity_to_photo",
    "in_w",
    "invert_photo",
    "latent_from_file",
    "mix",
    "mix_faces",
    "mix_grid",
    "parse_edits",
    "model_choices",
    "model_encoder",
    "morph_frames",
    "morph_video",
    "read_photo",
    "sample_clips",
    "sample_photos",
    "save_photo",
    "Retouch",
    "RetouchedFace",
    "face_placements",
    "paste_edit",
    "paste_images",
    "retouch_photo",
    "tuned_beside",
    "edit_directions",
    "as_edits",
    "render",
    "resume_hint",
    "run_training",
    "seed_keys",
    "seed_latents",
    "seed_page",
    "sliders_for",
    "stream",
]
