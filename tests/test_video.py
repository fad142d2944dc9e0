"""Reading video: real timestamps, rotation, downscaling, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import InputLimitError, VideoError
from formcheck.io.frames import FrameReader
from formcheck.io.video import header_duration_s, iter_frames, probe_video
from formcheck.io.writer import VideoWriter


def _marked_frame(w: int, h: int, i: int = 0) -> np.ndarray:
    """Upright test image: red top band, blue bottom band, a grey level coding ``i``."""
    img = np.full((h, w, 3), 40 + (i * 7) % 180, np.uint8)
    img[: h // 4] = (230, 20, 20)
    img[-h // 4 :] = (20, 20, 230)
    return img


def test_variable_frame_rate_clip_gets_its_true_timestamps(tmp_path: Path) -> None:
    # 20 frames at 60 fps, then 20 at 20 fps: a phone that dropped its rate.
    steps = np.r_[np.full(20, 1 / 60), np.full(19, 1 / 20)]
    times = np.concatenate([[0.0], np.cumsum(steps)])
    path = tmp_path / "vfr.mp4"
    with VideoWriter(path, 320, 240, fps=30) as writer:
        for i, t in enumerate(times):
            writer.write(_marked_frame(320, 240, i), time_s=float(t))
    info = probe_video(path)
    got = np.array([f.time_s for f in iter_frames(info)])
    assert got.size == times.size
    np.testing.assert_allclose(got, times, atol=1e-3)
    # A constant-rate assumption (index / nominal fps) would be far off.
    assert np.max(np.abs(np.arange(times.size) / info.fps - times)) > 0.05


def test_portrait_clip_with_rotation_metadata_comes_out_upright(tmp_path: Path) -> None:
    w, h = 180, 320  # upright portrait
    path = tmp_path / "portrait.mp4"
    with VideoWriter(path, h, w, fps=30, rotation_deg=90) as writer:  # landscape pixels
        for i in range(5):
            writer.write(np.ascontiguousarray(np.rot90(_marked_frame(w, h, i), k=-1)))
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (w, h, 90)
    assert info.orientation == "portrait"
    frame = next(iter(iter_frames(info)))
    assert frame.image.shape == (h, w, 3)
    top, bottom = frame.image[: h // 8].mean(axis=(0, 1)), frame.image[-h // 8 :].mean(axis=(0, 1))
    assert top[0] > 150 and top[2] < 80, "red band must be on top"
    assert bottom[2] > 150 and bottom[0] < 80, "blue band must be at the bottom"


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_mirroring_display_matrix_is_undone_not_read_as_a_half_turn(
    tmp_path: Path, rotation: int
) -> None:
    """Front cameras store mirrored pixels; PyAV reads a mirror-only matrix as 180 degrees.

    Taking that at its word turned a tester's runner upside down (trunk lean
    158 deg, "measured"). The picture must come out as a player shows it.
    """
    w, h = 180, 320
    upright = _marked_frame(w, h, 3)
    upright[:, : w // 6] = (20, 200, 20)  # a green band on the left: tells mirrored from not
    stored = np.ascontiguousarray(np.rot90(np.fliplr(upright), k=-rotation // 90))
    path = tmp_path / f"mirror{rotation}.mp4"
    sh, sw = stored.shape[:2]
    with VideoWriter(path, sw, sh, fps=30, rotation_deg=rotation, mirror=True) as writer:
        for _ in range(3):
            writer.write(stored)
    info = probe_video(path)
    assert info.mirrored and (info.width, info.height) == (w, h)
    frame = next(iter(iter_frames(info))).image
    assert frame.shape == upright.shape
    assert np.abs(frame.astype(int) - upright).mean() < 4
    left = frame[h // 3 : 2 * h // 3, : w // 8].mean(axis=(0, 1))
    assert left[1] > 150 and left[0] < 80, "the green band must stay on the left"
    with FrameReader(path) as reader:  # flagged frames read the file the same way
        np.testing.assert_array_equal(reader.read(0).image, frame)


def test_large_frames_are_downscaled_before_pose(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"
    with VideoWriter(path, 1600, 900, fps=30) as writer:
        for i in range(3):
            writer.write(_marked_frame(1600, 900, i))
    info = probe_video(path)
    frames = list(iter_frames(info, max_long_side=800))
    assert frames[0].image.shape == (450, 800, 3)
    assert [f.index for f in frames] == [0, 1, 2]


def _bands(w: int, h: int) -> np.ndarray:
    """Eight horizontal colour bands over a grey ramp."""
    img = np.repeat(np.linspace(30, 220, w).astype(np.uint8)[None, :, None], h, 0).repeat(3, 2)
    colours = [(230, 30, 30), (30, 200, 40), (40, 60, 220), (240, 240, 240),
               (15, 15, 15), (200, 180, 40), (120, 40, 160), (128, 128, 128)]
    for i, c in enumerate(colours):
        img[i * h // 16 : (i + 1) * h // 16] = c
    return img


@pytest.mark.parametrize("opencv_pool", [True, False], ids=["opencv-pool", "one-opencv-thread"])
def test_mild_downscale_keeps_colours(tmp_path: Path, opencv_pool: bool) -> None:
    """1080p reaches pose at 720p with the colours it was filmed in, on either path.

    With one OpenCV thread (parallel segments, batch workers) the I420
    planes are resized before the colour conversion; with OpenCV's pool the
    frame is converted first.
    """
    import cv2

    from formcheck.io.video import opencv_threads

    img = _bands(1920, 1080)
    path = tmp_path / "hd.mp4"
    with VideoWriter(path, 1920, 1080, fps=30, crf=12) as writer:
        for _ in range(2):
            writer.write(img)
    want = cv2.resize(img, (1280, 720), interpolation=cv2.INTER_AREA).astype(int)
    with opencv_threads(cv2.getNumThreads() if opencv_pool else 1):
        frame = next(iter(iter_frames(probe_video(path), max_long_side=1280))).image
    assert frame.shape == (720, 1280, 3)
    inner = np.s_[8:-8, 8:-8]  # away from the frame edges
    assert np.abs(frame.astype(int) - want)[inner].mean() < 3.0
    for i in range(8):  # the middle of each band: its colour within a few levels
        y = (2 * i + 1) * 720 // 32
        assert np.abs(frame[y, 200:1000].astype(int) - want[y, 200:1000]).max() <= 8


def test_plane_path_matches_the_full_frame_conversion(tmp_path: Path) -> None:
    """Resizing the I420 planes first (one OpenCV thread) gives nearly the pooled path's pixels.

    They differ by about a grey level on average; at hard colour edges the
    chroma is placed differently (tens of levels along the edge). Both stay
    close to the source picture scaled.
    """
    import av
    import cv2

    from formcheck.io.video import _i420_to_rgb, _plain_i420, opencv_threads, upright_rgb

    rng = np.random.default_rng(4)
    img = cv2.GaussianBlur(rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8), (0, 0), 6)
    img[300:700, 500:900] = (200, 40, 40)  # a hard-edged patch
    frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
    assert _plain_i420(frame, 1280, 720)
    assert cv2.getNumThreads() > 1  # OpenCV's pool: the full-frame path
    pooled = upright_rgb(frame, 1280, 720, 0)
    with opencv_threads(1):
        planes = upright_rgb(frame, 1280, 720, 0)
    assert cv2.getNumThreads() > 1  # restored
    np.testing.assert_array_equal(planes, _i420_to_rgb(frame.to_ndarray(), 1920, 1080, 1280, 720))
    diff = np.abs(planes.astype(int) - pooled.astype(int))
    assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 4, (diff.mean(), diff.max())
    ref = cv2.resize(img, (1280, 720), interpolation=cv2.INTER_LINEAR).astype(int)
    for out in (planes, pooled):
        assert np.abs(out.astype(int) - ref).mean() < 2.0
    np.testing.assert_array_equal(upright_rgb(frame, 1280, 720, 1), np.rot90(pooled, 1))


def test_bt709_frames_keep_their_colours_when_scaled() -> None:
    """Phones tag HD video BT.709: a BT.601 conversion would shift its colours."""
    import av
    from av.video.reformatter import Colorspace

    from formcheck.io.video import _plain_i420, opencv_threads, upright_rgb

    img = np.zeros((1080, 1920, 3), np.uint8)
    img[:, :960] = (200, 40, 40)
    img[:, 960:] = (40, 200, 40)
    rgb = av.VideoFrame.from_ndarray(img, format="rgb24")
    frame = rgb.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709)
    assert frame.colorspace == 1 and not _plain_i420(frame, 1280, 720)
    untagged = rgb.reformat(format="yuv420p")  # BT.601, as our own renders are
    assert _plain_i420(untagged, 1280, 720)
    with opencv_threads(1):  # where the plane path is taken (parallel segments, batch)
        for tagged in (frame, untagged):
            out = upright_rgb(tagged, 1280, 720, 0).astype(int)
            assert np.abs(out[360, 300] - (200, 40, 40)).max() <= 3, out[360, 300]
            assert np.abs(out[360, 1000] - (40, 200, 40)).max() <= 3, out[360, 1000]


@pytest.mark.parametrize("fmt", ["yuvj420p", "yuv422p", "yuv420p10le"])
def test_other_pixel_formats_are_left_to_libswscale(fmt: str) -> None:
    """Full-range, 4:2:2 and 10-bit frames (phones write them) convert as libswscale does."""
    import av
    import cv2

    from formcheck.io.video import _plain_i420, upright_rgb

    rng = np.random.default_rng(6)
    img = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (0, 0), 4)
    frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=fmt)
    assert not _plain_i420(frame, 640, 360)
    out = upright_rgb(frame, 640, 360, 0)
    np.testing.assert_array_equal(out, frame.to_ndarray(format="rgb24", width=640, height=360))
    assert np.abs(out.astype(int) - img).mean() < 4


def test_capture_fps_rescales_time(tmp_path: Path) -> None:
    path = tmp_path / "slowmo.mp4"
    with VideoWriter(path, 64, 64, fps=30) as writer:
        for i in range(9):
            writer.write(_marked_frame(64, 64, i))
    info = probe_video(path)
    times = [f.time_s for f in iter_frames(info, time_scale=30 / 240)]
    assert times[-1] == pytest.approx(8 / 240, abs=1e-4)


def test_decoding_stops_at_the_duration_limit(tmp_path: Path) -> None:
    """Decoding is bounded by the limit itself, not only by the header's length."""
    path = tmp_path / "long.mp4"
    with VideoWriter(path, 64, 64, fps=10) as writer:
        for i in range(30):  # 3 s
            writer.write(_marked_frame(64, 64, i))
    info = probe_video(path)
    seen: list[float] = []
    with pytest.raises(InputLimitError, match="--max-duration"):
        for frame in iter_frames(info, max_duration_s=1.0):
            seen.append(frame.time_s)
    assert seen and max(seen) <= 1.0
    assert len(list(iter_frames(info, max_duration_s=5.0))) == 30


def test_header_duration_reads_the_length_or_says_it_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, 64, 64, fps=10) as writer:
        for i in range(25):  # 2.5 s
            writer.write(_marked_frame(64, 64, i))
    assert header_duration_s(path) == pytest.approx(2.5, abs=0.11)
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    assert np.isnan(header_duration_s(bad))
    assert np.isnan(header_duration_s(tmp_path / "missing.mp4"))


def test_text_file_named_mp4_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match="cannot open notes.mp4"):
        probe_video(bad)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe_video(empty)
    with pytest.raises(VideoError, match="no such video"):
        probe_video(tmp_path / "missing.mp4")


def test_truncated_file_fails_cleanly_or_keeps_what_decodes(tmp_path: Path) -> None:
    path = tmp_path / "whole.mp4"
    with VideoWriter(path, 320, 240, fps=30) as writer:
        for i in range(60):
            writer.write(_marked_frame(320, 240, i))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    try:
        info = probe_video(cut)
    except VideoError as exc:  # moov atom at the end: nothing decodable
        assert "cut.mp4" in str(exc)
        return
    frames = list(iter_frames(info))
    assert 0 < len(frames) < 60


def test_writer_encoder_threads(tmp_path: Path) -> None:
    """threads=1 encodes on one thread (batch workers); bad counts are refused."""
    from formcheck.errors import FormcheckError

    with pytest.raises(FormcheckError, match="threads"):
        VideoWriter(tmp_path / "x.mp4", 64, 64, fps=30, threads=-1)
    path = tmp_path / "one.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(path, 64, 64, fps=30, threads=1) as writer:
        for _ in range(5):
            writer.write(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        assert writer._stream is not None
        assert writer._stream.codec_context.thread_count == 1
    assert sum(1 for _ in iter_frames(probe_video(path))) == 5


@pytest.mark.slow
@pytest.mark.parametrize("one_thread", [False, True])
def test_report_video_encoder_follows_the_process_thread_setting(
    analysed_sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: bool
) -> None:
    """Batch workers (OpenCV on one thread) encode the report video on one thread too."""
    import cv2

    from formcheck.io import exports
    from formcheck.io.video import opencv_threads

    analysis, report, _, _ = analysed_sample("side_normal")
    made: list[int] = []

    class Recording(VideoWriter):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            made.append(self.threads)

    monkeypatch.setattr(exports, "VideoWriter", Recording)
    clip = Path(__file__).resolve().parents[1] / "sample_videos" / "side_normal.mp4"
    with opencv_threads(1 if one_thread else max(2, cv2.getNumThreads())):
        exports.render_video_and_frames(analysis, (), tmp_path, clip)
    assert made == [1 if one_thread else 0]
    assert (tmp_path / exports.VIDEO_FILE).is_file()


def test_writer_keeps_colours(tmp_path: Path) -> None:
    """Frames come back in the colours they were written in (the writer converts to
    yuv420p itself): flat patches of primary and grey colours, lossless encoding."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (250, 200, 30)]
    frame = np.zeros((64, 32 * len(colours), 3), np.uint8)
    for k, c in enumerate(colours):
        frame[:, 32 * k : 32 * (k + 1)] = c
    path = tmp_path / "colours.mp4"
    with VideoWriter(path, frame.shape[1], frame.shape[0], fps=30, crf=0) as writer:
        for _ in range(3):
            writer.write(frame)
    back = next(iter(iter_frames(probe_video(path)))).image
    for k, c in enumerate(colours):
        got = back[16:48, 32 * k + 8 : 32 * k + 24].reshape(-1, 3).mean(axis=0)
        assert np.abs(got - np.array(c)).max() <= 4.0, (c, got)
