"""Pose stage: MediaPipe PoseLandmarker (Tasks API, VIDEO mode) over a frame stream.

One landmarker is made per clip, because VIDEO mode keeps tracking state
between frames. Frames with no person become NaN rows and are counted.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from formcheck.io.model import PoseModel
from formcheck.io.video import Frame
from formcheck.landmarks import KEYPOINT_NAMES

if TYPE_CHECKING:
    import xarray as xr

N_KEYPOINTS = len(KEYPOINT_NAMES)
LANDMARK_DTYPE = np.float32
"""How the buffer stores landmarks: the precision MediaPipe computes them in."""
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


_NATIVE_STDERR_LOCK = threading.Lock()
"""File descriptor 2 is one per process: landmarkers in several threads take turns muting it."""


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence C++ logging (XNNPACK, feedback manager) written to fd 2."""
    with _NATIVE_STDERR_LOCK:
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


@contextmanager
def open_landmarker(
    model: PoseModel, settings: PoseSettings, num_poses: int = 1
) -> Iterator[Any]:
    """A landmarker for the block: VIDEO mode (tracking) for one pose, IMAGE mode for several.

    MediaPipe's native code logs to file descriptor 2 when a landmarker is
    created and when it is closed (mediapipe 1.2.3 reports every
    accelerator it destroys); both happen with that output muted, so users
    see only formcheck's own messages.

    Parameters
    ----------
    model : PoseModel
        A verified ``.task`` model.
    settings : PoseSettings
        Detection and tracking thresholds.
    num_poses : int
        Poses to look for; more than one selects IMAGE mode.

    Yields
    ------
    mediapipe.tasks.python.vision.PoseLandmarker
        The landmarker, closed when the block ends.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import (
        PoseLandmarker,
        PoseLandmarkerOptions,
        RunningMode,
    )

    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model.path)),
        running_mode=RunningMode.VIDEO if num_poses == 1 else RunningMode.IMAGE,
        num_poses=num_poses,
        min_pose_detection_confidence=settings.min_detection_confidence,
        min_pose_presence_confidence=settings.min_presence_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
        output_segmentation_masks=False,
    )
    with _quiet_native_stderr():
        landmarker = PoseLandmarker.create_from_options(options)
    try:
        yield landmarker
    finally:
        with _quiet_native_stderr():
            landmarker.close()


def count_people(
    images: Sequence[np.ndarray],
    model: PoseModel,
    settings: PoseSettings | None = None,
    most: int = 4,
) -> list[int]:
    """How many people the pose model finds in each of a few still pictures.

    Tracking follows one body (``num_poses=1`` keeps it fast); this check
    runs the detector on a handful of whole frames (:func:`formcheck.io.video.
    sample_keyframes`) to tell whether someone else is in view: a bystander,
    a second runner or a mirror image.

    Parameters
    ----------
    images : sequence of numpy.ndarray
        Upright RGB images.
    model : PoseModel
        A verified ``.task`` model.
    settings : PoseSettings, optional
        Detection thresholds.
    most : int
        Largest count looked for.

    Returns
    -------
    list of int
        People found per image.
    """
    import mediapipe as mp

    if not images:
        return []
    settings = settings or PoseSettings()
    counts = []
    with open_landmarker(model, settings, num_poses=most) as landmarker:
        for img in images:
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(img))
            with _quiet_native_stderr():
                counts.append(len(landmarker.detect(image).pose_landmarks))
    return counts


@dataclass(frozen=True, eq=False)
class PoseTrack:
    """Raw pose results of a run of frames, as plain arrays (cheap to pickle).

    Attributes
    ----------
    position : numpy.ndarray
        ``(n, 33, 2)`` pixel coordinates of the upright frame; NaN where no
        person was found.
    confidence : numpy.ndarray
        ``(n, 33)`` visibility.
    world_position : numpy.ndarray
        ``(n, 33, 3)`` world landmarks in metres.
    time_s : numpy.ndarray
        ``(n,)`` frame times in capture seconds.
    frame : numpy.ndarray
        ``(n,)`` decode indices in the whole clip.
    width, height : int
        Size of the frames the pixels refer to.
    """

    position: np.ndarray
    confidence: np.ndarray
    world_position: np.ndarray
    time_s: np.ndarray
    frame: np.ndarray
    width: int
    height: int

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.time_s.shape[0])

    @property
    def detected_frames(self) -> int:
        """Frames in which a person was found."""
        return int(np.count_nonzero(~np.isnan(self.confidence[:, 0])))


class TrackBuffer:
    """Preallocated per-frame landmark arrays (no per-frame Python objects).

    A buffer made with a capacity grows geometrically if more frames come; a
    buffer made by :meth:`rows` is a fixed window onto another buffer's
    arrays, so segments tracked in parallel threads fill one clip-sized set
    of arrays and nothing is copied to merge them.

    Parameters
    ----------
    capacity : int
        Frames to allocate for (0 when unknown).
    """

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.fixed = False
        self.norm, self.vis, self.world, self.time, self.index = self._empty(max(16, capacity))

    @staticmethod
    def _empty(capacity: int) -> tuple[np.ndarray, ...]:
        # MediaPipe's landmarks are float32: storing them as such loses nothing
        # and halves what a long clip's buffer holds while the landmarkers run.
        return (
            np.full((capacity, N_KEYPOINTS, 2), np.nan, dtype=LANDMARK_DTYPE),
            np.full((capacity, N_KEYPOINTS), np.nan, dtype=LANDMARK_DTYPE),
            np.full((capacity, N_KEYPOINTS, 3), np.nan, dtype=LANDMARK_DTYPE),
            np.zeros(capacity),
            np.zeros(capacity, dtype=np.int64),
        )

    @property
    def capacity(self) -> int:
        """Rows available."""
        return int(self.time.shape[0])

    def rows(self, start: int, stop: int) -> TrackBuffer:
        """A fixed-size buffer writing into rows ``start .. stop - 1`` of this one."""
        view = TrackBuffer.__new__(TrackBuffer)
        view.n = 0
        view.fixed = True
        view.norm, view.vis, view.world, view.time, view.index = (
            a[start:stop] for a in (self.norm, self.vis, self.world, self.time, self.index)
        )
        return view

    def _grow(self) -> None:
        if self.fixed:
            raise ValueError(f"more than the {self.capacity} frames this buffer holds")
        new = self._empty(self.n + self.n // 2 + 16)
        old = (self.norm, self.vis, self.world, self.time, self.index)
        for dst, src in zip(new, old, strict=True):
            dst[: self.n] = src[: self.n]
        self.norm, self.vis, self.world, self.time, self.index = new

    def add(self, index: int, time_s: float, result: Any) -> None:
        """Store one frame's result (NaN landmarks when no person was found)."""
        if self.n == self.capacity:
            self._grow()
        i = self.n
        self.time[i] = time_s
        self.index[i] = index
        if result.pose_landmarks:
            lms = result.pose_landmarks[0]
            self.norm[i] = [(lm.x, lm.y) for lm in lms]
            self.vis[i] = [1.0 if lm.visibility is None else lm.visibility for lm in lms]
            if result.pose_world_landmarks:
                self.world[i] = [(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]]
        self.n += 1

    def track(self, width: int, height: int) -> PoseTrack:
        """The filled rows as a PoseTrack, in pixels.

        The buffer is consumed: its normalised coordinates are scaled to
        pixels in place, and full arrays (float32, as MediaPipe gives them)
        are returned without a copy.
        """
        n = self.n

        def rows(arr: np.ndarray) -> np.ndarray:
            return arr if arr.shape[0] == n else arr[:n].copy()

        position = rows(self.norm)
        # In place and in float32: the rounding (1e-4 px at 2000 px) is far below
        # the model's own pixel noise.
        position *= np.array([width, height], dtype=LANDMARK_DTYPE)
        return PoseTrack(
            position=position,
            confidence=rows(self.vis),
            world_position=rows(self.world),
            time_s=rows(self.time),
            frame=rows(self.index),
            width=width,
            height=height,
        )


def track_pose(
    frames: Iterable[Frame],
    model: PoseModel,
    *,
    settings: PoseSettings | None = None,
    keep_from: int = 0,
    expected_frames: int = 0,
    on_frame: ProgressCallback | None = None,
    into: TrackBuffer | None = None,
) -> PoseTrack:
    """Run one MediaPipe landmarker (VIDEO mode, tracking) over a frame stream.

    Parameters
    ----------
    frames : iterable of Frame
        Upright RGB frames with strictly increasing times.
    model : PoseModel
        A verified ``.task`` model.
    settings : PoseSettings, optional
        Landmarker thresholds.
    keep_from : int
        Frames with a smaller index are tracked (so the tracker settles) but
        not kept: the warm-up of a segment analysed on its own.
    expected_frames : int
        Frames expected (sizes the arrays once; 0 when unknown).
    on_frame : callable, optional
        Called with the number of frames kept so far, after each kept frame.
    into : TrackBuffer, optional
        Where to store the kept frames (a window of a larger buffer); a new
        buffer of ``expected_frames`` rows when None.

    Returns
    -------
    PoseTrack
        The kept frames' landmarks, times and indices.
    """
    import mediapipe as mp

    settings = settings or PoseSettings()
    buf = into if into is not None else TrackBuffer(expected_frames)
    width = height = 0
    last_ms = -1
    quiet = True
    srgb = mp.ImageFormat.SRGB
    with open_landmarker(model, settings) as landmarker:
        for frame in frames:
            height, width = frame.image.shape[:2]
            ts_ms = max(int(round(frame.time_s * 1000.0)), last_ms + 1)
            image = mp.Image(image_format=srgb, data=frame.image)
            if quiet:
                # The first call, and the first that finds a person, log native
                # warnings (tensor alignment, ROI projection); keep them from users.
                with _quiet_native_stderr():
                    result = landmarker.detect_for_video(image, ts_ms)
                quiet = not result.pose_landmarks
            else:
                result = landmarker.detect_for_video(image, ts_ms)
            last_ms = ts_ms
            if frame.index < keep_from:
                continue
            buf.add(frame.index, frame.time_s, result)
            if on_frame is not None:
                on_frame(buf.n)
    return buf.track(width, height)


@functools.cache
def _libc() -> Any | None:
    """The C library, looked up once (``find_library`` runs ``ldconfig``); None if absent."""
    import ctypes
    import ctypes.util

    lib = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(lib) if lib else None
    except OSError:
        return None


def _glibc_function(name: str) -> Any | None:
    """A function of the C library when it is glibc's (None elsewhere)."""
    return getattr(_libc(), name, None)


M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter for the number of malloc arenas."""


def share_one_malloc_arena() -> None:
    """Serve every thread's small allocations from one glibc malloc arena.

    glibc gives each new thread its own arena (up to eight per core), and
    every arena keeps the fragments of what its thread freed. Pose runs
    MediaPipe's threads and the decode threads, so after a long clip the
    analysis sat on top of many such remnants: with two segments, a 5-minute
    1080p clip peaked at 407 MB, and at 369 MB with one arena. One worker or
    two tracked at the same speed either way here (their allocations are few
    and large). Process-wide; it only takes effect before a second thread
    first allocates (the CLI and the batch workers call pose first), and a
    ``MALLOC_ARENA_MAX`` set in the environment wins. Elsewhere than glibc
    this does nothing.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    mallopt = _glibc_function("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def release_free_memory() -> None:
    """Hand memory freed by a closed landmarker back to the operating system.

    MediaPipe frees its tensor arenas when a landmarker closes, but glibc
    keeps freed heap pages mapped, so the analysis after pose would sit on
    top of them. ``malloc_trim(0)`` returns them (about 85 MB after a 1080p
    clip here). Elsewhere than glibc this does nothing.
    """
    trim = _glibc_function("malloc_trim")
    if trim is not None:
        trim(0)


def pose_dataset(
    track: PoseTrack, *, source: str, attrs: dict[str, Any] | None = None
) -> xr.Dataset:
    """Turn a :class:`PoseTrack` into the pose dataset.

    Parameters
    ----------
    track : PoseTrack
        Raw landmarks of a clip.
    source : str
        Name stored in the dataset's ``source`` attribute.
    attrs : dict, optional
        Extra dataset attributes (video info).

    Returns
    -------
    xarray.Dataset
        The pose dataset (see :mod:`formcheck.dataset`), with attributes
        ``n_frames`` and ``detected_frames``.
    """
    from formcheck.dataset import from_arrays  # xarray: not needed in pose worker processes

    all_attrs = {
        **(attrs or {}),
        "n_frames": track.n_frames,
        "detected_frames": track.detected_frames,
    }
    return from_arrays(
        position=track.position,
        confidence=track.confidence,
        world_position=track.world_position,
        time_s=track.time_s,
        frame=track.frame,
        source=source,
        width=track.width,
        height=track.height,
        attrs=all_attrs,
    )


def estimate_pose(
    frames: Iterable[Frame],
    model: PoseModel,
    *,
    source: str,
    settings: PoseSettings | None = None,
    attrs: dict[str, Any] | None = None,
    on_frame: ProgressCallback | None = None,
    expected_frames: int = 0,
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
    expected_frames : int
        Frames expected, to size the arrays once (0 when unknown).

    Returns
    -------
    xarray.Dataset
        The pose dataset (see :mod:`formcheck.dataset`), with attributes
        ``n_frames`` and ``detected_frames``.
    """
    track = track_pose(
        frames, model, settings=settings, expected_frames=expected_frames, on_frame=on_frame
    )
    return pose_dataset(track, source=source, attrs=attrs)
