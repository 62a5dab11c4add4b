"""Our generators reproduce the official implementations' stored outputs from the stored weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from stylegan_core.formats import load_checkpoint

NVIDIA_CASES = ["nv_sg2_64", "nv_sg2_32_cond", "nv_sg3t_64", "nv_sg3r_64"]


def _cases():
    for case in NVIDIA_CASES:
        # test counts are fixed by the reference README: 8 for StyleGAN2, 4 for StyleGAN3
        for i in range(8 if "sg2" in case else 4):
            yield pytest.param(case, i, id=f"{case}-t{i}")


@pytest.fixture(scope="module")
def generators(reference):
    return {case: load_checkpoint(reference / f"{case}.safetensors") for case in NVIDIA_CASES}


@pytest.mark.parametrize("case,test", list(_cases()))
def test_nvidia_case(reference, generators, case, test):
    io = np.load(reference / f"{case}_io.npz", allow_pickle=False)
    assert int(io["num_tests"]) > test
    G = generators[case]
    z = torch.from_numpy(io["z"])
    c = torch.from_numpy(io["c"]) if "c" in io else None
    cutoff = int(io[f"t{test}_truncation_cutoff"])
    transform = torch.from_numpy(io[f"t{test}_transform"]) if f"t{test}_transform" in io else None
    with torch.no_grad():
        ws = G.mapping(z, c, truncation_psi=float(io[f"t{test}_psi"]), truncation_cutoff=None if cutoff < 0 else cutoff)
        img = G.synthesis(ws, noise_mode=str(io[f"t{test}_noise_mode"]), transform=transform)
    assert (ws - torch.from_numpy(io[f"t{test}_ws"])).abs().max() <= 1e-5
    assert (img - torch.from_numpy(io[f"t{test}_img"])).abs().max() <= 1e-4
    if transform is not None:  # a transform is an argument: the shared model's buffer stays identity
        assert torch.equal(G.synthesis.input.transform, torch.eye(3))


def test_num_ws_and_keys_match_reference(reference, generators):
    for case, G in generators.items():
        meta = json.loads((reference / f"{case}.json").read_text())
        assert G.num_ws == meta["num_ws"]
        assert list(G.state_dict()) == [k for k, _, _ in meta["state_dict"]]


@pytest.mark.parametrize("test", range(4))
def test_rosinality_case(reference, test):
    G = load_checkpoint(reference / "rosi_sg2_64.safetensors")
    io = np.load(reference / "rosi_sg2_64_io.npz", allow_pickle=False)
    z, z2 = torch.from_numpy(io["z"]), torch.from_numpy(io["z2"])
    avg = torch.from_numpy(io["truncation_latent"]).reshape(1, 1, -1)
    with torch.no_grad():
        ws = G.mapping(z)
        if bool(io[f"t{test}_uses_z2"]):
            inject = int(io[f"t{test}_inject_index"])
            ws = torch.cat([ws[:, :inject], G.mapping(z2)[:, inject:]], dim=1)
        psi = float(io[f"t{test}_truncation"])
        if psi != 1:
            ws = avg + psi * (ws - avg)  # rosinality truncates towards its mean_latent
        img = G.synthesis(ws, noise_mode="const")
    assert (ws - torch.from_numpy(io[f"t{test}_latent"])).abs().max() <= 1e-5
    assert (img - torch.from_numpy(io[f"t{test}_img"])).abs().max() <= 1e-4


def test_rosinality_keys_of_the_full_size_config_are_all_mapped(reference):
    from stylegan_core.formats.rosinality import key_table

    meta = json.loads((reference / "rosi_sg2_64_fullsize_keys.json").read_text())
    entries = meta["state_dict"] if isinstance(meta, dict) else meta
    keys = {e[0] if isinstance(e, list) else e["key"] for e in entries}
    mapped = {src for src, _, _ in key_table(6, 8)}
    assert keys == mapped


def test_seed_images_match_gen_images(reference):
    G = load_checkpoint(reference / "nv_sg2_64.safetensors")
    io = np.load(reference / "nv_sg2_64_seeds_io.npz", allow_pickle=False)
    from stylegan_core.seeds import z_from_seed

    for seed in io["seeds"]:
        z = torch.from_numpy(z_from_seed(int(seed), G.z_dim))
        with torch.no_grad():
            ws = G.mapping(z, None)
            img = G.synthesis(ws, noise_mode="const")
        assert (ws - torch.from_numpy(io[f"ws_seed{seed}"])).abs().max() <= 1e-5
        assert (img - torch.from_numpy(io[f"img_seed{seed}"])).abs().max() <= 1e-4


def test_seeds_reproduce_official_z(reference):
    from stylegan_core.seeds import z_from_seed

    io = np.load(reference / "seeds_z.npz", allow_pickle=False)
    for zdim in (512, 128):
        for seed in (0, 1, 42, 1234):
            z = z_from_seed(seed, zdim)
            assert z.dtype == np.float64
            np.testing.assert_array_equal(z, io[f"z{zdim}_seed{seed}"])
            np.testing.assert_array_equal(z.astype(np.float32), io[f"z{zdim}_seed{seed}_f32"])
