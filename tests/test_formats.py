"""Checkpoint formats: NVIDIA pickles (safely), rosinality, native safetensors, strict loading, bad files."""

from __future__ import annotations

import json
import pickle
import pickletools

import pytest
import torch
from safetensors.torch import load_file

from stylegan_core.formats import CheckpointError, load_checkpoint


def _outputs(G, seed=0):
    z = torch.from_numpy(__import__("numpy").random.RandomState(seed).randn(2, G.z_dim))
    with torch.no_grad():
        return G(z, torch.zeros([2, G.c_dim]), 0.7)


def test_snapshot_pickle_loads_like_its_safetensors_twin(reference):
    G = load_checkpoint(reference / "nv_sg2_64_snapshot.pkl")
    twin = load_checkpoint(reference / "nv_sg2_64.safetensors")
    for key, value in twin.state_dict().items():
        assert torch.equal(G.state_dict()[key], value), key
    assert torch.equal(_outputs(G), _outputs(twin))
    assert G.config.synthesis.conv_clamp == 256 and G.config.synthesis.architecture == "skip"


def test_snapshot_networks_on_request(reference):
    G = load_checkpoint(reference / "nv_sg2_64_snapshot.pkl", network="G")
    assert G.num_ws == 10
    with pytest.raises(CheckpointError, match="Discriminator, not a Generator"):
        load_checkpoint(reference / "nv_sg2_64_snapshot.pkl", network="D")
    with pytest.raises(CheckpointError, match="it has: G_ema, G, D"):
        load_checkpoint(reference / "nv_sg2_64_snapshot.pkl", network="G_mapping")


def test_discriminator_weights_are_readable(reference):
    from stylegan_core.formats.nvidia import network_from_pickle

    D, state = network_from_pickle(reference / "nv_sg2_64_snapshot.pkl", "D")
    assert D.class_name == "Discriminator"
    assert D.state["_init_kwargs"]["img_resolution"] == 64
    assert "b64.fromrgb.weight" in state and all(isinstance(v, torch.Tensor) for v in state.values())


class _RunsShell:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/stylegan_studio_pwned",))


@pytest.fixture()
def marker(tmp_path):
    path = __import__("pathlib").Path("/tmp/stylegan_studio_pwned")
    path.unlink(missing_ok=True)
    yield path
    assert not path.exists(), "code from a checkpoint was executed"


def test_malicious_pickle_runs_nothing(tmp_path, marker):
    bad = tmp_path / "network-snapshot-000000.pkl"
    bad.write_bytes(pickle.dumps({"G_ema": _RunsShell()}))
    with pytest.raises(CheckpointError, match=r"refused to load.*(posix|os)\.system.*nothing was executed"):
        load_checkpoint(bad)


def test_malicious_tensor_payload_runs_nothing(reference, tmp_path, marker):
    """A 'tensor' whose nested legacy blob hides a global: the payload reader refuses it too."""
    evil_blob = pickle.dumps(_RunsShell(), protocol=2)
    data = (reference / "nv_sg2_64_snapshot.pkl").read_bytes()
    # Swap the first tensor payload (a BINBYTES argument of _load_from_bytes) for the evil blob.
    for op, arg, pos in pickletools.genops(data):
        if op.name in ("BINBYTES", "BINBYTES8", "SHORT_BINBYTES") and isinstance(arg, bytes) and len(arg) > 100:
            header = {"BINBYTES": b"B" + len(evil_blob).to_bytes(4, "little")}[op.name]
            end = pos + 1 + 4 + len(arg)
            data = data[:pos] + header + evil_blob + data[end:]
            break
    else:
        pytest.fail("no tensor payload found")
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(data)
    with pytest.raises(CheckpointError):
        load_checkpoint(bad)


def test_truncated_and_non_checkpoint_files(reference, tmp_path):
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes((reference / "nv_sg2_64_snapshot.pkl").read_bytes()[:500_000])
    with pytest.raises(CheckpointError, match="cut.pkl.*truncated or corrupt"):
        load_checkpoint(truncated)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a model at all\n" * 3)
    with pytest.raises(CheckpointError, match="notes.txt: not a checkpoint"):
        load_checkpoint(text)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="too short"):
        load_checkpoint(empty)
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pkl")


def test_malformed_tensorflow_pickle_is_named(tmp_path):
    # A dnnlib.tflib.network.Network object without its state.
    stream = b"\x80\x02cdnnlib.tflib.network\nNetwork\nq\x00)\x81q\x01}q\x02b."
    path = tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl"
    path.write_bytes(stream)
    with pytest.raises(CheckpointError, match="karras2019.*malformed TensorFlow network"):
        load_checkpoint(path)


def _rosinality_ckpt(reference):
    import numpy as np

    state = load_file(str(reference / "rosi_sg2_64.safetensors"))
    latent_avg = torch.from_numpy(np.load(reference / "rosi_sg2_64_io.npz")["truncation_latent"]).reshape(-1)
    return state, latent_avg


def test_rosinality_pt_roundtrip(reference, tmp_path):
    state, latent_avg = _rosinality_ckpt(reference)
    path = tmp_path / "stylegan2-tiny.pt"
    torch.save({"g_ema": state, "latent_avg": latent_avg, "args": {"size": 64}}, path)
    G = load_checkpoint(path)
    assert torch.equal(G.mapping.w_avg, latent_avg)
    assert G.config.synthesis.conv_clamp is None
    assert G.config.synthesis.channel_base == 2048 and G.config.synthesis.channel_max == 64


def test_rosinality_unknown_key_is_named(reference, tmp_path):
    state, latent_avg = _rosinality_ckpt(reference)
    state["convs.99.conv.weight_extra"] = torch.zeros(1)
    path = tmp_path / "odd.pt"
    torch.save({"g_ema": state, "latent_avg": latent_avg}, path)
    with pytest.raises(CheckpointError, match=r"convs\.99\.conv\.weight_extra"):
        load_checkpoint(path)


def test_torch_file_that_is_not_rosinality(tmp_path):
    path = tmp_path / "classifier.pt"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(CheckpointError, match="not a rosinality checkpoint"):
        load_checkpoint(path)


def test_native_roundtrip_and_single_file(reference, tmp_path):
    G = load_checkpoint(reference / "nv_sg3t_64.safetensors")
    out = G.save_pretrained(tmp_path / "native")
    assert json.loads((out / "config.json").read_text())["architecture"] == "stylegan3"
    G2 = load_checkpoint(out)
    assert torch.equal(_outputs(G), _outputs(G2))
    alone = tmp_path / "alone.safetensors"
    alone.write_bytes((out / "model.safetensors").read_bytes())
    assert torch.equal(_outputs(load_checkpoint(alone)), _outputs(G))


def test_strict_loading_names_keys(reference, tmp_path):
    from safetensors.torch import save_file

    G = load_checkpoint(reference / "nv_sg2_64.safetensors")
    out = G.save_pretrained(tmp_path / "m")
    state = load_file(str(out / "model.safetensors"))
    broken = dict(state)
    del broken["synthesis.b8.conv0.weight"]
    broken["synthesis.b8.conv0.extra"] = torch.zeros(1)
    broken["mapping.fc0.bias"] = torch.zeros(7)
    save_file(broken, str(out / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(out)
    message = str(err.value)
    assert "missing: synthesis.b8.conv0.weight" in message
    assert "unexpected: synthesis.b8.conv0.extra" in message
    assert "mapping.fc0.bias (7,) (model expects (128,))" in message


def test_unknown_config_field_is_named(tmp_path):
    from stylegan_core.config import GeneratorConfig

    with pytest.raises(ValueError, match="unknown MappingConfig field.*depth"):
        GeneratorConfig.from_dict({"architecture": "stylegan2", "img_resolution": 32, "mapping": {"depth": 3}})


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_written_weights_follow_the_umask(tmp_path, umask, mode):
    """safetensors alone writes 0600; our files get the mode any new file gets, so others can share a run."""
    import os

    import numpy as np

    from editing.directions import Direction
    from stylegan_core import Generator

    G = Generator.from_pretrained("demo")
    old = os.umask(umask)
    try:
        out = G.save_pretrained(tmp_path / "model")
        direction = Direction("test", np.ones(G.w_dim) / np.sqrt(G.w_dim), "w", model="demo", method="random")
        saved = direction.save(tmp_path / "direction.safetensors")
    finally:
        os.umask(old)
    assert os.stat(out / "model.safetensors").st_mode & 0o777 == mode
    assert os.stat(saved).st_mode & 0o777 == mode
