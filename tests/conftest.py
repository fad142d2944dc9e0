"""Shared fixtures: paths to ../shared, the model, and rendered synthetic clips."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    return Path(os.environ.get("FORMCHECK_SHARED", REPO.parent / "shared"))


@pytest.fixture(autouse=True)
def _restore_main_module() -> Iterator[None]:
    """Undo Streamlit's AppTest installing its script as ``__main__``.

    AppTest never puts the real ``__main__`` back; a later process pool
    (spawn) would then re-run the test script in every worker.
    """
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


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


# ---------------------------------------------------------------- findings / report outputs


@pytest.fixture(scope="session")
def analysed_sample(tmp_path_factory, model, sample_dir):
    """Run the whole pipeline (pose + all outputs) on a bundled clip once per session.

    Returns a function ``name -> (analysis, report, out_dir, truth)`` that
    caches its results for the session.
    """
    import json

    from formcheck.io.outputs import write_analysis
    from formcheck.pipeline import analyze

    cache: dict = {}

    def get(name: str):
        if name not in cache:
            clip = sample_dir / f"{name}.mp4"
            out = tmp_path_factory.mktemp(f"out_{name}")
            analysis = analyze(clip, model=model)
            report = write_analysis(analysis, out, video_path=clip)
            truth = json.loads((sample_dir / f"{name}.truth.json").read_text())
            cache[name] = (analysis, report, out, truth)
        return cache[name]

    return get
