"""Bad, awkward and unusual inputs through the CLI; limits; path and data safety.

The corpus (``tests/fixtures/corpus.py``) is generated once per session. Each
case is run through ``formcheck analyze`` in this process (``cli.main``, the
same entry point as the ``formcheck`` command; one case also as a real
subprocess) and must either succeed with its limits stated in the report or
exit 2 with one ``error:`` line. ``docs/robustness.md`` lists the same cases.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from formcheck.cli import EXIT_INTERRUPTED, EXIT_USER_ERROR, main
from formcheck.errors import FormcheckError, InputLimitError, UnsafePathError
from formcheck.io.paths import safe_child, upload_file_name
from formcheck.io.tracks import (
    TRACKS_FILE,
    atomic_path,
    load_report,
    load_tracks,
    save_json,
)
from formcheck.io.video import VideoLimits, iter_frames, output_size, probe_video
from formcheck.synth import SynthParams
from tests.fixtures.corpus import CADENCE_SPM, UNICODE_NAME, build_corpus

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- running the CLI once per case


class Run:
    """The outcome of one ``formcheck analyze`` run."""

    def __init__(self, code: int, stdout: str, stderr: str, out: Path) -> None:
        self.code, self.stdout, self.stderr, self.out = code, stdout, stderr, out

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.out / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every corpus file, generated once."""
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def run_case(corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """``run_case(name, *options) -> Run``, cached for the session."""
    cache: dict[tuple[str, ...], Run] = {}

    def run(name: str, *options: str) -> Run:
        key = (name, *options)
        if key not in cache:
            out = tmp_path_factory.mktemp("out") / name
            cache[key] = _in_process(["analyze", str(corpus[name]), "--out", str(out), "--quiet",
                                      *options], out)
        return cache[key]

    return run


def _in_process(argv: list[str], out: Path) -> Run:
    """Run ``cli.main`` with stdout/stderr captured at the file-descriptor level."""
    import tempfile

    with tempfile.TemporaryFile("w+b") as fo, tempfile.TemporaryFile("w+b") as fe:
        saved = os.dup(1), os.dup(2)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fo.fileno(), 1)
        os.dup2(fe.fileno(), 2)
        old_streams = sys.stdout, sys.stderr
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            code = main(argv)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = old_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        fo.seek(0)
        fe.seek(0)
        return Run(code, fo.read().decode("utf-8"), fe.read().decode("utf-8"), out)


def _assert_one_error_line(run: Run, *needles: str) -> None:
    assert run.code == EXIT_USER_ERROR, run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.lines) == 1, run.stderr
    line = run.lines[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, line
    assert not (run.out / "report.json").exists()


def _assert_clean_success(run: Run) -> dict[str, Any]:
    assert run.code == 0, run.stderr
    assert run.stderr == "" and run.stdout == ""  # --quiet
    report = run.report
    leftovers = [p.name for p in run.out.rglob("*") if p.name.endswith((".part", ".tmp.mp4"))]
    assert leftovers == []
    for name, m in report["metrics"].items():
        # Never a bare number: anything not "ok" says why; a missing value is never "ok".
        if m["status"] != "ok":
            assert m["reason"], name
        if m["value"] is None:
            assert m["status"] != "ok", name
    return report


# ---------------------------------------------------------------- files that are not clips


def test_text_file_named_mp4(run_case) -> None:
    _assert_one_error_line(run_case("text_as_mp4"), "notes.mp4", "text file, not a video")


def test_truncated_mp4(run_case) -> None:
    _assert_one_error_line(run_case("truncated"), "truncated.mp4", "cut short", "again")


def test_zero_frames(run_case) -> None:
    _assert_one_error_line(run_case("zero_frames"), "contains no video frames")


def test_audio_only(run_case) -> None:
    _assert_one_error_line(run_case("audio_only"), "only sound, no picture")


# ---------------------------------------------------------------- clips that cannot be measured


def test_one_second_clip_is_too_short(run_case) -> None:
    _assert_one_error_line(
        run_case("one_second"), "one_second.mp4 is only 1.0 s long", "too short for two strides"
    )


def test_empty_treadmill(run_case) -> None:
    _assert_one_error_line(
        run_case("empty_treadmill"), "no runner found", "no person was detected"
    )


def test_very_dark_clip(run_case) -> None:
    _assert_one_error_line(run_case("very_dark"), "no runner found", "very dark", "light")


def test_slow_motion_is_flagged_not_measured(run_case) -> None:
    run = run_case("slow_motion")
    _assert_one_error_line(run, "looks like slow motion", "nothing was measured", "--capture-fps",
                           "trim the clip to its slow part")
    assert not (run.out / "report.json").exists()


# ---------------------------------------------------------------- awkward clips that succeed


def test_4k_clip_is_downscaled_before_pose(run_case) -> None:
    report = _assert_clean_success(run_case("clip_4k", "--max-resolution", "960"))
    video = report["video"]
    assert (video["width"], video["height"]) == (3840, 2160)
    assert (video["analysed_width"], video["analysed_height"]) == (960, 540)
    assert any("downscaled from 3840x2160 to 960x540" in w for w in video["warnings"])
    tracks = load_tracks(run_case("clip_4k", "--max-resolution", "960").out / TRACKS_FILE)
    assert (tracks.attrs["width"], tracks.attrs["height"]) == (960, 540)
    assert float(np.nanmax(tracks.position.sel(space="x").values)) < 960


def test_runner_leaving_midway_analyses_the_visible_part(run_case) -> None:
    report = _assert_clean_success(run_case("leaves_midway"))
    assert report["pose_quality"]["detection_rate"] == pytest.approx(4.0 / 4.5, abs=0.03)
    assert any("seen only from 0.0 s to 4.0 s of 4.5 s" in w for w in report["video"]["warnings"])
    cadence = report["metrics"]["cadence_spm"]
    assert cadence["status"] == "ok"
    assert cadence["value"] == pytest.approx(CADENCE_SPM, rel=0.04)
    assert max(e["time_s"] for e in report["events"]) < 4.1


def test_bystander_picked_up_by_the_tracker_is_not_measured(run_case) -> None:
    from tests.fixtures.corpus import BYSTANDER_S

    report = _assert_clean_success(run_case("bystander"))
    # Before: the other person's strides were mixed in (and the clip read as overground).
    assert report["setting"] == "treadmill" and report["view"] == "side"
    assert any(
        f"seen only from {BYSTANDER_S[1]:.1f} s to 9.0 s" in w and "jumped between bodies" in w
        for w in report["video"]["warnings"]
    )
    times = [e["time_s"] for e in report["events"]]
    assert min(times) >= BYSTANDER_S[1] and max(times) <= 9.0
    assert report["metrics"]["cadence_spm"]["value"] == pytest.approx(CADENCE_SPM, rel=0.03)


def test_two_people_measures_one_and_says_so_if_tracking_jumps(run_case) -> None:
    run = run_case("two_people")
    report = _assert_clean_success(run)
    cadence = report["metrics"]["cadence_spm"]["value"]
    # One person's cadence (left runner 170, right runner 150), not a blend of both.
    assert min(abs(cadence - 170.0) / 170.0, abs(cadence - 150.0) / 150.0) < 0.04, cadence
    tracks = load_tracks(run.out / TRACKS_FILE)
    hip_x = tracks.position.sel(keypoints=["left_hip", "right_hip"], space="x").mean("keypoints")
    x = hip_x.values[np.isfinite(hip_x.values)]
    # One body's strides only: if the tracker jumped, only one side's stretch is kept.
    assert not (np.any(x < 320) and np.any(x > 320))
    # Whether or not the tracker jumps, the people count in sampled frames says so, and
    # which of the two was measured.
    side = "left" if np.median(x) < 320 else "right"
    assert any(
        "someone else is in view" in w and f"followed the person on the {side} of the picture" in w
        for w in report["video"]["warnings"]
    ), report["video"]["warnings"]
    assert tracks.attrs["people_max"] == 2 and tracks.attrs["frames_with_others"] >= 1


def test_one_runner_alone_gets_no_people_warning(run_case) -> None:
    report = _assert_clean_success(run_case("variable_frame_rate"))
    assert not any("someone else" in w for w in report["video"]["warnings"])


def test_portrait_clip_with_rotation_metadata(run_case) -> None:
    report = _assert_clean_success(run_case("portrait_rotated"))
    video = report["video"]
    assert (video["width"], video["height"], video["rotation_deg"]) == (360, 640, 90)
    assert video["orientation"] == "portrait"
    assert (video["analysed_width"], video["analysed_height"]) == (360, 640)
    # Seen upright, the runner is found facing left; sideways frames would not give a side view.
    assert report["view"] == "side" and report["direction"] == "left"
    assert report["pose_quality"]["detection_rate"] > 0.95


def test_variable_frame_rate_uses_real_frame_times(run_case) -> None:
    report = _assert_clean_success(run_case("variable_frame_rate"))
    video = report["video"]
    assert video["variable_frame_rate"] is True
    assert video["frames"] == 125
    cadence = report["metrics"]["cadence_spm"]
    assert cadence["status"] == "ok"
    assert cadence["value"] == pytest.approx(CADENCE_SPM, rel=0.03)
    # Filtered on a uniform time grid, the uneven frames do not bend the trajectories:
    # overstride within issue 3's 3 points of the rendered 8 % (it read -16.5 before).
    overstride = report["metrics"]["overstride_pct_leg"]
    assert overstride["value"] == pytest.approx(SynthParams().overstride_pct_leg, abs=3.0)


def test_slow_motion_with_capture_rate_tag_is_measured_in_real_time(run_case) -> None:
    report = _assert_clean_success(run_case("slow_motion_tagged"))
    video = report["video"]
    assert video["playback_fps"] == pytest.approx(30.0)
    assert video["capture_fps"] == pytest.approx(60.0)
    assert video["capture_fps_source"] == "metadata"
    assert video["fps"] == pytest.approx(60.0, rel=0.01)
    assert video["duration_s"] == pytest.approx(2.1, abs=0.05)
    assert any("filmed at 60 fps" in w for w in video["warnings"])
    cadence = report["metrics"]["cadence_spm"]
    # Real-time steps per minute (not the playback rate, half of it).
    assert cadence["value"] == pytest.approx(CADENCE_SPM, rel=0.12)


def test_unicode_file_name(run_case) -> None:
    run = run_case("unicode_name")
    report = _assert_clean_success(run)
    assert report["video"]["file"] == UNICODE_NAME
    # 2.5 s at 15 fps: numbers are shown, none as ok; each says why.
    metrics = report["metrics"]
    assert "strides" in metrics["cadence_spm"]["reason"]
    for name in ("cadence_spm", "overstride_pct_leg", "shank_angle_ic_deg"):
        assert metrics[name]["status"] == "low_confidence", name
    manifest = json.loads((run.out / "outputs.json").read_text(encoding="utf-8"))
    assert Path(manifest["source_video"]).name == UNICODE_NAME


def test_unicode_names_in_a_real_process_with_a_c_locale(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    # A real `formcheck` process, C locale: the name reaches the file system and the
    # one-line message intact (the limit makes it stop before pose estimation).
    out = tmp_path / "résultats ü"
    proc = subprocess.run(
        [sys.executable, "-m", "formcheck.cli", "analyze", str(corpus["unicode_name"]),
         "--out", str(out), "--max-duration", "1"],
        capture_output=True, cwd=REPO, timeout=300, env={**os.environ, "LC_ALL": "C"},
    )
    stderr = proc.stderr.decode("utf-8")
    assert proc.returncode == EXIT_USER_ERROR
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines == [
        f"error: {UNICODE_NAME} lasts 2.5 s, over the 1 s limit. Trim it to the part you want "
        "analysed or raise the limit (--max-duration)."
    ]


def test_no_decoder_thread_outlives_the_runs(run_case) -> None:
    for name in ("truncated", "one_second", "slow_motion", "variable_frame_rate"):
        run_case(name)
    alive = [t.name for t in threading.enumerate() if t.name == "formcheck-decode"]
    assert alive == []


# ---------------------------------------------------------------- limits


def test_limits_from_the_command_line(corpus: dict[str, Path], tmp_path: Path) -> None:
    clip = str(corpus["variable_frame_rate"])
    out = tmp_path / "o"
    size = _in_process(["analyze", clip, "--out", str(out), "--max-size-mb", "0.1"], out)
    _assert_one_error_line(size, "over the 0.1 MB limit", "--max-size-mb")
    long = _in_process(["analyze", clip, "--out", str(out), "--max-duration", "2"], out)
    _assert_one_error_line(long, "lasts 4.0 s, over the 2 s limit", "--max-duration")
    for option, value, needle in (
        ("--max-resolution", "10", "at least 64 pixels"),
        ("--max-size-mb", "-1", "--max-size-mb must be a positive number"),
        ("--max-duration", "nan", "--max-duration must be a positive number"),
        ("--capture-fps", "0", "--capture-fps must be the frame rate"),
    ):
        bad = _in_process(["analyze", clip, "--out", str(out), option, value], out)
        _assert_one_error_line(bad, needle)


def test_input_resolution_cap_refuses_before_decoding(corpus: dict[str, Path]) -> None:
    with pytest.raises(InputLimitError, match="3840x2160 pixels, over the 2000-pixel limit"):
        probe_video(corpus["clip_4k"], VideoLimits(max_input_long_side=2000))
    info = probe_video(corpus["clip_4k"])
    assert output_size(info, 1920) == (1920, 1080)
    assert output_size(info, 4000) == (3840, 2160)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_bytes": 0}, {"max_duration_s": -1.0}, {"max_long_side": 32},
     {"max_duration_s": math.inf}, {"max_bytes": True}],
)
def test_video_limits_must_be_positive(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputLimitError):
        VideoLimits(**kwargs)


def test_capture_rate_tag_and_option(corpus: dict[str, Path]) -> None:
    from formcheck.pipeline import capture_fps_source, time_scale_for

    tagged = probe_video(corpus["slow_motion_tagged"])
    plain = probe_video(corpus["slow_motion"])
    assert tagged.capture_fps_tag == pytest.approx(60.0) and plain.capture_fps_tag is None
    assert time_scale_for(tagged, None) == pytest.approx(0.5)
    assert capture_fps_source(tagged, 0.5) == "metadata"
    assert time_scale_for(tagged, 240.0) == pytest.approx(0.125)  # the option wins
    assert capture_fps_source(tagged, 0.125) == "option"
    assert time_scale_for(plain, None) == 1.0 and capture_fps_source(plain, 1.0) == "file"
    for bad in (0.0, -30.0, math.nan, math.inf):
        with pytest.raises(FormcheckError, match="--capture-fps"):
            time_scale_for(plain, bad)


# ---------------------------------------------------------------- pipeline checks on tracks


def _runner(**kw: Any):
    from tests.fixtures.runner import Runner, make_runner

    return make_runner(Runner(**kw))


def test_partial_visibility_is_trimmed_and_too_short_is_refused() -> None:
    from formcheck.errors import ClipTooShortError
    from formcheck.pipeline import check_runner, runner_span, visible_part

    ds = _runner(duration_s=6.0, fps=30.0)
    ds.attrs.update(n_frames=180, detected_frames=120)
    ds["position"][120:] = np.nan
    assert runner_span(ds) == (0, 120)
    part, notes = visible_part(ds)
    assert part.sizes["time"] == 120 and "from 0.0 s to 4.0 s of 6.0 s" in notes[0]
    check_runner(ds, "clip.mp4")  # 4 s seen: fine
    # Seen in two 1.5 s stretches separated by a long gap: too short at a time.
    ds2 = _runner(duration_s=6.0, fps=30.0)
    ds2["position"][45:150] = np.nan
    ds2.attrs.update(n_frames=180, detected_frames=75)
    with pytest.raises(ClipTooShortError, match="seen for only 1.5 s at a time"):
        check_runner(ds2, "clip.mp4")


def _moved(ds: xr.Dataset, frames: slice, dx: float, scale: float = 1.0) -> xr.Dataset:
    """``ds`` with the body in ``frames`` scaled about its own mid-hip, then moved ``dx`` px."""
    pos = ds["position"].values.copy()  # (time, space, keypoints, individuals)
    names = list(ds["keypoints"].values)
    hips = [names.index("left_hip"), names.index("right_hip")]
    centre = pos[frames][:, :, hips].mean(axis=2, keepdims=True)
    pos[frames] = centre + (pos[frames] - centre) * scale
    pos[frames, 0] += dx
    return ds.assign(position=(ds["position"].dims, pos))


def test_body_span_splits_at_another_body_and_drops_glitches() -> None:
    from formcheck.errors import ClipTooShortError
    from formcheck.pipeline import body_span, check_runner, visible_part

    ds = _runner(duration_s=8.0, fps=30.0)
    ds.attrs.update(n_frames=240, detected_frames=240)
    whole = body_span(ds)
    assert (whole.first, whole.stop, whole.switches, whole.dropped.size) == (0, 240, 0, 0)
    # Someone else, half the size and elsewhere, from 3 s to 4 s: the 4 s after is kept.
    other = _moved(ds, slice(90, 120), 400.0, 0.5)
    span = body_span(other)
    assert (span.first, span.stop, span.switches) == (120, 240, 2)
    part, notes = visible_part(other)
    assert part.sizes["time"] == 120
    assert "from 4.0 s to 8.0 s of 8.0 s" in notes[0] and "jumped between bodies" in notes[0]
    # The same size at another place is a jump; so is another size at the same place.
    assert body_span(_moved(ds, slice(90, 120), 400.0)).first == 120
    assert body_span(_moved(ds, slice(90, 120), 0.0, 0.5)).first == 120
    assert body_span(_moved(ds, slice(90, 120), 0.0, 0.8)).first == 0  # within SIZE_JUMP
    # A jump that is half known (shoulders missing at the switch) still counts.
    half = _moved(ds, slice(90, 120), 400.0)
    half["position"].loc[{"keypoints": ["left_shoulder", "right_shoulder"]}][90:93] = np.nan
    assert body_span(half).first == 120
    # A jump away and back within 0.2 s is a glitch: nothing is cut, its frames are dropped.
    glitch = _moved(ds, slice(100, 106), 400.0, 0.5)
    span = body_span(glitch)
    assert (span.first, span.stop, span.switches) == (0, 240, 0)
    assert span.dropped.tolist() == list(range(100, 106))
    part, notes = visible_part(glitch)
    assert notes == [] and part.sizes["time"] == 240
    assert np.isnan(part["position"].values[100:106]).all()
    kept = part["position"].values[[99, 106]]
    np.testing.assert_array_equal(kept, ds["position"].values[[99, 106]])
    # A glitch in two directions (+250 px, then -250 px), and one at the very start.
    twice = _moved(_moved(ds, slice(120, 123), 250.0), slice(123, 126), -250.0)
    span = body_span(twice)
    assert (span.first, span.stop, span.switches) == (0, 240, 0)
    start = body_span(_moved(ds, slice(0, 4), 400.0, 0.5))
    assert (start.first, start.stop, start.switches) == (0, 240, 0)
    assert start.dropped.tolist() == [0, 1, 2, 3]
    # Alternating bodies every second: nobody is seen for two strides at a time.
    flip = ds
    for first in range(30, 240, 60):
        flip = _moved(flip, slice(first, first + 30), 400.0, 0.5)
    with pytest.raises(ClipTooShortError, match="jumped between bodies"):
        check_runner(flip, "clip.mp4")


def test_body_span_keeps_noisy_and_overground_runners_whole() -> None:
    from formcheck.pipeline import body_span

    rng = np.random.default_rng(3)
    for view in ("side", "rear"):
        ds = _runner(duration_s=8.0, fps=30.0, view=view)
        noise = rng.normal(0.0, 0.06 * 300.0, ds["position"].shape)  # 6 % of the leg
        noisy = ds.assign(position=ds["position"] + noise)
        span = body_span(noisy)
        assert (span.first, span.stop, span.switches) == (0, 240, 0), view
    # An overground runner crossing at 5 m/s (about 5.5 leg lengths a second) with a
    # 0.3 s detection gap, seen at 15 fps: one body throughout.
    ds = _runner(duration_s=8.0, fps=15.0)
    t = ds["time"].values
    crossing = ds.assign(position=ds["position"] + xr.DataArray(
        5.5 * 300.0 * t, dims="time") * (ds["space"] == "x"))
    crossing["position"][40:44] = np.nan
    span = body_span(crossing)
    assert (span.first, span.stop, span.switches) == (0, 120, 0)


def test_leg_rhythm_matches_cadence_in_real_and_slowed_time() -> None:
    from formcheck.pipeline import leg_rhythm_spm

    ds = _runner(duration_s=6.0, fps=60.0, cadence_spm=170.0)
    est, bound = leg_rhythm_spm(ds)
    assert est == pytest.approx(170.0, rel=0.1) and bound > est
    slowed = ds.assign_coords(time=ds["time"].values * 8.0)
    est8, bound8 = leg_rhythm_spm(slowed)
    assert est8 == pytest.approx(170.0 / 8.0, rel=0.15) and bound8 < 100.0
    still = ds.copy(deep=True)
    still["position"][:] = still["position"].isel(time=0).values
    assert all(math.isnan(v) for v in leg_rhythm_spm(still))


# ---------------------------------------------------------------- safety: paths


@pytest.mark.parametrize(
    "parts",
    [("..",), ("a", ".."), ("a/../..",), ("..\\evil",), (" .. ",), ("/etc/passwd",),
     ("\\\\server\\share",), ("C:\\Windows",), ("c:evil",), ("a\x00b",), ("line\nbreak",),
     ("",), (".",), ("a//b",), ()],
)
def test_safe_child_rejects_unsafe_names(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(UnsafePathError):
        safe_child(tmp_path, *parts)


def test_safe_child_rejects_symlink_escapes(tmp_path: Path) -> None:
    base = tmp_path / "out"
    base.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (base / "athlete").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="leads outside"):
        safe_child(base, "athlete", "report.json")
    (base / "inner").mkdir()
    (base / "alias").symlink_to(base / "inner", target_is_directory=True)
    assert safe_child(base, "alias", "x.json") == base / "alias" / "x.json"


def test_safe_child_accepts_ordinary_names(tmp_path: Path) -> None:
    assert safe_child(tmp_path, "Łódź Team", "Ana María", "run 1.mp4") == (
        tmp_path / "Łódź Team" / "Ana María" / "run 1.mp4"
    )
    assert safe_child(tmp_path, "a/b", "c..d") == tmp_path / "a" / "b" / "c..d"
    assert safe_child(tmp_path / "not-yet", "x") == tmp_path / "not-yet" / "x"


def test_upload_names_never_come_from_the_uploader() -> None:
    digest = "ab" * 32
    assert upload_file_name("../../etc/passwd", digest) == "upload-abababababababab.mp4"
    assert upload_file_name("C:\\Users\\me\\Run.MOV", digest) == "upload-abababababababab.mov"
    assert upload_file_name("run.mp4\x00.sh", digest) == "upload-abababababababab.mp4"
    with pytest.raises(UnsafePathError):
        upload_file_name("run.mp4", "../../x")


def test_no_pickle_or_eval_of_user_files() -> None:
    forbidden = ("import pickle", "pickle.load", "eval(", "exec(", "allow_pickle=True",
                 "yaml.load(", "import marshal", "import shelve", "__import__(", "torch.load")
    hits = [
        f"{path.relative_to(REPO)}: {needle}"
        for path in (REPO / "formcheck").rglob("*.py")
        for needle in forbidden
        if needle in path.read_text(encoding="utf-8")
    ]
    assert hits == []


# ---------------------------------------------------------------- data safety: atomic writes


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    dest = tmp_path / "report.json"
    save_json(dest, {"ok": 1})
    with pytest.raises(TypeError):
        save_json(dest, {"bad": object()})
    assert json.loads(dest.read_text()) == {"ok": 1}
    with pytest.raises(KeyboardInterrupt), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert json.loads(dest.read_text()) == {"ok": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_crash_midway_leaves_no_report_marked_complete(
    run_case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import formcheck.io.outputs as outputs
    from formcheck.pipeline import AnalysisOptions, analyze_tracks

    done = run_case("variable_frame_rate")
    _assert_clean_success(done)
    out = tmp_path / "again"
    shutil.copytree(done.out, out)  # a complete earlier result in the folder
    old = load_report(out / "report.json")
    analysis = analyze_tracks(load_tracks(out / TRACKS_FILE), old["video"], AnalysisOptions())

    def crash(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "write_html", crash)
    with pytest.raises(KeyboardInterrupt):
        outputs.write_analysis(analysis, out, write_tracks=True)
    assert not (out / "report.json").exists()  # the stale report is gone, nothing new is marked
    assert not [p for p in out.rglob("*") if p.name.endswith((".part", ".tmp.mp4"))]
    load_tracks(out / TRACKS_FILE)  # what was replaced was replaced whole


def test_interrupt_is_one_line_and_exit_130(
    corpus: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import formcheck.pipeline as pipeline

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_pose", interrupted)
    out = tmp_path / "p" / "o"
    run = _in_process(["analyze", str(corpus["variable_frame_rate"]), "--out", str(out)], out)
    assert run.code == EXIT_INTERRUPTED
    assert run.lines == ["interrupted; nothing half-written was kept."]
    assert not (tmp_path / "p").exists()  # nor the parent folder --out needed


# ---------------------------------------------------------------- damaged output folders


_VIDEO = {"file": "a.mp4", "width": 640, "height": 360, "frames": 90, "duration_s": 3.0, "fps": 30}


@pytest.mark.parametrize(
    "content,needle",
    [
        ([1, 2, 3], "not a JSON object"),
        ({"video": 3}, "no video section"),
        ({"video": {**_VIDEO, "width": "640"}}, "video width is not a number"),
        ({"video": {**_VIDEO, "file": 7}}, "no file name"),
        ({"video": {**_VIDEO, "warnings": [1]}}, "warnings are not a list of text"),
        ({"video": _VIDEO, "options": {"view": "top"}}, "unknown view"),
        ({"video": _VIDEO, "options": {"capture_fps": "240"}}, "capture_fps is not a positive"),
        ({"video": _VIDEO, "options": {"height_m": -1.8}}, "height_m is not a positive"),
        ({"video": _VIDEO, "options": []}, "options is not an object"),
        (b"{" * 100_000, "not a valid formcheck JSON"),
        (b'{"video": "\xff\xfe"}', "not a valid formcheck JSON"),
    ],
)
def test_report_command_on_damaged_report(tmp_path: Path, content: Any, needle: str) -> None:
    data = content if isinstance(content, bytes) else json.dumps(content).encode("utf-8")
    (tmp_path / "report.json").write_bytes(data)
    run = _in_process(["report", str(tmp_path), "--quiet"], tmp_path)
    assert run.code == EXIT_USER_ERROR, run.stderr
    assert len(run.lines) == 1 and run.lines[0].startswith("error: ") and needle in run.lines[0]


def test_report_command_on_damaged_tracks(run_case, tmp_path: Path) -> None:
    import shutil

    done = run_case("variable_frame_rate")
    out = tmp_path / "copy"
    shutil.copytree(done.out, out)
    data = (out / TRACKS_FILE).read_bytes()
    (out / TRACKS_FILE).write_bytes(data[: len(data) // 3])
    run = _in_process(["report", str(out), "--quiet"], out)
    assert run.code == EXIT_USER_ERROR
    assert len(run.lines) == 1 and "tracks.nc is not a readable tracks file" in run.lines[0]


def test_missed_contacts_are_not_taken_for_slow_motion() -> None:
    """Contacts at half the pace while the legs swing at running pace: contacts were
    missed (a rear clip's feet lost by the pose model), not a slowed clip."""
    from formcheck.errors import SlowMotionError
    from formcheck.metrics import Metric
    from formcheck.pipeline import check_timing

    ds = _runner(duration_s=6.0, fps=30.0, cadence_spm=170.0)
    half = {"cadence_spm": Metric("cadence_spm", 85.0, "steps/min", 3.0, "low_confidence", "")}
    out = check_timing(ds, ds, half, {"file": "rear.mp4"})
    cadence = out["cadence_spm"]
    assert cadence.value is None and cadence.status == "low_confidence"
    assert "contacts were missed" in cadence.reason and "85" in cadence.reason
    # The same clip played at half speed: legs and contacts both slow, refused.
    slowed = ds.assign_coords(time=ds["time"].values * 2.0)
    with pytest.raises(SlowMotionError, match="looks like slow motion"):
        check_timing(slowed, slowed, half, {"file": "rear.mp4"})


def _turned(ds: xr.Dataset, frames: slice | np.ndarray, how: str) -> xr.Dataset:
    """``ds`` with the skeleton in ``frames`` upside down, or its torso folded down."""
    pos = ds["position"].values.copy()  # (time, space, keypoints, individuals)
    names = list(ds["keypoints"].values)
    hips = [names.index("left_hip"), names.index("right_hip")]
    hip_x = pos[frames][:, 0, hips].mean(axis=1)
    hip_y = pos[frames][:, 1, hips].mean(axis=1)
    if how == "upside_down":
        pos[frames, 1] = 2 * hip_y[:, None, :] - pos[frames, 1]
    elif how == "sideways":  # a quarter turn about the mid-hip
        x, y = pos[frames, 0] - hip_x[:, None, :], pos[frames, 1] - hip_y[:, None, :]
        pos[frames, 0], pos[frames, 1] = hip_x[:, None, :] + y, hip_y[:, None, :] - x
    else:  # shoulders mirrored below the hips, legs untouched
        for name in ("left_shoulder", "right_shoulder"):
            k = names.index(name)
            pos[frames, 1, k] = 2 * hip_y - pos[frames, 1, k]
    return ds.assign(position=(ds["position"].dims, pos))


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("upside_down", "appears upside down"),
        ("folded", "film closer"),
        ("sideways", "lying on their side"),
    ],
)
def test_a_clip_of_skeletons_that_are_not_upright_is_refused(how: str, message: str) -> None:
    # A tester's upside-down clip gave trunk lean 158 deg "measured"; a small runner's
    # folded skeletons made trunk lean -158 deg the top fix.
    from formcheck.errors import NoRunnerError
    from formcheck.pipeline import AnalysisOptions, analyze_tracks, drop_inverted_poses

    ds = _runner(duration_s=8.0, fps=30.0)
    ds.attrs.update(n_frames=240, detected_frames=240, source="clip.mp4")
    bad = _turned(ds, np.arange(240) % 10 < 7, how)  # 70 % of frames
    with pytest.raises(NoRunnerError, match=message):
        drop_inverted_poses(bad, "clip.mp4")
    with pytest.raises(NoRunnerError, match=message):
        analyze_tracks(bad, {"fps": 30.0, "frames": 240}, AnalysisOptions())


def test_a_few_skeletons_that_are_not_upright_are_left_out() -> None:
    from formcheck.pipeline import (
        AnalysisOptions,
        analyze_tracks,
        drop_inverted_poses,
        inverted_frames,
    )

    ds = _runner(duration_s=8.0, fps=30.0, cadence_spm=170.0)
    ds.attrs.update(n_frames=240, detected_frames=240, source="clip.mp4")
    assert not np.any(np.logical_or(*inverted_frames(ds)))  # an upright runner: nothing to drop
    assert drop_inverted_poses(ds, "clip.mp4") == (ds, [])
    glitches = np.zeros(240, bool)
    glitches[[20, 21, 90, 150, 151, 152]] = True
    bad = _turned(ds, glitches, "folded")
    kept, notes = drop_inverted_poses(bad, "clip.mp4")
    assert np.isnan(kept["position"].values[glitches]).all()
    assert np.isnan(kept["confidence"].values[glitches]).all()  # no face counted there either
    assert np.isfinite(kept["position"].values[~glitches]).any(axis=(1, 2, 3)).all()
    assert kept.attrs["detected_frames"] == 234 and "6 of 240 frames" in notes[0]
    an = analyze_tracks(bad, {"fps": 30.0, "frames": 240}, AnalysisOptions())
    assert an.metrics["cadence_spm"].value == pytest.approx(170.0, abs=1.0)
    assert any("6 of 240 frames" in w for w in an.video["warnings"])


def test_a_file_cut_short_gets_a_note(tmp_path: Path) -> None:
    # A tester's upload with its header first and half its frames missing was analysed
    # without a word: "179 frames, 6.0 s" for a file whose header says 12 s.
    import av

    from formcheck.io.writer import VideoWriter
    from formcheck.pipeline import input_notes, video_summary

    whole = tmp_path / "whole.mp4"
    rng = np.random.default_rng(0)  # noisy frames: each one a sizeable packet
    with VideoWriter(whole, 64, 48, fps=30) as writer:
        for _ in range(120):
            writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    cut = tmp_path / "cut.mp4"
    faststart = {"movflags": "faststart"}
    with av.open(str(whole)) as src, av.open(str(cut), "w", options=faststart) as dst:
        out = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                dst.mux(packet)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the header first, then half the frames

    def notes_for(path: Path) -> list[str]:
        info = probe_video(path)
        times = np.array([f.time_s for f in iter_frames(info)])
        ds = xr.Dataset(coords={"time": times})
        return input_notes(video_summary(info, 1.0, ds))

    assert not any("cut short" in n for n in notes_for(whole))
    assert any("header says 4.0 s" in n and "cut short" in n for n in notes_for(cut))


def test_the_note_on_other_people_says_where_the_followed_one_is() -> None:
    from formcheck.pipeline import tracking_notes

    ds = _runner(duration_s=4.0, fps=30.0)  # hips at the picture's centre
    ds.attrs.update(frames_with_others=2, people_sampled=6, people_max=2)
    assert "followed the person in the middle of the picture" in tracking_notes(ds)[0]
    left = _moved(ds, slice(None), dx=-0.3 * float(ds.attrs["width"]))
    assert "followed the person on the left of the picture" in tracking_notes(left)[0]
    ds.attrs["width"] = 0  # size unknown: no place named
    assert "followed the person it could track" in tracking_notes(ds)[0]
    ds.attrs["frames_with_others"] = 0
    assert tracking_notes(ds) == []
