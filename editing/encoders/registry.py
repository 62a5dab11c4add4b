"""Named encoders: the published FFHQ e4e / pSp checkpoints on the Hub, and which model each belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stylegan_core.errors import CheckpointError
from stylegan_core.hub import download, entry_for

from .model import Encoder, is_native_encoder
from .official import OfficialEncoder, load_official_encoder

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "assets" / "encoders"


@dataclass(frozen=True)
class EncoderEntry:
    name: str
    description: str
    repo_id: str | None  # None: bundled in the package, in BUNDLED_DIR / filename (our native format)
    filename: str
    revision: str | None  # pinned commit where known; None follows the default branch
    licence: str


ENCODERS: dict[str, EncoderEntry] = {
    e.name: e
    for e in [
        EncoderEntry(
            "e4e-ffhq",
            "encoder4editing (Tov et al. 2021), FFHQ StyleGAN2 config-f 1024 px, 18 styles (~1.2 GB with its decoder)",
            "AIRI-Institute/HairFastGAN",
            "pretrained_models/encoder4editing/e4e_ffhq_encode.pt",
            None,
            "MIT (omertov/encoder4editing); copied unchanged in the HairFastGAN repository",
        ),
        EncoderEntry(
            "psp-ffhq",
            "pixel2style2pixel (Richardson et al. 2021), FFHQ StyleGAN2 config-f 1024 px, 18 styles (~1.2 GB)",
            "trysem/pixel2style2pixel",
            "psp_ffhq_encode.pt",
            "1ed74b0e83cd17e3ce3b0070a56f581f54b9b0e3",
            "MIT (eladrich/pixel2style2pixel)",
        ),
        EncoderEntry(
            "demo-e4e",
            "e4e-style encoder for the bundled demo model, trained by `studio train-encoder` (bundled, works offline)",
            None,
            "demo",
            None,
            "MIT (this project)",
        ),
    ]
}


def default_encoder(model: str) -> str | None:
    """The encoder a registry model gets when none is asked for (e4e for the FFHQ config-f models)."""
    entry = entry_for(model)
    return entry.encoder if entry is not None else None


def load_encoder(spec: str | Path) -> OfficialEncoder:
    """An encoder by registry name (`e4e-ffhq`), official checkpoint file, or our native directory
    (encoder_config.json + encoder.safetensors); native ones carry no decoder."""
    name = str(spec)
    path = Path(name).expanduser()
    if path.is_dir():
        if not is_native_encoder(path):
            raise CheckpointError(f"{path}: a folder without encoder_config.json + encoder.safetensors")
        return OfficialEncoder(Encoder.from_pretrained(path), None, {})
    if path.is_file():
        return load_official_encoder(path)
    entry = ENCODERS.get(name)
    if entry is None:
        raise CheckpointError(
            f"unknown encoder {name!r}: not a file or folder, and not one of {', '.join(sorted(ENCODERS))}"
        )
    if entry.repo_id is None:
        return OfficialEncoder(Encoder.from_pretrained(BUNDLED_DIR / entry.filename), None, {})
    file = download(entry.repo_id, entry.filename, entry.revision, instead="pass a local encoder file")
    return load_official_encoder(file)
