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
    net.__dict__.update(
        version=3,
        name=name,
        static_kwargs={},
        components=components or {},
        build_module_src="",
        build_func_name=build_func_name,
        variables=variables,
    )
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
    synthesis = _network(
        Network, "G_synthesis", [("4x4/Conv/mod_weight", np.zeros((4, 4), np.float32))], None, "G_synthesis_stylegan2"
    )
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


def _random_tf_variables(resolution, latent, dlatent, fmaps, layers, nf, rng):
    """TF-layout variables of a StyleGAN v1 generator of any configuration (random weights)."""
    v = {"lod": np.float32(0), "dlatent_avg": rng.randn(dlatent).astype(np.float32)}
    sizes = [latent] + [fmaps] * (layers - 1) + [dlatent]
    for i in range(layers):
        v[f"G_mapping/Dense{i}/weight"] = rng.randn(sizes[i], sizes[i + 1])
        v[f"G_mapping/Dense{i}/bias"] = rng.randn(sizes[i + 1])
    log2 = int(np.log2(resolution))
    for i in range(2 * (log2 - 1)):
        r = 2 ** (i // 2 + 2)
        v[f"G_synthesis/noise{i}"] = rng.randn(1, 1, r, r)
    for r in (2**k for k in range(2, log2 + 1)):
        names = ["Const", "Conv"] if r == 4 else ["Conv0_up", "Conv1"]
        for j, name in enumerate(names):
            base = f"G_synthesis/{r}x{r}/{name}"
            c_in = nf(r) if (r == 4 or j == 1) else nf(r // 2)
            if name == "Const":
                v[f"{base}/const"] = rng.randn(1, nf(r), 4, 4)
            else:
                v[f"{base}/weight"] = rng.randn(3, 3, c_in, nf(r))
            v[f"{base}/Noise/weight"] = rng.randn(nf(r))
            v[f"{base}/bias"] = rng.randn(nf(r))
            v[f"{base}/StyleMod/weight"] = rng.randn(dlatent, 2 * nf(r))
            v[f"{base}/StyleMod/bias"] = rng.randn(2 * nf(r))
    for k in range(log2 - 1):
        v[f"G_synthesis/ToRGB_lod{k}/weight"] = rng.randn(1, 1, nf(resolution // 2**k), 3)
        v[f"G_synthesis/ToRGB_lod{k}/bias"] = rng.randn(3)
    return {k: np.asarray(a, np.float32) for k, a in v.items()}


@pytest.mark.parametrize("resolution,fmap_base,fmap_max", [(64, 256, 16), (256, 1024, 16)])
def test_other_configurations_are_inferred_from_shapes(tmp_path, resolution, fmap_base, fmap_max):
    def nf(r):
        return min(int(fmap_base / 2 ** (np.log2(r) - 1)), fmap_max)

    variables = _random_tf_variables(resolution, 16, 24, 20, 3, nf, np.random.RandomState(0))
    np.savez(tmp_path / "g.npz", **variables)
    G = load_checkpoint(tmp_path / "g.npz")
    cfg = G.config
    assert (cfg.img_resolution, cfg.z_dim, cfg.w_dim, cfg.mapping.num_layers) == (resolution, 16, 24, 3)
    assert cfg.mapping.layer_features == 20 and G.num_ws == 2 * int(np.log2(resolution)) - 2
    assert all(cfg.synthesis.channels(r) == nf(r) for r in (4, resolution))
    img = G(torch.randn(2, 16), truncation_psi=0.7)
    assert img.shape == (2, 3, resolution, resolution) and torch.isfinite(img).all()
    del variables["G_synthesis/8x8/Conv1/bias"]
    np.savez(tmp_path / "broken.npz", **variables)
    with pytest.raises(CheckpointError, match="broken.npz.*missing: synthesis.b8.epilogue1.bias"):
        load_checkpoint(tmp_path / "broken.npz")
