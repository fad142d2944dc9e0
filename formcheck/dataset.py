"""The central labelled data type: pose tracks as an ``xarray.Dataset``.

The layout follows the ``movement`` project's poses schema:

``position``
    ``(time, space, keypoints, individuals)``: image coordinates in pixels of
    the upright frame, ``x`` to the right and ``y`` downwards. Missing points
    are NaN.
``confidence``
    ``(time, keypoints, individuals)``: MediaPipe visibility in [0, 1], NaN
    where no person was found.
``world_position`` (optional)
    ``(time, space_world, keypoints, individuals)``: MediaPipe world
    landmarks in metres, origin at the hips.

Coordinates: ``time`` holds real presentation times in seconds (corrected to
capture time for slow-motion clips), ``frame`` (along ``time``) the 0-based
decode index, ``space`` is ``["x", "y"]``, ``keypoints`` the 33 MediaPipe
names, ``individuals`` ``["runner"]``.

Attributes: ``fps`` (median frame rate from the timestamps), ``source``
(file name), ``source_software``, ``width``/``height`` (upright frame size the
pixels refer to), and whatever else the I/O stage knows (``rotation``,
``time_scale``...).

Every stage takes and returns this dataset; it is only built through
:func:`from_arrays`, which validates it, and stages check it on entry with
:func:`validate_dataset`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from formcheck.errors import FormcheckError
from formcheck.landmarks import KEYPOINT_NAMES

SPACE: tuple[str, str] = ("x", "y")
SPACE_WORLD: tuple[str, str, str] = ("x", "y", "z")
INDIVIDUAL = "runner"
_REQUIRED_ATTRS = ("fps", "source", "width", "height")


class InvalidDatasetError(FormcheckError):
    """The pose dataset does not follow formcheck's schema."""


def _float_array(values: np.ndarray) -> np.ndarray:
    """``values`` as float32 when they already are, else as float64."""
    values = np.asarray(values)
    return values if values.dtype == np.float32 else values.astype(float, copy=False)


def from_arrays(
    position: np.ndarray,
    confidence: np.ndarray,
    time_s: np.ndarray,
    *,
    source: str,
    width: int,
    height: int,
    frame: np.ndarray | None = None,
    world_position: np.ndarray | None = None,
    keypoints: tuple[str, ...] = KEYPOINT_NAMES,
    source_software: str = "mediapipe",
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build and validate a pose dataset from plain arrays.

    Parameters
    ----------
    position : numpy.ndarray
        Pixel coordinates, shape ``(n_frames, n_keypoints, 2)``. float32
        input (a pose model's own precision) is kept in float32, which halves
        a long clip's raw tracks; anything else is stored as float64. The
        cleaning stage computes in float64 either way and stores its result
        in float32.
    confidence : numpy.ndarray
        Visibility per point, shape ``(n_frames, n_keypoints)``; float32
        kept as for ``position``.
    time_s : numpy.ndarray
        Strictly increasing frame times in seconds, shape ``(n_frames,)``.
    source : str
        Where the data came from (usually the video file name).
    width, height : int
        Size in pixels of the upright frame the coordinates refer to.
    frame : numpy.ndarray, optional
        Decode index of each frame; defaults to ``0..n_frames-1``.
    world_position : numpy.ndarray, optional
        World landmarks in metres, shape ``(n_frames, n_keypoints, 3)``.
    keypoints : tuple of str
        Keypoint labels; MediaPipe's 33 names by default.
    source_software : str
        The pose estimator, stored as an attribute.
    attrs : mapping, optional
        Further attributes (rotation, time_scale, ...).

    Returns
    -------
    xarray.Dataset
        The validated dataset.

    Raises
    ------
    InvalidDatasetError
        If shapes disagree or times are not strictly increasing.
    """
    position, confidence = (_float_array(a) for a in (position, confidence))
    time_s = np.asarray(time_s, dtype=float)
    n_frames = time_s.shape[0] if time_s.ndim == 1 else -1
    n_kp = len(keypoints)
    if position.shape != (n_frames, n_kp, 2):
        raise InvalidDatasetError(
            f"position must have shape (frames, {n_kp}, 2); got {position.shape}"
        )
    if confidence.shape != (n_frames, n_kp):
        raise InvalidDatasetError(
            f"confidence must have shape (frames, {n_kp}); got {confidence.shape}"
        )
    frame_idx = np.arange(n_frames) if frame is None else np.asarray(frame)
    if frame_idx.shape != (n_frames,):
        raise InvalidDatasetError("frame must have one index per time")
    fps = _median_fps(time_s)
    data_vars: dict[str, Any] = {
        "position": (
            ("time", "space", "keypoints", "individuals"),
            position.transpose(0, 2, 1)[..., np.newaxis],
        ),
        "confidence": (
            ("time", "keypoints", "individuals"),
            confidence[..., np.newaxis],
        ),
    }
    if world_position is not None:
        # Kept in float32, MediaPipe's precision: the analysis never reads them.
        world_position = np.asarray(world_position, dtype=np.float32)
        if world_position.shape != (n_frames, n_kp, 3):
            raise InvalidDatasetError(
                f"world_position must have shape (frames, {n_kp}, 3); got {world_position.shape}"
            )
        data_vars["world_position"] = (
            ("time", "space_world", "keypoints", "individuals"),
            world_position.transpose(0, 2, 1)[..., np.newaxis],
        )
    ds = xr.Dataset(
        data_vars=data_vars,
        coords={
            "time": time_s,
            "frame": ("time", frame_idx.astype(np.int64)),
            "space": list(SPACE),
            "space_world": list(SPACE_WORLD),
            "keypoints": list(keypoints),
            "individuals": [INDIVIDUAL],
        },
        attrs={
            "fps": fps,
            "source": str(source),
            "source_software": source_software,
            "width": int(width),
            "height": int(height),
            **dict(attrs or {}),
        },
    )
    validate_dataset(ds)
    return ds


def validate_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Check that ``ds`` follows the pose dataset schema.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset made by :func:`from_arrays` (or loaded from disk).

    Returns
    -------
    xarray.Dataset
        The same dataset, so the call can be chained.

    Raises
    ------
    InvalidDatasetError
        If a variable, dimension, coordinate or attribute is missing or
        malformed.
    """
    if not isinstance(ds, xr.Dataset):
        raise InvalidDatasetError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    for var, dims in (
        ("position", ("time", "space", "keypoints", "individuals")),
        ("confidence", ("time", "keypoints", "individuals")),
    ):
        if var not in ds:
            raise InvalidDatasetError(f"the dataset has no '{var}' variable")
        if ds[var].dims != dims:
            raise InvalidDatasetError(f"'{var}' must have dims {dims}; got {ds[var].dims}")
    if list(ds["space"].values) != list(SPACE):
        raise InvalidDatasetError("space coordinate must be ['x', 'y']")
    if "frame" not in ds.coords:
        raise InvalidDatasetError("the dataset has no 'frame' coordinate")
    missing = [a for a in _REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise InvalidDatasetError(f"the dataset lacks attributes {missing}")
    t = np.asarray(ds["time"].values, dtype=float)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise InvalidDatasetError("frame times must be strictly increasing")
    return ds


def _median_fps(time_s: np.ndarray) -> float:
    """Frame rate from the median frame interval (robust to VFR jitter)."""
    if time_s.size < 2:
        return float("nan")
    dt = np.diff(time_s)
    dt = dt[dt > 0]
    return float(1.0 / np.median(dt)) if dt.size else float("nan")


def variable_frame_rate(time_s: np.ndarray, tolerance: float = 0.2) -> bool:
    """Whether frame intervals vary (phone clips often have a variable frame rate).

    Parameters
    ----------
    time_s : numpy.ndarray
        Frame times in seconds, increasing.
    tolerance : float
        The 5th-95th percentile spread of the frame intervals, as a fraction
        of their median, above which the rate counts as variable.

    Returns
    -------
    bool
        True when the intervals vary by more than ``tolerance``.
    """
    dt = np.diff(np.asarray(time_s, dtype=float))
    if dt.size <= 2:
        return False
    spread = float(np.percentile(dt, 95) - np.percentile(dt, 5))
    return spread > tolerance * float(np.median(dt))


def keypoint_xy(ds: xr.Dataset, name: str, *, copy: bool = True) -> np.ndarray:
    """Return one keypoint's pixel track as an ``(n_frames, 2)`` array.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    name : str
        Keypoint label, e.g. ``"left_ankle"``.
    copy : bool, default True
        False returns a read-only view of the positions in their stored
        precision (float32 for pose output and cleaned tracks) instead of a
        float64 copy (a 20-minute clip's track is 0.3-0.6 MB).

    Returns
    -------
    numpy.ndarray
        ``x`` and ``y`` per frame, NaN where missing.
    """
    # Label lookups on the indexes, then one numpy index: every stage calls
    # this many times, and ``.sel`` costs a millisecond a call.
    da = ds["position"]
    where = {
        "keypoints": ds.indexes["keypoints"].get_loc(name),
        "individuals": ds.indexes["individuals"].get_loc(INDIVIDUAL),
    }
    dims = [str(d) for d in da.dims]
    values = da.values[tuple(where.get(d, slice(None)) for d in dims)]
    rest = [d for d in dims if d not in where]
    if rest != ["time", "space"]:
        values = values.T
    if copy:
        return np.array(values, dtype=float)
    view = np.asarray(values)
    if np.shares_memory(view, da.values):
        view = view.view()
        view.flags.writeable = False
    return view


def clip_seconds(t: np.ndarray) -> float:
    """Duration covered by frame times ``t``, one frame interval added.

    Parameters
    ----------
    t : numpy.ndarray
        Frame times in seconds, increasing.

    Returns
    -------
    float
        Seconds; 0 without frames.
    """
    if t.size == 0:
        return 0.0
    dt = np.diff(t)
    return float(t[-1] - t[0] + (np.median(dt) if dt.size else 0.0))


def midpoint_xy(ds: xr.Dataset, stem: str) -> np.ndarray:
    """Per frame, the midpoint of the left and right ``stem`` keypoints (e.g. ``"hip"``).

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    stem : str
        Keypoint name without its side: ``"hip"`` means ``left_hip`` and ``right_hip``.

    Returns
    -------
    numpy.ndarray
        ``(n_frames, 2)`` image ``x, y``; NaN where either point is missing.
    """
    return (keypoint_xy(ds, f"left_{stem}") + keypoint_xy(ds, f"right_{stem}")) / 2


def torso_length_px(ds: xr.Dataset) -> np.ndarray:
    """Per frame, the distance from the mid-shoulder to the mid-hip in pixels.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    numpy.ndarray
        ``(n_frames,)``, NaN where a shoulder or hip is missing.
    """
    return np.hypot(*(midpoint_xy(ds, "shoulder") - midpoint_xy(ds, "hip")).T)


def leg_length_px(ds: xr.Dataset) -> float:
    """Leg length in pixels: median over frames and both legs of ``|hip-knee| + |knee-ankle|``.

    Every stage that needs a body-size scale (cleaning tolerances, event
    thresholds, metrics in % of leg length) uses this one definition.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    float
        The leg length; NaN if hip, knee and ankle are never seen together.
    """
    lengths = []
    for side in ("left", "right"):
        hip, knee, ankle = (keypoint_xy(ds, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        lengths.append(np.hypot(*(hip - knee).T) + np.hypot(*(knee - ankle).T))
    values = np.concatenate(lengths)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")
