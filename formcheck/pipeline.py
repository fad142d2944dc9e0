"""The whole analysis, as the CLI, the app and the batch runner call it.

``analyze(video)`` = probe -> stream frames -> pose -> :func:`analyze_tracks`.
``analyze_tracks`` is pure: cleaned tracks -> view -> events -> metrics, so
saved tracks can be re-analysed without pose estimation.

Importing this module, building :class:`AnalysisOptions` and tracking the
pose load neither xarray, pandas nor scipy: the analysis stages
(:mod:`formcheck.cleaning`, :mod:`~formcheck.dataset`, :mod:`~formcheck.events`,
:mod:`~formcheck.metrics`, :mod:`~formcheck.view`) are imported by the
functions that run them, once the landmarkers are closed. Those libraries hold
about 140 MB, which would otherwise sit beside the landmarkers and decoders at
the pose phase's peak (two segments of a 1-minute 1080p clip: 581 -> 439 MB).
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from formcheck.errors import ClipTooShortError, FormcheckError, NoRunnerError, SlowMotionError
from formcheck.io.model import PoseModel, load_model
from formcheck.io.video import (
    VideoInfo,
    VideoLimits,
    iter_frames,
    probe_video,
    sample_keyframes,
)
from formcheck.landmarks import SIDES
from formcheck.parallel import choose_workers, parallel_pose
from formcheck.pose import (
    PoseSettings,
    PoseTrack,
    count_people,
    pose_dataset,
    release_free_memory,
    share_one_malloc_arena,
    track_pose,
)
from formcheck.settings import CADENCE_RANGE_SPM, CleaningSettings, check_runner_inputs

if TYPE_CHECKING:
    import xarray as xr

    from formcheck.events import GaitEvent
    from formcheck.metrics import Metric
    from formcheck.view import ViewInfo

ViewChoice = Literal["auto", "side", "rear", "front"]
ProgressFn = Callable[[int, int], None]
"""Called with (frames done, frames expected; 0 when unknown)."""

MIN_DETECTION_RATE = 0.25
"""Below this share of frames with a person, the clip has no usable runner."""
TRUNCATED_SHARE = 0.9
"""A clip decoding to less than this share of its header's length (and 1 s) gets a note."""
UPRIGHT_MIN_SHARE = 0.5
"""Below this share of upright skeletons among the frames with a person, the clip is refused."""
MIN_DETECTED_SECONDS = 2.0
"""Running shorter than this (two strides at 120 steps/min) cannot be measured."""
MAX_GAP_S = 0.5
"""Detection gaps up to this long still count as one continuous view of the runner."""
DARK_BRIGHTNESS = 40.0
"""Mean 0-255 luma below which a clip is called too dark in the no-runner message."""
RHYTHM_MEDIAN = 3
"""Running-median width (samples) that cleans the ankle signal for :func:`leg_rhythm_spm`."""
SLOW_MOTION_SPM = CADENCE_RANGE_SPM[1] / 2.0
"""A leg rhythm slower than this (steps/min) means the clip plays slower than filmed.

Half the fastest plausible running cadence (230 / 2 = 115): any clip played
at half speed or slower falls below it, and no one runs on a treadmill at
fewer than 115 steps per minute (that is a walk).
"""
PEOPLE_SAMPLES = 6
"""Keyframes in which the people are counted (:func:`people_check`)."""
JUMP_LEGS = 0.6
"""A mid-hip move larger than this many leg lengths between neighbouring frames is a jump."""
SIZE_JUMP = 1.5
"""A torso length changing by more than this factor between neighbouring frames is a jump.

A runner's torso keeps its length in the picture from frame to frame (an
overground runner's grows or shrinks by a few per cent a frame at most); a
tracker that moves to a bystander nearer or farther from the camera does not.
"""
EXCURSION_S = 0.25
"""A jump away and back within this time is a pose glitch, not someone else.

Its frames are dropped (left to the gap filler) and the stretches on both
sides stay one view of the runner, when the body after it matches the body
before it. A stretch this short at either end of the clip is a glitch too.
"""
BODY_SPEED_LEGS = 8.0
"""Fastest a runner's mid-hip crosses the picture, in leg lengths per second.

A sprint at 9 m/s is about 10 leg lengths per second, a run at 4-5 m/s about
5: the jump threshold grows by this much per second between two detected
frames, so an overground runner seen again after a short detection gap is
not taken for someone else.
"""
VELOCITY_S = 0.2
"""How far back the followed body's own speed is measured, in seconds."""
RECENT_ROWS = 64
"""Latest detected frames of the followed body kept for its speed (0.2 s even at 240 fps)."""
SIGNATURE_MEDIAN = 5
"""Detected frames in the running median of the body signature (hip, torso length).

Keypoint noise and one- or two-frame pose glitches do not break a stretch; a
lasting change of body still does, at the frame it happens.
"""


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything a user can set for one analysis.

    Attributes
    ----------
    model_path : str or None
        A pose ``.task`` file; the bundled full model when None.
    view : {"auto", "side", "rear", "front"}
        Camera view; ``"auto"`` detects it.
    view_hint : bool
        Whether ``view`` is only a guess (a batch reads it from a word in the
        clip's file or folder name): a confident detection that contradicts
        it wins, with a note. A view the user chose is kept, with a note.
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
    view_hint: bool = False
    capture_fps: float | None = None
    height_m: float | None = None
    treadmill_speed_kmh: float | None = None
    limits: VideoLimits = field(default_factory=VideoLimits)
    cleaning: CleaningSettings = field(default_factory=CleaningSettings)
    pose: PoseSettings = field(default_factory=PoseSettings)
    workers: int | None = None

    def __post_init__(self) -> None:
        """Reject a worker count below one and a height or speed no runner has."""
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise FormcheckError(
                f"workers must be a whole number of at least 1; got {self.workers!r}"
            )
        check_runner_inputs(self.height_m, self.treadmill_speed_kmh)


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
        The probed clip; its ``capture_fps_tag`` (slow-motion metadata) is
        used when ``capture_fps`` is None.
    capture_fps : float or None
        Frame rate the clip was filmed at; None for a normal clip.

    Returns
    -------
    float
        ``playback_fps / capture_fps``, or 1.

    Raises
    ------
    FormcheckError
        If ``capture_fps`` is not a positive frame rate.
    """
    if capture_fps is not None and not (math.isfinite(capture_fps) and 1 <= capture_fps <= 10_000):
        raise FormcheckError(
            "--capture-fps must be the frame rate the clip was filmed at (1-10000), "
            f"not {capture_fps}."
        )
    capture = capture_fps or info.capture_fps_tag
    if not capture or not math.isfinite(info.fps) or info.fps <= 0:
        return 1.0
    return float(info.fps) / float(capture)


def capture_fps_source(info: VideoInfo, time_scale: float) -> str:
    """Where the capture frame rate came from.

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    time_scale : float
        The playback-to-capture factor used.

    Returns
    -------
    str
        ``"file"`` (real time), ``"metadata"`` (the container's slow-motion
        tag) or ``"option"`` (``--capture-fps``).
    """
    if time_scale == 1.0:
        return "file"
    tag = info.capture_fps_tag
    if tag and math.isclose(info.fps / time_scale, tag, rel_tol=1e-6):
        return "metadata"
    return "option"


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
    from formcheck.dataset import variable_frame_rate

    t = np.asarray(ds["time"].values, dtype=float)
    dt = np.diff(t)
    vfr = variable_frame_rate(t)
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
        "capture_fps_source": capture_fps_source(info, time_scale),
        "capture_fps_tag": info.capture_fps_tag,
        # The video stream's own length: a container's may include a longer sound track.
        "header_duration_s": float(info.stream_duration_s) * time_scale
        if math.isfinite(info.stream_duration_s)
        else None,
    }


def _detected(ds: xr.Dataset) -> np.ndarray:
    """Per frame: was a person detected (any finite keypoint)."""
    pos = np.asarray(ds["position"].values, dtype=float)
    return np.isfinite(pos).reshape(pos.shape[0], -1).any(axis=1)


def inverted_frames(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Frames whose skeleton is not upright: torso upside down, and legs upside down.

    A runner's shoulders are above the hips and the lower ankle below them
    (image ``y`` points down). The pose model breaks that in two ways seen
    on testers' clips: a picture shown upside down (every frame: shoulders
    below the hips and the ankles above them) and a runner too small in the
    picture, whose skeleton it folds (shoulders below the hips, legs mostly
    right). Missing points decide nothing.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    tuple of numpy.ndarray
        Per frame (bool): torso upside down; legs upside down.
    """
    from formcheck.dataset import keypoint_xy, midpoint_xy

    shoulder, hip = midpoint_xy(ds, "shoulder")[:, 1], midpoint_xy(ds, "hip")[:, 1]
    lower_ankle = np.fmax(*(keypoint_xy(ds, f"{side}_ankle")[:, 1] for side in SIDES))
    with np.errstate(invalid="ignore"):
        return shoulder > hip, lower_ankle < hip


def sideways_frames(ds: xr.Dataset) -> np.ndarray:
    """Frames whose torso lies more across the picture than up and down.

    A runner leans forward 5-15 degrees; a torso past 45 degrees in most
    frames means the picture is turned a quarter (a file whose rotation was
    lost), which the upright check alone would take for a folded skeleton.
    """
    from formcheck.dataset import midpoint_xy

    torso = midpoint_xy(ds, "hip") - midpoint_xy(ds, "shoulder")
    with np.errstate(invalid="ignore"):
        return np.abs(torso[:, 0]) > np.abs(torso[:, 1])


def drop_inverted_poses(ds: xr.Dataset, source: str) -> tuple[xr.Dataset, list[str]]:
    """Leave out frames whose skeleton is not upright; refuse a clip made of them.

    Parameters
    ----------
    ds : xarray.Dataset
        Raw pose dataset (``detected_frames`` attribute as :func:`check_runner` reads it).
    source : str
        Clip name for the message.

    Returns
    -------
    tuple
        ``(dataset, notes)``: the dataset itself when every skeleton is
        upright, else a copy with those frames missing (and
        ``detected_frames`` lowered), and a note saying how many.

    Raises
    ------
    NoRunnerError
        When fewer than :data:`UPRIGHT_MIN_SHARE` of the frames with a person
        show an upright skeleton: the message says whether the picture looks
        upside down or the runner too small to read.
    """
    torso, legs = inverted_frames(ds)
    seen = _detected(ds)
    lying = seen & sideways_frames(ds)
    n_seen = int(seen.sum())
    if n_seen and n_seen - int(lying.sum()) < UPRIGHT_MIN_SHARE * n_seen:
        raise NoRunnerError(
            f"the runner appears lying on their side in {source} ({int(lying.sum())} of "
            f"{n_seen} frames with a person): the video plays turned by a quarter. Turn it "
            "upright in the phone's editor or export it again, then run formcheck on the new file."
        )
    bad = seen & (torso | legs)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return ds, []
    if n_seen - n_bad < UPRIGHT_MIN_SHARE * n_seen:
        if np.sum(torso & legs) >= 0.5 * n_bad:
            raise NoRunnerError(
                f"the runner appears upside down in {source} ({n_bad} of {n_seen} frames with a "
                "person): the video plays rotated. Turn it upright in the phone's editor or "
                "export it again, then run formcheck on the new file."
            )
        raise NoRunnerError(
            f"the pose model could not read the runner's body in {source} (the shoulders come "
            f"out below the hips in {n_bad} of {n_seen} frames with a person). This happens when "
            "the runner is small in the picture: film closer, so that the body fills at least "
            "half of the picture's height."
        )
    out = ds.copy()
    for var in ("position", "confidence"):  # as if nobody had been found in those frames
        out[var] = ds[var].copy()
        out[var][bad] = np.nan
    out.attrs["detected_frames"] = max(0, int(ds.attrs.get("detected_frames", n_seen)) - n_bad)
    note = (
        f"{n_bad} of {n_seen} frames with a person were left out: the pose model's skeleton "
        "was not upright in them (shoulders below the hips or feet above them)"
    )
    return out, [note]


@dataclass(frozen=True)
class BodySpan:
    """The longest stretch of frames that shows one body: the runner.

    Attributes
    ----------
    first, stop : int
        Frame positions of the stretch (``stop`` exclusive); ``(0, 0)`` when
        nobody is seen.
    dropped : numpy.ndarray
        Positions of frames inside the stretch that showed something else for
        a moment (a jump away and back within :data:`EXCURSION_S`).
    switches : int
        Jumps to another body over the whole clip (glitches not counted).
    """

    first: int
    stop: int
    dropped: np.ndarray
    switches: int


def _body_signature(ds: xr.Dataset, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Mid-hip position and torso length at ``frames`` (running medians), and the leg length."""
    from formcheck.dataset import leg_length_px, midpoint_xy, torso_length_px

    hip = midpoint_xy(ds, "hip")[frames]
    torso = torso_length_px(ds)[frames]
    leg = leg_length_px(ds)
    return (
        _running_median(hip, SIGNATURE_MEDIAN),
        _running_median(torso, SIGNATURE_MEDIAN),
        leg if math.isfinite(leg) and leg > 0 else math.inf,
    )


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running median over ``width`` (odd) rows, ignoring NaN; ends padded."""
    from numpy.lib.stride_tricks import sliding_window_view

    if values.shape[0] < width:
        return values
    half = width // 2
    padded = np.concatenate([values[:1].repeat(half, 0), values, values[-1:].repeat(half, 0)])
    windows = sliding_window_view(padded, width, axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        return np.asarray(np.nanmedian(windows, axis=-1))


def _same_body(
    hip: np.ndarray, torso: np.ndarray, t: np.ndarray, recent: Sequence[int], b: int, leg: float
) -> bool:
    """Whether signature row ``b`` can show the body last seen in rows ``recent``.

    The body's mid-hip is carried forward to ``t[b]`` at its own speed over
    the last :data:`VELOCITY_S` (a runner crossing the picture keeps moving),
    or, without that history, allowed :data:`BODY_SPEED_LEGS` leg lengths per
    second. A jump needs evidence: the hip more than :data:`JUMP_LEGS` leg
    lengths from where the body should be, or a torso length changed by more
    than :data:`SIZE_JUMP`; a part that is not known (NaN) is no evidence.
    """
    a = recent[-1]
    dt = t[b] - t[a]
    ref = next((r for r in reversed(recent) if t[a] - t[r] >= VELOCITY_S), recent[0])
    expected, tol = hip[a], (JUMP_LEGS + BODY_SPEED_LEGS * dt) * leg
    if t[a] > t[ref] and np.isfinite(hip[[a, ref]]).all():
        expected = hip[a] + (hip[a] - hip[ref]) / (t[a] - t[ref]) * dt
        tol = JUMP_LEGS * leg
    step = float(np.hypot(*(hip[b] - expected)))
    ratio = max(torso[a], torso[b]) / min(torso[a], torso[b])
    moved = math.isfinite(step) and step > tol
    resized = math.isfinite(ratio) and ratio > SIZE_JUMP
    return not (moved or resized)


def body_span(ds: xr.Dataset, max_gap_s: float = MAX_GAP_S) -> BodySpan:
    """Find the longest stretch in which one body, the runner, is seen.

    The detected frames are read in order, each compared with the last frame
    of the body being followed (:func:`_same_body`; the body signature is a
    running median over :data:`SIGNATURE_MEDIAN` frames). A stretch ends at a
    detection gap longer than ``max_gap_s``, and where the tracked body jumps
    to another one: the pose model follows one person, and when it loses the
    runner it may pick up a bystander. A jump after which the body comes back
    within :data:`EXCURSION_S` is a glitch, and so is a stretch that short at
    either end of the clip: those frames are dropped and the stretch goes on.

    Parameters
    ----------
    ds : xarray.Dataset
        Raw pose dataset.
    max_gap_s : float
        Longest tolerated detection gap, in seconds.

    Returns
    -------
    BodySpan
        The stretch, the glitch frames inside it and the number of jumps.
    """
    seen = np.flatnonzero(_detected(ds))
    if seen.size == 0:
        return BodySpan(0, 0, np.array([], dtype=int), 0)
    t = np.asarray(ds["time"].values, dtype=float)[seen]
    hip, torso, leg = _body_signature(ds, seen)

    # Stretches as (first row, stop row, dropped rows, started by a jump), rows into ``seen``.
    stretches: list[tuple[int, int, list[int], bool]] = []
    first, by_jump = 0, False
    dropped: list[int] = []
    recent: deque[int] = deque([0], maxlen=RECENT_ROWS)  # the followed body's latest rows
    i = 1
    while i < t.size:
        last = recent[-1]
        near = t[i] - t[last] <= max_gap_s
        back = i if near and _same_body(hip, torso, t, recent, i, leg) else None
        if back is None and near:  # look for the body coming back soon after a jump
            ahead = range(i + 1, int(np.searchsorted(t, t[i] + EXCURSION_S)))
            back = next((j for j in ahead if _same_body(hip, torso, t, recent, j, leg)), None)
        if back is not None:
            dropped.extend(range(i, back))  # empty unless away and back: a glitch
            recent.append(back)
            i = back + 1
            continue
        stretches.append((first, last + 1, dropped, by_jump))
        first, by_jump, dropped = i, near, []
        recent = deque([i], maxlen=RECENT_ROWS)
        i += 1
    stretches.append((first, recent[-1] + 1, dropped, by_jump))
    # A short stretch at either end, next to a jump, is a glitch of its neighbour.
    if len(stretches) > 1 and stretches[1][3] and t[stretches[0][1] - 1] - t[0] < EXCURSION_S:
        (s0, e0, d0, _), (_, e1, d1, _) = stretches[0], stretches[1]
        stretches[:2] = [(s0, e1, [*range(s0, e0), *d1], False)]
    if len(stretches) > 1 and stretches[-1][3] and t[-1] - t[stretches[-1][0]] < EXCURSION_S:
        (s0, _, d0, j0), (s1, e1, _, _) = stretches[-2], stretches[-1]
        stretches[-2:] = [(s0, e1, [*d0, *range(s1, e1)], j0)]
    spans = [t[stop - 1] - t[start] for start, stop, _, _ in stretches]
    start, stop, rows, _ = stretches[int(np.argmax(spans))]
    return BodySpan(
        int(seen[start]),
        int(seen[stop - 1]) + 1,
        seen[np.asarray(rows, dtype=int)],
        sum(jumped for *_, jumped in stretches),
    )


def runner_span(ds: xr.Dataset, max_gap_s: float = MAX_GAP_S) -> tuple[int, int]:
    """The longest stretch of frames in which the runner is seen.

    Gaps in detection up to ``max_gap_s`` long do not break a stretch; a jump
    of the tracked body to someone else does (see :func:`body_span`).

    Parameters
    ----------
    ds : xarray.Dataset
        Raw pose dataset.
    max_gap_s : float
        Longest tolerated gap, in seconds.

    Returns
    -------
    tuple of int
        ``(first, stop)`` frame positions (``stop`` exclusive); ``(0, 0)``
        when nobody is seen.
    """
    span = body_span(ds, max_gap_s)
    return span.first, span.stop


def check_runner(ds: xr.Dataset, source: str, span: BodySpan | None = None) -> None:
    """Raise a clear error when the clip shows too little of a runner to measure.

    Parameters
    ----------
    ds : xarray.Dataset
        Raw pose dataset with ``n_frames`` and ``detected_frames`` attributes
        (and optionally ``first_frame_brightness``).
    source : str
        Clip name for the message.
    span : BodySpan, optional
        :func:`body_span` of ``ds`` when the caller has it already.

    Raises
    ------
    NoRunnerError
        If no person, or a person in too few frames, was found.
    ClipTooShortError
        If the clip, or the stretch in which the runner is seen, is shorter
        than two strides (:data:`MIN_DETECTED_SECONDS`).
    """
    from formcheck.dataset import clip_seconds

    n = int(ds.attrs.get("n_frames", ds.sizes["time"]))
    detected = int(ds.attrs.get("detected_frames", 0))
    t = np.asarray(ds["time"].values, dtype=float)
    if n == 0 or detected == 0:
        brightness = float(ds.attrs.get("first_frame_brightness", float("nan")))
        if math.isfinite(brightness) and brightness < DARK_BRIGHTNESS:
            raise NoRunnerError(
                f"no runner found in {source}: the picture is very dark (mean brightness "
                f"{brightness:.0f} of 255). Film in brighter light or turn the exposure up."
            )
        raise NoRunnerError(
            f"no runner found in {source}: no person was detected in any frame. Film the "
            "whole body from the side or behind, in good light."
        )
    clip_s = clip_seconds(t)
    if clip_s < MIN_DETECTED_SECONDS:
        raise ClipTooShortError(
            f"{source} is only {clip_s:.1f} s long, too short for two strides: formcheck "
            f"needs at least {MIN_DETECTED_SECONDS:.0f} s of running (10-30 s is best). "
            "Film a longer clip."
        )
    if detected / n < MIN_DETECTION_RATE:
        raise NoRunnerError(
            f"no runner found in {source}: a person was detected in only {detected} of {n} "
            "frames. Film the whole body, head to feet, for at least 10 seconds."
        )
    span = span or body_span(ds)
    seen_s = clip_seconds(t[span.first : span.stop])
    if seen_s < MIN_DETECTED_SECONDS:
        switched = (
            " (the tracking jumped between bodies: keep bystanders out of the frame)"
            if span.switches
            else ""
        )
        raise ClipTooShortError(
            f"the runner is seen for only {seen_s:.1f} s at a time in {source}, too short "
            f"for two strides (at least {MIN_DETECTED_SECONDS:.0f} s needed){switched}. Film "
            "the whole body without interruption for 10-30 s."
        )


def visible_part(
    ds: xr.Dataset, span: BodySpan | None = None
) -> tuple[xr.Dataset, list[str]]:
    """Keep the longest stretch in which the runner is seen (:func:`body_span`).

    Frames inside it that showed something else for a moment are set missing.

    Parameters
    ----------
    ds : xarray.Dataset
        Raw pose dataset that passed :func:`check_runner`.
    span : BodySpan, optional
        :func:`body_span` of ``ds`` when the caller has it already.

    Returns
    -------
    tuple
        ``(dataset of that stretch, notes for the report)``; the dataset is
        ``ds`` itself when the runner is seen throughout.
    """
    from formcheck.dataset import clip_seconds

    span = span or body_span(ds)
    n = ds.sizes["time"]
    notes: list[str] = []
    if span.dropped.size:
        ds = ds.copy()
        ds["position"] = ds["position"].copy()
        ds["position"][span.dropped] = np.nan
    if span.first == 0 and span.stop == n:
        return ds, notes
    t = np.asarray(ds["time"].values, dtype=float)
    t0 = t[0]
    why = (
        "; the tracking jumped between bodies (someone else is in view), so only the "
        "longest stretch of one body was measured"
        if span.switches
        else ""
    )
    notes.append(
        f"the runner was seen only from {t[span.first] - t0:.1f} s to "
        f"{t[span.stop - 1] - t0:.1f} s of {clip_seconds(t):.1f} s; only that part was "
        f"analysed{why}"
    )
    return ds.isel(time=slice(span.first, span.stop)), notes


def tracking_notes(ds: xr.Dataset) -> list[str]:
    """A warning when someone else is in view (other people counted in sampled frames).

    Jumps of the tracked body to someone else are handled by
    :func:`visible_part`, which keeps one body's stretch and says so.

    Parameters
    ----------
    ds : xarray.Dataset
        Raw (or trimmed) pose dataset.

    Returns
    -------
    list of str
        Empty when nobody else was seen.
    """
    others = int(ds.attrs.get("frames_with_others", 0))
    if not others:
        return []
    sampled = int(ds.attrs.get("people_sampled", 0))
    return [
        f"someone else is in view ({others} of {sampled} sampled frames show "
        f"{int(ds.attrs.get('people_max', 2))} people: a bystander, another runner or a "
        f"mirror image); formcheck followed the person {_where_followed(ds)}, so check that "
        "the flagged frames show the runner, or film so that only the runner is in the frame"
    ]


def _where_followed(ds: xr.Dataset) -> str:
    """Where the followed body is in the picture, in words ("on the left of the picture")."""
    from formcheck.dataset import midpoint_xy

    x = midpoint_xy(ds, "hip")[:, 0]
    width = float(ds.attrs.get("width", 0) or 0)
    if not np.any(np.isfinite(x)) or width <= 0:
        return "it could track"
    share = float(np.nanmedian(x)) / width
    place = "left" if share < 0.4 else "right" if share > 0.6 else "middle"
    return f"{'in the' if place == 'middle' else 'on the'} {place} of the picture"


def input_notes(video: dict[str, Any]) -> list[str]:
    """Notes about the input the report should state (downscaling, slow motion).

    Parameters
    ----------
    video : dict
        Video facts (from :func:`video_summary`).

    Returns
    -------
    list of str
        Plain sentences.
    """
    notes = []
    w, h = video.get("width"), video.get("height")
    aw, ah = video.get("analysed_width"), video.get("analysed_height")
    if aw and ah and w and h and max(aw, ah) < 0.5 * max(w, h):
        # A 1080p clip analysed at 720p (the default) is routine, not worth a note.
        notes.append(f"frames were downscaled from {w}x{h} to {aw}x{ah} for pose estimation")
    if video.get("capture_fps_source") == "metadata":
        notes.append(
            f"the file says it was filmed at {video.get('capture_fps'):.0f} fps (slow motion); "
            "times are in real seconds"
        )
    header, decoded = video.get("header_duration_s"), video.get("duration_s")
    if header and decoded is not None and decoded < TRUNCATED_SHARE * header - 1.0:
        notes.append(
            f"the file ends at {decoded:.1f} s although its header says {header:.1f} s: it "
            "looks cut short (an interrupted copy or upload); only the part that decoded "
            "was analysed"
        )
    tag = video.get("capture_fps_tag")
    if tag and video.get("capture_fps_source") == "option":
        notes.append(
            f"--capture-fps {video.get('capture_fps'):.0f} was used although the file says it "
            f"was filmed at {tag:.0f} fps"
        )
    return notes


def leg_rhythm_spm(ds: xr.Dataset, smooth: int = RHYTHM_MEDIAN) -> tuple[float, float]:
    """Steps per minute from how often the ankles swing past their middle position.

    Each ankle's position relative to the mid-hip, along the axis it moves
    most, is counted each time it passes from well below its middle to well
    above (or back): two passes per stride. Unlike contact detection this
    needs no running-like timing, so it also measures clips that play slower
    than they were filmed. A running median (``smooth`` samples) removes
    short glitches such as leg-label swaps, and hysteresis of a quarter of
    the swing keeps noise from adding passes.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    smooth : int
        Width of the running median, in samples (odd).

    Returns
    -------
    tuple of float
        ``(estimate, upper bound)`` in steps per minute; the bound allows one
        uncounted pass at each end of the clip. NaN when the legs barely move.
    """
    from formcheck.dataset import keypoint_xy, leg_length_px, midpoint_xy

    nan = (float("nan"), float("nan"))
    leg = leg_length_px(ds)
    if not math.isfinite(leg) or leg <= 0:
        return nan
    t = np.asarray(ds["time"].values, dtype=float)
    hip = midpoint_xy(ds, "hip")
    rates, bounds = [], []
    for side in SIDES:
        rel = keypoint_xy(ds, f"{side}_ankle") - hip
        ok = np.isfinite(rel).all(axis=1)
        if ok.sum() < 8:
            continue
        rel, tt = rel[ok], t[ok]
        lo, hi = np.percentile(rel, 10, axis=0), np.percentile(rel, 90, axis=0)
        axis = int(np.argmax(hi - lo))
        swing = float(hi[axis] - lo[axis])
        span = float(tt[-1] - tt[0])
        if swing < 0.2 * leg or span <= 0:
            continue
        mid, band = (hi[axis] + lo[axis]) / 2, swing / 4
        y = _running_median(rel[:, axis], smooth)
        state = np.where(y > mid + band, 1, np.where(y < mid - band, -1, 0))
        state = state[state != 0]
        passes = int(np.sum(state[1:] != state[:-1]))
        rates.append(passes / 2.0 / span * 120.0)
        bounds.append((passes + 2) / 2.0 / span * 120.0)
    if not rates:
        return nan
    return float(np.mean(rates)), float(np.max(bounds))


def check_timing(
    raw: xr.Dataset, tracks: xr.Dataset, metrics: dict[str, Metric], video: dict[str, Any]
) -> dict[str, Metric]:
    """Refuse to measure a clip that plays slower than it was filmed.

    The clip is taken for slow motion when the cadence from the contacts is
    below :data:`SLOW_MOTION_SPM` and the legs do not swing at running pace
    either, or when the cadence is not trustworthy (not status ok) and the
    leg rhythm measured from the tracks alone (:func:`leg_rhythm_spm`, the
    larger upper bound of the raw and the cleaned tracks) is below it.
    Nothing is measured then: every time-based number would be wrong. When
    the contacts come too slowly but the legs swing at running pace, contacts
    were missed (pose trouble with the feet, e.g. from behind): the clip is
    measured and the cadence is marked not trusted instead.

    Parameters
    ----------
    raw : xarray.Dataset
        Raw tracks of the analysed stretch.
    tracks : xarray.Dataset
        Cleaned tracks.
    metrics : dict of str to Metric
        The computed metrics.
    video : dict
        Video facts (from :func:`video_summary`).

    Returns
    -------
    dict of str to Metric
        ``metrics``; when the contacts and the leg rhythm disagree, the
        cadence has no value and says why (``low_confidence``).

    Raises
    ------
    SlowMotionError
        With the capture frame rate to try.
    """
    cadence = metrics.get("cadence_spm")
    value = cadence.value if cadence is not None else None
    if value is not None and value < SLOW_MOTION_SPM:
        swing = max(leg_rhythm_spm(ds)[0] for ds in (raw, tracks))
        if cadence is not None and math.isfinite(swing) and swing >= SLOW_MOTION_SPM:
            why = (
                f"the contacts found come at {value:.0f} steps/min but the legs swing at about "
                f"{swing:.0f}: contacts were missed (the feet were hard to follow), so this "
                "value is not trusted"
            )
            unsure = replace(
                cadence, value=None, uncertainty=None, status="low_confidence", reason=why
            )
            return {**metrics, "cadence_spm": unsure}
        rate = f"about {value:.0f}"  # the contacts themselves come too slowly
    elif cadence is not None and cadence.status == "ok":
        return metrics
    else:
        bound = max(leg_rhythm_spm(ds)[1] for ds in (raw, tracks))
        if not math.isfinite(bound) or bound >= SLOW_MOTION_SPM:
            return metrics
        rate = f"under {bound:.0f}"
    source = str(video.get("file", "the clip"))
    if video.get("capture_fps_source", "file") != "file":
        capture = float(video.get("capture_fps") or float("nan"))
        raise SlowMotionError(
            f"{source}: even at the capture rate of {capture:.0f} fps the runner takes {rate} "
            "steps per minute, far below running (120-230), so nothing was measured. Check "
            "--capture-fps: it is the frame rate the clip was filmed at."
        )
    raise SlowMotionError(
        f"{source} looks like slow motion: the runner takes {rate} steps per minute of "
        "playback, far below running (120-230), so nothing was measured. Run again with "
        "--capture-fps set to the frame rate it was filmed at (slow motion is usually 120 or "
        "240 fps). If the start and end play at normal speed (as phones often save slow "
        "motion), trim the clip to its slow part first."
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
    share_one_malloc_arena()  # before the decode and inference threads start
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
        frames = iter_frames(
            info,
            time_scale=scale,
            max_long_side=options.limits.max_long_side,
            max_duration_s=options.limits.max_duration_s,
        )
        track = track_pose(
            frames, model, settings=options.pose, expected_frames=info.n_frames, on_frame=tick
        )
    release_free_memory()  # the tracking landmarkers' and decoders' pages, before the next model
    attrs = {
        "rotation": info.rotation,
        "time_scale": scale,
        "playback_fps": info.fps,
        "model": model.name,
        "model_sha256": model.sha256,
        "pose_workers": workers,
        "first_frame_brightness": info.first_frame_brightness,
        **people_check(info, model, options.pose),
    }
    ds = pose_dataset(track, source=Path(info.path).name, attrs=attrs)
    del track
    release_free_memory()  # the landmarkers' and decoders' freed pages, before the analysis
    return info, ds, scale


def people_check(info: VideoInfo, model: PoseModel, settings: PoseSettings) -> dict[str, int]:
    """Count the people in a few keyframes (:func:`formcheck.pose.count_people`).

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    model : PoseModel
        The pose model.
    settings : PoseSettings
        Detection thresholds.

    Returns
    -------
    dict
        ``people_sampled`` (pictures looked at; 0 when the clip could not be
        sampled), ``people_max`` and ``frames_with_others`` (pictures with two
        or more people), for the dataset's attributes.
    """
    try:
        counts = count_people(sample_keyframes(info, PEOPLE_SAMPLES), model, settings)
    except FormcheckError:  # an auxiliary check: the analysis goes on without it
        counts = []
    return {
        "people_sampled": len(counts),
        "people_max": max(counts, default=0),
        "frames_with_others": sum(c >= 2 for c in counts),
    }


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
    from formcheck.cleaning import clean_tracks
    from formcheck.events import detect_events
    from formcheck.metrics import compute_metrics, doubt_view
    from formcheck.view import detect_view, front_rear_doubt, override_note, resolve_view

    options = options or AnalysisOptions()
    source = str(raw.attrs.get("source", "the clip"))
    upright, pose_notes = drop_inverted_poses(raw, source)
    span = body_span(upright)  # once: the check and the trim use the same stretch
    check_runner(upright, source, span)
    visible, notes = visible_part(upright, span)
    notes = [*pose_notes, *notes]
    tracks = clean_tracks(visible, options.cleaning)
    # Each stage's whole-clip temporaries are freed when it returns, but glibc
    # keeps the freed heap pages; the next stage would sit on top of them.
    release_free_memory()
    detected = detect_view(tracks)
    doubt = override_note(detected, options.view)
    if doubt and options.view_hint:  # a name's guess against what the clip shows
        notes.append(
            f"the clip's name suggests a {options.view} view, but it looks like a "
            f"{detected.view} view (confidence {detected.confidence:.2f}), so it was analysed "
            f"as {detected.view}; rename the clip if that is wrong"
        )
        view, doubt = detected, None
    else:
        view = resolve_view(detected, options.view)
    events = detect_events(tracks, view)
    release_free_memory()
    metrics = compute_metrics(
        tracks,
        view,
        events,
        height_m=options.height_m,
        treadmill_speed_kmh=options.treadmill_speed_kmh,
    )
    release_free_memory()
    metrics = check_timing(visible, tracks, metrics, video)
    if doubt:
        metrics = doubt_view(metrics, doubt)
    if unsure := front_rear_doubt(view):
        metrics = doubt_view(metrics, unsure)
    notes = [*input_notes(video), *notes, *tracking_notes(visible), *([doubt] if doubt else [])]
    video = {**video, "warnings": notes}
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
