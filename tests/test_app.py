"""The launched web app, driven through gradio_client as a visitor's browser would drive it."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url():
    import app

    demo = app.build("demo")
    demo.queue(default_concurrency_limit=4)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, show_error=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def photos(reference):
    return reference.parent / "fixtures" / "photos"


def _image(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_generate_page(url):
    gallery, status = Client(url, verbose=False).predict("demo", 1, 0.7, "const", api_name="/generate")
    assert len(gallery) == 8 and gallery[0]["caption"] == "seed 8" and "demo" in status
    assert _image(gallery[0]["image"]).shape == (64, 64, 3)


def test_project_then_edit_mix_morph(url, photos):
    c = Client(url, verbose=False)
    aligned, recon, summary, npz = c.predict("demo", handle_file(str(photos / "obama.jpg")), None, "fast", "w+", 10,
                                             api_name="/project")  # fmt: skip
    assert _image(aligned).shape == (64, 64, 3) and _image(recon).shape == (64, 64, 3)
    assert summary["steps"] == 10 and 0 < summary["LPIPS"] < 1
    w = np.load(npz)["w"]
    assert w.ndim == 3 and w.shape[0] == 1
    c.predict(api_name="/use_projection")
    zero = c.predict("demo", "all", *([0.0] * 6), api_name="/edit")
    moved = c.predict("demo", "all", 3.0, *([0.0] * 5), api_name="/edit")
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


def test_bad_inputs_get_messages_and_the_session_keeps_working(url, photos, tmp_path):
    c = Client(url, verbose=False)
    with pytest.raises(AppError, match="Upload a photo"):
        c.predict("demo", None, None, "fast", "w+", 10, api_name="/project")
    with pytest.raises(AppError, match="no face found"):
        c.predict("demo", handle_file(str(photos / "dogs.jpg")), None, "fast", "w+", 10, api_name="/project")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    with pytest.raises(AppError):
        c.predict("demo", handle_file(str(junk)), None, "fast", "w+", 10, api_name="/project")
    with pytest.raises(AppError, match="Pick a face first"):
        c.predict("demo", "all", *([1.0] * 6), api_name="/edit")
    with pytest.raises(AppError, match="at least two faces"):
        c.predict("demo", 8, 8, api_name="/morph")
    gallery, _ = c.predict("demo", 0, 0.7, "const", api_name="/generate")  # still fine afterwards
    assert len(gallery) == 8


def test_concurrent_visitors_get_their_own_faces(url):
    def visitor(seed: int) -> tuple[int, np.ndarray, np.ndarray]:
        c = Client(url, verbose=False)
        _, picked = c.predict("demo", seed, 0.7, api_name="/pick_seed")
        results = [c.predict("demo", "all", *([0.0] * 6), api_name="/edit") for _ in range(3)]
        return seed, _image(picked), _image(results[-1])

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(visitor, [11, 22, 33, 44]))
    for _seed, picked, edited in outcomes:
        assert np.array_equal(picked, edited)  # each session edits its own face, not someone else's
    assert len({o[1].tobytes() for o in outcomes}) == 4


def test_stylegan1_model_through_the_app(url, reference):
    """A StyleGAN v1 TF pickle works in the app with the same controls: generate, edit, mix."""
    sg1 = str(reference / "stylegan1" / "sg1_tiny_synthetic.pkl")
    c = Client(url, verbose=False)
    gallery, _ = c.predict(sg1, 0, 0.7, "const", api_name="/generate")
    assert len(gallery) == 8 and _image(gallery[0]["image"]).shape == (128, 128, 3)
    _, picked = c.predict(sg1, 42, 0.7, api_name="/pick_seed")
    expected = np.asarray(Image.open(reference / "stylegan1" / "seed42_psi0.7.png")).astype(int)
    assert np.abs(_image(picked).astype(int) - expected).max() <= 1  # the official image of seed 42
    moved = c.predict(sg1, "all", 2.0, *([0.0] * 5), api_name="/edit")  # a SeFa direction of this model
    assert np.abs(_image(moved).astype(int) - _image(picked).astype(int)).mean() > 1
    c.predict(api_name="/set_a")
    c.predict(sg1, 7, 0.7, api_name="/pick_seed")
    c.predict(api_name="/set_b")
    mixed, _ = c.predict(sg1, ["fine"], api_name="/mix")
    assert _image(mixed).shape == (128, 128, 3)
