"""Reading video files: probing, and streaming upright frames with real timestamps.

PyAV (FFmpeg's libraries) gives each frame's true presentation time, which
matters for phone clips recorded at a variable frame rate, and the display
matrix that makes portrait phone clips upright. Frames are decoded in a
background thread and handed over through a small bounded queue, so memory
does not grow with clip length and decoding overlaps pose inference.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.errors import InputLimitError, VideoError


@dataclass(frozen=True)
class VideoLimits:
    """Limits that keep one file from exhausting memory or time.

    Attributes
    ----------
    max_bytes : int
        Largest accepted file size.
    max_duration_s : float
        Longest accepted clip, in (capture) seconds.
    max_long_side : int
        Frames whose longer side exceeds this are downscaled before pose, in
        the decoder thread. The pose model sees a 256x256 crop around the
        runner, so 1280 px (a runner filling a 720p frame is 500 px tall)
        loses nothing it could use, while 1080p and 4K frames cost half or
        less to convert and hand over.
    max_input_long_side : int
        Larger coded frames are refused before any is decoded (one 16K frame
        alone needs gigabytes).

    Raises
    ------
    InputLimitError
        If a limit is not a positive number.
    """

    max_bytes: int = 2 * 1024**3
    max_duration_s: float = 30 * 60.0
    max_long_side: int = 1280
    max_input_long_side: int = 8192

    def __post_init__(self) -> None:
        """Check that every limit is a positive number."""
        for name in ("max_bytes", "max_duration_s", "max_long_side", "max_input_long_side"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InputLimitError(f"the limit {name} must be a positive number, not {value!r}.")
            if not math.isfinite(value):
                raise InputLimitError(f"the limit {name} must be finite, not {value!r}.")
        if self.max_long_side < 64:
            raise InputLimitError(
                f"the analysis resolution must be at least 64 pixels, not {self.max_long_side}."
            )


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a clip, before decoding it.

    Attributes
    ----------
    path : str
        The file.
    width, height : int
        Upright (displayed) frame size, after rotation, before any downscale.
    rotation : int
        Counter-clockwise degrees applied to coded frames to make them upright (0, 90,
        180 or 270).
    fps : float
        Nominal frame rate of the file (playback rate).
    n_frames : int
        Frame count from the container (0 when unknown).
    duration_s : float
        Duration from the container, playback seconds (NaN when unknown).
    codec : str
        Video codec name.
    file_bytes : int
        File size.
    capture_fps_tag : float or None
        Capture frame rate the container declares for a slow-motion recording
        (Android's ``com.android.capture.fps``), None when absent or equal to
        the playback rate.
    first_frame_brightness : float
        Mean 0-255 luma of the first frame (NaN when unknown); a very dark
        clip explains why no runner was found.
    mirrored : bool
        Whether the display matrix mirrors the picture (front cameras, some
        editors): coded frames are flipped left-right before ``rotation``.
    stream_duration_s : float
        Length the video stream's own header gives (NaN when only the
        container says, whose length may include a longer sound track).
    """

    path: str
    width: int
    height: int
    rotation: int
    fps: float
    n_frames: int
    duration_s: float
    codec: str
    file_bytes: int
    capture_fps_tag: float | None = None
    first_frame_brightness: float = float("nan")
    mirrored: bool = False
    stream_duration_s: float = float("nan")

    @property
    def orientation(self) -> str:
        """``"portrait"`` or ``"landscape"`` of the upright frame."""
        return "portrait" if self.height > self.width else "landscape"


@dataclass(frozen=True)
class Frame:
    """One decoded, upright RGB frame.

    Attributes
    ----------
    index : int
        0-based decode index.
    time_s : float
        Presentation time from the first frame, in capture seconds.
    image : numpy.ndarray
        ``(height, width, 3)`` uint8 RGB, upright, possibly downscaled.
    """

    index: int
    time_s: float
    image: np.ndarray


CAPTURE_FPS_TAGS = ("com.android.capture.fps",)
"""Container tags that give a slow-motion clip's capture frame rate."""


def _sniff(path: Path) -> str:
    """Guess what a file holds from its first bytes (for error messages only).

    Returns ``"mp4"`` (ISO media: MP4/MOV/3GP), ``"matroska"``, ``"avi"``,
    ``"text"`` or ``"unknown"``.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return "unknown"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    return "text" if text and all(c.isprintable() or c in "\r\n\t" for c in text) else "unknown"


def _open_error(path: Path, exc: BaseException) -> VideoError:
    """A one-line error for a file FFmpeg cannot open, by what it looks like."""
    kind = _sniff(path)
    if kind == "text":
        what = "it is a text file, not a video"
        todo = "Choose the video file itself (MP4, MOV, AVI, MKV, WebM)."
    elif kind in ("mp4", "matroska", "avi"):
        what = "it looks like a video that was cut short or damaged"
        todo = "Copy or export it again and check that the copy finished."
    else:
        what = "it is not a video formcheck can read"
        todo = "Export it as an MP4 (H.264) or MOV and try again."
    return VideoError(f"cannot open {path.name}: {what} ({_short(exc)}). {todo}")


def _open(path: Path) -> Any:
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise _open_error(path, exc) from exc


def _short(exc: BaseException) -> str:
    """The first line of an exception's message, without FFmpeg's errno and file name."""
    import av

    if isinstance(exc, av.FFmpegError) and getattr(exc, "strerror", None):
        text = str(exc.strerror)
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _capture_fps_tag(container: Any, stream: Any, fps: float) -> float | None:
    """Capture frame rate from slow-motion metadata, when it differs from ``fps``."""
    for tags in (container.metadata or {}, stream.metadata or {}):
        for key in CAPTURE_FPS_TAGS:
            if key not in tags:
                continue
            try:
                value = float(str(tags[key]).strip())
            except ValueError:
                continue
            if math.isfinite(value) and 1.0 <= value <= 10_000.0:
                differs = not math.isfinite(fps) or abs(value - fps) > 0.02 * fps
                return value if differs else None
    return None


def _brightness(frame: Any) -> float:
    """Mean luma (0-255) of a decoded frame, on a small copy."""
    try:
        small = frame.to_ndarray(format="gray", width=64, height=36)
    except Exception:  # noqa: BLE001 - only a hint for messages; never fatal
        return float("nan")
    return float(np.mean(small))


def _display_matrix(frame: Any) -> np.ndarray | None:
    """The 3x3 display matrix (16.16 fixed point, as stored) of a decoded frame, if any."""
    from av.sidedata.sidedata import Type

    for side in getattr(frame, "side_data", ()) or ():
        if getattr(side, "type", None) == Type.DISPLAYMATRIX:
            m = np.frombuffer(bytes(side), dtype=np.int32)
            return m.astype(np.float64) if m.size == 9 else None
    return None


def _orientation_of(stream: Any, first_frame: Any | None) -> tuple[int, bool]:
    """How to make coded frames upright: (CCW degrees, flip left-right first).

    The display matrix maps a coded point ``(p, q)`` to ``(a p + c q, b p +
    d q)``. A negative determinant means it mirrors: the matrix is then a
    rotation after a left-right flip, and the rotation is read from the
    matrix with that flip taken out (``a, b`` negated). PyAV's
    ``frame.rotation`` reads a mirror-only matrix as 180 degrees, which would
    turn the runner upside down. Without a matrix, PyAV's rotation or the
    legacy ``rotate`` tag (clockwise) is used.
    """
    m = _display_matrix(first_frame) if first_frame is not None else None
    if m is not None:
        a, b, c, d = m[0], m[1], m[3], m[4]
        mirrored = bool(a * d - b * c < 0)
        if mirrored:
            a, b = -a, -b
        rot = -math.degrees(math.atan2(b, a)) if (a or b) else 0.0
        return int(round(rot / 90.0)) % 4 * 90, mirrored
    rot = 0.0
    if first_frame is not None:
        rot = float(getattr(first_frame, "rotation", 0) or 0)
    if not rot:
        tag = stream.metadata.get("rotate") if stream.metadata else None
        if tag:
            try:
                # The legacy "rotate" tag is clockwise; the display matrix is CCW.
                rot = -float(tag)
            except ValueError:
                rot = 0.0
    return int(round(rot / 90.0)) % 4 * 90, False


def probe_video(path: str | Path, limits: VideoLimits | None = None) -> VideoInfo:
    """Read a clip's container information and first frame.

    Parameters
    ----------
    path : str or pathlib.Path
        The video file.
    limits : VideoLimits, optional
        Size, duration and resolution limits to enforce.

    Returns
    -------
    VideoInfo
        Upright size, rotation, nominal fps, frame count, duration, and any
        slow-motion capture rate the container declares.

    Raises
    ------
    VideoError
        If the file is missing, not a video, has no video stream, or has no
        decodable frame.
    InputLimitError
        If the file is larger, longer or of higher resolution than the limits allow.
    """
    limits = limits or VideoLimits()
    p = Path(path)
    if p.is_dir():
        raise VideoError(
            f"{p.name or p} is a folder, not a video file. Give one clip; for a folder of "
            "athletes' clips use 'formcheck batch'."
        )
    if not p.is_file():
        raise VideoError(f"no such video file: {p.name}. Check the name and the folder.")
    size = p.stat().st_size
    if size == 0:
        raise VideoError(f"{p.name} is empty (0 bytes). Copy the video again.")
    if size > limits.max_bytes:
        raise InputLimitError(
            f"{p.name} is {_megabytes(size)}, over the {_megabytes(limits.max_bytes)} limit. "
            "Trim the clip to 10-30 s of steady running or raise the limit (--max-size-mb)."
        )
    with _open(p) as container:
        info = _probe_open(container, p, size, limits)
    if math.isfinite(info.duration_s) and info.duration_s > limits.max_duration_s:
        raise InputLimitError(
            f"{p.name} lasts {info.duration_s:.1f} s, over the {limits.max_duration_s:g} s "
            "limit. Trim it to the part you want analysed or raise the limit (--max-duration)."
        )
    return info


def _megabytes(n_bytes: float) -> str:
    mb = n_bytes / 1024**2
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.2g} MB"


def _probe_open(container: Any, p: Path, size: int, limits: VideoLimits) -> VideoInfo:
    """Read :class:`VideoInfo` from an open container (see :func:`probe_video`)."""
    import av

    if not container.streams.video:
        if container.streams.audio:
            raise VideoError(
                f"{p.name} holds only sound, no picture. Choose the video recording itself."
            )
        raise VideoError(
            f"{p.name} contains no video frames (the recording is empty). Record the clip again."
        )
    stream = container.streams.video[0]
    ctx = stream.codec_context
    coded = max(int(ctx.width or 0), int(ctx.height or 0)) if ctx is not None else 0
    if coded > limits.max_input_long_side:
        raise InputLimitError(
            f"{p.name} is {ctx.width}x{ctx.height} pixels, over the "
            f"{limits.max_input_long_side}-pixel limit. Export it at 4K or lower."
        )
    try:
        first = next(iter(container.decode(stream)), None)
    except (av.FFmpegError, ValueError, MemoryError) as exc:
        raise VideoError(
            f"cannot decode {p.name} ({_short(exc)}). The file looks damaged or cut "
            "short; copy or export it again."
        ) from exc
    if first is None:
        raise VideoError(
            f"{p.name} contains no video frames (the recording is empty or cut short). "
            "Record or copy the clip again."
        )
    if max(int(first.width), int(first.height)) > limits.max_input_long_side:
        raise InputLimitError(
            f"{p.name} is {first.width}x{first.height} pixels, over the "
            f"{limits.max_input_long_side}-pixel limit. Export it at 4K or lower."
        )
    rotation, mirrored = _orientation_of(stream, first)
    cw, ch = int(first.width), int(first.height)
    width, height = (ch, cw) if rotation in (90, 270) else (cw, ch)
    fps = _nominal_fps(stream)
    duration = _header_duration(container, stream)
    n_frames = int(stream.frames or 0)
    if n_frames <= 0 and math.isfinite(duration) and math.isfinite(fps):
        n_frames = int(round(duration * fps))
    return VideoInfo(
        path=str(p),
        width=width,
        height=height,
        rotation=rotation,
        fps=fps,
        n_frames=max(0, n_frames),
        duration_s=duration,
        codec=ctx.name if ctx is not None else "unknown",
        file_bytes=size,
        capture_fps_tag=_capture_fps_tag(container, stream, fps),
        first_frame_brightness=_brightness(first),
        mirrored=mirrored,
        stream_duration_s=_stream_duration(stream),
    )


class TimelineMismatchError(VideoError):
    """Decoding a stretch of the clip did not give the frames its timeline promised.

    Raised by segment decoding (:func:`iter_frames` with ``span``) when a frame
    is missing, extra, or has a timestamp the container's packet list did not
    announce; the caller falls back to decoding the whole clip in order.
    """


@dataclass(frozen=True, eq=False)
class FrameTimeline:
    """Presentation timestamps of every frame, read from the container without decoding.

    ``pts[i]`` is the timestamp of the frame :func:`iter_frames` yields with
    index ``i`` (frames come out of the decoder in presentation order).

    Attributes
    ----------
    pts : numpy.ndarray
        Sorted, unique int64 timestamps in ``time_base`` units.
    time_base : fractions.Fraction
        Seconds per timestamp unit.
    """

    pts: np.ndarray
    time_base: Fraction

    def __len__(self) -> int:
        """Number of frames."""
        return int(self.pts.shape[0])

    def seconds(self, index: int) -> float:
        """Playback time of frame ``index`` in seconds, as the decoder reports it."""
        return float(int(self.pts[index]) * self.time_base)


@dataclass(frozen=True, eq=False)
class FrameSpan:
    """A stretch of a clip to decode on its own (for segment-parallel pose).

    Attributes
    ----------
    timeline : FrameTimeline
        The whole clip's timestamps (from :func:`frame_timeline`).
    first : int
        Index of the first frame to yield.
    stop : int
        One past the index of the last frame to yield.
    """

    timeline: FrameTimeline
    first: int
    stop: int


def frame_timeline(info: VideoInfo) -> FrameTimeline | None:
    """List every frame's timestamp by reading packets only (no decoding).

    Parameters
    ----------
    info : VideoInfo
        The probed clip.

    Returns
    -------
    FrameTimeline or None
        The timeline, or None when the container does not give every frame
        a unique timestamp (then the clip can only be decoded in one pass).
    """
    import av

    pts: list[int] = []
    with _open(Path(info.path)) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        if time_base is None:
            return None
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:
                    continue
                if packet.pts is None:
                    return None
                pts.append(int(packet.pts))
        except av.FFmpegError:
            return None
    arr = np.sort(np.asarray(pts, dtype=np.int64))
    if arr.size == 0 or np.any(np.diff(arr) <= 0):
        return None
    return FrameTimeline(pts=arr, time_base=Fraction(time_base))


def _stream_duration(stream: Any) -> float:
    """Length in seconds from the video stream's header (NaN when it does not say)."""
    duration = float("nan")
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    return duration if math.isfinite(duration) and duration >= 0 else float("nan")


def _header_duration(container: Any, stream: Any) -> float:
    """Length in seconds from the stream's header, else the container's (NaN when neither says)."""
    duration = _stream_duration(stream)
    if not math.isfinite(duration) and container.duration is not None:
        duration = container.duration / 1_000_000.0
    return duration if math.isfinite(duration) and duration >= 0 else float("nan")


def header_duration_s(path: str | Path) -> float:
    """A clip's length as its header states it, without decoding a frame.

    Cheap enough to call on every clip of a batch before any is analysed
    (the batch runner schedules the longest sessions first with it).

    Parameters
    ----------
    path : str or pathlib.Path
        The clip.

    Returns
    -------
    float
        Seconds; NaN when the file cannot be opened or its header gives no
        length (the analysis reports the real problem later).
    """
    try:
        with _open(Path(path)) as container:
            if not container.streams.video:
                return float("nan")
            return _header_duration(container, container.streams.video[0])
    except (VideoError, OSError):
        return float("nan")


def _nominal_fps(stream: Any) -> float:
    """The stream's nominal frame rate, NaN when it is missing or absurd."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        try:
            fps = float(rate) if rate else float("nan")
        except (ZeroDivisionError, TypeError, ValueError):
            continue
        if math.isfinite(fps) and 0.1 <= fps <= 10_000.0:
            return fps
    return float("nan")


def output_size(info: VideoInfo, max_long_side: int) -> tuple[int, int]:
    """Frame size after downscaling so the long side fits ``max_long_side``.

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    max_long_side : int
        Largest allowed long side in pixels.

    Returns
    -------
    tuple of int
        ``(width, height)`` of the frames :func:`iter_frames` yields.
    """
    long_side = max(info.width, info.height)
    if long_side <= max_long_side:
        return info.width, info.height
    scale = max_long_side / long_side
    return max(2, int(round(info.width * scale))), max(2, int(round(info.height * scale)))


def iter_frames(
    info: VideoInfo,
    *,
    time_scale: float = 1.0,
    max_long_side: int = VideoLimits.max_long_side,
    queue_size: int = 2,
    span: FrameSpan | None = None,
    max_duration_s: float = math.inf,
) -> Iterator[Frame]:
    """Stream a clip's frames, upright, with real timestamps.

    Decoding, colour conversion, downscaling and rotation run in a background
    thread; at most ``queue_size`` frames wait for the consumer, so memory
    does not depend on the clip's length.

    Parameters
    ----------
    info : VideoInfo
        The probed clip (from :func:`probe_video`).
    time_scale : float
        Multiplies presentation times: ``playback_fps / capture_fps`` for a
        slow-motion clip, 1 otherwise.
    max_long_side : int
        Frames are downscaled so their longer side is at most this.
    queue_size : int
        Frames decoded ahead of the consumer.
    span : FrameSpan, optional
        Decode only frames ``span.first`` to ``span.stop - 1``: seek to the
        keyframe before the first one and drop what comes before it. Indices
        and times stay the whole clip's.
    max_duration_s : float
        Stop with :class:`~formcheck.errors.InputLimitError` at a frame later
        than this (capture seconds): a file whose header understates its
        length cannot run for longer than the limit.

    Yields
    ------
    Frame
        Index, time in capture seconds from the first frame, RGB image.

    Raises
    ------
    VideoError
        If decoding fails before any frame, or the timestamps are unusable.
    TimelineMismatchError
        With ``span``: if the decoded frames differ from the timeline.
    """
    size = output_size(info, max_long_side)
    frames: Callable[[], Iterator[Frame]]
    if span is None:
        frames = partial(_decode, info, time_scale, size, max_duration_s)
    else:
        frames = partial(_decode_span, info, time_scale, size, span)
    q: queue.Queue[Frame | BaseException | None] = queue.Queue(maxsize=queue_size)
    stop = threading.Event()
    worker = threading.Thread(
        target=_decode_worker,
        args=(frames, q, stop),
        name="formcheck-decode",
        daemon=True,
    )
    worker.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def _decode_worker(
    frames: Callable[[], Iterator[Frame]],
    q: queue.Queue[Frame | BaseException | None],
    stop: threading.Event,
) -> None:
    """Decode frames into ``q``; end with None or the exception raised."""
    try:
        for frame in frames():
            while not stop.is_set():
                try:
                    q.put(frame, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        q.put(None)
    except BaseException as exc:  # handed to the consumer thread, re-raised there
        q.put(exc)


def _decode(
    info: VideoInfo, time_scale: float, size: tuple[int, int], max_duration_s: float = math.inf
) -> Iterator[Frame]:
    import av

    out_w, out_h = size
    k, flip = info.rotation // 90, info.mirrored
    # Before rotation, the coded frame's size maps to the rotated output size.
    coded_w, coded_h = (out_h, out_w) if k % 2 else (out_w, out_h)
    with _open(Path(info.path)) as container:
        stream = container.streams.video[0]
        _set_decoder_threads(stream)
        t0: float | None = None
        last_t = -math.inf
        index = 0
        try:
            for frame in container.decode(stream):
                t = _frame_time(frame, index, info.fps)
                if t0 is None:
                    t0 = t
                rel = (t - t0) * time_scale
                if rel <= last_t:  # duplicate or out-of-order pts: keep time strictly increasing
                    rel = last_t + 1e-6
                last_t = rel
                if rel > max_duration_s:
                    raise InputLimitError(
                        f"{Path(info.path).name} runs past the {max_duration_s:g} s limit (its "
                        "header gave a shorter length). Trim it to the part you want analysed "
                        "or raise the limit (--max-duration)."
                    )
                image = upright_rgb(frame, coded_w, coded_h, k, flip)
                yield Frame(index=index, time_s=rel, image=image)
                index += 1
        except av.FFmpegError as exc:
            if index == 0:
                raise VideoError(
                    f"cannot decode {Path(info.path).name} ({_short(exc)}). The file looks "
                    "damaged; copy or export it again."
                ) from exc
            # A damaged tail: keep what decoded (the report counts the frames).


FRAME_THREADS_ABOVE_PIXELS = 1920 * 1088
"""Coded frames larger than this are decoded with frame threads; smaller ones by one thread."""


def _set_decoder_threads(stream: Any) -> None:
    """Frame-threaded decoding only where one thread could fall behind pose.

    Frame threads hold a set of frames each (about 25 MB more at 1080p) and
    compete with pose inference for the cores; up to 1080p one decoder
    thread is several times faster than pose, so it stays off the critical
    path without them.
    """
    ctx = stream.codec_context
    if int(ctx.width or 0) * int(ctx.height or 0) > FRAME_THREADS_ABOVE_PIXELS:
        stream.thread_type = "AUTO"
    else:
        stream.thread_type = "SLICE"


def upright_rgb(
    frame: Any, coded_w: int, coded_h: int, k: int, mirror: bool = False
) -> np.ndarray:
    """RGB pixels of a decoded frame, scaled to the coded size and turned upright.

    Frames scaled down a little (1080p to 720p) are resized by OpenCV. With
    OpenCV's thread pool (one pipeline on the machine), libswscale converts
    the frame at full size with its own colour matrix and the pool resizes
    the RGB: about 3.7 ms of CPU per 1080p frame, spread over the cores.
    When OpenCV runs on one thread (parallel segments and batch workers set
    it so: :func:`opencv_threads`), BT.601 4:2:0 frames (:func:`_plain_i420`)
    have their three planes resized before OpenCV's colour conversion
    (:func:`_i420_to_rgb`, 1.5 bytes per pixel instead of 3: about 1.1 ms of
    one core), which costs the least CPU. Taking that path in a single
    pipeline too was measured and taken back: it used less CPU (16.0 against
    17.1 ms per frame) but the pipeline ran 8 % slower (79.6 against 86.7
    fps on a 60 s 1080p clip, medians of 3 interleaved runs). The two paths
    differ by about a grey level on average. Frames at their own size and
    large downscales (4K, where the big frame would cost more to convert
    first) are left to libswscale alone: OpenCV's conversion of an unscaled
    frame differs from libswscale's by about a grey level, and the pose
    model's contacts on the synthetic accuracy clips move with such a change,
    so the published accuracy tables would no longer be reproducible (it
    saved no CPU in the pipeline either).

    Parameters
    ----------
    frame : av.VideoFrame
        A decoded frame.
    coded_w, coded_h : int
        Size to scale the coded (not yet rotated) frame to.
    k : int
        Quarter turns counter-clockwise that make it upright.
    mirror : bool
        Flip it left-right before turning (a mirroring display matrix:
        :class:`VideoInfo`).

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` uint8 RGB, upright.
    """
    if coded_w != frame.width and frame.width < 2 * coded_w:
        if shares_cores() and _plain_i420(frame, coded_w, coded_h):
            img = _i420_to_rgb(frame.to_ndarray(), frame.width, frame.height, coded_w, coded_h)
        else:
            import cv2

            full = frame.to_ndarray(format="rgb24")
            img = cv2.resize(full, (coded_w, coded_h), interpolation=cv2.INTER_LINEAR)
    else:
        img = frame.to_ndarray(format="rgb24", width=coded_w, height=coded_h)
    if mirror:
        img = img[:, ::-1]
    if k or mirror:
        img = np.ascontiguousarray(np.rot90(img, k))
    return img


BT601_COLORSPACES = (2, 5, 6)
"""FFmpeg colour spaces OpenCV's I420 conversion (BT.601) is right for: unspecified
(libswscale assumes BT.601 too), BT470BG and SMPTE170M."""


def _plain_i420(frame: Any, out_w: int, out_h: int) -> bool:
    """True for limited-range 8-bit BT.601 4:2:0 frames with even sizes in and out.

    Phones tag their HD video BT.709; converting it with BT.601 coefficients
    would shift its colours (a saturated green by 30 levels), so such frames
    are left to libswscale, which reads the tag.
    """
    even = not (frame.width % 2 or frame.height % 2 or out_w % 2 or out_h % 2)
    # 0 = unspecified, 1 = limited (MPEG) range: what libswscale assumes by default too.
    limited = int(getattr(frame, "color_range", 0)) < 2
    bt601 = int(getattr(frame, "colorspace", 2)) in BT601_COLORSPACES
    return even and frame.format.name == "yuv420p" and limited and bt601


def _i420_to_rgb(yuv: np.ndarray, width: int, height: int, out_w: int, out_h: int) -> np.ndarray:
    """Resize the Y, U and V planes of an I420 image, then convert it to RGB.

    Resizing 1.5 bytes per pixel instead of 3 and converting the smaller
    image costs about 60 % of converting at full size and resizing the RGB,
    on one thread. The conversion is BT.601 limited range (libswscale's
    default for untagged video): only for :func:`_plain_i420` frames.

    Parameters
    ----------
    yuv : numpy.ndarray
        ``(height * 3 / 2, width)`` uint8: the Y plane, then U, then V.
    width, height : int
        Size of the image (even).
    out_w, out_h : int
        Wanted size (even).

    Returns
    -------
    numpy.ndarray
        ``(out_h, out_w, 3)`` uint8 RGB.
    """
    import cv2

    area, out_area = width * height, out_w * out_h
    planes = yuv.reshape(-1)
    out = np.empty(out_area * 3 // 2, np.uint8)
    cv2.resize(
        planes[:area].reshape(height, width),
        (out_w, out_h),
        dst=out[:out_area].reshape(out_h, out_w),
        interpolation=cv2.INTER_LINEAR,
    )
    q, out_q = area // 4, out_area // 4
    for i in range(2):  # U, then V: quarter-size planes
        src = planes[area + i * q : area + (i + 1) * q].reshape(height // 2, width // 2)
        dst = out[out_area + i * out_q : out_area + (i + 1) * out_q]
        cv2.resize(
            src,
            (out_w // 2, out_h // 2),
            dst=dst.reshape(out_h // 2, out_w // 2),
            interpolation=cv2.INTER_LINEAR,
        )
    return cv2.cvtColor(out.reshape(out_h * 3 // 2, out_w), cv2.COLOR_YUV2RGB_I420)


def shares_cores() -> bool:
    """True when this process runs its native work on one thread.

    Parallel pose segments and batch workers keep OpenCV to one thread
    (:func:`opencv_threads`, the batch pool's initializer) because other
    processes already keep every core busy; the decoder's conversion and the
    report video's encoder then take their single-threaded, least-CPU paths
    as well. OpenCV's thread count is the one process-wide switch.

    Returns
    -------
    bool
        True when OpenCV runs on one thread.
    """
    import cv2

    return bool(cv2.getNumThreads() <= 1)


@contextmanager
def opencv_threads(n: int) -> Iterator[None]:
    """Run the block with OpenCV's thread pool at ``n`` threads, then restore it.

    Parallel pose segments keep every core busy with inference; OpenCV's own
    worker threads (resizing, drawing) would only compete with them. The
    setting is process-wide for as long as the block runs.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def _decode_span(
    info: VideoInfo, time_scale: float, size: tuple[int, int], span: FrameSpan
) -> Iterator[Frame]:
    """Decode frames ``span.first`` .. ``span.stop - 1`` after seeking near the first."""
    import av

    tl = span.timeline
    if not 0 <= span.first < span.stop <= len(tl):
        raise ValueError(f"span {span.first}..{span.stop} outside 0..{len(tl)}")
    name = Path(info.path).name
    out_w, out_h = size
    k, flip = info.rotation // 90, info.mirrored
    coded_w, coded_h = (out_h, out_w) if k % 2 else (out_w, out_h)
    t0 = tl.seconds(0)
    first_pts = int(tl.pts[span.first])
    index = span.first
    with _open(Path(info.path)) as container:
        stream = container.streams.video[0]
        _set_decoder_threads(stream)
        try:
            if span.first > 0:
                container.seek(first_pts, backward=True, any_frame=False, stream=stream)
            for frame in container.decode(stream):
                if frame.pts is None:
                    raise TimelineMismatchError(f"{name}: a frame without a timestamp")
                if frame.pts < first_pts:
                    continue  # from the keyframe before the span: decoded, not converted
                if frame.pts != tl.pts[index]:
                    raise TimelineMismatchError(
                        f"{name}: frame {index} has timestamp {frame.pts}, expected "
                        f"{int(tl.pts[index])}"
                    )
                rel = (float(frame.pts * frame.time_base) - t0) * time_scale
                image = upright_rgb(frame, coded_w, coded_h, k, flip)
                yield Frame(index=index, time_s=rel, image=image)
                index += 1
                if index == span.stop:
                    return
        except av.FFmpegError as exc:
            raise TimelineMismatchError(f"{name}: decoding failed at frame {index}") from exc
    raise TimelineMismatchError(f"{name}: the stream ended at frame {index}, before {span.stop}")


def sample_keyframes(
    info: VideoInfo, count: int, max_long_side: int = 640, max_decode: int = 30
) -> list[np.ndarray]:
    """Upright RGB images of up to ``count`` frames spread over the clip.

    Each is the frame at an evenly spaced time, or the one ``max_decode``
    frames after the keyframe before it when that time is further on: a seek
    and a few decoded frames, so sampling costs little whatever the clip's
    length.
    Used for checks that need a few whole pictures after pose has streamed
    the clip (who else is in view).

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    count : int
        Times to sample.
    max_long_side : int
        Images are downscaled to at most this long side.
    max_decode : int
        Most frames decoded after a keyframe to reach a sample time.

    Returns
    -------
    list of numpy.ndarray
        Distinct frames in clip order (fewer than ``count`` when keyframes
        are sparse); empty when the clip cannot be sought.
    """
    import av

    out_w, out_h = output_size(info, max_long_side)
    k, flip = info.rotation // 90, info.mirrored
    coded_w, coded_h = (out_h, out_w) if k % 2 else (out_w, out_h)
    images: list[np.ndarray] = []
    seen: set[int] = set()
    duration = info.duration_s if math.isfinite(info.duration_s) else 0.0
    with _open(Path(info.path)) as container:
        stream = container.streams.video[0]
        if stream.time_base is None:
            return images
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        for j in range(count):
            target = int((start + duration * (j + 0.5) / count) / stream.time_base)
            frame = None
            try:
                container.seek(target, backward=True, any_frame=False, stream=stream)
                for n, decoded in enumerate(container.decode(stream)):
                    frame = decoded
                    if decoded.pts is None or decoded.pts >= target or n >= max_decode:
                        break
            except av.FFmpegError:
                continue
            if frame is None or frame.pts is None or frame.pts in seen:
                continue
            seen.add(frame.pts)
            images.append(upright_rgb(frame, coded_w, coded_h, k, flip))
    return images


def _frame_time(frame: Any, index: int, fps: float) -> float:
    """Presentation time of a frame in seconds, falling back to index / fps."""
    if frame.pts is not None and frame.time_base is not None:
        return float(frame.pts * frame.time_base)
    if frame.time is not None:
        return float(frame.time)
    return index / fps if fps and math.isfinite(fps) else float(index)


def read_frame(
    info: VideoInfo, index: int, *, time_scale: float = 1.0,
    max_long_side: int = VideoLimits.max_long_side
) -> Frame:
    """Decode one frame by its decode index (streams up to it).

    Parameters
    ----------
    info : VideoInfo
        The probed clip.
    index : int
        0-based decode index.
    time_scale : float
        See :func:`iter_frames`.
    max_long_side : int
        See :func:`iter_frames`.

    Returns
    -------
    Frame
        The frame.

    Raises
    ------
    VideoError
        If the clip has fewer frames.
    """
    for frame in iter_frames(info, time_scale=time_scale, max_long_side=max_long_side):
        if frame.index == index:
            return frame
    raise VideoError(f"{Path(info.path).name} has no frame {index}")
