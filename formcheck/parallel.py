"""Segment-parallel pose: one clip on several cores.

MediaPipe's landmarker keeps tracking state from frame to frame and uses
about one core, so a long clip is cut into time segments that are tracked at
the same time, each by its own landmarker:

1. the container's packet list gives every frame's timestamp without
   decoding (:func:`formcheck.io.video.frame_timeline`), so each segment's
   frames keep the clip's own indices and times;
2. every segment but the first starts ``WARMUP_S`` early: those frames are
   tracked so the landmarker settles, then dropped at the join;
3. each segment's decoder seeks to the keyframe before its start and
   decodes only its stretch; the calling thread tracks the first segment,
   the others run in threads of the same process (default: MediaPipe's C
   calls release the GIL, and one interpreter holds the libraries once) or
   in worker processes (``python -m formcheck.parallel``: a fresh
   interpreter that loads the model from its path and never re-imports the
   caller's script; jobs and results cross the pipe as JSON and raw array bytes);
4. the raw tracks are concatenated; cleaning, events and metrics then run
   once on the merged tracks, exactly as for a single-process run.

The first segment is tracked exactly as in a single pass. Later segments
start from a fresh tracker, so their landmarks differ from a single pass by
the model's frame-to-frame noise (about a pixel), not by a shift.

Whenever the clip cannot be split safely (no per-packet timestamps, a
decoded frame that differs from the timeline, a worker that fails), the
caller gets None and runs the ordinary single-pass path instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from formcheck.errors import FormcheckError
from formcheck.io.model import PoseModel, load_model
from formcheck.io.video import (
    FrameSpan,
    FrameTimeline,
    TimelineMismatchError,
    VideoInfo,
    VideoLimits,
    frame_timeline,
    iter_frames,
    opencv_threads,
)
from formcheck.pose import (
    PoseSettings,
    PoseTrack,
    TrackBuffer,
    share_one_malloc_arena,
    track_pose,
)

AUTO_MIN_DURATION_S = 20.0
"""Clips shorter than this use one process unless more are asked for."""
MAX_AUTO_WORKERS = 2
"""Processes used for a long clip when the count is automatic."""
MIN_SEGMENT_S = 5.0
"""Shortest segment a worker gets; more workers than this allows are not used."""
WARMUP_S = 1.0
"""Frames tracked before a segment's start so the landmarker settles, then dropped."""
MIN_WARMUP_FRAMES = 15
PROGRESS_EVERY = 15
"""A worker reports its progress every this many frames."""

ProgressCallback = Callable[[int], None]
ParallelMode = Literal["threads", "processes"]


@dataclass(frozen=True)
class Segment:
    """One worker's share of a clip, as frame indices.

    Attributes
    ----------
    warmup : int
        First frame decoded and tracked.
    first : int
        First frame kept (``warmup`` for the first segment).
    stop : int
        One past the last frame kept.
    """

    warmup: int
    first: int
    stop: int


@dataclass(frozen=True, eq=False)
class SegmentJob:
    """Everything a worker process needs for its segment (small and picklable).

    Attributes
    ----------
    info : VideoInfo
        The probed clip.
    timeline : FrameTimeline
        Timestamps of all its frames.
    segment : Segment
        The frames to analyse.
    model_path : str
        The model file; the worker loads it itself.
    model_sha256 : str
        Checksum the worker's copy must have.
    settings : PoseSettings
        Landmarker thresholds.
    time_scale : float
        Playback-to-capture time factor.
    max_long_side : int
        Downscale limit for frames.
    """

    info: VideoInfo
    timeline: FrameTimeline
    segment: Segment
    model_path: str
    model_sha256: str
    settings: PoseSettings
    time_scale: float
    max_long_side: int


def available_cores() -> int:
    """CPU cores this process may run on.

    Returns
    -------
    int
        At least 1.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def choose_workers(duration_s: float, requested: int | None = None) -> int:
    """How many processes to run pose with for one clip.

    Parameters
    ----------
    duration_s : float
        Clip length in seconds (NaN when unknown).
    requested : int or None
        Asked-for count; None for automatic: 1 for a clip under
        ``AUTO_MIN_DURATION_S``, else ``min(MAX_AUTO_WORKERS, cores)``.

    Returns
    -------
    int
        The count, at least 1, never more than segments of ``MIN_SEGMENT_S``
        fit in the clip.
    """
    if not math.isfinite(duration_s) or duration_s <= 0:
        return 1
    if requested is None:
        if duration_s < AUTO_MIN_DURATION_S:
            return 1
        requested = min(MAX_AUTO_WORKERS, available_cores())
    return max(1, min(int(requested), int(duration_s // MIN_SEGMENT_S)))


def plan_segments(n_frames: int, fps: float, workers: int) -> list[Segment]:
    """Split ``n_frames`` frames into contiguous segments with warm-up frames.

    Parameters
    ----------
    n_frames : int
        Frames in the clip.
    fps : float
        Frame rate of the file (frames per playback second).
    workers : int
        Number of segments wanted.

    Returns
    -------
    list of Segment
        Kept ranges cover ``0 .. n_frames - 1`` once, in order; each segment
        after the first starts its warm-up ``WARMUP_S`` (at least
        ``MIN_WARMUP_FRAMES`` frames) before its first kept frame. Every
        segment tracks the same number of frames, warm-up included, so the
        first (which needs none) keeps that many more.
    """
    workers = max(1, min(int(workers), n_frames))
    rate = fps if math.isfinite(fps) and fps > 0 else 30.0
    warm = max(MIN_WARMUP_FRAMES, math.ceil(WARMUP_S * rate))
    tracked = (n_frames + (workers - 1) * warm) / workers
    if tracked - warm >= warm:
        inner = tracked + (tracked - warm) * np.arange(workers - 1)
        bounds = np.concatenate([[0], inner.round(), [n_frames]]).astype(int)
    else:  # too short to balance: equal shares
        bounds = np.linspace(0, n_frames, workers + 1).round().astype(int)
    return [
        Segment(warmup=max(0, int(a) - warm) if a else 0, first=int(a), stop=int(b))
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        if b > a
    ]


def pose_segment(
    job: SegmentJob,
    model: PoseModel | None = None,
    on_frame: ProgressCallback | None = None,
    into: TrackBuffer | None = None,
) -> PoseTrack:
    """Decode and track one segment; keep only its own frames.

    Parameters
    ----------
    job : SegmentJob
        The segment and how to analyse it.
    model : PoseModel, optional
        A loaded model; loaded from ``job.model_path`` (and its checksum
        compared) when None.
    on_frame : callable, optional
        Called with the number of kept frames done.
    into : TrackBuffer, optional
        Rows of a clip-sized buffer to fill (threads share one); a buffer of
        its own when None.

    Returns
    -------
    PoseTrack
        Landmarks of frames ``segment.first .. segment.stop - 1``.

    Raises
    ------
    TimelineMismatchError
        If the decoded frames differ from the timeline.
    ModelError
        If the worker's model file differs from the caller's.
    """
    if model is None:
        model = load_model(job.model_path)
        if model.sha256 != job.model_sha256:
            raise FormcheckError(f"the model file {job.model_path} changed during the analysis")
    seg = job.segment
    frames = iter_frames(
        job.info,
        time_scale=job.time_scale,
        max_long_side=job.max_long_side,
        span=FrameSpan(job.timeline, seg.warmup, seg.stop),
    )
    track = track_pose(
        frames,
        model,
        settings=job.settings,
        keep_from=seg.first,
        expected_frames=seg.stop - seg.first,
        on_frame=on_frame,
        into=into,
    )
    if track.n_frames != seg.stop - seg.first:
        raise TimelineMismatchError(
            f"segment {seg.first}..{seg.stop} gave {track.n_frames} frames"
        )
    return track


_TRACK_ARRAYS = ("position", "confidence", "world_position", "time_s", "frame")


def encode_job(job: SegmentJob) -> bytes:
    """A SegmentJob as JSON (plain data only: nothing executable crosses the pipe)."""
    tl = job.timeline
    doc = {
        "info": dataclasses.asdict(job.info),
        "pts": [int(p) for p in tl.pts],
        "time_base": [tl.time_base.numerator, tl.time_base.denominator],
        "segment": dataclasses.asdict(job.segment),
        "model_path": job.model_path,
        "model_sha256": job.model_sha256,
        "settings": dataclasses.asdict(job.settings),
        "time_scale": job.time_scale,
        "max_long_side": job.max_long_side,
    }
    return json.dumps(doc).encode("utf-8")


def decode_job(data: bytes) -> SegmentJob:
    """Inverse of :func:`encode_job`."""
    doc = json.loads(data.decode("utf-8"))
    return SegmentJob(
        info=VideoInfo(**doc["info"]),
        timeline=FrameTimeline(
            pts=np.asarray(doc["pts"], dtype=np.int64), time_base=Fraction(*doc["time_base"])
        ),
        segment=Segment(**doc["segment"]),
        model_path=str(doc["model_path"]),
        model_sha256=str(doc["model_sha256"]),
        settings=PoseSettings(**doc["settings"]),
        time_scale=float(doc["time_scale"]),
        max_long_side=int(doc["max_long_side"]),
    )


def send_message(
    stream: IO[bytes], kind: str, value: Any = None, track: PoseTrack | None = None
) -> None:
    """Write one message: a JSON line, then the track's arrays as raw bytes.

    The JSON line gives each array's dtype and shape; nothing is pickled.
    """
    head: dict[str, Any] = {"kind": kind, "value": value}
    arrays: list[np.ndarray] = []
    if track is not None:
        arrays = [np.ascontiguousarray(getattr(track, name)) for name in _TRACK_ARRAYS]
        head["size"] = [track.width, track.height]
        head["arrays"] = [[a.dtype.str, list(a.shape)] for a in arrays]
    stream.write(json.dumps(head).encode("utf-8") + b"\n")
    for arr in arrays:
        stream.write(arr.tobytes())
    stream.flush()


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    parts = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("the stream ended inside a message")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def read_message(stream: IO[bytes]) -> tuple[str, Any]:
    """Read one message written by :func:`send_message`.

    Returns
    -------
    tuple
        ``(kind, value)``, where a ``"done"`` message's value is the PoseTrack.

    Raises
    ------
    EOFError
        At the end of the stream.
    """
    line = stream.readline()
    if not line:
        raise EOFError
    head = json.loads(line.decode("utf-8"))
    if "arrays" not in head:
        return str(head["kind"]), head["value"]
    arrays = {}
    for name, (dtype, shape) in zip(_TRACK_ARRAYS, head["arrays"], strict=True):
        dt = np.dtype(dtype)
        if dt.hasobject:
            raise ValueError("object arrays are not accepted")
        size = dt.itemsize * math.prod(int(d) for d in shape)
        arrays[name] = np.frombuffer(_read_exactly(stream, size), dtype=dt).reshape(shape).copy()
    width, height = head["size"]
    return str(head["kind"]), PoseTrack(**arrays, width=int(width), height=int(height))


def worker_main() -> None:
    """Entry of a worker process: read a SegmentJob (JSON) on stdin, answer on stdout.

    Messages (:func:`send_message`): ``progress`` now and then, then ``done``
    with the track or ``failed`` with the reason. Anything else printed to
    file descriptor 1 (native libraries) is sent to /dev/null so it cannot
    corrupt the messages.
    """
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)

    def report(done: int) -> None:
        if done % PROGRESS_EVERY == 0:
            send_message(out, "progress", done)

    share_one_malloc_arena()
    import cv2

    cv2.setNumThreads(1)  # one of several processes tracking at once (see parallel_pose)
    try:
        job = decode_job(sys.stdin.buffer.read())
        send_message(out, "done", track=pose_segment(job, on_frame=report))
    except Exception as exc:  # reported to the parent, which falls back to one pass
        send_message(out, "failed", f"{type(exc).__name__}: {exc}")
    out.close()


def merge_check(tracks: Sequence[PoseTrack]) -> None:
    """Check that segment tracks join into one run of frames.

    Parameters
    ----------
    tracks : sequence of PoseTrack
        Segment results in clip order.

    Raises
    ------
    TimelineMismatchError
        If the segments do not join into one contiguous run of frames with
        strictly increasing times, or differ in frame size.
    """
    if not tracks:
        raise TimelineMismatchError("no segments to merge")
    frame = np.concatenate([t.frame for t in tracks])
    time_s = np.concatenate([t.time_s for t in tracks])
    sizes = {(t.width, t.height) for t in tracks}
    if (
        len(sizes) != 1
        or not np.array_equal(frame, np.arange(frame[0], frame[0] + frame.size))
        or np.any(np.diff(time_s) <= 0)
    ):
        raise TimelineMismatchError("the segments do not join into one run of frames")


def merge_tracks(tracks: Sequence[PoseTrack]) -> PoseTrack:
    """Concatenate segment tracks into the clip's track.

    Parameters
    ----------
    tracks : sequence of PoseTrack
        Segment results in clip order.

    Returns
    -------
    PoseTrack
        One track with contiguous frame indices.

    Raises
    ------
    TimelineMismatchError
        See :func:`merge_check`.
    """
    merge_check(tracks)
    return PoseTrack(
        position=np.concatenate([t.position for t in tracks]),
        confidence=np.concatenate([t.confidence for t in tracks]),
        world_position=np.concatenate([t.world_position for t in tracks]),
        time_s=np.concatenate([t.time_s for t in tracks]),
        frame=np.concatenate([t.frame for t in tracks]),
        width=tracks[0].width,
        height=tracks[0].height,
    )


def _whole(clip: TrackBuffer, n: int, width: int, height: int) -> PoseTrack:
    """The first ``n`` rows of the clip buffer the segments filled (and scaled to pixels)."""
    return PoseTrack(
        position=clip.norm[:n],
        confidence=clip.vis[:n],
        world_position=clip.world[:n],
        time_s=clip.time[:n],
        frame=clip.index[:n],
        width=width,
        height=height,
    )


class _Cancelled(Exception):
    """Raised inside a worker thread to stop it early."""


class _ThreadWorkers:
    """Segments tracked by threads of this process, one landmarker each.

    MediaPipe's C calls run without the GIL, so landmarkers in separate
    threads use separate cores while sharing one interpreter, one copy of
    the libraries and the model bytes: less memory and no start-up cost.
    """

    def __init__(
        self,
        jobs: Sequence[tuple[int, SegmentJob]],
        model: PoseModel,
        buffers: dict[int, TrackBuffer],
    ) -> None:
        self.progress = {key: 0 for key, _ in jobs}
        self.done: dict[int, PoseTrack] = {}
        self.failed = False
        self._finished: queue.Queue[tuple[int, PoseTrack | None]] = queue.Queue()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(key, job, model, buffers[key]),
                name=f"formcheck-pose-{key}",
                daemon=True,
            )
            for key, job in jobs
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, key: int, job: SegmentJob, model: PoseModel, into: TrackBuffer) -> None:
        def count(done: int) -> None:
            self.progress[key] = done
            if self._stop.is_set():
                raise _Cancelled

        try:
            track = pose_segment(job, model=model, on_frame=count, into=into)
            self._finished.put((key, track))
        except Exception:  # noqa: BLE001 - any failure: the caller falls back to one pass
            self._finished.put((key, None))

    def _handle(self, key: int, track: PoseTrack | None) -> None:
        if track is None:
            self.failed = True
        else:
            self.done[key] = track

    def poll(self) -> None:
        """Take in every finished segment, without blocking."""
        while True:
            try:
                self._handle(*self._finished.get_nowait())
            except queue.Empty:
                return

    def wait(self, on_progress: Callable[[], None]) -> bool:
        """Wait for every thread; False as soon as one fails."""
        while len(self.done) < len(self._threads) and not self.failed:
            with contextlib.suppress(queue.Empty):
                self._handle(*self._finished.get(timeout=0.25))
            on_progress()
        return not self.failed

    def close(self) -> None:
        """Stop the threads still running and wait for them."""
        self._stop.set()
        for thread in self._threads:
            thread.join()


class _Workers:
    """The worker processes of one clip and the messages they send back."""

    def __init__(self, jobs: Sequence[tuple[int, SegmentJob]]) -> None:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        env.setdefault("GLOG_minloglevel", "2")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.messages: queue.Queue[tuple[int, str, Any]] = queue.Queue()
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.done: dict[int, PoseTrack] = {}
        self.progress = {key: 0 for key, _ in jobs}
        self.failed = False
        self._readers: list[threading.Thread] = []
        for key, job in jobs:
            proc = subprocess.Popen(
                [sys.executable, "-m", "formcheck.parallel"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            self.procs[key] = proc
            reader = threading.Thread(
                target=self._talk, args=(key, proc, job), name=f"formcheck-pose-{key}", daemon=True
            )
            reader.start()
            self._readers.append(reader)

    def _talk(self, key: int, proc: subprocess.Popen[bytes], job: SegmentJob) -> None:
        """Send one worker its job, then forward its messages to the queue; end with "eof"."""
        if proc.stdin is None or proc.stdout is None:
            self.messages.put((key, "eof", None))
            return
        try:
            with proc.stdin:
                proc.stdin.write(encode_job(job))
            while True:
                kind, payload = read_message(proc.stdout)
                self.messages.put((key, kind, payload))
        except (EOFError, OSError, ValueError, KeyError, TypeError):
            pass
        self.messages.put((key, "eof", None))

    def _handle(self, key: int, kind: str, payload: Any) -> None:
        if kind == "progress":
            self.progress[key] = int(payload)
        elif kind == "done" and isinstance(payload, PoseTrack):
            self.done[key] = payload
            self.progress[key] = payload.n_frames
        elif kind != "eof" or key not in self.done:
            self.failed = True

    def poll(self) -> None:
        """Take in every message waiting, without blocking."""
        while True:
            try:
                self._handle(*self.messages.get_nowait())
            except queue.Empty:
                return

    def wait(self, on_progress: Callable[[], None]) -> bool:
        """Wait for every worker; False as soon as one fails or ends without a result."""
        while len(self.done) < len(self.procs) and not self.failed:
            self._handle(*self.messages.get())
            on_progress()
        return not self.failed

    def close(self) -> None:
        """Stop any worker still running."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait()
        for reader in self._readers:
            reader.join(timeout=5.0)
        for proc in self.procs.values():
            if proc.stdout is not None:
                proc.stdout.close()


def parallel_pose(
    info: VideoInfo,
    model: PoseModel,
    workers: int,
    *,
    time_scale: float = 1.0,
    max_long_side: int = VideoLimits.max_long_side,
    settings: PoseSettings | None = None,
    on_frame: ProgressCallback | None = None,
    mode: ParallelMode = "threads",
) -> PoseTrack | None:
    """Run pose on a clip in ``workers`` segments at once and merge the tracks.

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    model : PoseModel
        The loaded model (workers load the same file from its path).
    workers : int
        Number of segments and processes.
    time_scale : float
        Playback-to-capture time factor.
    max_long_side : int
        Downscale limit for frames.
    settings : PoseSettings, optional
        Landmarker thresholds.
    on_frame : callable, optional
        Called with the number of frames done over all segments (always from
        the calling thread).
    mode : {"threads", "processes"}
        Where the other segments run: threads of this process (the default:
        one interpreter, less memory, no start-up) or separate worker
        processes (``python -m formcheck.parallel``). The calling thread
        always tracks the first segment itself.

    Returns
    -------
    PoseTrack or None
        The merged raw track of the whole clip, or None when the clip cannot
        be split safely or a worker failed (run the single-pass path then).
    """
    settings = settings or PoseSettings()
    timeline = frame_timeline(info)
    if timeline is None:
        return None
    segments = plan_segments(len(timeline), info.fps, workers)
    if len(segments) < 2:
        return None
    jobs = [
        SegmentJob(
            info=info,
            timeline=timeline,
            segment=seg,
            model_path=str(model.path),
            model_sha256=model.sha256,
            settings=settings,
            time_scale=time_scale,
            max_long_side=max_long_side,
        )
        for seg in segments
    ]
    others = list(enumerate(jobs))[1:]
    # Every core now runs an inference; OpenCV's own threads would compete.
    with opencv_threads(1):
        return _run_segments(jobs, others, segments, timeline, model, on_frame, mode)


def _run_segments(
    jobs: list[SegmentJob],
    others: list[tuple[int, SegmentJob]],
    segments: list[Segment],
    timeline: FrameTimeline,
    model: PoseModel,
    on_frame: ProgressCallback | None,
    mode: ParallelMode,
) -> PoseTrack | None:
    """Track the first segment here, the others in the pool, and merge (:func:`parallel_pose`)."""
    clip: TrackBuffer | None = None
    rows: dict[int, TrackBuffer | None] = dict.fromkeys(range(len(jobs)))
    if mode == "threads":  # every thread fills its rows of one clip-sized buffer
        clip = TrackBuffer(len(timeline))
        rows = {k: clip.rows(seg.first, seg.stop) for k, seg in enumerate(segments)}
        pool: _ThreadWorkers | _Workers = _ThreadWorkers(
            others, model, {k: b for k, b in rows.items() if b is not None}
        )
    else:
        pool = _Workers(others)
    own_done = 0

    def report() -> None:
        if on_frame is not None:
            on_frame(own_done + sum(pool.progress.values()))

    def tick(done: int) -> None:
        nonlocal own_done
        own_done = done
        if done % PROGRESS_EVERY == 0:
            pool.poll()
        report()

    try:
        try:
            own = pose_segment(jobs[0], model=model, on_frame=tick, into=rows[0])
        except TimelineMismatchError:
            return None
        if not pool.wait(report):
            return None
        parts = [own, *(pool.done[k] for k in range(1, len(jobs)))]
        try:
            merge_check(parts)
        except TimelineMismatchError:
            return None
        if clip is not None:  # the parts are windows onto the clip's arrays: nothing to copy
            return _whole(clip, len(timeline), own.width, own.height)
        return merge_tracks(parts)
    finally:
        pool.close()


if __name__ == "__main__":
    worker_main()
