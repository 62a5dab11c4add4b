"""Model registry and Hugging Face Hub access: names -> local files, fast and clear when offline.

Anywhere a model name is accepted, a local path or a Hub repo id works too:
`ffhq`, `./network-snapshot-000100.pkl`, `someone/my-stylegan` (native repo) or
`someone/repo/path/in/repo.pkl` (one file of a repo).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .constants import CONFIG_NAME, WEIGHTS_NAME
from .errors import CheckpointError, HubUnavailableError, UnknownModelError

BUNDLED_DIR = Path(__file__).resolve().parent / "assets"
CONNECT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ModelEntry:
    """One named model: where it lives and what it is."""

    name: str
    description: str
    resolution: int
    repo_id: str | None = None  # None: bundled, or a file the user downloads themselves
    filename: str | None = None  # file in the repo, folder under BUNDLED_DIR, or file in user_models_dir()
    file_format: str = "native"  # 'rosinality', 'nvidia-pickle', 'tf-pickle' or 'native'
    revision: str | None = None  # pinned commit when known; None follows the default branch
    bundled: bool = False  # shipped inside the package (works offline)
    sha256: str | None = None  # pinned content hash of the official file, checked on load when known
    directions: tuple[str, ...] = ()  # built-in direction sets, in the order they are listed (editing.builtin)
    network: str = ""  # the trained network: entries with the same value are one set of weights in two formats
    encoder: str | None = None  # the image encoder inversion uses by default (see editing.encoders.registry)
    scorer: str | None = None  # the attribute scorer that reads its faces: conditional edits hold its readings
    download_hint: str = ""  # where to get a file that is not on the Hub


STYLEGAN1_HINT = (
    "NVIDIA publishes the StyleGAN (v1) pickles through the links in https://github.com/NVlabs/stylegan "
    "(not on the Hugging Face Hub); download the file and pass its path, or put it in {models_dir}"
)

FFHQ_SG2_DIRECTIONS = ("e4e-ffhq", "interfacegan-pp-sg2-ffhq")
# NVIDIA's StyleGAN3 pickles, unchanged, in the Hub repository the public StyleGAN3 Spaces download from:
# (config, dataset, what, resolution); FFHQ-U and MetFaces-U are the unaligned datasets.
STYLEGAN3_REPO = "public-data/StyleGAN3"
STYLEGAN3_MODELS = [
    (cfg, data, what, res)
    for cfg in ("t", "r")
    for data, what, res in [
        ("ffhq", "FFHQ faces", 1024),
        ("ffhqu", "FFHQ-U faces (unaligned)", 1024),
        ("ffhqu", "FFHQ-U faces (unaligned)", 256),
        ("metfaces", "MetFaces portraits", 1024),
        ("metfacesu", "MetFaces-U portraits (unaligned)", 1024),
        ("afhqv2", "AFHQv2 animal faces", 512),
    ]
]

REGISTRY: dict[str, ModelEntry] = {
    e.name: e
    for e in [
        ModelEntry(
            "ffhq",
            "StyleGAN2 config-f, FFHQ faces (official weights, rosinality format)",
            1024,
            "aaronb/StyleGAN2",
            "stylegan2-ffhq-config-f.pt",
            "rosinality",
            directions=FFHQ_SG2_DIRECTIONS,
            network="stylegan2-ffhq-config-f",
            encoder="e4e-ffhq",  # e4e was trained on this very network
        ),
        ModelEntry(
            "car", "StyleGAN2 config-f, LSUN cars", 512, "aaronb/StyleGAN2", "stylegan2-car-config-f.pt", "rosinality"
        ),
        ModelEntry(
            "cat", "StyleGAN2 config-f, LSUN cats", 256, "aaronb/StyleGAN2", "stylegan2-cat-config-f.pt", "rosinality"
        ),
        ModelEntry(
            "church",
            "StyleGAN2 config-f, LSUN churches",
            256,
            "aaronb/StyleGAN2",
            "stylegan2-church-config-f.pt",
            "rosinality",
        ),
        ModelEntry(
            "horse",
            "StyleGAN2 config-f, LSUN horses",
            256,
            "aaronb/StyleGAN2",
            "stylegan2-horse-config-f.pt",
            "rosinality",
        ),
        ModelEntry(
            "ada-ffhq",
            "StyleGAN2-ADA, FFHQ faces (official pickle)",
            1024,
            "aaronb/StyleGAN2-pkl",
            "ada/ffhq.pkl",
            "nvidia-pickle",
        ),
        ModelEntry(
            "ada-afhqcat", "StyleGAN2-ADA, AFHQ cats", 512, "aaronb/StyleGAN2-pkl", "ada/afhqcat.pkl", "nvidia-pickle"
        ),
        ModelEntry(
            "ada-afhqdog", "StyleGAN2-ADA, AFHQ dogs", 512, "aaronb/StyleGAN2-pkl", "ada/afhqdog.pkl", "nvidia-pickle"
        ),
        ModelEntry(
            "ada-afhqwild",
            "StyleGAN2-ADA, AFHQ wild animals",
            512,
            "aaronb/StyleGAN2-pkl",
            "ada/afhqwild.pkl",
            "nvidia-pickle",
        ),
        ModelEntry(
            "ada-brecahad",
            "StyleGAN2-ADA, BreCaHAD histology",
            512,
            "aaronb/StyleGAN2-pkl",
            "ada/brecahad.pkl",
            "nvidia-pickle",
        ),
        ModelEntry(
            "ada-cifar10",
            "StyleGAN2-ADA, CIFAR-10 (class-conditional)",
            32,
            "aaronb/StyleGAN2-pkl",
            "ada/cifar10.pkl",
            "nvidia-pickle",
        ),
        ModelEntry(
            "ffhq-512",
            "StyleGAN2, FFHQ at 512 px (official pickle)",
            512,
            "DragGan/DragGan-Models",
            "stylegan2-ffhq-512x512.pkl",
            "nvidia-pickle",
        ),
        ModelEntry(
            "ffhq-1024",
            "StyleGAN2, FFHQ at 1024 px (official pickle)",
            1024,
            "DragGan/DragGan-Models",
            "stylegan2-ffhq1024x1024.pkl",
            "nvidia-pickle",
            directions=FFHQ_SG2_DIRECTIONS,
            network="stylegan2-ffhq-config-f",  # the same weights as `ffhq`, in NVIDIA's format
            encoder="e4e-ffhq",
        ),
        ModelEntry(
            "human",
            "StyleGAN-Human v2, full-body people",
            1024,
            "public-data/StyleGAN-Human",
            "models/stylegan_human_v2_1024.pkl",
            "nvidia-pickle",
        ),
        ModelEntry(
            "demo",
            "Small demo generator bundled with StyleGAN Studio (works offline)",
            64,
            None,
            "demo",
            "native",
            bundled=True,
            directions=("demo-portraits",),
            encoder="demo-e4e",  # editing/assets/encoders/demo, trained by `studio train-encoder`
            scorer="portrait",  # training/assets/portrait_scorer.safetensors
        ),
        *[
            ModelEntry(
                f"stylegan3-{cfg}-{data}" + ("" if res in (1024, 512) else f"-{res}"),
                f"StyleGAN3-{cfg.upper()} ({'translation' if cfg == 't' else 'translation and rotation'} "
                f"equivariant), {what} at {res} px (official pickle)",
                res,
                STYLEGAN3_REPO,
                f"models/stylegan3-{cfg}-{data}-{res}x{res}.pkl",
                "nvidia-pickle",
                directions=("interfacegan-pp-sg3t-ffhq",) if (cfg, data) == ("t", "ffhq") else (),
                network=f"stylegan3-{cfg}-{data}-{res}x{res}",
            )
            for cfg, data, what, res in STYLEGAN3_MODELS
        ],
        *[
            ModelEntry(
                f"stylegan1-{name}",
                f"StyleGAN (v1), {what} (official TF pickle; bring your own file)",
                res,
                None,
                f"karras2019stylegan-{name}-{res}x{h}.pkl",
                "tf-pickle",
                directions=("interfacegan-sg1-ffhq", "interfacegan-pp-sg1-ffhq") if name == "ffhq" else (),
                network=f"stylegan1-{name}",
                download_hint=STYLEGAN1_HINT,
            )
            for name, what, res, h in [
                ("ffhq", "FFHQ faces", 1024, 1024),
                ("celebahq", "CelebA-HQ faces", 1024, 1024),
                ("bedrooms", "LSUN bedrooms", 256, 256),
                ("cars", "LSUN cars", 512, 384),
                ("cats", "LSUN cats", 256, 256),
            ]
        ],
    ]
}

DEFAULT_ONLINE_MODEL = "ffhq"
DEFAULT_OFFLINE_MODEL = "demo"


def known_names() -> list[str]:
    return sorted(REGISTRY)


def hub_is_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """A TCP connect to the Hub endpoint (or the configured HTTPS proxy) within `timeout` seconds."""
    if hub_is_offline():
        return False
    target = (
        os.environ.get("HTTPS_PROXY")
        or os.environ.get("https_proxy")
        or os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    )
    url = urlparse(target if "://" in target else f"http://{target}")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def download(
    repo_id: str,
    filename: str,
    revision: str | None = None,
    *,
    instead: str = f"use a local file or the bundled '{DEFAULT_OFFLINE_MODEL}' model",
) -> Path:
    """A file of a Hub repo through the huggingface_hub cache; fails within seconds when offline, saying what
    to do `instead`."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, local_files_only=True))
    except (LocalEntryNotFoundError, EntryNotFoundError, FileNotFoundError):
        pass
    where = f"{repo_id}/{filename}"
    if hub_is_offline():
        raise HubUnavailableError(f"{where} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set")
    if not hub_reachable():
        raise HubUnavailableError(
            f"cannot reach the Hugging Face Hub to fetch {where} (no connection within {CONNECT_TIMEOUT_S:.0f} s); "
            + instead
        )
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, etag_timeout=CONNECT_TIMEOUT_S))
    except (HfHubHTTPError, OSError) as exc:
        raise HubUnavailableError(f"could not download {where}: {str(exc).splitlines()[0]}") from None


def _looks_like_repo_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 2 and all(parts) and not name.startswith((".", "/", "~")) and " " not in name


def user_models_dir() -> Path:
    """Where files that are not on the Hub (official StyleGAN v1 pickles) are looked for by name."""
    default = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "stylegan-studio" / "models"
    return Path(os.environ.get("STUDIO_MODELS_DIR", default)).expanduser()


TUNED_FROM = "tuned_from.json"  # beside a tuned generator's config.json: {"model": the model it was tuned from}


def record_tuned_from(directory: str | Path, model: str) -> None:
    """Mark a generator folder as tuned from `model` (pivotal tuning), so it keeps that model's directions."""
    (Path(directory) / TUNED_FROM).write_text(json.dumps({"model": model}) + "\n")


def base_model(name_or_path: str) -> str:
    """The model a tuned generator folder was tuned from (followed back to the first), else the name itself."""
    seen = set()
    while name_or_path not in seen:
        seen.add(name_or_path)
        record = Path(name_or_path).expanduser() / TUNED_FROM
        try:
            name_or_path = str(json.loads(record.read_text())["model"])
        except (OSError, ValueError, KeyError, TypeError):
            break
    return name_or_path


def entry_for(name_or_path: str) -> ModelEntry | None:
    """The registry entry of a name, of a local file bearing an official file name, or of the model a tuned
    generator folder was tuned from."""
    name_or_path = base_model(name_or_path)
    if name_or_path in REGISTRY:
        return REGISTRY[name_or_path]
    base = Path(name_or_path).name
    return next((e for e in REGISTRY.values() if e.filename and not e.bundled and Path(e.filename).name == base), None)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_pinned(entry: ModelEntry, path: Path) -> Path:
    """Check a file against the entry's pinned sha256 (when one is known)."""
    if entry.sha256 and path.is_file() and sha256_of(path) != entry.sha256:
        raise CheckpointError(f"{path}: content differs from the official '{entry.name}' file (sha256 mismatch)")
    return path


def _resolve_entry(entry: ModelEntry) -> Path:
    if entry.bundled:
        path = BUNDLED_DIR / (entry.filename or entry.name)
        if not path.exists():
            raise CheckpointError(f"the bundled model '{entry.name}' is not present at {path}")
        return path
    if entry.repo_id is None:
        path = user_models_dir() / (entry.filename or entry.name)
        if not path.exists():
            hint = entry.download_hint.format(models_dir=user_models_dir())
            raise CheckpointError(f"'{entry.name}' needs the file {entry.filename}. {hint}")
        return verify_pinned(entry, path)
    return verify_pinned(entry, download(entry.repo_id, entry.filename or "", entry.revision))


def default_model_name() -> str:
    """FFHQ when the Hub can be reached (or FFHQ is cached), else the bundled demo model."""
    forced = os.environ.get("STUDIO_MODEL")
    if forced:
        return forced
    entry = REGISTRY[DEFAULT_ONLINE_MODEL]
    try:
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(entry.repo_id, entry.filename or ""), str):
            return DEFAULT_ONLINE_MODEL
    except ImportError:
        pass
    return DEFAULT_ONLINE_MODEL if hub_reachable() else DEFAULT_OFFLINE_MODEL


def resolve(name_or_path: str, *, allow_local: bool = True) -> Path:
    """Local path for a file / directory / registry name / Hub repo id; clear errors otherwise.

    `default` picks FFHQ when the Hub is reachable and the bundled demo model when it is not. With
    `allow_local=False` (a public app) no path on this machine is looked at: only names and Hub repos.
    """
    if name_or_path == "default":
        name_or_path = default_model_name()
    local = Path(name_or_path).expanduser()
    if allow_local and local.exists():
        return local
    entry = REGISTRY.get(name_or_path)
    if entry is not None:
        return _resolve_entry(entry)
    if _looks_like_repo_id(name_or_path):
        parts = name_or_path.split("/")
        repo_id = "/".join(parts[:2])
        if len(parts) > 2:
            return download(repo_id, "/".join(parts[2:]))
        config = download(repo_id, CONFIG_NAME)
        download(repo_id, WEIGHTS_NAME)
        return config.parent
    if not allow_local:
        raise UnknownModelError(
            f"unknown model {name_or_path!r}: not a Hub repo id and not one of the known names "
            f"({', '.join(known_names())}); this app opens no files on its server"
        )
    raise UnknownModelError(
        f"unknown model {name_or_path!r}: not a local file, not a Hub repo id, and not one of the known "
        f"names: {', '.join(known_names())}"
    )
