"""The app's files: staged uploads, temporary output folders, reading results back.

An uploaded clip is written to a fresh temporary folder under a fixed name
(``clip_1.mp4``; the uploaded file name is never used as a path) and the
folder is removed as soon as the analysis is done. Output folders are
temporary folders that live as long as something refers to them: a
:class:`tempfile.TemporaryDirectory` removes its folder when it is garbage
collected or the process exits.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from formcheck.errors import FormcheckError
from formcheck.io.exports import VIDEO_FILE
from formcheck.io.paths import VIDEO_SUFFIXES

UPLOAD_SUFFIXES = VIDEO_SUFFIXES
"""Clip types the app accepts."""
SAMPLE_SUFFIXES = (".mp4",)
_CHUNK = 1 << 20


def upload_suffix(name: str) -> str:
    """The suffix a staged upload gets: the uploaded name's, if it is an accepted type.

    Parameters
    ----------
    name : str
        The name the browser sent (never used as a path).

    Returns
    -------
    str
        One of :data:`UPLOAD_SUFFIXES`; ``.mp4`` when the name has none of them.
    """
    suffix = Path(name.replace("\\", "/")).suffix.lower()
    return suffix if suffix in UPLOAD_SUFFIXES else ".mp4"


@contextmanager
def staged_uploads(clips: Sequence[tuple[bytes | memoryview, str]]) -> Iterator[list[Path]]:
    """Write uploaded clips to a temporary folder that is removed on exit.

    Parameters
    ----------
    clips : sequence of (bytes, str)
        Each clip's content and the name it was uploaded under (only its
        suffix is used, see :func:`upload_suffix`).

    Yields
    ------
    list of pathlib.Path
        ``clip_1.<ext>``, ``clip_2.<ext>`` ... in a private temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="formcheck-upload-") as tmp:
        paths = []
        for i, (data, name) in enumerate(clips, start=1):
            path = Path(tmp) / f"clip_{i}{upload_suffix(name)}"
            with path.open("wb") as fh:
                fh.write(data)
            paths.append(path)
        yield paths


def new_output_folder() -> tempfile.TemporaryDirectory[str]:
    """A fresh private temporary folder for one analysis's outputs.

    Returns
    -------
    tempfile.TemporaryDirectory
        Its ``name`` is the folder; it is removed when the object is garbage
        collected, cleaned up, or the process ends.
    """
    return tempfile.TemporaryDirectory(prefix="formcheck-app-")


def sha256_bytes(data: bytes | memoryview) -> str:
    """Hex SHA-256 of some bytes.

    Parameters
    ----------
    data : bytes or memoryview
        Content.

    Returns
    -------
    str
        Hex digest.
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    str
        Hex digest.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_samples(folder: str | Path) -> list[Path]:
    """The sample clips in a folder, sorted by name.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder of sample clips (missing: no samples).

    Returns
    -------
    list of pathlib.Path
        Clips with a :data:`SAMPLE_SUFFIXES` suffix.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES and p.is_file())


def output_file(out_dir: str | Path, rel: str) -> Path:
    """A file inside an output folder, refusing paths that leave it.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The output folder.
    rel : str
        Relative path as written in the report (``images/frame_....png``).

    Returns
    -------
    pathlib.Path
        The resolved file path.

    Raises
    ------
    FormcheckError
        If ``rel`` points outside the folder or the file does not exist.
    """
    root = Path(out_dir).resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise FormcheckError(f"{rel} is not in the results folder; analyse the clip again.")
    return path


def read_output(out_dir: str | Path, rel: str) -> bytes:
    """Read one file of an output folder (see :func:`output_file`).

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The output folder.
    rel : str
        Relative path.

    Returns
    -------
    bytes
        Its content.
    """
    return output_file(out_dir, rel).read_bytes()


def annotated_video_rel(label: str, n_clips: int) -> str:
    """Relative path of one clip's annotated video in a session's output folder.

    Parameters
    ----------
    label : str
        The clip's session label.
    n_clips : int
        Clips in the session (one clip: the folder is that clip's own).

    Returns
    -------
    str
        ``annotated.mp4`` or ``<label>/annotated.mp4``.
    """
    return VIDEO_FILE if n_clips == 1 else f"{label}/{VIDEO_FILE}"


def zip_folder(out_dir: str | Path, skip: Sequence[str] = ()) -> bytes:
    """A zip archive of a whole output folder, in memory.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The output folder.
    skip : sequence of str
        File names to leave out.

    Returns
    -------
    bytes
        The ``.zip`` content (paths relative to the folder).
    """
    root = Path(out_dir)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name not in skip and not path.name.startswith("."):
                zf.write(path, path.relative_to(root).as_posix())
    return buf.getvalue()


__all__ = [
    "SAMPLE_SUFFIXES",
    "UPLOAD_SUFFIXES",
    "annotated_video_rel",
    "list_samples",
    "new_output_folder",
    "output_file",
    "read_output",
    "sha256_bytes",
    "sha256_file",
    "staged_uploads",
    "upload_suffix",
    "zip_folder",
]
