"""Pose stage: MediaPipe PoseLandmarker (Tasks API, VIDEO mode) over a frame stream.

One landmarker is made per clip, because VIDEO mode keeps tracking state
between frames. Frames with no person become NaN rows and are counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from formcheck.dataset import from_arrays
from formcheck.io.model import PoseModel
from formcheck.io.video import Frame
from formcheck.landmarks import KEYPOINT_NAMES

N_KEYPOINTS = len(KEYPOINT_NAMES)
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class PoseSettings:
    """MediaPipe landmarker options.

    Attributes
    ----------
    min_detection_confidence : float
        Person-detector score needed to start tracking.
    min_presence_confidence : float
        Landmark-model presence score needed to keep a pose.
    min_tracking_confidence : float
        Score below which the tracker re-runs the detector.
    """

    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence C++ logging (XNNPACK, feedback manager) written to fd 2."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _make_landmarker(model: PoseModel, settings: PoseSettings) -> Any:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import (
        PoseLandmarker,
        PoseLandmarkerOptions,
        RunningMode,
    )

    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=model.data),
        running_mode=RunningMode.VIDEO,
        num_poses=1,
        min_pose_detection_confidence=settings.min_detection_confidence,
        min_pose_presence_confidence=settings.min_presence_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
        output_segmentation_masks=False,
    )
    with _quiet_native_stderr():
        return PoseLandmarker.create_from_options(options)


def estimate_pose(
    frames: Iterable[Frame],
    model: PoseModel,
    *,
    source: str,
    settings: PoseSettings | None = None,
    attrs: dict[str, Any] | None = None,
    on_frame: ProgressCallback | None = None,
) -> xr.Dataset:
    """Run MediaPipe pose on every frame and collect a pose dataset.

    Parameters
    ----------
    frames : iterable of Frame
        Upright RGB frames with strictly increasing times.
    model : PoseModel
        A verified ``.task`` model.
    source : str
        Name stored in the dataset's ``source`` attribute.
    settings : PoseSettings, optional
        Landmarker thresholds.
    attrs : dict, optional
        Extra dataset attributes (video info).
    on_frame : callable, optional
        Called with the number of frames done after each frame.

    Returns
    -------
    xarray.Dataset
        The pose dataset (see :mod:`formcheck.dataset`), with attributes
        ``n_frames`` and ``detected_frames``.
    """
    import mediapipe as mp

    settings = settings or PoseSettings()
    positions: list[np.ndarray] = []
    visibility: list[np.ndarray] = []
    world: list[np.ndarray] = []
    times: list[float] = []
    indices: list[int] = []
    width = height = 0
    last_ms = -1
    nan_xy = np.full((N_KEYPOINTS, 2), np.nan)
    nan_xyz = np.full((N_KEYPOINTS, 3), np.nan)
    nan_v = np.full(N_KEYPOINTS, np.nan)
    with _make_landmarker(model, settings) as landmarker:
        for frame in frames:
            height, width = frame.image.shape[:2]
            ts_ms = max(int(round(frame.time_s * 1000.0)), last_ms + 1)
            last_ms = ts_ms
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.image)
            if not times:  # the first call logs a native warning; keep it away from users
                with _quiet_native_stderr():
                    result = landmarker.detect_for_video(image, ts_ms)
            else:
                result = landmarker.detect_for_video(image, ts_ms)
            if result.pose_landmarks:
                xy, vis, xyz = _unpack(result, width, height)
            else:
                xy, vis, xyz = nan_xy, nan_v, nan_xyz
            positions.append(xy)
            visibility.append(vis)
            world.append(xyz)
            times.append(frame.time_s)
            indices.append(frame.index)
            if on_frame is not None:
                on_frame(len(times))
    n = len(times)
    detected = int(sum(1 for v in visibility if not np.isnan(v[0])))
    all_attrs = {**(attrs or {}), "n_frames": n, "detected_frames": detected}
    return from_arrays(
        position=np.stack(positions) if n else np.empty((0, N_KEYPOINTS, 2)),
        confidence=np.stack(visibility) if n else np.empty((0, N_KEYPOINTS)),
        world_position=np.stack(world) if n else np.empty((0, N_KEYPOINTS, 3)),
        time_s=np.asarray(times, dtype=float),
        frame=np.asarray(indices, dtype=np.int64),
        source=source,
        width=width,
        height=height,
        attrs=all_attrs,
    )


def _unpack(result: Any, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel coordinates, visibility and world landmarks of the first pose."""
    lms = result.pose_landmarks[0]
    xy = np.array([(lm.x * width, lm.y * height) for lm in lms], dtype=float)
    vis = np.array([lm.visibility if lm.visibility is not None else 1.0 for lm in lms], float)
    if result.pose_world_landmarks:
        xyz = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]], dtype=float)
    else:
        xyz = np.full((N_KEYPOINTS, 3), np.nan)
    return xy, vis, xyz
