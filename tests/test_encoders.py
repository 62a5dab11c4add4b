"""e4e / pSp encoders: the official golden cases, the full-size layout, and every kind of wrong file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_tiny_generator
from PIL import Image

from editing.encoders import Encoder, EncoderConfig, load_encoder, load_official_encoder
from editing.encoders.official import encoder_config_from_state
from stylegan_core.errors import CheckpointError

CASES = ["e4e_tiny", "psp_tiny", "psp_tiny_w"]


@pytest.fixture(scope="module")
def encoders(reference) -> Path:
    return reference / "encoders"


def _within(ours: np.ndarray, ref: np.ndarray) -> float:
    """The README's tolerance: max |a - a_ref| / max(1, max |a_ref|), to be under 1e-4."""
    return float(np.abs(ours - ref).max() / max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("case", CASES)
def test_official_codes_intermediates_and_image(encoders, case):
    loaded = load_official_encoder(encoders / f"{case}.pt")
    io = np.load(encoders / f"{case}_io.npz")
    x = loaded.encoder.preprocess(Image.open(encoders / f"{case}_input.png"))
    np.testing.assert_array_equal(x.numpy(), io["x"])  # the official input transform
    with torch.no_grad():
        c1, c2, c3 = loaded.encoder.backbone(x)
        codes = loaded.encoder(x)
        image = loaded.decoder.synthesis(codes, noise_mode="const")
    for name, ours in (("c1", c1), ("c2", c2), ("c3", c3), ("w", codes), ("img", image)):
        assert _within(ours.numpy(), io[name]) < 1e-4, name
    assert codes.shape == io["w"].shape and loaded.decoder.num_ws == codes.shape[1]


def test_sizes_come_from_the_weights_not_the_opts(encoders):
    """A 2020 pSp file has no output_size; an e4e file may carry a stylegan_size its weights contradict."""
    ckpt = torch.load(encoders / "psp_tiny.pt", map_location="cpu", weights_only=True)
    ckpt["opts"] = {k: v for k, v in ckpt["opts"].items() if k not in ("output_size", "n_styles")}
    path = encoders.parent.parent / "unused"
    state = {k[len("encoder.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("encoder.")}
    config = encoder_config_from_state(state, ckpt["opts"], w_styles=18, path=path)
    assert (config.kind, config.n_styles, config.style_dim, config.stage_depths) == ("psp", 8, 64, (16, 32, 48, 64))
    e4e = torch.load(encoders / "e4e_tiny.pt", map_location="cpu", weights_only=True)
    e4e["opts"] = {**e4e["opts"], "stylegan_size": 1024}
    state = {k[len("encoder.") :]: v for k, v in e4e["state_dict"].items() if k.startswith("encoder.")}
    assert encoder_config_from_state(state, e4e["opts"], w_styles=18, path=path).n_styles == 10


def test_the_full_size_layout_matches_the_official_keys(encoders):
    """IR-SE50 with 18 styles of 512: every encoder key and shape of the unmodified 1024 px checkpoints, and the
    sizes read back from those shapes (meta tensors: no 1 GB of weights)."""
    listing = json.loads((encoders / "fullsize_1024_keys.json").read_text())["state_dict"]
    official = {k[len("encoder.") :]: tuple(shape) for k, shape, _ in listing if k.startswith("encoder.")}
    state = {k: torch.empty(shape, device="meta") for k, shape in official.items()}
    config = encoder_config_from_state(state, {"encoder_type": "Encoder4Editing"}, 18, Path("full.pt"))
    assert config == EncoderConfig("e4e", 18)
    with torch.device("meta"):
        ours = Encoder(config).state_dict()
    renamed = {k.removeprefix("backbone."): tuple(v.shape) for k, v in ours.items() if k != "latent_avg"}
    official = {k: (() if k.endswith("num_batches_tracked") else v) for k, v in official.items()}
    assert renamed == official


def test_wrong_files_are_clear_errors_and_nothing_runs(encoders, tmp_path, tiny_generator):
    good = (encoders / "e4e_tiny.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 3])
    with pytest.raises(CheckpointError, match="cut.pt: not a readable torch checkpoint"):
        load_official_encoder(tmp_path / "cut.pt")
    (tmp_path / "noise.pt").write_bytes(b"\0" * 1000)
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        load_official_encoder(tmp_path / "noise.pt")
    torch.save({"g_ema": {"style.1.weight": torch.zeros(2, 2)}}, tmp_path / "generator.pt")
    with pytest.raises(CheckpointError, match="not an e4e / pSp checkpoint.*a generator checkpoint"):
        load_official_encoder(tmp_path / "generator.pt")
    torch.save({"state_dict": {"decoder.style.1.weight": torch.zeros(2, 2)}}, tmp_path / "decoder_only.pt")
    with pytest.raises(CheckpointError, match="no encoder.* weights"):
        load_official_encoder(tmp_path / "decoder_only.pt")
    torch.save({"state_dict": {}, "opts": Path("x")}, tmp_path / "code.pt")  # an object a pickle would construct
    with pytest.raises(CheckpointError, match="holds objects other than tensors"):
        load_official_encoder(tmp_path / "code.pt")
    ckpt = torch.load(encoders / "e4e_tiny.pt", map_location="cpu", weights_only=True)
    for i in range(8, 10):  # an encoder of 8 styles beside a decoder of 10
        for key in [k for k in ckpt["state_dict"] if k.startswith(f"encoder.styles.{i}.")]:
            del ckpt["state_dict"][key]
    torch.save(ckpt, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="makes 8 styles of 64, but its own decoder takes 10 of 64"):
        load_official_encoder(tmp_path / "mismatch.pt")
    encoder = load_official_encoder(encoders / "e4e_tiny.pt").encoder
    with pytest.raises(CheckpointError, match="makes 10 styles of 64, but the generator takes 10 of 128"):
        encoder.check_fits(tiny_generator.num_ws, tiny_generator.w_dim)
    with pytest.raises(CheckpointError, match="unknown encoder 'nope'"):
        load_encoder("nope")


def test_native_encoders_round_trip(tmp_path):
    """Our own format (what `studio train-encoder` writes) loads wherever an encoder is asked for."""
    torch.manual_seed(0)
    config = EncoderConfig("e4e", 10, style_dim=32, stage_depths=(16, 32, 48, 64), model="tiny")
    encoder = Encoder(config).eval()
    encoder.latent_avg.normal_()
    image = np.random.default_rng(0).integers(0, 256, (100, 80, 3), dtype=np.uint8)
    expected = encoder.encode(image)
    native = load_encoder(encoder.save_pretrained(tmp_path / "enc"))
    loaded = native.encoder
    assert loaded.config == config and native.decoder is None
    torch.testing.assert_close(loaded.encode(image), expected, rtol=0, atol=0)
    assert expected.shape == (1, 10, 32)
    G = make_tiny_generator()
    with pytest.raises(CheckpointError, match="trained for another generator"):
        loaded.check_fits(G.num_ws, G.w_dim)
