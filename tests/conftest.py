"""Shared fixtures: paths to ../shared, the model, and rendered synthetic clips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    return Path(os.environ.get("FORMCHECK_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder; its absence is a failure, never a skip."""
    path = _shared_dir()
    if not (path / "videos").is_dir():
        pytest.fail(
            f"../shared not found at {path}: the real clips and their ground truth are "
            "required (set FORMCHECK_SHARED to its location)."
        )
    return path


@pytest.fixture(scope="session")
def male_clip(shared_dir: Path) -> Path:
    """The real treadmill side clip with ground truth."""
    clip = shared_dir / "videos" / "treadmill_side_male.mp4"
    if not clip.is_file():
        pytest.fail(f"missing real clip {clip}")
    return clip


@pytest.fixture(scope="session")
def model():
    """The bundled, verified pose model."""
    from formcheck.io.model import load_model

    return load_model()


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The bundled sample clips."""
    return REPO / "sample_videos"
