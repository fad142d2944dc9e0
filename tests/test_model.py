"""The pose model: verified by checksum, clear errors when missing or corrupt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from formcheck.errors import ModelError
from formcheck.io.model import KNOWN_SHA256, default_model_path, load_model


def test_default_model_loads_and_matches_provenance() -> None:
    model = load_model()
    assert model.sha256 == KNOWN_SHA256["pose_landmarker_full.task"]
    assert default_model_path().name == "pose_landmarker_full.task"


def test_wrong_checksum_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "pose_landmarker_full.task"
    data = bytearray(default_model_path().read_bytes())
    data[-10] ^= 0xFF  # one flipped byte
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt"):
        load_model(bad)


def test_sidecar_checksum_is_checked_for_other_models(tmp_path: Path) -> None:
    other = tmp_path / "pose_landmarker_heavy.task"
    shutil.copy(default_model_path(), other)
    other.with_name(other.name + ".sha256").write_text("0" * 64 + "  pose_landmarker_heavy.task\n")
    with pytest.raises(ModelError, match="checksum"):
        load_model(other)


def test_missing_and_non_bundle_models(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nope.task")
    junk = tmp_path / "junk.task"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a MediaPipe"):
        load_model(junk)
