"""Shared fixtures: the golden reference data beside the checkout, tiny generators."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.web.files import example_photos
from stylegan_core import (
    Generator,
    GeneratorConfig,
    MappingConfig,
    StyleGAN1SynthesisConfig,
    StyleGAN2SynthesisConfig,
    StyleGAN3SynthesisConfig,
)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("STUDIO_REFERENCE_DIR", REPO.parent / "shared" / "reference"))


@pytest.fixture(scope="session")
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"golden reference data not found at {REFERENCE} (../shared/reference beside the checkout)")
    return REFERENCE


def make_tiny_config(
    family: str = "stylegan2", resolution: int = 64, *, mapping: dict | None = None, **synthesis
) -> GeneratorConfig:
    """A small generator configuration of each family (diffusers-style `tiny_config`): the shapes of the official
    ones at a few hundred thousand parameters, so tests that need a generator, not its trained weights, build one."""
    mapping = MappingConfig(**{"z_dim": 128, "w_dim": 128, "num_layers": 8, **(mapping or {})})
    if family == "stylegan2":
        synthesis = StyleGAN2SynthesisConfig(**{"channel_base": 1024, "channel_max": 128, **synthesis})
    elif family == "stylegan3":
        synthesis = StyleGAN3SynthesisConfig(**{"channel_base": 1024, "channel_max": 64, **synthesis})
    else:
        synthesis = StyleGAN1SynthesisConfig(**{"fmap_base": 1024, "fmap_max": 128, **synthesis})
    return GeneratorConfig(family, resolution, mapping=mapping, synthesis=synthesis)


def make_tiny_generator(family: str = "stylegan2", resolution: int = 64, *, seed: int = 0, **sizes) -> Generator:
    """A randomly initialised tiny generator (seeded: the same weights every run), eval mode, no gradients."""
    torch.manual_seed(seed)
    G = Generator(make_tiny_config(family, resolution, **sizes))
    return G.eval().requires_grad_(False)


@pytest.fixture(scope="session")
def tiny_config():
    return make_tiny_config


@pytest.fixture(scope="module")
def tiny_generator() -> Generator:
    """A 64 px StyleGAN2 with random weights, the shape of the golden `nv_sg2_64` case (NVIDIA's sizes)."""
    return make_tiny_generator()


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    """Real photos that need no ../shared: the app's example photos (one face in obama.jpg, two in
    two_people.jpg), and no_face.png, noise in which no face can be found."""
    folder = tmp_path_factory.mktemp("photos")
    for path in map(Path, example_photos()):
        shutil.copy(path, folder / path.name)
    noise = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "no_face.png")
    return folder
