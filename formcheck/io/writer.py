"""Write RGB frames to an H.264 MP4 file with PyAV.

:class:`VideoWriter` is the one place formcheck encodes video (synthetic
clips, annotated output). It writes to a temporary file in the destination
folder and renames it into place only when the writer is closed without an
error, so a reader never sees a half-written file.

Rotation convention
-------------------
``rotation_deg`` is stored as the container's display matrix through PyAV's
:meth:`av.video.stream.VideoStream.set_display_rotation`, whose argument is a
**counter-clockwise** angle: the angle a player must rotate the *encoded*
pixels counter-clockwise to show the picture upright. The same number is read
back unchanged as :attr:`av.VideoFrame.rotation` when decoding with PyAV;
OpenCV's FFmpeg backend (auto-orientation on) shows such a file upright too.

A portrait phone clip typically has landscape pixels lying on their side.
Example: an upright portrait image ``img`` stored as ``np.rot90(img, k=-1)``
(rotated 90 deg clockwise) needs ``rotation_deg=90``: rotating the stored
pixels back counter-clockwise by 90 deg (``np.rot90(stored, k=1)``) restores
``img``. In general, for ``rotation_deg`` a multiple of 90, store
``np.rot90(img, k=-rotation_deg // 90)`` and a reader recovers the upright
image with ``np.rot90(decoded, k=frame.rotation // 90)``.

``mirror=True`` adds a left-right mirror after the rotation (front cameras
write such matrices): store ``np.rot90(np.fliplr(img), k=-rotation_deg // 90)``.
:func:`formcheck.io.video.probe_video` reads it back as ``mirrored``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import av
import numpy as np

from formcheck.errors import FormcheckError, VideoError

_VFR_TIME_BASE = Fraction(1, 90_000)
X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"]
"""Time base used when explicit frame times are given (MPEG's 90 kHz clock)."""


class VideoWriter:
    """Encode RGB frames to an H.264 (libx264, yuv420p) MP4 file.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file. Written atomically on successful close.
    width, height : int
        Size of the *encoded* frames in pixels; both must be even (yuv420p).
    fps : float
        Nominal frame rate. Used for timestamps when :meth:`write` gets no
        ``time_s``.
    rotation_deg : int, default 0
        Display rotation (counter-clockwise degrees, a multiple of 90) stored
        in the container's display matrix; see the module docstring.
    mirror : bool, default False
        Whether the display matrix also mirrors the picture left-right.
    crf : int, default 23
        x264 constant rate factor, 0 (lossless) to 51 (worst).
    preset : str, default "medium"
        x264 speed preset; ``"veryfast"`` encodes several times faster for a
        slightly larger file (the annotated review video uses it).
    threads : int, default 0
        Encoder threads; 0 lets x264 choose (several per core). 1 where other
        processes already keep every core busy (batch workers): x264's frame
        threads then only add work (about 3 % more CPU per frame here).

    Raises
    ------
    FormcheckError
        If a parameter is invalid.

    Examples
    --------
    >>> with VideoWriter("out.mp4", 640, 360, fps=30) as w:  # doctest: +SKIP
    ...     for rgb in frames:
    ...         w.write(rgb)
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        rotation_deg: int = 0,
        crf: int = 23,
        preset: X264Preset = "medium",
        threads: int = 0,
        mirror: bool = False,
    ) -> None:
        _validate_writer_args(width, height, fps, rotation_deg, crf, threads)
        self.path = Path(path)
        self.width = int(width)
        self.height = int(height)
        self.fps = float(fps)
        self.rotation_deg = int(rotation_deg)
        self.mirror = bool(mirror)
        self.crf = int(crf)
        self.preset = preset
        self.threads = threads
        self.n_written = 0
        self._tmp_path: Path | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._explicit_times: bool | None = None
        self._last_pts = -1

    def __enter__(self) -> Self:
        """Open the temporary output file and return the writer."""
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Finish the file, or discard it if the block raised."""
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def open(self) -> None:
        """Open the temporary output file (called by ``__enter__``).

        Raises
        ------
        VideoError
            If the destination folder does not exist.
        """
        if self._container is not None:
            return
        folder = self.path.parent
        if not folder.is_dir():
            raise VideoError(f"Output folder {folder} does not exist; create it first.")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".tmp.mp4", dir=folder)
        os.close(fd)
        self._tmp_path = Path(tmp)
        self._container = av.open(str(self._tmp_path), mode="w", format="mp4")

    def _make_stream(self, explicit_times: bool) -> av.video.stream.VideoStream:
        """Create the H.264 stream once we know how timestamps are given."""
        assert self._container is not None
        rate = Fraction(self.fps).limit_denominator(1001)
        stream = self._container.add_stream("libx264", rate=rate)
        stream.width = self.width
        stream.height = self.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        if self.threads:
            stream.codec_context.thread_count = self.threads
        if explicit_times:
            stream.codec_context.time_base = _VFR_TIME_BASE
            stream.time_base = _VFR_TIME_BASE
        else:
            stream.codec_context.time_base = 1 / rate
        if self.rotation_deg % 360 != 0 or self.mirror:
            stream.set_display_rotation(float(self.rotation_deg), hflip=self.mirror)
        return stream

    def write(self, frame_rgb: np.ndarray, time_s: float | None = None) -> None:
        """Encode one frame.

        Parameters
        ----------
        frame_rgb : numpy.ndarray
            ``uint8`` array of shape ``(height, width, 3)`` in RGB order.
        time_s : float, optional
            Presentation time of the frame in seconds. When given (for every
            frame), timestamps are exact on a 1/90000 s clock, which yields a
            true variable-frame-rate file; times must strictly increase.
            When omitted, frame ``i`` is shown at ``i / fps``.

        Raises
        ------
        FormcheckError
            If the frame has the wrong shape or type, times are mixed with
            untimed frames, or times do not increase.
        """
        if self._container is None:
            self.open()
        explicit = time_s is not None
        if self._explicit_times is None:
            self._explicit_times = explicit
            self._stream = self._make_stream(explicit)
        elif self._explicit_times != explicit:
            raise FormcheckError("Give time_s for every frame written, or for none.")
        assert self._stream is not None and self._container is not None
        arr = np.asarray(frame_rgb)
        if arr.dtype != np.uint8 or arr.shape != (self.height, self.width, 3):
            raise FormcheckError(
                f"Frame must be uint8 of shape ({self.height}, {self.width}, 3); got {arr.dtype} {arr.shape}."
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
        if explicit:
            assert time_s is not None
            pts = round(float(time_s) / _VFR_TIME_BASE)
            if pts <= self._last_pts:
                raise FormcheckError("Frame times must strictly increase.")
            frame.time_base = _VFR_TIME_BASE
        else:
            pts = self.n_written
            frame.time_base = self._stream.codec_context.time_base
        frame.pts = pts
        self._last_pts = pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.n_written += 1

    def close(self) -> None:
        """Flush the encoder, close the file and move it to ``path``.

        Raises
        ------
        FormcheckError
            If no frame was written.
        """
        if self._container is None:
            return
        if self._stream is None:
            self.abort()
            raise FormcheckError("No frames were written; the video was not created.")
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None
        assert self._tmp_path is not None
        os.chmod(self._tmp_path, 0o644)  # mkstemp creates 0600 files
        os.replace(self._tmp_path, self.path)
        self._tmp_path = None

    def abort(self) -> None:
        """Close and delete the temporary file without touching ``path``."""
        if self._container is not None:
            with contextlib.suppress(av.FFmpegError, ValueError):
                self._container.close()
            self._container = None
        if self._tmp_path is not None:
            self._tmp_path.unlink(missing_ok=True)
            self._tmp_path = None


def _validate_writer_args(
    width: int, height: int, fps: float, rotation_deg: int, crf: int, threads: int = 0
) -> None:
    """Raise :class:`FormcheckError` if the writer arguments are unusable."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise FormcheckError(f"Video size must be positive and even; got {width}x{height}.")
    if not fps > 0:
        raise FormcheckError(f"Frame rate must be positive; got {fps}.")
    if rotation_deg % 90 != 0:
        raise FormcheckError(f"Rotation must be a multiple of 90 degrees; got {rotation_deg}.")
    if not 0 <= crf <= 51:
        raise FormcheckError(f"crf must be between 0 and 51; got {crf}.")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise FormcheckError(f"threads must be a whole number >= 0, not {threads!r}.")
