"""StyleGAN v1: the TF-era pickle and its npz reproduce ../shared/reference/stylegan1, safely."""

from __future__ import annotations

import os
import pickle
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli import main
from stylegan_core import Generator
from stylegan_core.formats import CheckpointError, load_checkpoint
from stylegan_core.imaging import to_uint8

SEEDS = (0, 1, 42)


@pytest.fixture(scope="module")
def sg1(reference):
    return reference / "stylegan1"


@pytest.fixture(scope="module")
def io(sg1):
    return np.load(sg1 / "sg1_tiny_io.npz")


@pytest.mark.parametrize("source", ["sg1_tiny_synthetic.pkl", "sg1_tiny_weights.npz"])
def test_reference_dlatents_and_images(sg1, io, source):
    G = load_checkpoint(sg1 / source)
    assert G.config.architecture == "stylegan1" and G.num_ws == 12 and G.img_resolution == 128
    for seed in SEEDS:
        z = torch.from_numpy(io[f"seed{seed}/z"].astype(np.float32))
        ws = G.mapping(z)
        torch.testing.assert_close(ws, torch.from_numpy(io[f"seed{seed}/dlatents"]), atol=1e-5, rtol=0)
        for psi in ("1.0", "0.7"):
            ws_t = G.mapping(z, truncation_psi=float(psi))  # default cutoff: the official 8 layers
            expected_ws = torch.from_numpy(io[f"seed{seed}/psi{psi}/dlatents_trunc"])
            torch.testing.assert_close(ws_t, expected_ws, atol=1e-5, rtol=0)
            img = G.synthesis(ws_t, noise_mode="const")
            torch.testing.assert_close(img, torch.from_numpy(io[f"seed{seed}/psi{psi}/images"]), atol=5e-5, rtol=0)
            ours = to_uint8(img)[0].astype(int)
            theirs = io[f"seed{seed}/psi{psi}/images_uint8_nhwc"][0].astype(int)
            assert np.abs(ours - theirs).max() <= 1 and (ours != theirs).sum() <= 10


def test_gs_is_chosen_not_g(sg1, io):
    z = torch.from_numpy(io["seed0/z"].astype(np.float32))
    expected = torch.from_numpy(io["seed0/psi0.7/images"])
    gs = load_checkpoint(sg1 / "sg1_tiny_synthetic.pkl")
    g = load_checkpoint(sg1 / "sg1_tiny_synthetic.pkl", network="G")
    assert (gs(z, truncation_psi=0.7) - expected).abs().max() < 5e-5
    assert (g(z, truncation_psi=0.7) - expected).abs().max() > 1e-2
    with pytest.raises(CheckpointError, match="D_basic.*not a StyleGAN v1 generator"):
        load_checkpoint(sg1 / "sg1_tiny_synthetic.pkl", network="D")


def test_cli_generate_reproduces_reference_pngs_and_convert_roundtrips(sg1, tmp_path):
    pkl = str(sg1 / "sg1_tiny_synthetic.pkl")
    assert main(["generate", "--network", pkl, "--seeds", "0,1,42", "--trunc", "0.7", "--outdir", str(tmp_path)]) == 0
    for seed in SEEDS:
        ours = np.asarray(Image.open(tmp_path / f"seed{seed:04d}.png")).astype(int)
        theirs = np.asarray(Image.open(sg1 / f"seed{seed}_psi0.7.png")).astype(int)
        assert np.abs(ours - theirs).max() <= 1 and (ours != theirs).sum() <= 10
    assert main(["convert", "--input", pkl, "--outdir", str(tmp_path / "native")]) == 0
    native = Generator.from_pretrained(tmp_path / "native")
    original = load_checkpoint(pkl)
    z = torch.randn(2, 32)
    torch.testing.assert_close(native(z, truncation_psi=0.5), original(z, truncation_psi=0.5), atol=0, rtol=0)
    assert native.config == original.config


def test_fused_upsample_equals_nearest_upsample_and_rotated_conv():
    from stylegan_core.synthesis_sg1 import fused_upsample_kernel

    x = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    w = torch.randn(4, 5, 3, 3, dtype=torch.float64)
    fused = torch.nn.functional.conv_transpose2d(x, fused_upsample_kernel(w), stride=2, padding=1)
    upsampled = torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
    rotated = torch.nn.functional.conv2d(upsampled, w.flip([2, 3]), padding=1)
    torch.testing.assert_close(fused, rotated, atol=1e-12, rtol=0)
    plain = torch.nn.functional.conv2d(upsampled, w, padding=1)
    assert (fused - plain).abs().max() > 0.1


def test_every_noise_mode_and_gradients_reach_every_parameter(sg1):
    G = load_checkpoint(sg1 / "sg1_tiny_weights.npz").requires_grad_(True)
    z = torch.randn(2, 32)
    const = G(z, noise_mode="const")
    assert not torch.equal(const, G(z, noise_mode="random"))
    assert not torch.equal(const, G(z, noise_mode="none"))
    G(z, noise_mode="random").square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


# --- bad input: nothing executed, clear errors naming the file ------------------------------------------------


def _fake_tf_module(monkeypatch):
    """A stand-in `dnnlib.tflib.network.Network` class so the test can write TF-shaped pickles."""
    module = types.ModuleType("dnnlib.tflib.network")

    class Network:
        pass

    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = "Network"
    module.Network = Network
    for name in ("dnnlib", "dnnlib.tflib", "dnnlib.tflib.network"):
        monkeypatch.setitem(sys.modules, name, module if name.endswith("network") else types.ModuleType(name))
    return Network


def _network(cls, name, variables, components=None, build_func_name="G_style"):
    net = cls()
    net.__dict__.update(version=3, name=name, static_kwargs={}, components=components or {},
                        build_module_src="", build_func_name=build_func_name, variables=variables)  # fmt: skip
    return net


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_a_foreign_global_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    Network = _fake_tf_module(monkeypatch)
    marker = tmp_path / "pwned"
    gs = _network(Network, "Gs", [("dlatent_avg", np.zeros(4, np.float32)), ("evil", _Evil(marker))])
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps((gs, gs, gs), protocol=4))
    with pytest.raises(CheckpointError, match=r"evil\.pkl.*(posix|os)\.system.*nothing was executed"):
        load_checkpoint(path)
    assert not marker.exists()


def test_stylegan2_tf_pickle_and_truncated_file_are_clear_errors(sg1, tmp_path, monkeypatch):
    Network = _fake_tf_module(monkeypatch)
    mapping = _network(Network, "G_mapping", [("Dense0/weight", np.zeros((4, 4), np.float32))], None, "G_mapping")
    synthesis = _network(Network, "G_synthesis", [("4x4/Conv/mod_weight", np.zeros((4, 4), np.float32))], None,
                         "G_synthesis_stylegan2")  # fmt: skip
    gs = _network(Network, "Gs", [], {"mapping": mapping, "synthesis": synthesis}, "G_main")
    path = tmp_path / "stylegan2-tf.pkl"
    path.write_bytes(pickle.dumps((gs, gs, gs), protocol=4))
    with pytest.raises(CheckpointError, match=r"stylegan2-tf\.pkl.*G_main.*not a StyleGAN v1 generator.*StyleGAN2"):
        load_checkpoint(path)
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes((sg1 / "sg1_tiny_synthetic.pkl").read_bytes()[:50_000])
    with pytest.raises(CheckpointError, match="truncated.pkl"):
        load_checkpoint(truncated)
    bad_npz = tmp_path / "other.npz"
    np.savez(bad_npz, foo=np.zeros(3))
    with pytest.raises(CheckpointError, match="other.npz.*mapping"):
        load_checkpoint(bad_npz)
