"""Drag to edit (editing.drag) on tiny generators: motion supervision, tracking, the mask, the stop rule, the
partial synthesis, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import make_tiny_generator

from editing.drag import DragError, DragOptions, _sample, check_mask, check_points, drag, feature_stage, track


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_generator("stylegan2", 32)


def _ws(G, seed: int = 0) -> torch.Tensor:
    with torch.no_grad():
        return G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed)), None)


def test_tracking_recovers_a_known_shift_of_a_feature_map():
    torch.manual_seed(0)
    features = F.avg_pool2d(torch.randn(1, 16, 40, 40), 3, 1, 1)  # smooth, distinct features
    handles = torch.tensor([[12.0, 15.0], [25.0, 20.0]])
    first = _sample(features, handles, 40)  # [C, K]
    shifted = torch.roll(features, shifts=(2, -3), dims=(2, 3))  # content moved 3 px left, 2 px down
    assert track(shifted, first, handles, r2=4, size=40).tolist() == [[9.0, 17.0], [22.0, 22.0]]


def test_tracking_finds_a_shift_between_pixels_on_a_finer_lattice():
    """Features of a 20 px map read for an 80 px image: content moved by 1.25 image px is found on a 0.25 lattice."""
    torch.manual_seed(1)
    features = F.avg_pool2d(torch.randn(1, 16, 20, 20), 5, 1, 2)
    handles = torch.tensor([[40.0, 36.0]])
    first = _sample(features, handles + torch.tensor([[1.25, -0.5]]), 80)  # what lies 1.25 right, 0.5 up
    assert track(features, first, handles, r2=2, size=80, unit=0.25).tolist() == [[41.25, 35.5]]


@pytest.mark.parametrize("architecture", ["stylegan2", "stylegan3"])
def test_a_handle_moves_towards_its_target_and_tracking_follows(architecture):
    """Features under the handle are found nearer the target after the drag (measured independently of the
    tracker: the first feature's best match in the whole result's features)."""
    G = make_tiny_generator(architecture, 32)
    ws = _ws(G, 1)
    handle, target = np.array([16.0, 16.0]), np.array([20.0, 16.0])
    result = drag(G, ws, [[*handle, *target]], options=DragOptions(steps=40, lr=0.02, r1=2, r2=3))
    stage = feature_stage(G)
    with torch.no_grad():

        def feats(w):
            return G.synthesis.features(w, stage)

        first = _sample(feats(ws), torch.from_numpy(handle[None]).float(), 32)[:, 0]
        found = track(feats(result.ws), first[:, None], torch.tensor([[16.0, 16.0]]), r2=8, size=32)[0].numpy()
    assert np.linalg.norm(found - target) < np.linalg.norm(handle - target)  # the content moved towards it
    assert np.linalg.norm(result.handles[0] - target) < np.linalg.norm(handle - target)  # and the tracker saw it
    assert torch.equal(result.ws[:, 6:], ws[:, 6:])  # only the first six layers move


def test_the_mask_keeps_the_fixed_region(tiny):
    G, ws = tiny, _ws(tiny, 2)
    points = [[10.0, 10.0, 13.0, 10.0]]
    mask = np.zeros((32, 32), bool)
    mask[4:16, 4:18] = True
    options = DragOptions(steps=25, lr=0.02, r1=2, r2=3)
    free = drag(G, ws, points, options=options)
    held = drag(G, ws, points, mask=mask, options=options)
    with torch.no_grad():
        original = G.synthesis(ws, noise_mode="const")
    original = ((original[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255)).numpy()
    outside = ~mask
    moved_free = np.abs(free.image.astype(float) - original)[outside].mean()
    moved_held = np.abs(held.image.astype(float) - original)[outside].mean()
    assert moved_held < 0.6 * moved_free, (moved_held, moved_free)


def test_the_stop_rule(tiny):
    G, ws = tiny, _ws(tiny, 3)
    at_target = drag(G, ws, [[10, 10, 10.2, 10]], options=DragOptions(steps=50))  # within a quarter px
    assert at_target.steps == 0 and at_target.reached and torch.equal(at_target.ws, ws)
    limited = drag(G, ws, [[5, 5, 28, 28]], options=DragOptions(steps=3))
    assert limited.steps == 3 and not limited.reached


def test_a_step_runs_only_the_blocks_it_needs(monkeypatch):
    """A 128 px model's drag on its 32 px block never runs the last block in its steps; the result does once.
    By default a model reads its 128 px block (the official code's), or its last stage where it is smaller."""
    big = make_tiny_generator("stylegan2", 128)
    assert big.synthesis.feature_sizes[feature_stage(big)] == 128
    assert big.synthesis.feature_sizes[feature_stage(big, 32)] == 32
    calls = []
    last = big.synthesis.b128
    monkeypatch.setattr(last, "forward", lambda *a, **k: calls.append(1) or type(last).forward(last, *a, **k))
    drag(big, _ws(big), [[40, 40, 44, 40]], options=DragOptions(steps=4, feature_px=32))
    assert len(calls) == 1  # the result's render only


@pytest.mark.parametrize("family", ["stylegan2", "stylegan3", "stylegan1"])
def test_fixed_layers_run_detached_with_the_same_gradient(family):
    """features(..., free_layers=k) gives the gradient of ws[:, :k] that the plain call gives, and the later layers'
    modulated convolutions see styles without gradients (StyleGAN2 then folds them into its weights)."""
    G = make_tiny_generator(family, 32)
    stage, free = len(G.synthesis.feature_sizes) - 1, 3
    ws = _ws(G)
    grads = []
    for free_layers in (None, free):
        first = ws[:, :free].clone().requires_grad_(True)
        features = G.synthesis.features(torch.cat([first, ws[:, free:]], 1), stage, free_layers=free_layers)
        features.square().mean().backward()
        grads.append(first.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-7)
    if family == "stylegan2":
        seen = []
        last = G.synthesis.b32.conv1
        hook = last.affine.register_forward_hook(lambda _m, _a, out: seen.append(out.requires_grad))
        first = ws[:, :free].clone().requires_grad_(True)
        G.synthesis.features(torch.cat([first, ws[:, free:]], 1), stage, free_layers=free)
        hook.remove()
        assert seen == [False]


@pytest.mark.parametrize(
    "points, message",
    [
        ([], "no points"),
        ([[1, 2, 3]], "four numbers"),
        ([[1, 2, 3, 40]], "outside the 32x32 image"),
        ([[1, 2, float("nan"), 4]], "finite"),
        ("x", "four numbers"),
    ],
)
def test_bad_points_are_clear_errors(points, message):
    with pytest.raises(DragError, match=message):
        check_points(points, 32)


def test_bad_masks_are_clear_errors():
    with pytest.raises(DragError, match="the mask is 16x16; it must be the image's 32x32"):
        check_mask(np.ones((16, 16)), 32)
    with pytest.raises(DragError, match="nothing as movable"):
        check_mask(np.zeros((32, 32)), 32)
    assert check_mask(np.ones((32, 32, 3), np.uint8) * 255, 32).shape == (1, 1, 32, 32)


def test_studio_drag_writes_the_latent_the_result_the_points_and_the_steps(tmp_path, capsys):
    from studio.cli import main

    out = tmp_path / "drag"
    args = ["drag", "--network", "demo", "--seeds", "3", "--points", "32,44>32,47; 20,30>18,30", "--steps", "6"]
    assert main([*args, "--preview-every", "2", "--outdir", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"projected_w.npz", "drag.png", "points.json", "drag.mp4"}
    import json

    report = json.loads((out / "points.json").read_text())
    assert len(report["handles"]) == 2 and report["targets"] == [[32.0, 47.0], [18.0, 30.0]]
    assert "handles" in capsys.readouterr().out
    mask = tmp_path / "mask.png"
    from PIL import Image

    Image.new("L", (16, 16), 255).save(mask)
    assert main([*args, "--mask", str(mask), "--outdir", str(out)]) == 2
    assert "the mask is 16x16; it must be the image's 64x64" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["drag", "--network", "demo", "--seeds", "3", "--points", "32,44", "--outdir", str(out)])
    assert "write hx,hy>tx,ty" in capsys.readouterr().err
