"""Pure-PyTorch StyleGAN (v1) / StyleGAN2 / StyleGAN3 generators that load every common checkpoint safely."""

from .config import (
    GeneratorConfig,
    MappingConfig,
    StyleGAN1SynthesisConfig,
    StyleGAN2SynthesisConfig,
    StyleGAN3SynthesisConfig,
)
from .generator import Generator
from .runtime import tune_allocator

tune_allocator()

__all__ = [
    "Generator",
    "GeneratorConfig",
    "MappingConfig",
    "StyleGAN1SynthesisConfig",
    "StyleGAN2SynthesisConfig",
    "StyleGAN3SynthesisConfig",
]
