"""Directions, style mixing and latent files on a tiny StyleGAN v1 model with random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_tiny_generator
from PIL import Image
from pixels import assert_same_picture

from editing.builtin import builtin_directions, resolve_direction
from editing.directions import Direction, DirectionError, edit_ws, move_to_distance
from editing.edit import edited_ws, parse_layers, z_for_seeds
from editing.latents import LatentError, load_w, save_w
from editing.mixing import layer_preset, mix_ws, style_mixing_grid
from studio.cli import main
from stylegan_core import hub
from stylegan_core.formats import CheckpointError


@pytest.fixture(scope="module")
def G():  # noqa: N802  (the generator is G everywhere in this field)
    """128 px, w_dim 32: the official v1 shapes at a tiny width, truncating the first 8 layers as v1 does."""
    mapping = {"z_dim": 32, "w_dim": 32, "layer_features": 32, "default_truncation_cutoff": 8}
    return make_tiny_generator("stylegan1", 128, mapping=mapping, fmap_base=512, fmap_max=32)


@pytest.fixture(scope="module")
def sg1_path(G, tmp_path_factory):
    return G.save_pretrained(tmp_path_factory.mktemp("sg1") / "model")


@pytest.fixture(scope="module")
def direction():
    n = np.random.RandomState(3).randn(32)
    return Direction("test", n / np.linalg.norm(n), "w", model="sg1-tiny", method="random")


def test_alpha_zero_is_identity_and_edits_touch_only_their_layers(G, direction):
    z = z_for_seeds(G, [0, 1])
    base = G.mapping(z, truncation_psi=0.7)
    torch.testing.assert_close(edited_ws(G, direction, 0.0, z=z, truncation_psi=0.7), base, atol=0, rtol=0)
    ws = G.mapping(z)
    moved = edit_ws(ws, direction, 2.5, layers=[4, 5, 6, 7])
    delta = (moved - ws).abs().amax(dim=(0, 2))
    assert (delta[4:8] > 0.5).all() and (delta[:4] == 0).all() and (delta[8:] == 0).all()
    # InterFaceGAN order: the edit happens before the truncation
    expected = G.mapping.truncate(edit_ws(ws, direction, 2.5), 0.7)
    torch.testing.assert_close(edited_ws(G, direction, 2.5, z=z, truncation_psi=0.7), expected)
    img0, img1 = G.synthesis(base), G.synthesis(edited_ws(G, direction, 3.0, z=z, truncation_psi=0.7))
    assert (img0 - img1).abs().mean() > 1e-2


def test_move_to_distance_places_latent_at_distance(direction):
    w = torch.randn(5, 32)
    moved = move_to_distance(w, direction, 1.5)
    n = torch.from_numpy(direction.vector)
    torch.testing.assert_close(moved @ n, torch.full((5,), 1.5), atol=1e-5, rtol=0)
    # the component orthogonal to the boundary normal is untouched
    torch.testing.assert_close(moved - (moved @ n)[:, None] * n, w - (w @ n)[:, None] * n, atol=1e-5, rtol=0)


def test_direction_files_roundtrip_and_bad_files(tmp_path, direction):
    d = Direction("smile", direction.vector, "w", layers=(0, 1, 2), model="m", method="interfacegan", description="x")
    loaded = Direction.load(d.save(tmp_path / "smile.safetensors"))
    assert loaded.name == "smile" and loaded.layers == (0, 1, 2) and loaded.model == "m"
    np.testing.assert_array_equal(loaded.vector, d.vector)
    np.save(tmp_path / "age_w_boundary.npy", direction.vector[None])
    assert Direction.load(tmp_path / "age_w_boundary.npy").space == "w"
    torch.save(torch.from_numpy(np.tile(direction.vector, (12, 1))[None]), tmp_path / "pose.pt")
    assert Direction.load(tmp_path / "pose.pt").vector.shape == (12, 32)
    (tmp_path / "junk.safetensors").write_bytes(b"not a direction")
    with pytest.raises(DirectionError, match="junk.safetensors"):
        Direction.load(tmp_path / "junk.safetensors")
    with pytest.raises(DirectionError, match="512 dims.*32"):
        edit_ws(torch.zeros(1, 12, 32), builtin_directions("interfacegan-sg1-ffhq")["smile"], 1.0)
    with pytest.raises(DirectionError, match="no direction 'grin'"):
        resolve_direction("interfacegan-sg1-ffhq/grin")


def test_builtin_interfacegan_set_is_complete_and_unit_norm():
    directions = builtin_directions("interfacegan-sg1-ffhq")
    for attr in ("age", "eyeglasses", "gender", "pose", "smile"):
        assert directions[attr].space == "w" and directions[f"{attr}_z"].space == "z"
        assert directions[attr].dim == 512
        assert abs(np.linalg.norm(directions[attr].vector) - 1) < 1e-5
    assert "age_c_gender_z" in directions
    assert hub.entry_for("/some/dir/karras2019stylegan-ffhq-1024x1024.pkl").directions[0] == "interfacegan-sg1-ffhq"


def test_layer_presets_and_mixing(G):
    assert layer_preset(18, "coarse") == [0, 1, 2, 3]
    assert layer_preset(18, "middle") == [4, 5, 6, 7]
    assert layer_preset(18, "fine") == list(range(8, 18))
    assert parse_layers("middle+fine", 12) == list(range(4, 12))
    assert parse_layers("0,2,8-9", 12) == [0, 2, 8, 9] and parse_layers("all", 12) is None
    with pytest.raises(ValueError, match="outside this model's 0..11"):
        parse_layers("11-12", 12)
    for bad, why in (("banana", "use all, coarse"), ("5-3", "ends before it starts"), ("-1", "use all")):
        with pytest.raises(ValueError, match=why):
            parse_layers(bad, 12)
    a, b = G.mapping(z_for_seeds(G, [0])), G.mapping(z_for_seeds(G, [1]))
    torch.testing.assert_close(mix_ws(a, b, []), a, atol=0, rtol=0)
    torch.testing.assert_close(mix_ws(a, b, range(12)), b, atol=0, rtol=0)
    grid, cells = style_mixing_grid(G, [0, 1], [42], list(range(12)))
    assert grid.shape == (3 * 128, 2 * 128, 3)
    assert_same_picture(cells[(0, 42)], grid[:128, 128:])  # all styles from the column = column image
    _, none_taken = style_mixing_grid(G, [0], [42], [])  # rendered in another batch: may round differently
    assert_same_picture(none_taken[(0, 42)], grid[128:256, :128])  # no styles taken = row image


def test_latent_files_roundtrip_and_reject_other_models(tmp_path, G):
    ws = G.mapping(z_for_seeds(G, [5]))
    path = save_w(tmp_path / "projected_w.npz", ws)
    assert np.load(path)["w"].shape == (1, 12, 32)
    torch.testing.assert_close(load_w(path, 12, 32), ws)
    with pytest.raises(LatentError, match="another model"):
        load_w(path, 18, 512)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(LatentError, match="no array 'w'"):
        load_w(tmp_path / "other.npz")


def test_cli_mix_and_edit_on_stylegan1(tmp_path, sg1_path, G, direction):
    assert (
        main(
            [
                "mix",
                "--network",
                str(sg1_path),
                "--rows",
                "0,1",
                "--cols",
                "42",
                "--styles",
                "coarse",
                "--outdir",
                str(tmp_path / "mix"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "mix" / "grid.png").size == (256, 384)
    direction.save(tmp_path / "dir.safetensors")
    assert (
        main(
            [
                "edit",
                "--network",
                str(sg1_path),
                "--seeds",
                "3",
                "--direction",
                str(tmp_path / "dir.safetensors"),
                "--alpha=-2,0,2",
                "--trunc",
                "0.7",
                "--outdir",
                str(tmp_path / "edit"),
            ]
        )
        == 0
    )
    strip = Image.open(tmp_path / "edit" / "seed0003-test.png")
    assert strip.size == (3 * 128, 128)
    centre = np.asarray(Image.open(tmp_path / "edit" / "seed0003-test+0.png"))
    main(["generate", "--network", str(sg1_path), "--seeds", "3", "--trunc", "0.7", "--outdir", str(tmp_path / "g")])
    assert_same_picture(centre, np.asarray(Image.open(tmp_path / "g" / "seed0003.png")))  # alpha 0: no edit
    save_w(tmp_path / "w.npz", G.mapping(z_for_seeds(G, [3])))
    assert (
        main(
            [
                "edit",
                "--network",
                str(sg1_path),
                "--w",
                str(tmp_path / "w.npz"),
                "--layers",
                "fine",
                "--direction",
                str(tmp_path / "dir.safetensors"),
                "--outdir",
                str(tmp_path / "e2"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "edit",
                "--network",
                str(sg1_path),
                "--seeds",
                "3",
                "--direction",
                "smile",
                "--outdir",
                str(tmp_path / "e3"),
            ]
        )
        == 2
    )


def test_official_stylegan1_entry_explains_where_to_get_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_MODELS_DIR", str(tmp_path))
    with pytest.raises(CheckpointError, match="karras2019stylegan-ffhq-1024x1024.pkl.*NVlabs/stylegan"):
        hub.resolve("stylegan1-ffhq")
    (tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl").write_bytes(b"something else")
    assert hub.resolve("stylegan1-ffhq") == tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl"
    pinned = hub.ModelEntry("pinned", "", 4, None, "karras2019stylegan-ffhq-1024x1024.pkl", sha256="0" * 64)
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        hub.verify_pinned(pinned, tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl")


def test_builtin_e4e_set_for_ffhq_stylegan2():
    directions = builtin_directions("e4e-ffhq")
    assert {"age", "smile", "pose", "eye_openness", "white_hair", "happiness"} <= set(directions)
    assert directions["pose"].vector.shape == (18, 512)
    assert directions["white_hair"].layers == (7, 8, 9) and directions["white_hair"].typical_alpha == 24
    ws = torch.zeros(1, 18, 512)
    moved = edit_ws(ws, directions["white_hair"], 1.0)
    assert moved[:, [7, 8, 9]].abs().sum() > 0 and moved[:, :7].abs().sum() == 0 and moved[:, 10:].abs().sum() == 0
    assert hub.entry_for("ffhq").directions[0] == "e4e-ffhq"
    assert resolve_direction("smile", hub.entry_for("ffhq").directions).method == "interfacegan"


def test_default_model_is_demo_offline_and_can_be_forced(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("STUDIO_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent-cache")
    assert hub.default_model_name() == "demo"
    monkeypatch.setenv("STUDIO_MODEL", "stylegan1-ffhq")
    assert hub.default_model_name() == "stylegan1-ffhq"
