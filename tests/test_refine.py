"""Refined directions move their attribute more, and the other readings less, than the direction they start from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from editing.directions import Direction, edit_ws
from editing.refine import RefineOptions, refine
from studio.cli import main
from stylegan_core.formats import load_generator
from stylegan_core.sampling import sample_ws


@pytest.fixture(scope="module")
def G():  # noqa: N802
    return load_generator("demo")


def read(img: torch.Tensor) -> dict[str, torch.Tensor]:  # [N, 3, 64, 64] -> readings
    """A stand-in scorer: two brightness values and a left/right class."""
    sides = torch.stack([img[..., :32].mean(dim=(1, 2, 3)), img[..., 32:].mean(dim=(1, 2, 3))], 1)
    return {
        "top_red": img[:, 0, :32].mean(dim=(1, 2)),
        "bottom": img[:, :, 32:].mean(dim=(1, 2, 3)),
        "side": (20 * sides).softmax(1),
    }


def _changes(G, d: Direction) -> dict[str, float]:
    """Mean change of each reading (classes: mean L1) between the edits -2 and +2 on held-out samples."""
    w = G.mapping.w_avg.lerp(sample_ws(G, 16, seed=99), 0.7)[:, None].expand(-1, G.num_ws, -1)
    with torch.no_grad():
        low, high = read(G.synthesis(edit_ws(w, d, -2.0))), read(G.synthesis(edit_ws(w, d, 2.0)))
    return {
        "top_red": float((high["top_red"] - low["top_red"]).mean()),
        "bottom": float((high["bottom"] - low["bottom"]).abs().mean()),
        "side": float((high["side"] - low["side"]).abs().sum(1).mean()),
        "right": float((high["side"][:, 1] - low["side"][:, 1]).mean()),
    }


def test_refining_moves_the_target_and_spares_the_rest(G):
    rng = np.random.default_rng(0)
    vector = rng.standard_normal(G.w_dim).astype(np.float32)
    start = Direction("top_red", vector / np.linalg.norm(vector), layers=tuple(range(2, 10)), method="interfacegan")
    options = RefineOptions(steps=40, batch=4, seed=3)
    refined = refine(G, read, start, "top_red", options=options)
    before, after = _changes(G, start), _changes(G, refined)
    assert after["top_red"] > 0.05 and after["top_red"] > abs(before["top_red"]) + 0.03, (before, after)
    assert after["bottom"] < 0.5 * after["top_red"] and after["side"] < 0.5 * after["top_red"], after
    assert refined.vector.shape == (G.num_ws, G.w_dim) and refined.layers == start.layers
    assert not refined.vector[:2].any() and refined.method == "interfacegan+refined" and refined.typical_alpha == 2.0
    # alpha keeps its meaning: each edited layer steps one std of the sampled ws along its own direction
    w = sample_ws(G, 5000, options.seed)
    for row in torch.from_numpy(refined.vector[2:]):
        unit = row / row.norm()
        assert abs(float(row.norm()) - float(((w - w.mean(0)) @ unit).std())) < 1e-3 * float(row.norm())


def test_refining_raises_a_two_class_probability(G):
    """A two-class factor (glasses on or off) is refined on the probability of its second class."""
    vector = np.random.default_rng(1).standard_normal(G.w_dim).astype(np.float32)
    start = Direction("side", vector / np.linalg.norm(vector), layers=tuple(range(2, 10)))
    refined = refine(G, read, start, "side", options=RefineOptions(steps=30, batch=4, seed=3))
    before, after = _changes(G, start), _changes(G, refined)
    assert after["right"] > abs(before["right"]) + 0.1, (before, after)


def test_refining_refuses_what_it_cannot_do(G, tmp_path):
    d = Direction("x", np.ones(G.w_dim, np.float32))
    with pytest.raises(ValueError, match="named 'x'; it reads top_red, bottom, side"):
        refine(G, read, d, "x", options=RefineOptions(steps=1, batch=2))
    with pytest.raises(ValueError, match="Z"):
        refine(G, read, Direction("x", np.ones(G.z_dim, np.float32), "z"), "x")
    assert (
        main(
            [
                "directions",
                "discover",
                "--network",
                "demo",
                "--method",
                "sefa",
                "--refine",
                "5",
                "--outdir",
                str(tmp_path),
            ]
        )
        == 2
    )


def test_cli_refines_supervised_directions(tmp_path):
    assert (
        main(
            [
                "directions",
                "discover",
                "--network",
                "demo",
                "--method",
                "supervised",
                "--attributes",
                "smile",
                "--samples",
                "64",
                "--layers",
                "2-9",
                "--refine",
                "2",
                "--outdir",
                str(tmp_path),
            ]
        )
        == 0
    )
    d = Direction.load(tmp_path / "smile.safetensors")
    assert d.vector.shape == (10, 128) and d.layers == tuple(range(2, 10)) and "refined" in d.description
