"""Pure-PyTorch StyleGAN2 / StyleGAN3 generators that load every common checkpoint safely."""

from .config import GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig, StyleGAN3SynthesisConfig
from .generator import Generator

__all__ = [
    "Generator",
    "GeneratorConfig",
    "MappingConfig",
    "StyleGAN2SynthesisConfig",
    "StyleGAN3SynthesisConfig",
]
