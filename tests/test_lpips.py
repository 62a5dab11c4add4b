"""LPIPS reproduces the official `lpips` package (../shared/reference/lpips) with the real ImageNet trunks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from editing.lpips import LPIPS


@pytest.fixture(scope="module")
def nets():
    # Real pretrained trunks, found the way a user's machine finds them (cache, torch hub, Hub, PyPI sdist).
    return {net: LPIPS(net) for net in ("alex", "vgg")}


@pytest.fixture(scope="module")
def golden(reference):
    return reference / "lpips", json.loads((reference / "lpips" / "lpips_golden.json").read_text())["results"]


def _img(path):
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_distances_and_per_layer_match_the_official_package(nets, golden):
    folder, results = golden
    for r in results.values():
        x, y = _img(folder / r["in0"]), _img(folder / r["in1"])
        net = nets[r["net"]]
        assert abs(net(x, y).item() - r["distance"]) < 1e-4, r
        assert abs(net(y, x).item() - r["distance_reversed_args"]) < 1e-4
        np.testing.assert_allclose(net(x, y, per_layer=True)[0].numpy(), r["per_layer"], atol=1e-4)


def test_spatial_maps_match(nets, golden, reference):
    folder, results = golden
    maps = np.load(reference / "lpips" / "lpips_spatial_maps.npz")
    for r in results.values():
        key = f"{r['net']}__{r['in0'].removesuffix('.png')}__{r['in1'].removesuffix('.png')}"
        if key not in maps.files:
            continue
        ours = nets[r["net"]](_img(folder / r["in0"]), _img(folder / r["in1"]), spatial=True)[0, 0].numpy()
        np.testing.assert_allclose(ours, maps[key], atol=1e-4)


def test_gradients_flow_for_projection(nets):
    x = torch.zeros(1, 3, 64, 64, requires_grad=True)
    nets["vgg"](x, torch.rand(1, 3, 64, 64) * 2 - 1).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
