"""Registry and Hub access: names resolve, offline fails fast and clearly, never minutes of retries."""

from __future__ import annotations

import time

import pytest

from stylegan_core import hub


@pytest.fixture()
def no_proxy(monkeypatch):
    for var in ("HTTPS_PROXY", "https_proxy", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def test_offline_env_fails_fast(monkeypatch, no_proxy, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    t0 = time.monotonic()
    with pytest.raises(hub.HubUnavailableError, match="HF_HUB_OFFLINE"):
        hub.resolve("ffhq")
    assert time.monotonic() - t0 < 5


def test_unreachable_hub_fails_within_seconds(monkeypatch, no_proxy, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    t0 = time.monotonic()
    with pytest.raises(hub.HubUnavailableError, match="cannot reach the Hugging Face Hub.*'demo'"):
        hub.resolve("someone/some-model/network-snapshot.pkl")
    assert time.monotonic() - t0 < 8


def test_unknown_names_list_the_registry():
    with pytest.raises(hub.UnknownModelError) as err:
        hub.resolve("not a model")
    for name in ("ffhq", "ada-afhqdog", "demo"):
        assert name in str(err.value)


def test_local_paths_win(tmp_path):
    path = tmp_path / "ffhq"
    path.mkdir()
    assert hub.resolve(str(path)) == path


def test_registry_entries_are_complete():
    for entry in hub.REGISTRY.values():
        assert entry.file_format in {"rosinality", "nvidia-pickle", "tf-pickle", "native"}
        assert entry.filename, entry.name
        assert entry.bundled or entry.repo_id or entry.download_hint, f"{entry.name}: nowhere to get it from"


@pytest.mark.network
def test_real_download_when_online():
    if not hub.hub_reachable():
        pytest.skip("the Hugging Face Hub is not reachable from this machine (CI has no network)")
    path = hub.download("timm/vgg16.tv_in1k", "config.json")
    assert path.is_file() and path.stat().st_size > 0
