"""Pure-PyTorch StyleGAN (v1) / StyleGAN2 / StyleGAN3 generators that load every common checkpoint safely."""

from .config import (
    GeneratorConfig,
    MappingConfig,
    StyleGAN1SynthesisConfig,
    StyleGAN2SynthesisConfig,
    StyleGAN3SynthesisConfig,
)
from .errors import CheckpointError
from .formats import load_checkpoint, load_generator
from .generator import Generator

__all__ = [
    "CheckpointError",
    "Generator",
    "GeneratorConfig",
    "MappingConfig",
    "StyleGAN1SynthesisConfig",
    "StyleGAN2SynthesisConfig",
    "StyleGAN3SynthesisConfig",
    "load_checkpoint",
    "load_generator",
]
