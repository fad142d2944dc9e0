"""Saving and loading pose tracks (netCDF via h5netcdf) and JSON reports.

Tracks are saved so analysis can rerun without pose estimation. Files are
written atomically: to a temporary name in the same folder, then renamed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xarray as xr

from formcheck.dataset import InvalidDatasetError, validate_dataset
from formcheck.errors import TracksFileError

TRACKS_FILE = "tracks.nc"
MAX_JSON_BYTES = 64 * 1024**2
"""Larger JSON files are refused unread (a report is well under 1 MB)."""
MAX_TRACKS_BYTES = 1024**3
"""Larger tracks files are refused unread (an hour at 60 fps is about 100 MB)."""
REPORT_VIEWS = ("auto", "side", "rear", "front")
_VIDEO_NUMBERS = ("width", "height", "frames", "duration_s", "fps")
"""Video facts every report has and every front end prints (numbers)."""
_VIDEO_OPTIONAL_NUMBERS = (
    "analysed_width", "analysed_height", "rotation_deg", "playback_fps", "capture_fps",
    "time_scale", "file_bytes", "capture_fps_tag",
)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` only if the block succeeds.

    Parameters
    ----------
    path : str or pathlib.Path
        The final destination.

    Yields
    ------
    pathlib.Path
        A temporary file in the same folder to write to.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    """The process umask (read without changing it for good)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write text to ``path`` atomically (UTF-8).

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file.
    text : str
        Content.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file.
    data : Any
        JSON-serialisable data (NaN is written as null).
    """
    write_text_atomic(path, json.dumps(_nan_to_none(data), indent=2, allow_nan=False) + "\n")


def load_json(path: str | Path) -> Any:
    """Read a JSON file written by formcheck.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    Any
        The parsed data (plain dicts, lists, strings, numbers; nothing is
        executed or unpickled).

    Raises
    ------
    TracksFileError
        If the file is missing, too large, or is not valid UTF-8 JSON.
    """
    p = Path(path)
    try:
        if p.stat().st_size > MAX_JSON_BYTES:
            raise TracksFileError(
                f"{p.name} is larger than {MAX_JSON_BYTES // 1024**2} MB; it is not a formcheck "
                "JSON file."
            )
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TracksFileError(f"no such file: {p.name} in {p.parent}") from exc
    except (ValueError, OSError, RecursionError, MemoryError) as exc:
        # ValueError covers JSONDecodeError and UnicodeDecodeError.
        raise TracksFileError(
            f"{p.name} is not a valid formcheck JSON file ({_first_line(exc)})."
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_video(video: dict[str, Any], bad: Any) -> None:
    """Raise ``bad(why)`` unless the report's video section has sane types."""
    if not isinstance(video.get("file"), str):
        raise bad("the video has no file name")
    for key in _VIDEO_NUMBERS:
        if not _is_number(video.get(key)) or video[key] < 0:
            raise bad(f"video {key} is not a number")
    for key in _VIDEO_OPTIONAL_NUMBERS:
        if video.get(key) is not None and not _is_number(video[key]):
            raise bad(f"video {key} is not a number")
    for key in ("codec", "orientation", "capture_fps_source"):
        if video.get(key) is not None and not isinstance(video[key], str):
            raise bad(f"video {key} is not text")
    warnings = video.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise bad("video warnings are not a list of text")


def load_report(path: str | Path) -> dict[str, Any]:
    """Read and check a ``report.json`` written by formcheck.

    Parameters
    ----------
    path : str or pathlib.Path
        The report file.

    Returns
    -------
    dict
        The report; ``video`` is a dict whose printed facts (file, size,
        frames, duration, fps) are present and typed, and ``options`` holds
        only a known view and positive numbers or None.

    Raises
    ------
    TracksFileError
        If the file cannot be read or does not have a report's structure.
    """
    p = Path(path)
    data = load_json(p)

    def bad(why: str) -> TracksFileError:
        return TracksFileError(
            f"{p.name} is not a formcheck report ({why}); run 'formcheck analyze' again."
        )

    if not isinstance(data, dict):
        raise bad("not a JSON object")
    if not isinstance(data.get("video"), dict):
        raise bad("no video section")
    _check_video(data["video"], bad)
    options = data.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise bad("options is not an object")
    clean: dict[str, Any] = {"view": options.get("view", "auto")}
    if clean["view"] not in REPORT_VIEWS:
        raise bad(f"unknown view {str(clean['view'])[:20]!r}")
    for key in ("capture_fps", "height_m", "treadmill_speed_kmh"):
        value = options.get(key)
        ok = value is None or (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        )
        if not ok:
            raise bad(f"option {key} is not a positive number")
        clean[key] = value
    return {**data, "options": clean}


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:  # NaN
        return None
    if isinstance(obj, float) and obj in (float("inf"), float("-inf")):
        return None
    if isinstance(obj, dict):
        return {str(k): _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_nan_to_none(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _nan_to_none(obj.item())
    return obj


def save_tracks(ds: xr.Dataset, path: str | Path) -> Path:
    """Save a pose dataset as netCDF, atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        A valid pose dataset.
    path : str or pathlib.Path
        Destination ``.nc`` file.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    validate_dataset(ds)
    dest = Path(path)
    with atomic_path(dest) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return dest


def load_tracks(path: str | Path) -> xr.Dataset:
    """Load a pose dataset saved by :func:`save_tracks`.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.nc`` file.

    Returns
    -------
    xarray.Dataset
        The validated dataset, fully loaded into memory.

    Raises
    ------
    TracksFileError
        If the file is missing, unreadable, or not a formcheck tracks file.
    """
    p = Path(path)
    if not p.is_file():
        raise TracksFileError(f"no tracks file at {p}; run 'formcheck analyze' first.")
    if p.stat().st_size > MAX_TRACKS_BYTES:
        raise TracksFileError(f"{p.name} is larger than 1 GB; it is not a formcheck tracks file.")
    try:
        with xr.open_dataset(p, engine="h5netcdf") as opened:
            ds = opened.load()
    except Exception as exc:  # noqa: BLE001 - h5py/netCDF raise many types on damaged files
        raise TracksFileError(
            f"{p.name} is not a readable tracks file ({_first_line(exc)})."
        ) from exc
    try:
        return validate_dataset(ds)
    except InvalidDatasetError as exc:
        raise TracksFileError(f"{p.name} is not a formcheck tracks file: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - odd contents (types, shapes) of a foreign file
        raise TracksFileError(
            f"{p.name} is not a formcheck tracks file ({type(exc).__name__}: {_first_line(exc)})."
        ) from exc
