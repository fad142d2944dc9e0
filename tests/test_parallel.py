"""Segment-parallel pose (formcheck.parallel) and decoding a stretch of a clip (io.video spans)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import FormcheckError
from formcheck.io.video import (
    FrameSpan,
    FrameTimeline,
    TimelineMismatchError,
    frame_timeline,
    iter_frames,
    probe_video,
)
from formcheck.parallel import (
    AUTO_MIN_DURATION_S,
    MIN_SEGMENT_S,
    MIN_WARMUP_FRAMES,
    Segment,
    choose_workers,
    merge_tracks,
    plan_segments,
)
from formcheck.pipeline import AnalysisOptions
from formcheck.pose import N_KEYPOINTS, PoseTrack

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import accuracy  # noqa: E402

# ---------------------------------------------------------------- planning (no video)


@pytest.mark.parametrize("n, workers", [(600, 2), (601, 2), (1800, 3), (36000, 2), (40, 4)])
def test_segments_cover_every_frame_once_in_order(n: int, workers: int) -> None:
    segs = plan_segments(n, 30.0, workers)
    kept = np.concatenate([np.arange(s.first, s.stop) for s in segs])
    np.testing.assert_array_equal(kept, np.arange(n))
    assert len(segs) == min(workers, n)
    assert segs[0].warmup == 0
    for s in segs[1:]:
        assert s.first - s.warmup == min(s.first, max(MIN_WARMUP_FRAMES, 30))
    tracked = [s.stop - s.warmup for s in segs]  # the work of each segment
    assert max(tracked) - min(tracked) <= 1 or n < 4 * workers * 30


def test_warmup_is_one_second_of_frames_and_the_first_segment_keeps_more() -> None:
    segs = plan_segments(6000, 60.0, 2)
    assert segs == [Segment(0, 0, 3030), Segment(warmup=3030 - 60, first=3030, stop=6000)]


def test_worker_count_rules() -> None:
    assert choose_workers(AUTO_MIN_DURATION_S - 1) == 1
    assert choose_workers(AUTO_MIN_DURATION_S + 1) in (1, 2)  # min(2, cores)
    assert choose_workers(600.0, requested=1) == 1
    assert choose_workers(600.0, requested=3) == 3
    assert choose_workers(12.0, requested=4) == int(12.0 // MIN_SEGMENT_S)
    assert choose_workers(3.0, requested=2) == 1
    assert choose_workers(float("nan"), requested=2) == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_workers_option_must_be_a_positive_whole_number(bad: object) -> None:
    with pytest.raises(FormcheckError, match="workers"):
        AnalysisOptions(workers=bad)  # type: ignore[arg-type]


def _track(frames: list[int], times: list[float]) -> PoseTrack:
    n = len(frames)
    return PoseTrack(
        position=np.zeros((n, N_KEYPOINTS, 2)),
        confidence=np.ones((n, N_KEYPOINTS)),
        world_position=np.zeros((n, N_KEYPOINTS, 3)),
        time_s=np.asarray(times, float),
        frame=np.asarray(frames, np.int64),
        width=64,
        height=48,
    )


def test_merge_joins_contiguous_segments_and_rejects_gaps() -> None:
    a = _track([0, 1, 2], [0.0, 0.1, 0.2])
    b = _track([3, 4], [0.3, 0.4])
    merged = merge_tracks([a, b])
    np.testing.assert_array_equal(merged.frame, np.arange(5))
    assert merged.detected_frames == 5
    with pytest.raises(TimelineMismatchError):
        merge_tracks([a, _track([4, 5], [0.4, 0.5])])  # frame 3 missing
    with pytest.raises(TimelineMismatchError):
        merge_tracks([a, _track([3, 4], [0.2, 0.4])])  # time not increasing


def test_jobs_and_tracks_cross_the_pipe_as_plain_data(tmp_path: Path) -> None:
    import io

    from formcheck.io.video import VideoInfo
    from formcheck.parallel import SegmentJob, decode_job, encode_job, read_message, send_message
    from formcheck.pose import PoseSettings

    info = VideoInfo(
        path=str(tmp_path / "clip.mp4"), width=1920, height=1080, rotation=90, fps=29.97,
        n_frames=900, duration_s=float("nan"), codec="h264", file_bytes=123,
    )
    job = SegmentJob(
        info=info,
        timeline=FrameTimeline(pts=np.arange(0, 900 * 3003, 3003), time_base=Fraction(1, 90000)),
        segment=Segment(warmup=420, first=450, stop=900),
        model_path="/m/pose.task",
        model_sha256="ab" * 32,
        settings=PoseSettings(min_detection_confidence=0.4),
        time_scale=0.125,
        max_long_side=1280,
    )
    back = decode_job(encode_job(job))
    assert back.info.path == info.path and back.info.rotation == 90 and back.info.fps == 29.97
    np.testing.assert_array_equal(back.timeline.pts, job.timeline.pts)
    assert back.timeline.time_base == Fraction(1, 90000)
    assert (back.segment, back.settings, back.time_scale) == (job.segment, job.settings, 0.125)

    track = _track([5, 6, 7], [0.1, 0.2, 0.3])
    track.position[1] = np.nan
    stream = io.BytesIO()
    send_message(stream, "progress", 15)
    send_message(stream, "done", track=track)
    send_message(stream, "failed", "VideoError: bad")
    stream.seek(0)
    assert read_message(stream) == ("progress", 15)
    kind, got = read_message(stream)
    assert kind == "done" and (got.width, got.height) == (64, 48)
    np.testing.assert_array_equal(got.position, track.position)
    np.testing.assert_array_equal(got.frame, track.frame)
    assert read_message(stream) == ("failed", "VideoError: bad")
    with pytest.raises(EOFError):
        read_message(stream)


# ---------------------------------------------------------------- decoding spans


def _write_test_clip(path: Path, *, rotate: bool = False) -> list[float]:
    """A clip with a short keyframe interval, B-frames and a variable frame rate.

    Every frame is different (a moving bar and the frame number in grey
    levels), so a wrong frame cannot look right. Returns the frame times.
    """
    import av

    rng = np.random.default_rng(3)
    steps = rng.choice([1, 2, 3], size=150)  # 1/90 s units: variable frame rate
    pts = np.concatenate([[0], np.cumsum(steps)[:-1]])
    w, h = 192, 128
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, 90)
        stream.codec_context.time_base = Fraction(1, 90)
        stream.codec_context.gop_size = 12
        stream.options = {"bf": "2", "sc_threshold": "0"}
        if rotate:
            stream.metadata["rotate"] = "90"
        for i, p in enumerate(pts):
            img = np.full((h, w, 3), (i * 37) % 256, np.uint8)
            img[:, (i * 5) % w : (i * 5) % w + 8] = (255, 0, 0)
            img[: h // 4, : w // 4] = (i * 11) % 256
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = int(p)
            frame.time_base = Fraction(1, 90)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return [float(p) / 90.0 for p in pts]


@pytest.fixture(scope="module", params=[False, True], ids=["upright", "rotated"])
def vfr_clip(request, tmp_path_factory) -> tuple[Path, list[float]]:
    path = tmp_path_factory.mktemp("spans") / f"vfr_{request.param}.mp4"
    times = _write_test_clip(path, rotate=request.param)
    return path, times


def test_timeline_lists_every_frame_in_presentation_order(vfr_clip) -> None:
    path, times = vfr_clip
    info = probe_video(path)
    tl = frame_timeline(info)
    assert tl is not None and len(tl) == len(times)
    serial = list(iter_frames(info))
    assert [f.index for f in serial] == list(range(len(times)))
    np.testing.assert_allclose([f.time_s for f in serial], times, atol=1e-9)
    np.testing.assert_allclose([tl.seconds(i) - tl.seconds(0) for i in range(len(tl))], times)


@pytest.mark.parametrize("first, stop", [(0, 20), (12, 30), (17, 41), (100, 150), (149, 150)])
def test_span_gives_exactly_the_serial_frames(vfr_clip, first: int, stop: int) -> None:
    path, _ = vfr_clip
    info = probe_video(path)
    serial = {f.index: f for f in iter_frames(info)}
    tl = frame_timeline(info)
    assert tl is not None
    got = list(iter_frames(info, span=FrameSpan(tl, first, stop)))
    assert [f.index for f in got] == list(range(first, stop))
    for f in got:
        assert f.time_s == serial[f.index].time_s
        np.testing.assert_array_equal(f.image, serial[f.index].image)
    if info.rotation:
        assert got[0].image.shape[:2] == (192, 128)  # upright: portrait


def test_span_with_a_wrong_timeline_raises(vfr_clip) -> None:
    path, _ = vfr_clip
    info = probe_video(path)
    tl = frame_timeline(info)
    assert tl is not None
    shifted = FrameTimeline(pts=tl.pts + 1, time_base=tl.time_base)
    with pytest.raises(TimelineMismatchError):
        list(iter_frames(info, span=FrameSpan(shifted, 40, 60)))
    short = FrameTimeline(pts=tl.pts[::2], time_base=tl.time_base)  # frames missing
    with pytest.raises(TimelineMismatchError):
        list(iter_frames(info, span=FrameSpan(short, 10, 30)))


# ---------------------------------------------------------------- whole clips (MediaPipe)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    from formcheck.synth import SynthParams, render_clip

    path = tmp_path_factory.mktemp("parallel") / "side_24s.mp4"
    render_clip(SynthParams(duration_s=24.0, width=960, height=540), path)
    return path


@pytest.fixture(scope="module")
def serial_and_parallel(long_clip: Path, model):
    from formcheck.pipeline import analyze_tracks, run_pose, video_summary

    out = {}
    for workers in (1, 2):
        progress: list[tuple[int, int]] = []
        options = AnalysisOptions(workers=workers)
        info, raw, scale = run_pose(long_clip, options, model=model, on_progress=_into(progress))
        analysis = analyze_tracks(raw, video_summary(info, scale, raw), options)
        out[workers] = (raw, analysis, progress)
    return out


def _into(progress: list[tuple[int, int]]):
    def note(done: int, total: int) -> None:
        progress.append((done, total))

    return note


def _contacts(analysis) -> int:
    return sum(e.kind == "initial_contact" for e in analysis.events)


@pytest.mark.slow
def test_parallel_pose_keeps_the_clips_frames_and_times(serial_and_parallel) -> None:
    raw1, _, _ = serial_and_parallel[1]
    raw2, _, progress = serial_and_parallel[2]
    assert raw1.attrs["pose_workers"] == 1 and raw2.attrs["pose_workers"] == 2
    np.testing.assert_array_equal(raw1["frame"].values, raw2["frame"].values)
    np.testing.assert_array_equal(raw1["time"].values, raw2["time"].values)
    n = raw1.sizes["time"]
    assert n == 720 and raw2.attrs["n_frames"] == n
    assert raw2.attrs["detected_frames"] >= 0.95 * n
    done = [d for d, _ in progress]
    assert done == sorted(done) and done[-1] == n


@pytest.mark.slow
def test_parallel_landmarks_match_serial(serial_and_parallel) -> None:
    raw1, analysis1, _ = serial_and_parallel[1]
    raw2, _, _ = serial_and_parallel[2]
    p1, p2 = raw1.position.values[..., 0], raw2.position.values[..., 0]  # time, space, keypoints
    half = plan_segments(raw1.sizes["time"], 30.0, 2)[1].first
    # The first segment runs exactly as the single-process run does.
    np.testing.assert_array_equal(p1[:half], p2[:half])
    # After the join the tracker has another history: frame-to-frame noise, not a shift.
    legs = [i for i, k in enumerate(raw1.keypoints.values) if str(k).endswith(("hip", "knee"))]
    diff = np.hypot(*(p1[half:, :, legs] - p2[half:, :, legs]).transpose(1, 0, 2))
    leg = float(np.nanmedian(np.hypot(*(p1[:, :, legs[0]] - p1[:, :, legs[2]]).T)))
    assert np.nanmedian(diff) < 0.01 * leg * 4  # hip-knee distance is about 1/2 leg length


@pytest.mark.slow
def test_parallel_cadence_matches_serial(serial_and_parallel) -> None:
    _, a1, _ = serial_and_parallel[1]
    _, a2, _ = serial_and_parallel[2]
    assert abs(a1.metrics["cadence_spm"].value - a2.metrics["cadence_spm"].value) < 0.5


@pytest.mark.slow
def test_parallel_contacts_are_as_right_as_serial(long_clip: Path, serial_and_parallel) -> None:
    # The second segment's tracker starts from another history, so a borderline
    # contact can come out either way (the CPU's SIMD path changes MediaPipe's
    # numbers too): the split is judged against the clip's exact contacts, not
    # against the serial count. It may cost at most the one contact the join can
    # touch, and both runs find nearly all of them.
    truth = json.loads(long_clip.with_suffix(".truth.json").read_text())
    wrong = {}
    for workers in (1, 2):
        s = accuracy.score(serial_and_parallel[workers][1], truth)
        wrong[workers] = s["missed"] + s["extra"]
        assert s["missed"] + s["extra"] <= 0.05 * _contacts(serial_and_parallel[1][1]), s
    assert wrong[2] <= wrong[1] + 1, wrong


@pytest.mark.slow
def test_a_clip_that_cannot_be_split_safely_runs_in_one_pass(
    long_clip: Path, model, serial_and_parallel, monkeypatch
) -> None:
    import formcheck.parallel as parallel
    from formcheck.pipeline import run_pose

    real = parallel.frame_timeline

    def wrong_second_half(info):
        tl = real(info)
        pts = tl.pts.copy()
        pts[len(pts) // 3 :] += 1  # the worker's frames will not match: it fails, we fall back
        return FrameTimeline(pts=pts, time_base=tl.time_base)

    monkeypatch.setattr(parallel, "frame_timeline", wrong_second_half)
    _, raw, _ = run_pose(long_clip, AnalysisOptions(workers=2), model=model)
    raw1, _, _ = serial_and_parallel[1]
    assert raw.attrs["pose_workers"] == 1
    np.testing.assert_array_equal(raw.position.values, raw1.position.values)


@pytest.mark.slow
def test_worker_processes_give_the_same_tracks_and_never_rerun_the_script(
    long_clip: Path, tmp_path: Path, serial_and_parallel
) -> None:
    # Segments in worker processes instead of threads, called from a script with no
    # `if __name__ == "__main__":` guard: the workers must not import that script.
    marker = tmp_path / "runs.txt"
    result = tmp_path / "position.npy"
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import numpy as np
            from formcheck.io.model import load_model
            from formcheck.io.video import probe_video
            from formcheck.parallel import parallel_pose
            with open({str(marker)!r}, "a") as fh:
                fh.write("run\\n")
            info = probe_video({str(long_clip)!r})
            track = parallel_pose(info, load_model(), 2, mode="processes")
            np.save({str(result)!r}, track.position)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=900, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert marker.read_text().count("run") == 1
    raw2, _, _ = serial_and_parallel[2]
    in_threads = raw2.position.values[..., 0].transpose(0, 2, 1)  # (time, keypoints, space)
    np.testing.assert_array_equal(np.load(result), in_threads)


def test_cli_rejects_a_worker_count_below_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from formcheck.cli import app

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read")
    result = CliRunner().invoke(app, ["analyze", str(clip), "--workers", "0"])
    assert result.exit_code == 2
    assert "workers" in result.output


@pytest.mark.slow
def test_segments_track_with_one_opencv_thread_and_leave_the_setting_as_it_was(
    long_clip: Path, model, monkeypatch
) -> None:
    """Both cores run an inference: OpenCV's own pool is set to one thread meanwhile."""
    import cv2

    import formcheck.parallel as parallel
    from formcheck.io.video import probe_video

    seen: list[int] = []
    real = parallel.pose_segment

    def counting(*args, **kwargs):
        seen.append(cv2.getNumThreads())
        return real(*args, **kwargs)

    monkeypatch.setattr(parallel, "pose_segment", counting)
    before = cv2.getNumThreads()
    assert before > 1
    track = parallel.parallel_pose(probe_video(long_clip), model, 2)
    assert track is not None
    assert seen == [1, 1]
    assert cv2.getNumThreads() == before
