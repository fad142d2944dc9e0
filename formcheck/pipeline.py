"""The whole analysis, as the CLI, the app and the batch runner call it.

``analyze(video)`` = probe -> stream frames -> pose -> :func:`analyze_tracks`.
``analyze_tracks`` is pure: cleaned tracks -> view -> events -> metrics, so
saved tracks can be re-analysed without pose estimation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from formcheck.cleaning import CleaningSettings, clean_tracks
from formcheck.errors import FormcheckError, NoRunnerError
from formcheck.events import GaitEvent, detect_events
from formcheck.io.model import PoseModel, load_model
from formcheck.io.video import VideoInfo, VideoLimits, iter_frames, probe_video
from formcheck.metrics import Metric, compute_metrics
from formcheck.parallel import choose_workers, parallel_pose
from formcheck.pose import PoseSettings, PoseTrack, pose_dataset, track_pose
from formcheck.view import ViewInfo, detect_view, resolve_view

ViewChoice = Literal["auto", "side", "rear", "front"]
ProgressFn = Callable[[int, int], None]
"""Called with (frames done, frames expected; 0 when unknown)."""

MIN_DETECTION_RATE = 0.25
"""Below this share of frames with a person, the clip has no usable runner."""
MIN_DETECTED_SECONDS = 1.0
"""At least this much running must be detected to analyse anything."""


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything a user can set for one analysis.

    Attributes
    ----------
    model_path : str or None
        A pose ``.task`` file; the bundled full model when None.
    view : {"auto", "side", "rear", "front"}
        Camera view; ``"auto"`` detects it.
    capture_fps : float or None
        Frame rate the clip was filmed at, for slow-motion files that play
        back slower than they were filmed.
    height_m : float or None
        Runner's height, to give distances in cm.
    treadmill_speed_kmh : float or None
        Belt speed, for step length and speed.
    limits : VideoLimits
        File size, duration and resolution limits.
    cleaning : CleaningSettings
        Cleaning-stage parameters.
    pose : PoseSettings
        Landmarker thresholds.
    workers : int or None
        Processes running pose on this one clip (time segments in parallel,
        see :mod:`formcheck.parallel`). None is automatic: 1 for clips
        shorter than 20 s, else ``min(2, CPU cores)``.
    """

    model_path: str | None = None
    view: ViewChoice = "auto"
    capture_fps: float | None = None
    height_m: float | None = None
    treadmill_speed_kmh: float | None = None
    limits: VideoLimits = field(default_factory=VideoLimits)
    cleaning: CleaningSettings = field(default_factory=CleaningSettings)
    pose: PoseSettings = field(default_factory=PoseSettings)
    workers: int | None = None

    def __post_init__(self) -> None:
        """Reject a worker count below one."""
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise FormcheckError(
                f"workers must be a whole number of at least 1; got {self.workers!r}"
            )


@dataclass(frozen=True)
class Analysis:
    """The result of analysing one clip.

    Attributes
    ----------
    raw : xarray.Dataset
        Pose tracks as the model gave them.
    tracks : xarray.Dataset
        Cleaned tracks.
    view : ViewInfo
        Camera view used for the metrics.
    detected_view : ViewInfo
        The view formcheck detected (before any user override).
    events : list of GaitEvent
        Initial contacts and toe-offs.
    metrics : dict of str to Metric
        Metrics by stable name.
    video : dict
        Video information (see :func:`video_summary`).
    options : AnalysisOptions
        The options used.
    """

    raw: xr.Dataset
    tracks: xr.Dataset
    view: ViewInfo
    detected_view: ViewInfo
    events: list[GaitEvent]
    metrics: dict[str, Metric]
    video: dict[str, Any]
    options: AnalysisOptions


def time_scale_for(info: VideoInfo, capture_fps: float | None) -> float:
    """Factor turning playback seconds into capture seconds.

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    capture_fps : float or None
        Frame rate the clip was filmed at; None for a normal clip.

    Returns
    -------
    float
        ``playback_fps / capture_fps``, or 1.
    """
    if not capture_fps or not math.isfinite(info.fps) or info.fps <= 0:
        return 1.0
    return float(info.fps) / float(capture_fps)


def video_summary(info: VideoInfo, time_scale: float, ds: xr.Dataset) -> dict[str, Any]:
    """Video facts for the report.

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    time_scale : float
        Playback-to-capture time factor.
    ds : xarray.Dataset
        Raw pose dataset of the clip (its frame times are the real ones).

    Returns
    -------
    dict
        File name, size, rotation, frame rates, frame count, duration and
        whether the frame rate varies.
    """
    t = np.asarray(ds["time"].values, dtype=float)
    dt = np.diff(t)
    vfr = bool(dt.size > 2 and (np.percentile(dt, 95) - np.percentile(dt, 5)) > 0.2 * np.median(dt))
    return {
        "file": Path(info.path).name,
        "file_bytes": info.file_bytes,
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "analysed_width": int(ds.attrs.get("width", info.width)),
        "analysed_height": int(ds.attrs.get("height", info.height)),
        "orientation": info.orientation,
        "rotation_deg": info.rotation,
        "playback_fps": info.fps,
        "capture_fps": info.fps / time_scale if time_scale else info.fps,
        "time_scale": time_scale,
        "fps": float(ds.attrs.get("fps", float("nan"))),
        "frames": int(ds.sizes["time"]),
        "duration_s": float(t[-1] - t[0] + np.median(dt)) if dt.size else 0.0,
        "variable_frame_rate": vfr,
    }


def check_runner(ds: xr.Dataset, source: str) -> None:
    """Raise NoRunnerError when too few frames show a person.

    Parameters
    ----------
    ds : xarray.Dataset
        Raw pose dataset with ``n_frames`` and ``detected_frames`` attributes.
    source : str
        Clip name for the message.

    Raises
    ------
    NoRunnerError
        If the person was found in too few frames, or for too short a time.
    """
    n = int(ds.attrs.get("n_frames", ds.sizes["time"]))
    detected = int(ds.attrs.get("detected_frames", 0))
    fps = float(ds.attrs.get("fps", float("nan")))
    seconds = detected / fps if math.isfinite(fps) and fps > 0 else 0.0
    if n == 0 or detected == 0:
        raise NoRunnerError(
            f"no runner found in {source}: no person was detected in any frame. Film the "
            "whole body from the side or behind, in good light."
        )
    if detected / n < MIN_DETECTION_RATE or seconds < MIN_DETECTED_SECONDS:
        raise NoRunnerError(
            f"no runner found in {source}: a person was detected in only {detected} of {n} "
            "frames. Film the whole body, head to feet, for at least 10 seconds."
        )


def run_pose(
    video: str | Path,
    options: AnalysisOptions | None = None,
    *,
    model: PoseModel | None = None,
    on_progress: ProgressFn | None = None,
) -> tuple[VideoInfo, xr.Dataset, float]:
    """Probe a clip and run pose estimation on all its frames.

    Parameters
    ----------
    video : str or pathlib.Path
        The clip.
    options : AnalysisOptions, optional
        Analysis options.
    model : PoseModel, optional
        A loaded model (loaded from ``options.model_path`` when None).
    on_progress : callable, optional
        ``(done, total)`` progress callback.

    Returns
    -------
    tuple
        ``(video info, raw pose dataset, time scale)``.
    """
    options = options or AnalysisOptions()
    info = probe_video(video, options.limits)
    model = model or load_model(options.model_path)
    scale = time_scale_for(info, options.capture_fps)
    total = info.n_frames

    def tick(done: int) -> None:
        if on_progress is not None:
            on_progress(done, total)

    duration = info.duration_s
    if not math.isfinite(duration) and math.isfinite(info.fps) and info.fps > 0:
        duration = info.n_frames / info.fps
    workers = choose_workers(duration, options.workers)
    track: PoseTrack | None = None
    if workers > 1:
        track = parallel_pose(
            info,
            model,
            workers,
            time_scale=scale,
            max_long_side=options.limits.max_long_side,
            settings=options.pose,
            on_frame=tick,
        )
    if track is None:  # one process, or the clip could not be split safely
        workers = 1
        frames = iter_frames(info, time_scale=scale, max_long_side=options.limits.max_long_side)
        track = track_pose(
            frames, model, settings=options.pose, expected_frames=info.n_frames, on_frame=tick
        )
    attrs = {
        "rotation": info.rotation,
        "time_scale": scale,
        "playback_fps": info.fps,
        "model": model.name,
        "model_sha256": model.sha256,
        "pose_workers": workers,
    }
    ds = pose_dataset(track, source=Path(info.path).name, attrs=attrs)
    return info, ds, scale


def analyze_tracks(
    raw: xr.Dataset, video: dict[str, Any], options: AnalysisOptions | None = None
) -> Analysis:
    """Analyse pose tracks: clean, find the view, the events and the metrics.

    Parameters
    ----------
    raw : xarray.Dataset
        Raw pose dataset.
    video : dict
        Video facts (from :func:`video_summary`).
    options : AnalysisOptions, optional
        Analysis options.

    Returns
    -------
    Analysis
        Everything the report needs.
    """
    options = options or AnalysisOptions()
    check_runner(raw, str(raw.attrs.get("source", "the clip")))
    tracks = clean_tracks(raw, options.cleaning)
    detected = detect_view(tracks)
    view = resolve_view(detected, options.view)
    events = detect_events(tracks, view)
    metrics = compute_metrics(
        tracks,
        view,
        events,
        height_m=options.height_m,
        treadmill_speed_kmh=options.treadmill_speed_kmh,
    )
    return Analysis(
        raw=raw,
        tracks=tracks,
        view=view,
        detected_view=detected,
        events=events,
        metrics=metrics,
        video=video,
        options=options,
    )


def analyze(
    video: str | Path,
    options: AnalysisOptions | None = None,
    *,
    model: PoseModel | None = None,
    on_progress: ProgressFn | None = None,
) -> Analysis:
    """Analyse one running clip from the video file to metrics.

    Parameters
    ----------
    video : str or pathlib.Path
        The clip.
    options : AnalysisOptions, optional
        Analysis options.
    model : PoseModel, optional
        A loaded model, to share one between clips.
    on_progress : callable, optional
        ``(done, total)`` progress callback.

    Returns
    -------
    Analysis
        The analysis.

    Raises
    ------
    formcheck.errors.FormcheckError
        For every problem with the input (unreadable file, no runner, ...).
    """
    options = options or AnalysisOptions()
    info, raw, scale = run_pose(video, options, model=model, on_progress=on_progress)
    return analyze_tracks(raw, video_summary(info, scale, raw), options)
