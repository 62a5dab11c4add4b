"""The launched web app, driven through gradio_client as a visitor's browser would drive it."""

from __future__ import annotations

import contextlib
import struct
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from browser import launched_app  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from studio import workflows as wf  # noqa: E402


@pytest.fixture(scope="module")
def url():
    with launched_app("demo") as address:
        yield address


def _image(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_generate_page(url):
    gallery, status = Client(url, verbose=False).predict("demo", 1, 0.7, "const", api_name="/generate")
    assert len(gallery) == 8 and gallery[0]["caption"] == "seed 8" and "demo" in status
    assert _image(gallery[0]["image"]).shape == (64, 64, 3)


def test_project_then_edit_mix_morph(url, photos):
    c = Client(url, verbose=False)
    aligned, recon, summary, npz = c.predict(
        "demo", handle_file(str(photos / "obama.jpg")), None, "fast", "w+", 10, api_name="/project"
    )
    assert _image(aligned).shape == (64, 64, 3) and _image(recon).shape == (64, 64, 3)
    assert summary["steps"] == 10 and 0 < summary["lpips"] < 1
    w = np.load(npz)["w"]
    assert w.ndim == 3 and w.shape[0] == 1
    label, shown = c.predict("demo", handle_file(npz), api_name="/load_latent")  # the file round-trips
    assert "projected_w.npz" in label and np.abs(_image(shown).astype(int) - _image(recon).astype(int)).mean() < 1
    c.predict("demo", api_name="/use_projection")
    zero, identity = c.predict("demo", "all", {}, api_name="/edit")
    assert "Identity distance to your photo" in identity  # a projected face is checked against its photo
    moved, _ = c.predict("demo", "all", {"smile": 3.0}, api_name="/edit")
    assert np.abs(_image(zero).astype(int) - _image(moved).astype(int)).mean() > 1
    c.predict(api_name="/set_a")
    c.predict("demo", 5, 0.7, api_name="/pick_seed")
    c.predict(api_name="/set_b")
    mixed, strip = c.predict("demo", ["coarse", "middle", "fine"], api_name="/mix")
    b_image = _image(strip)[:, 64:128]
    assert np.array_equal(_image(mixed), b_image)  # every style from B is B
    c.predict(api_name="/add_to_morph")
    c.predict("demo", 9, 0.7, api_name="/pick_seed")
    c.predict(api_name="/add_to_morph")
    video = c.predict("demo", 8, 8, api_name="/morph")
    path = video["video"] if isinstance(video, dict) else video
    assert str(path).endswith(".mp4")


def test_named_directions_through_the_api(url):
    """`/directions` lists every built-in direction of the model in the page's order; `/edit` applies several
    by name at once, with a held attribute, as a dict or as text; an unknown name is a message."""
    c = Client(url, verbose=False)
    listed = c.predict("demo", api_name="/directions")
    assert [d["name"] for d in listed] == [s.name for s in wf.sliders_for(wf.directions_of("demo"))]
    assert {d["group"] for d in listed} >= {"expression", "pose", "face"}
    _, picked = c.predict("demo", 3, 0.7, api_name="/pick_seed")
    one, _ = c.predict("demo", "all", {"yaw": 2.0}, api_name="/edit")
    both, _ = c.predict("demo", "all", {"yaw": 2.0, "lighting": 2.0}, api_name="/edit")
    as_text, _ = c.predict("demo", "all", "yaw=2, lighting=2", api_name="/edit")
    held, _ = c.predict("demo", "all", {"yaw": {"strength": 2.0, "hold": ["lighting"]}}, api_name="/edit")
    images = [_image(x).astype(int) for x in (picked, one, both, as_text, held)]
    assert np.abs(images[1] - images[0]).mean() > 1 and np.abs(images[2] - images[1]).mean() > 1
    assert np.array_equal(images[2], images[3])  # the text form is the same edit
    assert not np.array_equal(images[4], images[1])  # holding lighting changes the yaw direction
    with pytest.raises(AppError, match="no direction 'blond'"):
        c.predict("demo", "all", {"blond": 1.0}, api_name="/edit")


def test_drag_through_the_api(url, tmp_path):
    """`/drag` drags the editor's face by [[hx, hy, tx, ty]] (or the CLI's text form), returns the image and the
    latent, and leaves the result in the editor; a mask keeps the rest still; bad points and masks are messages."""
    c = Client(url, verbose=False)
    _, picked = c.predict("demo", 3, 0.7, api_name="/pick_seed")
    points = [[25, 44, 22, 44], [39, 44, 42, 44]]  # the cheeks below the nose, outwards
    image, npz, label, _ = c.predict("demo", points, None, 30, api_name="/drag")
    before, after = _image(picked).astype(int), _image(image).astype(int)
    assert "dragged" in label and np.abs(after - before).mean() > 0.3  # the face moved
    edited, _ = c.predict("demo", "all", {}, api_name="/edit")  # the editor holds the dragged face
    assert np.array_equal(_image(edited), after)
    c.predict("demo", 3, 0.7, api_name="/pick_seed")
    c.predict("demo", handle_file(npz), api_name="/load_latent")  # the latent round-trips
    assert np.array_equal(_image(c.predict("demo", "all", {}, api_name="/edit")[0]), after)

    c.predict("demo", 3, 0.7, api_name="/pick_seed")
    mask = np.zeros((64, 64), np.uint8)
    mask[36:52, 16:48] = 255  # the lower middle of the face may move
    Image.fromarray(mask).save(tmp_path / "mask.png")
    held, *_ = c.predict(
        "demo", "25,44>22,44; 39,44>42,44", handle_file(str(tmp_path / "mask.png")), 30, api_name="/drag"
    )
    outside = mask == 0
    still, free = np.abs(_image(held).astype(int) - before)[outside], np.abs(after - before)[outside]
    assert still.mean() < free.mean()  # the masked drag changed less outside its region

    with pytest.raises(AppError, match="outside the 64x64 image"):
        c.predict("demo", [[25, 44, 90, 44]], None, 10, api_name="/drag")
    with pytest.raises(AppError, match="four numbers"):
        c.predict("demo", [[25, 44, 22]], None, 10, api_name="/drag")
    Image.fromarray(mask[::2, ::2]).save(tmp_path / "small.png")
    with pytest.raises(AppError, match="the mask is 32x32; it must be the image's 64x64"):
        c.predict("demo", points, handle_file(str(tmp_path / "small.png")), 10, api_name="/drag")


def test_video_edit_through_the_api(url, tmp_path):
    """`/video_preview` shows one frame edited, `/video_edit` returns the whole clip (same frames, rate, size and
    sound); a file that is not a video is a message naming it."""
    from editing.clip import frames_of, probe_clip

    clip = str(wf.sample_clips()[0])
    c = Client(url, verbose=False)
    frame = _image(c.predict("demo", handle_file(clip), "smile=2", 0, api_name="/video_preview"))
    source = probe_clip(clip)
    assert frame.shape == (source.height, source.width, 3)
    edited, summary = c.predict("demo", handle_file(clip), "smile=2", 0, 0, api_name="/video_edit")
    out = probe_clip(edited["video"] if isinstance(edited, dict) else edited)
    assert (out.size, out.fps, out.has_audio) == (source.size, source.fps, True)
    assert len(list(frames_of(out))) == len(list(frames_of(source))) and "frames edited" in summary
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a clip")
    with pytest.raises(AppError, match="notes.mp4 is not a video file"):
        c.predict("demo", handle_file(str(notes)), "smile=2", 0, 0, api_name="/video_edit")


def test_bad_inputs_get_messages_and_the_session_keeps_working(url, photos, tmp_path):
    c = Client(url, verbose=False)
    with pytest.raises(AppError, match="Upload a photo"):
        c.predict("demo", None, None, "fast", "w+", 10, api_name="/project")
    with pytest.raises(AppError, match="no face found"):
        c.predict("demo", handle_file(str(photos / "no_face.png")), None, "fast", "w+", 10, api_name="/project")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    with pytest.raises(AppError):
        c.predict("demo", handle_file(str(junk)), None, "fast", "w+", 10, api_name="/project")
    with pytest.raises(AppError, match="Pick a face first"):
        c.predict("demo", "all", {"smile": 1.0}, api_name="/edit")
    wrong = tmp_path / "other_model_w.npz"
    np.savez(wrong, w=np.zeros((1, 18, 512), np.float32))
    with pytest.raises(AppError, match=r"^other_model_w.npz: this latent is \[1, 18, 512\] .* made with another model"):
        c.predict("demo", handle_file(str(wrong)), api_name="/load_latent")
    junk_npz = tmp_path / "junk.npz"
    junk_npz.write_bytes(b"not a zip")
    with pytest.raises(AppError, match="not a latent file") as refused:
        c.predict("demo", handle_file(str(junk_npz)), api_name="/load_latent")
    assert "pickle" not in str(refused.value)  # numpy's advice to unpickle an unknown file is not passed on
    with pytest.raises(AppError, match="Invalid file type"):  # Gradio itself refuses other kinds of file
        c.predict("demo", handle_file(str(junk)), api_name="/load_latent")
    with pytest.raises(AppError, match="at least two faces"):
        c.predict("demo", 8, 8, api_name="/morph")
    with pytest.raises(AppError, match=r"^Enter a seed"):  # an emptied seed box (was "Something went wrong")
        c.predict("demo", None, 0.7, api_name="/pick_seed")
    with pytest.raises(AppError, match=r"^Enter a page number"):
        c.predict("demo", None, 0.7, "const", api_name="/generate")
    with pytest.raises(AppError):  # past the last page of seeds: Gradio refuses it before the handler runs
        c.predict("demo", 2**32 // 8, 0.7, "const", api_name="/generate")
    gallery, _ = c.predict("demo", 0, 0.7, "const", api_name="/generate")  # still fine afterwards
    assert len(gallery) == 8


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_every_kind_of_bad_upload_gets_our_message_without_a_server_path(url, photos, tmp_path):
    """Uploads reach our own reader (Gradio's preprocessing used to fail first with its generic error)."""
    face = (photos / "obama.jpg").read_bytes()
    bad = {
        "empty.png": (b"", "the file is empty"),
        "page.png": (b"<!doctype html><html><body>not a photo</body></html>", "not an image"),
        "bomb.png": (_png_claiming(60000, 60000), "image too large"),
        "cut.jpg": (face[: len(face) // 3], "truncated or corrupt"),
    }
    c = Client(url, verbose=False)
    for name, (content, message) in bad.items():
        (tmp_path / name).write_bytes(content)
        for endpoint, args in (("/detect", ()), ("/project", (None, "fast", "w+", 10))):
            head = ("demo",) if endpoint == "/project" else ()
            with pytest.raises(AppError) as refused:
                c.predict(*head, handle_file(str(tmp_path / name)), *args, api_name=endpoint)
            text = str(refused.value)
            assert message in text and text.startswith("Your photo: "), (name, endpoint, text)
            assert "/tmp" not in text and tempfile.gettempdir() not in text
    gallery, _ = c.predict("demo", 0, 0.7, "const", api_name="/generate")  # the session goes on
    assert len(gallery) == 8


def test_a_16_bit_grayscale_photo_is_read_as_the_same_face(url, photos, tmp_path):
    grey = np.asarray(Image.open(photos / "obama.jpg").convert("L")).astype(np.uint16) * 257
    Image.fromarray(grey).save(tmp_path / "grey16.png")  # Pillow mode I;16
    c = Client(url, verbose=False)
    _, choice = c.predict(handle_file(str(tmp_path / "grey16.png")), api_name="/detect")
    assert choice["choices"] == [["0", "0"]]  # one face found (Gradio's RGB conversion had clipped it to white)
    aligned, _, summary, _ = c.predict(
        "demo", handle_file(str(tmp_path / "grey16.png")), None, "fast", "w+", 10, api_name="/project"
    )
    pixels = _image(aligned).astype(int)
    assert pixels.std() > 20 and np.abs(pixels[..., 0] - pixels[..., 1]).max() <= 1  # a grey face, not white
    assert set(summary) == {"lpips", "psnr", "identity_distance", "steps", "seconds", "preset", "space", "pti_steps"}


def test_concurrent_visitors_get_their_own_faces(url):
    """4 visitors x 10 mixed requests at once: every result belongs to the visitor who asked for it."""

    def visitor(seed: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
        c = Client(url, verbose=False)
        _, picked = c.predict("demo", seed, 0.7, api_name="/pick_seed")
        edits = []
        for i in range(3):
            image, identity = c.predict("demo", "all", {}, api_name="/edit")
            edits.append(_image(image))
            assert identity == ""  # a seed has no photo to compare with
            c.predict("demo", i, 0.7, "const", api_name="/generate")  # someone browsing between edits
        c.predict(api_name="/set_a")
        c.predict(api_name="/set_b")
        mixed, _ = c.predict("demo", ["coarse", "middle", "fine"], api_name="/mix")
        # a direction that moves every pixel, so the preview shows it
        moved = c.predict("demo", "all", {"lighting": 2.0}, api_name="/preview")
        return _image(picked), edits, _image(mixed), _image(moved)

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(visitor, [11, 22, 33, 44]))
    for picked, edits, mixed, moved in outcomes:
        assert all(np.array_equal(picked, e) for e in edits)  # each session edits its own face
        # A and B are both this visitor's face (the mix renders A, B and the mix as one batch, whose float
        # rounding may move a pixel by one grey level; another visitor's face differs everywhere)
        assert np.abs(picked.astype(int) - mixed.astype(int)).max() <= 1
        assert np.abs(moved.astype(int) - picked.astype(int)).mean() > 1
    assert len({o[0].tobytes() for o in outcomes}) == 4


def _projection_threads() -> int:
    import threading

    return sum(t.name == "studio-workflow" for t in threading.enumerate())


def test_cancelled_projection_stops_working(url, photos):
    """Stop (or a visitor leaving) ends the optimisation itself, not just the page's view of it."""
    import time

    c = Client(url, verbose=False)
    job = c.submit("demo", handle_file(str(photos / "obama.jpg")), None, "classic", "w+", 1000, api_name="/project")
    deadline = time.time() + 60
    while _projection_threads() == 0 and time.time() < deadline:
        time.sleep(0.2)
    assert _projection_threads() == 1
    job.cancel()
    deadline = time.time() + 30
    while _projection_threads() and time.time() < deadline:
        time.sleep(0.2)
    assert _projection_threads() == 0
    gallery, _ = c.predict("demo", 0, 0.7, "const", api_name="/generate")  # the session goes on
    assert len(gallery) == 8


def _rss_mb() -> float:
    """Resident memory after returning freed heap to the system: glibc keeps freed memory in per-thread arenas
    (each projection runs in a new thread), which would read as growth without being held by anything."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status on this system")


def _live_arrays() -> tuple[int, float, float]:
    """(number of live torch tensors, their MB, MB of live numpy arrays) among the objects the collector sees."""
    import gc

    import torch

    gc.collect()
    count, tensor_mb, array_mb = 0, 0.0, 0.0
    for obj in gc.get_objects():
        with contextlib.suppress(Exception):  # some objects refuse isinstance checks (lazy modules, proxies)
            if isinstance(obj, torch.Tensor):
                count, tensor_mb = count + 1, tensor_mb + obj.numel() * obj.element_size() / 2**20
            elif isinstance(obj, np.ndarray):
                array_mb += obj.nbytes / 2**20
    return count, tensor_mb, array_mb


def test_memory_does_not_grow_across_projections(url, photos):
    """Projections leave nothing behind. Exact part: the live tensors and arrays (what a session, cache or kept
    autograd graph would hold) are the same after 6 more projections. Coarse part, for leaks outside Python:
    resident memory does not grow steadily. It is noisy in this shared process (per-thread allocator arenas and
    oneDNN caches of Gradio's worker threads): over 60 projections after the full suite's earlier tests it swung
    by up to +-64 MB per 6 with no trend, so a leak must grow both of two runs by more than 60 MB to fail."""
    c = Client(url, verbose=False)
    photo = handle_file(str(photos / "obama.jpg"))
    for _ in range(3):  # warm up: model, LPIPS network, allocator pools
        c.predict("demo", photo, None, "fast", "w+", 20, api_name="/project")
    live_before, readings = _live_arrays(), [_rss_mb()]
    for _ in range(2):
        for _ in range(6):
            c.predict("demo", photo, None, "fast", "w+", 20, api_name="/project")
        readings.append(_rss_mb())
    live_after = _live_arrays()
    assert live_after[0] <= live_before[0] and live_after[1] <= live_before[1] + 0.01, (live_before, live_after)
    assert live_after[2] <= live_before[2] + 0.01, (live_before, live_after)
    growth = np.diff(readings)
    print(f"resident memory growth over two runs of 6 projections: {growth.round(1).tolist()} MB")
    assert growth.min() < 60, f"resident memory grew {growth.round(0).tolist()} MB in successive runs of 6 projections"


def test_stylegan1_model_through_the_app(url, reference):
    """A StyleGAN v1 TF pickle works in the app with the same controls: generate, edit, mix."""
    sg1 = str(reference / "stylegan1" / "sg1_tiny_synthetic.pkl")
    c = Client(url, verbose=False)
    gallery, _ = c.predict(sg1, 0, 0.7, "const", api_name="/generate")
    assert len(gallery) == 8 and _image(gallery[0]["image"]).shape == (128, 128, 3)
    _, picked = c.predict(sg1, 42, 0.7, api_name="/pick_seed")
    expected = np.asarray(Image.open(reference / "stylegan1" / "seed42_psi0.7.png")).astype(int)
    assert np.abs(_image(picked).astype(int) - expected).max() <= 1  # the official image of seed 42
    moved, _ = c.predict(sg1, "all", {"sefa0": 2.0}, api_name="/edit")  # a SeFa direction of this model
    assert np.abs(_image(moved).astype(int) - _image(picked).astype(int)).mean() > 1
    c.predict(api_name="/set_a")
    c.predict(sg1, 7, 0.7, api_name="/pick_seed")
    c.predict(api_name="/set_b")
    mixed, _ = c.predict(sg1, ["fine"], api_name="/mix")
    assert _image(mixed).shape == (128, 128, 3)


def test_visitors_with_tuned_generators_get_their_own_faces(url, photos):
    """PTI in the app: each visitor's face is drawn by their own tuned copy; the shared model stays as it was."""
    from studio.web.common import MODELS

    shared = {k: v.clone() for k, v in MODELS.get("demo").state_dict().items()}

    def visitor(photo: str) -> tuple[np.ndarray, np.ndarray, dict]:
        c = Client(url, verbose=False)
        _, recon, summary, _ = c.predict(
            "demo", handle_file(str(photos / photo)), None, "fast", "w+", 10, 20, api_name="/project"
        )
        c.predict("demo", api_name="/use_projection")
        edited, _ = c.predict("demo", "all", {}, api_name="/edit")
        return _image(recon), _image(edited), summary

    with ThreadPoolExecutor(2) as pool:
        (recon_a, edited_a, summary_a), (recon_b, edited_b, _) = pool.map(visitor, ["obama.jpg", "astronaut.jpg"])
    assert summary_a["pti_steps"] > 0
    assert np.array_equal(recon_a, edited_a) and np.array_equal(recon_b, edited_b)  # drawn by their own generator
    assert np.abs(recon_a.astype(int) - recon_b.astype(int)).mean() > 5
    assert all(torch.equal(shared[k], v) for k, v in MODELS.get("demo").state_dict().items())
    assert len(MODELS.tuned) >= 2


def test_a_sessions_tuned_generator_is_freed_with_its_state(tmp_path):
    """The store keeps at most its limit, and the states that hold a tuned face release it when they are deleted."""
    import app
    from studio import workflows as wf
    from studio.web import common

    store = wf.TunedGenerators(limit=2)
    keys = [store.add(torch.nn.Linear(1, 1)) for _ in range(3)]
    assert store.get(keys[0]) is None and store.get(keys[2]) is not None  # the oldest went first
    store.release(keys[2])
    assert store.get(keys[2]) is None and len(store) == 1
    key = common.MODELS.tuned.add(torch.nn.Linear(1, 1))
    common.release_face(wf.Latent(np.zeros((1, 1, 1), np.float32), "demo", "x", tuned_key=key))
    assert common.MODELS.tuned.get(key) is None
    demo = app.build("demo")
    holders = [b for b in demo.blocks.values() if isinstance(b, gr.State) and b.delete_callback is common.release_face]
    assert len(holders) >= 2  # the editor's face and the projected one


def test_the_edit_comes_back_in_the_visitors_photo(url, photos):
    """After a projection, `/edited_photo` returns the whole photo at its size with the face edited in place and
    the rest as it was (JPEG at quality 95); a seed face has no photo and says so."""
    c = Client(url, verbose=False)
    c.predict("demo", handle_file(str(photos / "obama.jpg")), None, "fast", "w+", 10, api_name="/project")
    c.predict("demo", api_name="/use_projection")
    original = _image(photos / "obama.jpg").astype(int)
    shown, download, note = c.predict("demo", "all", {"smile": 3.0}, "auto", api_name="/edited_photo")
    edited = _image(download).astype(int)
    assert edited.shape == original.shape and note == "" and str(download).endswith(".jpg")
    change = np.abs(edited - original).max(axis=-1)
    assert change[-200:].mean() < 2 and change[:, :100].mean() < 2  # far from the face: the photo (JPEG's loss only)
    assert change[120:240, 200:360].mean() > 4  # the face (its crop: x 160-398, y 8-246) moved
    unedited = _image(c.predict("demo", "all", {}, "detail", api_name="/edited_photo")[1]).astype(int)
    assert np.abs(unedited - original).mean() < 1.5  # no edit, detail blend: the photo back
    c.predict("demo", 3, 0.7, api_name="/pick_seed")
    shown, download, note = c.predict("demo", "all", {"smile": 3.0}, "auto", api_name="/edited_photo")
    assert shown is None and download is None and "Project a photo" in note


def test_a_group_photo_retouched_face_by_face(url, photos):
    """Project one face of a two-face photo, edit it and keep it; project the other, edit it: the photo out has
    both faces edited, each face's region changed and the rest as it was."""
    c = Client(url, verbose=False)
    group = handle_file(str(photos / "two_people.jpg"))
    original = _image(photos / "two_people.jpg").astype(int)
    changed = []
    for face in ("0", "1"):
        c.predict("demo", group, face, "fast", "w+", 10, 0, api_name="/project")
        c.predict("demo", api_name="/use_projection")
        _, download, _ = c.predict("demo", "all", {"smile": 3.0}, "direct", api_name="/edited_photo")
        changed.append(np.abs(_image(download).astype(int) - original).max(axis=-1) > 20)
        c.predict("demo", "all", {"smile": 3.0}, "direct", api_name="/keep_in_photo")
    both = np.abs(_image(download).astype(int) - original).max(axis=-1) > 20
    assert changed[0].sum() > 200 and changed[1].sum() > 200
    assert both[changed[0]].mean() > 0.9  # the first face's edit is still there after the second
    first, second = np.argwhere(changed[0]).mean(axis=0), np.argwhere(changed[1] & ~changed[0]).mean(axis=0)
    assert np.hypot(*(first - second)) > 100  # two different faces
