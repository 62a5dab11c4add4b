"""Projection recovers generated faces; discovered directions edit along themselves; morphs; CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from editing import discover
from editing.directions import edit_ws
from editing.interpolate import path_ws, render, slerp, variations
from editing.latents import load_w
from editing.lpips import LPIPS
from editing.project import project
from studio.cli import main
from stylegan_core.imaging import to_uint8


@pytest.fixture(scope="module")
def G(tiny_generator):  # noqa: N802
    return tiny_generator


@pytest.fixture(scope="module")
def model_dir(G, tmp_path_factory) -> str:
    """The tiny generator as a native model directory, for the CLI."""
    return str(G.save_pretrained(tmp_path_factory.mktemp("tiny") / "model"))


@pytest.fixture(scope="module")
def vgg():
    return LPIPS("vgg")


@pytest.mark.parametrize("space", ["w", "w+"])
def test_projection_recovers_a_generated_face(G, vgg, space):
    z = torch.from_numpy(np.random.RandomState(5).randn(1, G.z_dim)).float()
    target = to_uint8(G(z, truncation_psi=0.7))[0]
    start = vgg(
        G.synthesis(G.mapping.w_avg[None, None].expand(1, G.num_ws, -1)),
        torch.from_numpy(target).permute(2, 0, 1)[None].float() / 127.5 - 1,
    ).item()
    previews = []
    result = project(
        G,
        target,
        preset="fast",
        space=space,
        steps=100,
        lpips=vgg,
        preview_every=10,
        callback=lambda s, n, p: previews.append(p is not None and p.shape == target.shape),
    )
    assert result.ws.shape == (1, G.num_ws, G.w_dim)
    assert result.lpips < 0.2 and result.lpips < start / 2.5, (result.lpips, start)
    assert result.psnr > 18 and len(result.losses) == 100 and sum(previews) == 11
    if space == "w":  # a W projection has the same w on every layer
        assert torch.allclose(result.ws[0, 0], result.ws[0, -1])


def test_projection_leaves_the_shared_model_untouched(G, vgg):
    before = {k: v.clone() for k, v in G.state_dict().items()}
    project(G, np.zeros((64, 64, 3), np.uint8), preset="classic", steps=3, lpips=vgg)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())


def test_discovered_directions_move_the_image_along_themselves(G):
    for directions in (discover.sefa(G, k=3, samples=500), discover.ganspace(G, k=3, samples=2000)):
        assert len(directions) == 3
        d = directions[0]
        ws = G.mapping(torch.randn(4, G.z_dim))
        moved = edit_ws(ws, d, 2.0)
        n = torch.from_numpy(d.vector)
        shift = ((moved - ws)[:, 0] @ n) / n.norm()
        torch.testing.assert_close(shift, torch.full((4,), 2.0 * n.norm().item()), rtol=1e-4, atol=1e-4)
        assert (G.synthesis(moved) - G.synthesis(ws)).abs().mean() > 1e-3
        torch.testing.assert_close(edit_ws(ws, d, 0.0), ws)
    w = discover.sample_ws(G, 2000)
    truth = torch.randn(G.w_dim)
    normal = discover.linear_boundary(w, w @ truth)  # a score that is linear in w
    # Along the ws the model makes, moving on the normal changes the score as moving on the truth does.
    corr = np.corrcoef((w @ normal).numpy(), (w @ truth).numpy())[0, 1]
    assert corr > 0.95, corr
    found = discover.supervised(G, lambda imgs: {"s": imgs.mean(dim=(1, 2, 3)).numpy()}, ["s"], samples=64)
    assert found[0].name == "s" and found[0].method == "interfacegan" and np.isfinite(found[0].vector).all()


def test_conditional_directions_leave_the_conditions_unchanged(G):
    """InterFaceGAN's conditional manipulation: the edit direction has the conditions' normals projected out."""
    torch.manual_seed(0)
    normal, conditions = torch.nn.functional.normalize(torch.randn(8), dim=0), torch.randn(2, 8)
    free = discover.conditional_normal(normal, conditions)
    torch.testing.assert_close(conditions @ free, torch.zeros(2), atol=1e-5, rtol=0)
    assert abs(free.norm() - 1) < 1e-5 and free @ normal > 0  # what is left of the attribute's own direction
    with pytest.raises(ValueError, match="span"):
        discover.conditional_normal(conditions[0] / conditions[0].norm(), conditions)

    def score(imgs):  # brightness, and the red channel's own
        return {"bright": imgs.mean(dim=(1, 2, 3)).numpy(), "red": imgs[:, 0].mean(dim=(1, 2)).numpy()}

    found = {d.name: d for d in discover.supervised(G, score, ["bright", "red"], samples=64, condition_on=["red"])}
    bright, red = (torch.from_numpy(found[n].vector) for n in ("bright", "red"))
    assert abs(bright @ red) / (bright.norm() * red.norm()) < 1e-4  # brightening leaves the red boundary's reading
    assert "conditioned on red" in found["bright"].description and "conditioned" not in found["red"].description
    with pytest.raises(ValueError, match="does not read yawn; it reads bright, red"):
        discover.supervised(G, score, ["bright"], samples=8, condition_on=["yawn"])


def test_morph_and_variations(G, tmp_path):
    a, b = torch.randn(1, G.z_dim), torch.randn(1, G.z_dim)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b, rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        keys = [G.mapping(a, None), G.mapping(b, None), G.mapping(a, None)]
        ws = path_ws(G, keys, 9)
    torch.testing.assert_close(ws[0], keys[0])
    torch.testing.assert_close(ws[4], keys[1])
    frames = render(G, ws)
    assert len(frames) == 9 and frames[0].shape == (64, 64, 3)
    assert len(variations(G, keys[0], 3)) == 3


def _sefa_file(network: str, tmp_path) -> str:
    assert (
        main(
            [
                "directions",
                "discover",
                "--network",
                network,
                "--method",
                "sefa",
                "--k",
                "1",
                "--outdir",
                str(tmp_path / "dirs"),
            ]
        )
        == 0
    )
    return str(next((tmp_path / "dirs").glob("*.safetensors")))


def test_cli_align_project_interpolate(G, model_dir, photos, tmp_path, capsys):
    assert (
        main(
            [
                "align",
                str(photos / "obama.jpg"),
                str(photos / "no_face.png"),
                "--size",
                "64",
                "--outdir",
                str(tmp_path / "al"),
            ]
        )
        == 0
    )
    meta = json.loads((tmp_path / "al" / "obama.json").read_text())
    assert len(meta["landmarks68"]) == 68 and meta["chosen_face"] == 0
    assert not (tmp_path / "al" / "no_face.png").exists()
    assert main(["align", str(photos / "no_face.png"), "--outdir", str(tmp_path / "al")]) == 2
    pkl = model_dir
    assert (
        main(
            [
                "project",
                "--target",
                str(photos / "obama.jpg"),
                "--network",
                pkl,
                "--steps",
                "4",
                "--video",
                "proj.gif",
                "--video-every",
                "2",
                "--outdir",
                str(tmp_path / "pr"),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "pr" / "projection.json").read_text())
    assert {"lpips", "psnr", "identity_distance"} <= set(summary)
    assert load_w(tmp_path / "pr" / "projected_w.npz", G.num_ws, G.w_dim).shape == (1, G.num_ws, G.w_dim)
    assert Image.open(tmp_path / "pr" / "proj.gif").n_frames >= 2
    assert (
        main(
            [
                "edit",
                "--network",
                pkl,
                "--w",
                str(tmp_path / "pr" / "projected_w.npz"),
                "--direction",
                _sefa_file(pkl, tmp_path),
                "--alpha=0,3",
                "--outdir",
                str(tmp_path / "ed"),
            ]
        )
        == 0
    )
    assert "identity distance to target.png (< 0.6 same person) at alpha +0: " in capsys.readouterr().out
    assert (
        main(["project", "--target", str(photos / "no_face.png"), "--network", pkl, "--outdir", str(tmp_path / "pr2")])
        == 2
    )
    out = tmp_path / "morph.mp4"
    assert (
        main(
            [
                "interpolate",
                "--network",
                pkl,
                "--seeds",
                "1,2",
                "--w",
                str(tmp_path / "pr" / "projected_w.npz"),
                "--frames",
                "6",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.stat().st_size > 1000


def test_fast_preset_at_256_px_runs_in_reduced_precision_where_available():
    """At 256 px the fast preset autocasts to bfloat16 (on CPUs with native bf16); the loss still falls."""
    from dataclasses import replace

    from editing.project import PRESETS
    from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig

    torch.manual_seed(0)
    G = Generator(
        GeneratorConfig(
            "stylegan2",
            256,
            3,
            MappingConfig(z_dim=32, w_dim=32, num_layers=2),
            StyleGAN2SynthesisConfig(channel_base=1024, channel_max=16),
        )
    ).eval()
    with torch.no_grad():
        target = to_uint8(G(torch.randn(1, 32), noise_mode="const"))[0]
    preset = replace(PRESETS["fast"], steps=12, init_candidates=4, w_avg_samples=200, low_res_fraction=0.0)
    r = project(G, target, preset=preset)
    assert np.isfinite(r.lpips) and r.lpips_history[-1] < r.lpips_history[0]


def test_cli_discover_layers_limit_where_found_directions_edit(tmp_path):
    """`--layers` on a W-space method: the direction is found in all of W but edits only those layers."""
    from editing.directions import Direction, edit_ws

    assert (
        main(
            [
                "directions",
                "discover",
                "--network",
                "demo",
                "--method",
                "ganspace",
                "--k",
                "1",
                "--layers",
                "2-5",
                "--outdir",
                str(tmp_path),
            ]
        )
        == 0
    )
    d = Direction.load(next(tmp_path.glob("*.safetensors")))
    assert d.layers == (2, 3, 4, 5)
    ws = torch.zeros(1, 10, d.vector.shape[0])
    moved = (edit_ws(ws, d, 3.0) - ws).abs().sum(dim=2)[0]  # [num_ws]
    assert (moved[2:6] > 0).all() and moved[:2].eq(0).all() and moved[6:].eq(0).all()
