"""The inversion pipeline on tiny models: encoder training (loss falls, resumes), encode / refine / PTI through the
CLI, and pivotal tuning that improves the fit without touching the shared generator."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import make_tiny_generator
from PIL import Image

from editing.encoders import Encoder, load_encoder
from editing.latents import load_w
from editing.lpips import LPIPS
from editing.pti import PTIOptions, tune_generator
from studio.cli import main
from stylegan_core import load_generator
from stylegan_core.imaging import to_uint8
from training.encoder_trainer import EncoderTrainOptions, held_out_scores, train_encoder

TINY_ENCODER = {"width": 64, "stage_units": (1, 1, 1, 1), "batch": 4, "lr": 1e-3}


@pytest.fixture(scope="module")
def vgg():
    return LPIPS("vgg")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(make_tiny_generator().save_pretrained(tmp_path_factory.mktemp("tiny") / "model"))


def test_pti_improves_the_fit_and_leaves_the_shared_model_bit_identical(vgg):
    G = make_tiny_generator()
    target = to_uint8(make_tiny_generator(seed=1)(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(3))))
    pivot = G.mapping.w_avg[None, None].repeat(1, G.num_ws, 1)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    tuned = tune_generator(G, pivot, target[0], options=PTIOptions(steps=25), lpips=vgg)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())  # the shared model is untouched
    with torch.no_grad():
        start = float(
            vgg(G.synthesis(pivot, noise_mode="const"), torch.from_numpy(target).permute(0, 3, 1, 2) / 127.5 - 1)
        )
    assert tuned.steps == 25 and tuned.lpips < start * 0.8, (tuned.lpips, start)
    assert tuned.generator is not G and not any(p.requires_grad for p in tuned.generator.parameters())
    unregularised = tune_generator(G, pivot, target[0], options=PTIOptions(steps=25, locality_weight=0), lpips=vgg)
    far = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():  # the locality regulariser: away from the pivot, the tuned model draws more as G drew
        drift = [(g.generator(far) - G(far)).abs().mean().item() for g in (tuned, unregularised)]
    assert drift[0] < drift[1], drift


def test_encoder_training_lowers_the_error_and_resumes(tmp_path):
    G = make_tiny_generator()
    first = train_encoder(G, tmp_path, EncoderTrainOptions(steps=2, snap=2, **TINY_ENCODER), model="tiny")
    start = held_out_scores(G, Encoder.from_pretrained(first), count=16)
    trained = train_encoder(G, tmp_path, EncoderTrainOptions(steps=60, snap=30, **TINY_ENCODER), model="tiny")
    assert trained.name == "encoder-000060" and (tmp_path / "encoder-000030").is_dir()  # went on from step 2
    end = held_out_scores(G, Encoder.from_pretrained(trained), count=16)
    assert end["lpips"] < start["lpips"] - 0.02, (start, end)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 60
    assert (trained / "optimizer.pt").is_file() and load_encoder(trained).encoder.config.model == "tiny"
    decayed = train_encoder(G, tmp_path, EncoderTrainOptions(steps=64, snap=64, lr_decay=True, **TINY_ENCODER))
    rate = torch.load(decayed / "optimizer.pt", weights_only=True)["param_groups"][0]["lr"]  # by the global step
    assert rate == pytest.approx(TINY_ENCODER["lr"] * 0.5 * (1 + math.cos(math.pi * 63 / 64)))


def test_cli_train_encoder_encode_refine_and_pti(model_dir, photos, tmp_path, capsys):
    enc = tmp_path / "enc"
    args = ["train-encoder", "--network", model_dir, "--outdir", str(enc), "--steps", "4", "--batch", "2"]
    assert main([*args, "--width", "64", "--units", "1,1,1,1"]) == 0
    assert "held-out samples LPIPS" in capsys.readouterr().out
    snapshot = str(enc / "encoder-000004")
    photo = str(photos / "obama.jpg")
    assert (
        main(
            [
                "encode",
                "--network",
                model_dir,
                "--encoder",
                snapshot,
                "--target",
                photo,
                "--outdir",
                str(tmp_path / "e"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "e" / "projection.json").read_text())
    assert (
        report["preset"] == "encode"
        and report["steps"] == 0
        and {"lpips", "psnr", "identity_distance", "seconds"} <= set(report)
    )
    out = tmp_path / "p"
    project = ["project", "--network", model_dir, "--target", photo, "--outdir", str(out), "--no-identity"]
    assert main([*project, "--preset", "refine", "--encoder", snapshot, "--steps", "3", "--pti", "4"]) == 0
    report = json.loads((out / "projection.json").read_text())
    assert (report["preset"], report["steps"], report["pti_steps"]) == ("refine", 3, 4)
    tuned = load_generator(out / "pti")
    ws = load_w(out / "projected_w.npz", tuned.num_ws, tuned.w_dim)
    with torch.no_grad():
        rendered = to_uint8(tuned.synthesis(ws, noise_mode="const"))[0]
    np.testing.assert_array_equal(rendered, np.asarray(Image.open(out / "proj.png")))  # proj.png is what pti/ draws
    assert main(["encode", "--network", model_dir, "--target", photo, "--outdir", str(tmp_path / "x")]) == 2
    assert "has no encoder" in capsys.readouterr().err


def test_the_shipped_demo_encoder_inverts_demo_faces(vgg):
    """The bundled encoder is the demo model's default and reads its faces back (held-out seeds)."""
    from studio import workflows as wf
    from stylegan_core.seeds import z_batch

    G = load_generator("demo")
    encoder = wf.model_encoder("demo", G)  # found through the registry: demo -> demo-e4e (bundled)
    assert encoder.config.model == "demo" and wf.default_preset("demo") == "refine"
    with torch.no_grad():
        faces = G(z_batch([2_000_000, 2_000_001], G.z_dim, G.device), truncation_psi=0.7)
        codes = torch.cat([encoder.encode(img) for img in to_uint8(faces)])
        distance = vgg(G.synthesis(codes, noise_mode="const"), faces).mean().item()
    assert distance < 0.1, distance


def test_dlib_is_safe_to_call_from_several_threads(photos):
    """Two visitors aligning photos at once crashed the server (dlib segfaults when run concurrently)."""
    from concurrent.futures import ThreadPoolExecutor

    from editing.align import align_face
    from editing.identity import face_descriptor
    from stylegan_core.imaging import read_image

    photo = read_image(photos / "obama.jpg")

    def work(_: int) -> tuple[int, float]:
        aligned = align_face(photo, size=64)
        return len(aligned.boxes), float(face_descriptor(aligned.image)[0])

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(8)))
    assert len(set(results)) == 1 and results[0][0] == 1
