"""Face edits on a clip: clips made here from the bundled example photo (a known camera path, blank frames, a
tone), edited on the demo model; the face track's smoothing and gaps; Stop; bad input."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from clips import make_clip, make_tone
from PIL import Image

from editing.align import FaceBox, ffhq_quad
from editing.clip import ClipError, frames_of, probe_clip
from editing.face_track import CropFrame, bridge_gaps, crop_jitter, follow, smooth_crops
from studio.cli import main
from studio.web.files import example_photos
from studio.workflows import Progress, directions_of, model_encoder
from studio.workflows.video_edit import VideoStopped, check_clip, edit_video
from stylegan_core import load_generator

BLANK = (8, 9, 15, 16, 17, 18, 19, 20)  # a blink of two frames, then six: the face gone for a while


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    return Image.open(next(p for p in example_photos() if Path(p).name == "obama.jpg"))


@pytest.fixture(scope="module")
def clip(portrait, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "pan.mp4"
    return make_clip(path, portrait, frames=28, fps=12, blank=BLANK, centre=(0.54, 0.27), zoom_from=1.4)


@pytest.fixture(scope="module")
def demo():
    G = load_generator("demo")
    return G, model_encoder("demo", G), directions_of("demo")


def test_studio_video_edit_keeps_frames_rate_size_and_sound_and_leaves_faceless_frames_as_they_were(clip, tmp_path):
    """The console command: the same frame count, rate, size and a sound track out; the face edited where it is
    found; frames without a face exactly the decoded source frames (the PNGs; the MP4 within x264's loss)."""
    out, frames = tmp_path / "edited.mp4", tmp_path / "frames"
    flags = ["--pti", "2", "--refine", "1", "--frames", str(frames), "--out", str(out)]
    assert main(["video-edit", str(clip), "--network", "demo", "--edit", "smile=2", *flags]) == 0
    source, edited = probe_clip(clip), probe_clip(out)
    assert (edited.size, edited.fps, edited.has_audio) == (source.size, source.fps, True)
    originals = list(frames_of(source))
    written = sorted(frames.glob("frame_*.png"))
    assert len(written) == len(originals) == len(list(frames_of(edited))) == 28
    for i, (original, png) in enumerate(zip(originals, written, strict=True)):
        pixels = np.asarray(Image.open(png))
        if i in BLANK:
            assert np.array_equal(pixels, original), f"frame {i} has no face and must stay as it was"
        else:
            assert np.abs(pixels.astype(int) - original).max() > 20, f"frame {i}: the face was not edited"
    replayed = list(frames_of(edited))[BLANK[0]]  # through the codec: within its loss of a re-encode
    assert np.abs(replayed.astype(int) - originals[BLANK[0]]).mean() < 2
    assert not list(tmp_path.glob("*.partial*"))


def test_the_bridged_blink_and_the_long_gap(clip, demo):
    """Two blank frames lie within the bridging distance, yet their crops do not look like the face: not edited."""
    G, encoder, directions = demo
    out = Path(tempfile.mkdtemp()) / "out.mp4"
    result = edit_video(G, clip, out, {"smile": 1}, directions, encoder)
    assert result.frames == 28 and result.edited_frames == 28 - len(BLANK)
    assert result.jitter_smoothed < result.jitter_raw


def test_smoothing_lowers_the_jitter_of_a_noisy_detector(portrait):
    """Landmarks moving steadily plus detector noise: the smoothed crop shakes far less than the detected one."""
    from editing.align import detect_faces, face_landmarks

    landmarks = face_landmarks(portrait, detect_faces(portrait)[0]).astype(float)
    rng = np.random.default_rng(0)
    track = [landmarks + [i * 1.5, i * 0.5] + rng.normal(0, 1.5, landmarks.shape) for i in range(40)]
    raw = crop_jitter([CropFrame.of(lm) for lm in track])
    smoothed = crop_jitter(smooth_crops(track))
    assert smoothed < 0.4 * raw, (raw, smoothed)
    steady = crop_jitter(smooth_crops([landmarks + [i * 1.5, 0] for i in range(40)], 0, 0, 0))
    assert steady < 1e-6  # steady motion is not jitter
    quad = CropFrame.of(landmarks).quad  # the crop is FFHQ's
    assert np.allclose(quad, ffhq_quad(landmarks)[0])


def test_a_track_starts_only_on_a_confident_detection():
    """dlib's weak false alarms (a globe at night scored 0.0-0.1) start no track; a face already followed is kept
    however it scores, and a face far from it is another face."""
    weak, strong = FaceBox(10, 10, 60, 60, score=0.05), FaceBox(100, 10, 150, 60, score=1.5)
    assert follow([weak], None) is None
    assert follow([weak, strong], None) == 1
    assert follow([FaceBox(14, 12, 64, 62, score=0.0)], weak) == 0
    assert follow([strong], weak) is None


def test_gaps_up_to_five_frames_are_bridged_linearly():
    a, b = np.zeros((68, 2)), np.full((68, 2), 6.0)
    filled = bridge_gaps([a, None, None, b, None, *([None] * 6), a])
    assert np.allclose(filled[1], 2.0) and np.allclose(filled[2], 4.0)
    assert all(f is None for f in filled[4:11])  # six frames: too long, left without a face


def test_stop_leaves_no_file_behind(clip, demo, tmp_path):
    G, encoder, directions = demo
    before = set(Path(tempfile.gettempdir()).glob("studio-video-*"))
    events = []
    stop_late = Progress(events.append, lambda: len(events) > 60)  # in the last pass, frames half written
    out = tmp_path / "out.mp4"
    with pytest.raises(VideoStopped):
        edit_video(G, clip, out, {"smile": 1}, directions, encoder, frames_dir=tmp_path / "frames", progress=stop_late)
    assert events[-1].stage == "write"
    assert list(tmp_path.iterdir()) == []  # no clip, no partial clip, no frames
    assert set(Path(tempfile.gettempdir()).glob("studio-video-*")) == before


def test_bad_clips_get_clear_messages(portrait, demo, tmp_path):
    G, encoder, directions = demo
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(ClipError, match="not a video"):
        check_clip(text)
    tone = make_tone(tmp_path / "tone.m4a", 1)
    with pytest.raises(ClipError, match="no video stream"):
        check_clip(tone)
    long = make_clip(tmp_path / "long.mp4", portrait, frames=36, fps=12, audio=False)
    with pytest.raises(ClipError, match="3.0 s long; the limit is 2 s"):
        check_clip(long, max_seconds=2)
    faceless = make_clip(tmp_path / "blank.mp4", portrait, frames=6, fps=12, blank=range(6), audio=False)
    with pytest.raises(ClipError, match="no face found in any frame"):
        edit_video(G, faceless, tmp_path / "out.mp4", {"smile": 1}, directions, encoder)
    with pytest.raises(ValueError, match="no direction frown"):
        edit_video(G, faceless, tmp_path / "out.mp4", {"frown": 1}, directions, encoder)
    assert (
        main(["video-edit", str(text), "--network", "demo", "--edit", "smile=1", "--out", str(tmp_path / "o.mp4")]) != 0
    )
