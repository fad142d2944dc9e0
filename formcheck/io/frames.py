"""Random access to single frames of a clip: seek to a keyframe, decode forward.

The app's frame scrubber shows one frame at a time of a clip it never holds
in memory. :class:`FrameReader` reads the presentation timestamps of every
frame once (demuxing only, no decoding), then decodes a frame by its index:
it seeks to the keyframe before it and decodes forward, or keeps decoding
from where it is when the next wanted frame is just ahead (stepping through
a clip frame by frame decodes each frame once).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from formcheck.errors import VideoError
from formcheck.io.video import Frame, probe_video, upright_rgb

FORWARD_DECODE_LIMIT = 90
"""Decode forward instead of seeking when the wanted frame is at most this far ahead."""


class FrameReader:
    """Decode frames of one clip by their index, upright, as RGB.

    Parameters
    ----------
    path : str or pathlib.Path
        The clip (an ``annotated.mp4`` or a source clip).

    Raises
    ------
    VideoError
        If the file cannot be opened or has no video frames.

    Examples
    --------
    >>> with FrameReader("annotated.mp4") as reader:  # doctest: +SKIP
    ...     frame = reader.read(len(reader) // 2)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        info = probe_video(self.path)
        self.rotation, self.mirrored = info.rotation, info.mirrored
        self._container: Any = None
        self._frames: Iterator[Any] | None = None
        self._next_index = 0
        self._pts: list[int] = []
        self._time_base = Fraction(1)
        self._open()

    def _open(self) -> None:
        import av

        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
            stream = self._container.streams.video[0]
            pts = [
                int(p.pts)
                for p in self._container.demux(stream)
                if p.size and p.pts is not None
            ]
        except (av.FFmpegError, IndexError, ValueError) as exc:
            self.close()
            raise VideoError(f"cannot read the frames of {self.path.name} ({exc}).") from exc
        if not pts:
            self.close()
            raise VideoError(f"{self.path.name} has no video frames with timestamps.")
        self._pts = sorted(set(pts))
        self._time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1)
        self._frames = None

    def __len__(self) -> int:
        """Number of frames in the clip."""
        return len(self._pts)

    def __enter__(self) -> Self:
        """Return the reader."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the file."""
        self.close()

    def close(self) -> None:
        """Close the file (reading again raises)."""
        if self._container is not None:
            self._container.close()
            self._container = None
        self._frames = None

    def time_s(self, index: int) -> float:
        """Presentation time of frame ``index``, seconds from the first frame.

        Parameters
        ----------
        index : int
            0-based frame index.

        Returns
        -------
        float
            Seconds.
        """
        return float((self._pts[self._check(index)] - self._pts[0]) * self._time_base)

    def _check(self, index: int) -> int:
        if not 0 <= index < len(self._pts):
            raise VideoError(f"{self.path.name} has no frame {index} (it has {len(self._pts)}).")
        return int(index)

    def _seek(self, index: int) -> None:
        stream = self._container.streams.video[0]
        self._container.seek(self._pts[index], stream=stream, backward=True, any_frame=False)
        self._frames = iter(self._container.decode(stream))
        self._next_index = -1  # unknown until a frame's pts is seen

    def read(self, index: int) -> Frame:
        """Decode frame ``index``.

        Parameters
        ----------
        index : int
            0-based frame index (display order).

        Returns
        -------
        Frame
            Index, time from the first frame (seconds) and the upright RGB image.

        Raises
        ------
        VideoError
            If the index is out of range, the reader is closed, or decoding fails.
        """
        import av

        index = self._check(index)
        if self._container is None:
            raise VideoError(f"the reader of {self.path.name} is closed")
        ahead = index - self._next_index
        if self._frames is None or not 0 <= ahead <= FORWARD_DECODE_LIMIT:
            self._seek(index)
        target = self._pts[index]
        assert self._frames is not None
        try:
            for frame in self._frames:
                if frame.pts is None or frame.pts < target:
                    continue
                self._next_index = index + 1
                return Frame(index=index, time_s=self.time_s(index), image=self._upright(frame))
        except av.FFmpegError as exc:
            self._frames = None
            raise VideoError(f"cannot decode frame {index} of {self.path.name} ({exc}).") from exc
        self._frames = None
        raise VideoError(f"{self.path.name} ended before frame {index}.")

    def _upright(self, frame: Any) -> np.ndarray:
        return upright_rgb(frame, frame.width, frame.height, self.rotation // 90, self.mirrored)


__all__ = ["FORWARD_DECODE_LIMIT", "FrameReader"]
