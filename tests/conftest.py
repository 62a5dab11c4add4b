"""Shared fixtures: the golden reference data beside the checkout, tiny generators."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("STUDIO_REFERENCE_DIR", REPO.parent / "shared" / "reference"))


@pytest.fixture(scope="session")
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"golden reference data not found at {REFERENCE} (../shared/reference beside the checkout)")
    return REFERENCE
