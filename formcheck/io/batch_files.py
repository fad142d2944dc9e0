"""Files of a batch run: finding clips, reading a manifest, hashing, atomic folders.

A session's report folder is written into a hidden temporary sibling and
renamed into place only when complete (:func:`atomic_dir`), so a killed run
never leaves a half-written folder under its final name; leftovers of killed
runs are removed by :func:`remove_stale_temp` at the next start.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from formcheck.errors import FormcheckError
from formcheck.io.paths import VIDEO_SUFFIXES

TEMP_MARK = ".tmp-"
OLD_MARK = ".old-"
MAX_MANIFEST_BYTES = 20 * 1024**2
HASH_CHUNK = 4 * 1024**2
LOCK_FILE = ".formcheck-batch.lock"


class BatchFileError(FormcheckError):
    """A batch input or output file cannot be read or written."""


def find_videos(root: Path, exclude: Sequence[Path] = ()) -> list[Path]:
    """Every clip below ``root`` (hidden files and folders skipped), sorted.

    Parameters
    ----------
    root : pathlib.Path
        The input folder.
    exclude : sequence of pathlib.Path
        Folders not to search (the output folder when it lies inside).

    Returns
    -------
    list of pathlib.Path
        Clip paths (:data:`formcheck.io.paths.VIDEO_SUFFIXES`, any case).

    Raises
    ------
    BatchFileError
        If ``root`` is not a folder.
    """
    if not root.is_dir():
        raise BatchFileError(f"no such folder: {root}")
    skip = {p.resolve() for p in exclude}
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (here / d).resolve() not in skip
        )
        found.extend(
            here / f
            for f in files
            if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES
        )
    return sorted(found)


def read_manifest(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV manifest.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file (UTF-8, a BOM allowed; comma or semicolon separated).

    Returns
    -------
    tuple
        ``(header, rows)``, each row a dict by column name.

    Raises
    ------
    BatchFileError
        If the file is missing, too large or not readable text.
    """
    if path.suffix.lower() in VIDEO_SUFFIXES:
        raise BatchFileError(
            f"{path.name} is a video: formcheck batch takes a folder of clips "
            "(athlete/YYYY-MM-DD/clip.mp4) or a CSV manifest; for one clip use "
            "formcheck analyze."
        )
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise BatchFileError(f"{path} is larger than 20 MB; is it really a manifest?")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise BatchFileError(f"no such manifest: {path}") from exc
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            f"{path.name} is not a text CSV manifest ({exc.reason} at byte {exc.start}): give a "
            "folder of clips or a CSV file with columns athlete, date, view, path."
        ) from exc
    except OSError as exc:
        raise BatchFileError(f"cannot read the manifest {path}: {exc.strerror or exc}") from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text.split("\n", 1)[0], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    try:
        rows = [dict(r) for r in reader if any((v or "").strip() for v in r.values())]
    except csv.Error as exc:
        raise BatchFileError(f"the manifest {path} is not valid CSV: {exc}") from exc
    return list(reader.fieldnames or []), rows


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content, in hex.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    str
        Hex digest.

    Raises
    ------
    BatchFileError
        If the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise BatchFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _swap_in(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``, moving an existing ``dest`` aside first."""
    for _ in range(10):
        try:
            os.rename(tmp, dest)
            return
        except OSError:
            if not dest.exists():
                raise
        old = dest.with_name(f".{dest.name}{OLD_MARK}{uuid.uuid4().hex[:12]}")
        try:
            os.rename(dest, old)
        except FileNotFoundError:
            continue  # someone else moved it; try again
        shutil.rmtree(old, ignore_errors=True)
    raise BatchFileError(f"cannot replace {dest}: it keeps being recreated")


@contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``dest`` only if the block succeeds.

    The temporary folder is a hidden sibling of ``dest`` (same file system, so
    the final rename is atomic). An older ``dest`` is replaced. On an
    exception the temporary folder is removed and ``dest`` is untouched.

    Parameters
    ----------
    dest : pathlib.Path
        The final folder.

    Yields
    ------
    pathlib.Path
        The folder to write into.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}{TEMP_MARK}{uuid.uuid4().hex[:12]}")
    tmp.mkdir()
    try:
        yield tmp
        _swap_in(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def batch_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on an output folder for the length of a batch run.

    The lock is an ``flock`` on ``out/.formcheck-batch.lock``: the operating
    system releases it when the process ends, even when killed.

    Parameters
    ----------
    out : pathlib.Path
        The batch output folder (created if needed).

    Raises
    ------
    BatchFileError
        If another batch run holds the lock.
    """
    out.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, one run at a time is up to the user
        yield
        return
    with open(out / LOCK_FILE, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise BatchFileError(
                f"another 'formcheck batch' is writing to {out}; wait for it to finish "
                "or choose another --out"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def remove_stale_temp(out: Path, max_depth: int = 3) -> int:
    """Remove temporary folders left by killed runs (``.<name>.tmp-*``, ``.<name>.old-*``).

    Parameters
    ----------
    out : pathlib.Path
        The batch output folder.
    max_depth : int
        How many folder levels below ``out`` to look.

    Returns
    -------
    int
        Number of folders removed.
    """
    if not out.is_dir():
        return 0
    removed = 0
    level = [out]
    for _ in range(max_depth):
        nxt = []
        for folder in level:
            for child in folder.iterdir():
                if not child.is_dir() or child.is_symlink():
                    continue
                if child.name.startswith(".") and (
                    TEMP_MARK in child.name or OLD_MARK in child.name
                ):
                    shutil.rmtree(child, ignore_errors=True)
                    removed += 1
                elif not child.name.startswith("."):
                    nxt.append(child)
        level = nxt
    return removed


__all__ = [
    "VIDEO_SUFFIXES",
    "BatchFileError",
    "atomic_dir",
    "batch_lock",
    "file_sha256",
    "find_videos",
    "read_manifest",
    "remove_stale_temp",
]
