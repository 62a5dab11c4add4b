"""Image encoders for instant inversion: e4e / pSp on an IR-SE backbone, official checkpoints loaded safely."""

from .model import Encoder, EncoderConfig
from .official import OfficialEncoder, load_official_encoder
from .registry import ENCODERS, default_encoder, load_encoder

__all__ = [
    "ENCODERS",
    "Encoder",
    "EncoderConfig",
    "OfficialEncoder",
    "default_encoder",
    "load_encoder",
    "load_official_encoder",
]
