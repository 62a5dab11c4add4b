"""FID: the Frechet distance itself, the Inception graph and its weights, and the training metric hook offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from stylegan_core.hub import hub_reachable
from training import fid as fid_module
from training.fid import (
    FEATURES,
    FIDMetric,
    FIDUnavailableError,
    InceptionFeatures,
    fid_metric_sizes,
    frechet_distance,
    inception_statistics,
    load_inception,
)


def test_frechet_distance_of_diagonal_gaussians_has_its_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    v1, v2 = rng.uniform(0.1, 2, 6), rng.uniform(0.1, 2, 6)
    expected = ((mu1 - mu2) ** 2).sum() + (v1 + v2 - 2 * np.sqrt(v1 * v2)).sum()
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-9)
    a = rng.normal(size=(50, 6))
    cov = np.cov(a, rowvar=False)
    assert frechet_distance(a.mean(0), cov, a.mean(0), cov) == pytest.approx(0, abs=1e-8)


@pytest.fixture(scope="module")
def random_inception():
    torch.manual_seed(0)
    return InceptionFeatures().eval()


def test_inception_graph_has_the_fid_shapes_and_names(random_inception):
    net = random_inception
    assert sum(p.numel() for p in net.parameters()) == 21_785_568  # torchvision Inception-v3 minus fc / aux
    assert "Mixed_7c.branch3x3dbl_3b.bn.running_var" in net.state_dict()
    images = torch.randint(0, 256, (3, 1, 48, 40), dtype=torch.uint8)  # grey, any size: resized to 299
    mu, sigma = inception_statistics(net, images)
    assert mu.shape == (FEATURES,) and sigma.shape == (FEATURES, FEATURES)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_load_safely_and_wrong_files_are_refused(random_inception, tmp_path, suffix):
    state = {k: v for k, v in random_inception.state_dict().items() if not k.endswith("num_batches_tracked")}
    state["fc.weight"] = torch.zeros(1008, FEATURES)  # pytorch-fid's file carries the classifier too
    path = tmp_path / f"inception{suffix}"
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
    net = load_inception(path)
    x = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.allclose(net(x), random_inception(x), atol=1e-5)
    wrong = tmp_path / f"wrong{suffix}"
    torch.save({"a": torch.zeros(1)}, wrong) if suffix == ".pth" else save_file({"a": torch.zeros(1)}, str(wrong))
    with pytest.raises(FIDUnavailableError, match="not an FID Inception state dict"):
        load_inception(wrong)
    with pytest.raises(FIDUnavailableError, match="not found"):
        load_inception(tmp_path / "missing.pth")


def test_offline_fid_metric_is_skipped_with_its_reason(monkeypatch):
    from stylegan_core.formats import load_generator
    from training.trainer import SnapshotMetrics

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("STUDIO_FID_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent-cache")
    load_inception.cache_clear()
    G = load_generator("demo")
    reals = torch.randint(0, 256, (16, 3, 64, 64), dtype=torch.uint8)
    metrics = SnapshotMetrics(["fid"], reals)
    out = metrics(G)
    assert "fid16" not in out and "HF_HUB_OFFLINE" in out["fid_skipped"]
    attempts = []  # the next snapshot reports the same reason without trying the Hub again
    monkeypatch.setattr(fid_module, "load_inception", lambda *a, **k: attempts.append(1))
    assert metrics(G)["fid_skipped"] == out["fid_skipped"] and not attempts


def test_fid_metric_computes_the_real_statistics_once(monkeypatch, random_inception):
    monkeypatch.setattr(fid_module, "load_inception", lambda *a, **k: random_inception)
    calls = []
    real_statistics = fid_module.inception_statistics

    def counted(net, images):  # a tensor (the reals) or batches (the fakes, generated as they are needed)
        images = images if isinstance(images, torch.Tensor) else torch.cat(list(images))
        calls.append(len(images))
        return real_statistics(net, images)

    monkeypatch.setattr(fid_module, "inception_statistics", counted)
    from stylegan_core.formats import load_generator

    G = load_generator("demo")
    metric = FIDMetric(torch.randint(0, 256, (12, 3, 64, 64), dtype=torch.uint8), images=8)
    first, second = metric(G), metric(G)
    assert metric.images == 8 and calls == [8, 8, 8]  # reals once, fakes twice
    assert first > 0 and second > 0


@pytest.mark.parametrize(
    "name, sizes",
    [
        ("fid", (1000, 1000)),
        ("fid50k_full", (50000, None)),
        ("fid10k", (10000, 10000)),
        ("fid2k_full", (2000, None)),
        ("kid50k_full", None),
        ("fid_full", None),
        ("fid0k", None),
        ("fid50k_fullx", None),
        ("swd", None),
    ],
)
def test_official_fid_metric_names(name, sizes):
    """NVIDIA's train.py defaults to --metrics=fid50k_full: 50,000 generated images against the whole dataset."""
    assert fid_metric_sizes(name) == sizes


def test_a_full_fid_uses_every_real_image_and_is_logged_under_its_name(monkeypatch, random_inception):
    from stylegan_core.formats import load_generator
    from training.trainer import SnapshotMetrics

    monkeypatch.setattr(fid_module, "load_inception", lambda *a, **k: random_inception)
    reals = torch.randint(0, 256, (12, 3, 64, 64), dtype=torch.uint8)
    metrics = SnapshotMetrics(["fid", "fid50k_full"], reals)
    assert (len(metrics.fids["fid50k_full"].reals), metrics.fids["fid50k_full"].images) == (12, 50000)
    assert (len(metrics.fids["fid"].reals), metrics.fids["fid"].images) == (12, 12)
    metrics.fids["fid50k_full"].images = 3  # the same code path, 3 generated images instead of 50,000
    out = metrics(load_generator("demo"))
    assert out["fid12"] > 0 and out["fid50k_full"] > 0 and "fid_skipped" not in out


def test_inception_statistics_of_batches_equal_those_of_one_tensor(random_inception):
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    whole = inception_statistics(random_inception, images)
    streamed = inception_statistics(random_inception, iter(images.split(4)))
    np.testing.assert_allclose(streamed[0], whole[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(streamed[1], whole[1], rtol=1e-6, atol=1e-9)


@pytest.mark.skipif(not hub_reachable(), reason="needs the Hugging Face Hub for the FID Inception weights")
def test_hub_weights_give_a_small_fid_between_halves_of_one_set():
    net = load_inception()
    images = torch.randint(0, 256, (40, 3, 64, 64), dtype=torch.uint8)
    same = fid_module.fid(net, images[:20], images[20:])
    other = fid_module.fid(net, images[:20], torch.zeros_like(images[20:]) + 128)
    assert same < other
