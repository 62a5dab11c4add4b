"""The bundled demo model and attribute scorer: load offline by name, make portraits the scorer can read."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stylegan_core.formats import load_generator
from stylegan_core.hub import DEFAULT_OFFLINE_MODEL
from training.portraits import CATEGORICAL, render
from training.scorer import SCORER_PATH, PortraitScorer, gaussian_blur


@pytest.fixture(scope="module")
def G():  # noqa: N802
    return load_generator(DEFAULT_OFFLINE_MODEL)


def test_demo_model_loads_offline_and_is_small(G, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert load_generator("demo").config == G.config
    assert G.img_resolution == 64 and G.num_parameters() < 2_000_000
    with torch.no_grad():
        img = G(torch.randn(4, G.z_dim), truncation_psi=0.7)
    assert img.shape == (4, 3, 64, 64) and torch.isfinite(img).all()
    assert img.std(dim=(1, 2, 3)).min() > 0.1  # not a flat image


def test_scorer_reads_real_renders():
    scorer = PortraitScorer.load(SCORER_PATH)
    renders = [render(950_000 + i) for i in range(64)]  # held out from the scorer's training seeds
    imgs = torch.from_numpy(np.stack([np.asarray(r[0]) for r in renders])).permute(0, 3, 1, 2).float() / 127.5 - 1
    preds = scorer.predict(imgs)
    truth = {f: np.array([getattr(r[1], f) for r in renders]) for f in ("glasses", "yaw", "smile")}
    assert (preds["glasses"] == truth["glasses"]).mean() > 0.9
    assert np.abs(preds["yaw"] - truth["yaw"]).mean() < 0.15
    assert np.corrcoef(preds["smile"], truth["smile"])[0, 1] > 0.8
    assert set(CATEGORICAL) <= set(preds)
    # trained on degraded copies too, it reads softened renders (a generator's samples are softer) as surely
    soft = scorer.predict(gaussian_blur(imgs, 1.0))
    for f in CATEGORICAL:  # a scorer trained on crisp renders only got 39% of eye colours right here
        assert (soft[f] == np.array([getattr(r[1], f) for r in renders])).mean() > 0.9, f


def test_gaussian_blur_matches_scipy():
    from scipy.ndimage import gaussian_filter

    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for sigma in (0.5, 1.0):
        want = gaussian_filter(x.numpy(), [0, 0, sigma, sigma], mode="mirror", truncate=3.0)
        torch.testing.assert_close(gaussian_blur(x, sigma), torch.from_numpy(want), atol=1e-5, rtol=0)


def test_shipped_demo_directions_move_their_attribute(G):
    """The demo model's built-in sliders do what their names say: +alpha raises the scorer's reading."""
    from editing.builtin import DEMO_ATTRIBUTES, builtin_directions
    from editing.directions import edit_ws
    from editing.discover import sample_ws
    from studio.workflows import ModelCache, sliders_for

    directions = builtin_directions("demo-portraits")
    assert tuple(directions) == DEMO_ATTRIBUTES
    shown = [s.name for s in sliders_for(ModelCache().directions("demo"))]  # the app's sliders, grouped
    assert sorted(shown) == sorted(DEMO_ATTRIBUTES) and shown[:2] == ["smile", "mouth_open"]
    scorer = PortraitScorer.load(SCORER_PATH)
    w = G.mapping.w_avg.lerp(sample_ws(G, 32, seed=123), 0.7)[:, None].expand(-1, G.num_ws, -1)
    with torch.no_grad():
        for name in DEMO_ATTRIBUTES:
            d = directions[name]
            assert d.vector.shape in ((G.w_dim,), (G.num_ws, G.w_dim))  # refined ones: one vector per layer
            low = scorer.scores(G.synthesis(edit_ws(w, d, -2.0)))
            high = scorer.scores(G.synthesis(edit_ws(w, d, 2.0)))
            moved = np.asarray(high[name]) - np.asarray(low[name])
            others = [abs(np.mean(np.asarray(high[k]) - np.asarray(low[k]))) for k in directions if k != name]
            assert (moved > 0).mean() > 0.9, name  # nearly every face moves the named way
            assert moved.mean() > 0.3, name  # visibly: a third of the factor's scale (the renders' smile std: 0.42)
            assert moved.mean() > 3 * np.mean(others), name  # mostly along that factor alone


def test_scorer_training_sees_degraded_renders():
    from training.portraits import FACTOR_NAMES
    from training.scorer import degrade, evaluate, train_scorer

    renders = [render(960_000 + i) for i in range(64)]
    u8 = np.stack([np.asarray(r[0]) for r in renders]).transpose(0, 3, 1, 2)  # [N, 3, 64, 64]
    factors = np.array([[float(getattr(r[1], f)) for f in FACTOR_NAMES] for r in renders])
    x = torch.from_numpy(u8).float() / 127.5 - 1
    soft = degrade(x, torch.Generator().manual_seed(0))
    assert soft.shape == x.shape and 0 < (soft - x).abs().mean() < 0.1  # degraded, not destroyed
    assert torch.equal(soft, degrade(x, torch.Generator().manual_seed(0)))  # reproducible
    scorer = train_scorer(u8, factors, epochs=1, batch=32)
    figures = evaluate(scorer, x, factors)
    assert len(figures) == len(FACTOR_NAMES) and all(np.isfinite(v) for v in figures.values())
    with pytest.raises(ValueError, match="--epochs must be at least 1"):
        train_scorer(u8, factors, epochs=0)
