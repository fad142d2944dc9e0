"""Finding, verifying and loading the MediaPipe pose model file (``.task``).

Nothing here downloads anything: the default model ships in the repository's
``models/`` folder, and ``--model PATH`` takes another ``.task`` bundle the
user already has (lite or heavy).
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import ModelError

DEFAULT_MODEL_NAME = "pose_landmarker_full.task"
KNOWN_SHA256: dict[str, str] = {
    # models/PROVENANCE.md: made from the mediapipe==0.10.21 wheel's tflite files.
    "pose_landmarker_full.task": "ba58245ec293ddf33a1ce7cf131cfe8d7aa95550a5d7e2dffbda00bf29764e3f",
}
_BUNDLE_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")


@dataclass(frozen=True)
class PoseModel:
    """A verified pose model, ready to hand to MediaPipe.

    Attributes
    ----------
    path : pathlib.Path
        Where the model was read from.
    sha256 : str
        Checksum of its bytes, verified when it was loaded. Landmarkers are
        made from ``path`` (MediaPipe maps the file, so landmarkers in several
        threads or processes share its pages; no copy of the bytes is kept).
    """

    path: Path
    sha256: str

    @property
    def name(self) -> str:
        """File name of the model, e.g. ``pose_landmarker_full.task``."""
        return self.path.name


def default_model_path() -> Path:
    """Return the default model's path.

    ``FORMCHECK_MODEL`` overrides it; otherwise it is ``models/`` beside the
    ``formcheck`` package (the repository layout an editable install keeps).

    Returns
    -------
    pathlib.Path
        Path of the default ``.task`` file (it may not exist).
    """
    env = os.environ.get("FORMCHECK_MODEL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models" / DEFAULT_MODEL_NAME


def expected_sha256(path: Path) -> str | None:
    """Checksum a model file must have, if one is known.

    A ``<file>.sha256`` sidecar (``sha256sum`` format) wins; otherwise the
    built-in table is used for the default model's file name.

    Parameters
    ----------
    path : pathlib.Path
        The model file.

    Returns
    -------
    str or None
        Hex digest, or None when no checksum is known for the file.
    """
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.is_file():
        text = sidecar.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return text.split()[0].lower()
    return KNOWN_SHA256.get(path.name)


def load_model(path: str | Path | None = None) -> PoseModel:
    """Read a pose model and verify it.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A ``.task`` bundle; the default model when omitted.

    Returns
    -------
    PoseModel
        The verified model.

    Raises
    ------
    ModelError
        If the file is missing, is not a MediaPipe pose bundle, or fails its
        checksum.
    """
    model_path = Path(path) if path is not None else default_model_path()
    if not model_path.is_file():
        raise ModelError(
            f"pose model not found at {model_path}. Reinstall formcheck from its "
            "repository (models/ holds the default model) or pass --model PATH "
            "to a MediaPipe pose_landmarker .task file you have."
        )
    data = model_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    expected = expected_sha256(model_path)
    if expected is not None and digest != expected:
        raise ModelError(
            f"pose model {model_path} is corrupt: its checksum {digest[:12]}... does not "
            f"match the expected {expected[:12]}.... Restore the file from the "
            "repository or pass --model PATH to a good copy."
        )
    _check_bundle(model_path)
    return PoseModel(path=model_path, sha256=digest)


def _check_bundle(path: Path) -> None:
    """Raise ModelError unless ``path`` is a zip holding the two pose models."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(
            f"{path} is not a MediaPipe .task bundle ({exc}). Pass --model PATH to a "
            "pose_landmarker_lite/full/heavy .task file."
        ) from exc
    missing = [m for m in _BUNDLE_MEMBERS if m not in names]
    if missing:
        raise ModelError(
            f"{path} is not a pose landmarker bundle: it lacks {', '.join(missing)}. "
            "Pass --model PATH to a pose_landmarker .task file."
        )
