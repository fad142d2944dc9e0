"""The app's building blocks without Streamlit: frame reader, staging, display data, cache."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from formcheck.errors import FormcheckError, VideoError
from formcheck.findings import default_rules
from formcheck.io.frames import FORWARD_DECODE_LIMIT, FrameReader
from formcheck.io.video import iter_frames, probe_video
from formcheck.io.workspace import (
    annotated_video_rel,
    output_file,
    sha256_bytes,
    sha256_file,
    staged_uploads,
    upload_suffix,
    zip_folder,
)
from formcheck.io.writer import VideoWriter
from formcheck.pipeline import AnalysisOptions
from formcheck.ui.present import (
    clean_error,
    display_name,
    flagged_frames,
    metric_card,
    metric_cards,
    metric_label,
    progress_text,
    report_context,
    time_left,
    upload_limit_mb,
)
from formcheck.ui.runner import ClipRequest, ResultStore, session_key

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------- frame reader


@pytest.fixture(scope="module")
def numbered_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-frame H.264 clip whose frame i is filled with grey level i % 250 (long GOP)."""
    path = tmp_path_factory.mktemp("frames") / "numbered.mp4"
    with VideoWriter(path, 64, 48, fps=30, crf=0) as writer:
        for i in range(300):
            writer.write(np.full((48, 64, 3), i % 250, np.uint8))
    return path


def test_frame_reader_matches_sequential_decoding_in_any_order(numbered_clip: Path) -> None:
    frames = [f.image for f in iter_frames(probe_video(numbered_clip))]
    with FrameReader(numbered_clip) as reader:
        assert len(reader) == len(frames) == 300
        order = [0, 299, 150, 151, 152, 10, 9, 200, 200 + FORWARD_DECODE_LIMIT // 2, 5]
        for i in order:
            frame = reader.read(i)
            assert frame.index == i
            assert np.array_equal(frame.image, frames[i]), i
            assert frame.time_s == pytest.approx(i / 30, abs=1e-3)
        with pytest.raises(VideoError, match="no frame 300"):
            reader.read(300)
    with pytest.raises(VideoError, match="closed"):
        reader.read(0)


def test_frame_reader_on_a_sample_clip_equals_iter_frames() -> None:
    clip = REPO / "sample_videos" / "rear_valgus_right.mp4"
    frames = [f.image for f in iter_frames(probe_video(clip))]
    with FrameReader(clip) as reader:
        for i in (len(frames) - 1, 0, 100, 101, 55):
            assert np.array_equal(reader.read(i).image, frames[i])


def test_frame_reader_refuses_a_non_video(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(VideoError):
        FrameReader(bad)


# ---------------------------------------------------------------------- workspace


def test_uploads_are_staged_under_fixed_names_and_removed() -> None:
    with staged_uploads([(b"abc", "../../etc/passwd"), (b"defg", "Run 1.MOV")]) as paths:
        assert [p.name for p in paths] == ["clip_1.mp4", "clip_2.mov"]
        assert paths[0].read_bytes() == b"abc" and paths[1].read_bytes() == b"defg"
        folder = paths[0].parent
        assert folder.parent == Path(tempfile.gettempdir())
    assert not folder.exists()
    with pytest.raises(RuntimeError), staged_uploads([(b"x", "a.avi")]) as paths:
        kept = paths[0]
        raise RuntimeError("analysis failed")
    assert not kept.exists()


def test_upload_suffix_only_from_the_allowed_list() -> None:
    assert upload_suffix("clip.M4V") == ".m4v"
    assert upload_suffix("clip.exe") == ".mp4"
    assert upload_suffix("..\\..\\x.avi") == ".avi"
    assert upload_suffix("noext") == ".mp4"


def test_output_file_stays_inside_its_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"png")
    (tmp_path.parent / "secret.txt").write_text("no")
    assert output_file(tmp_path, "images/a.png").read_bytes() == b"png"
    with pytest.raises(FormcheckError):
        output_file(tmp_path, "../secret.txt")
    with pytest.raises(FormcheckError):
        output_file(tmp_path, "images/missing.png")


def test_zip_and_hashes(tmp_path: Path) -> None:
    import io
    import zipfile

    (tmp_path / "side").mkdir()
    (tmp_path / "report.json").write_text("{}")
    (tmp_path / "side" / "annotated.mp4").write_bytes(b"v" * 10)
    (tmp_path / ".tmp-partial").write_bytes(b"x")
    names = zipfile.ZipFile(io.BytesIO(zip_folder(tmp_path))).namelist()
    assert names == ["report.json", "side/annotated.mp4"]
    assert sha256_file(tmp_path / "report.json") == sha256_bytes(b"{}")
    assert annotated_video_rel("side", 1) == "annotated.mp4"
    assert annotated_video_rel("rear", 2) == "rear/annotated.mp4"


# ----------------------------------------------------------------------- present


def test_upload_limit_from_the_environment() -> None:
    assert upload_limit_mb({}) == 500
    assert upload_limit_mb({"FORMCHECK_MAX_UPLOAD_MB": "1200"}) == 1200
    assert upload_limit_mb({"FORMCHECK_MAX_UPLOAD_MB": "lots"}) == 500
    assert upload_limit_mb({"FORMCHECK_MAX_UPLOAD_MB": "0"}) == 500


def test_display_names_never_carry_a_path() -> None:
    assert display_name("../../etc/My run.MOV") == "My run.MOV"
    assert display_name("C:\\Users\\me\\clip.mp4") == "clip.mp4"
    assert display_name("a\x00b\nc.mp4") == "abc.mp4"
    assert display_name("dir/") == "clip"
    assert len(display_name("x" * 500)) == 80


def test_progress_and_time_left() -> None:
    frac, text = progress_text(50, 200, 10.0, "run.mp4")
    assert frac == 0.25
    assert text == "Finding the runner in run.mp4: frame 50 of 200, about 30 s left"
    assert progress_text(0, 0, 0.0)[1] == "Finding the runner: frame 0"
    assert "clip 2 of 2" in progress_text(1, 10, 1.0, "r.mp4", "clip 2 of 2")[1]
    assert time_left(130.2) == "about 2 min 11 s left"


def test_error_messages_lose_temporary_paths() -> None:
    staged = "/tmp/formcheck-upload-ab12/clip_1.mp4"
    msg = f"cannot open clip_1.mp4 as a video ([Errno 1094995529] Invalid data: '{staged}')."
    clean = clean_error(msg, {staged: "My run.mp4", "clip_1.mp4": "My run.mp4"})
    assert clean == "cannot open My run.mp4 as a video (Invalid data: 'My run.mp4')."
    assert clean_error("odd /tmp/x/formcheck-upload-1/y.mp4 here", {}) == "odd the upload here"


def _metric(value: float | None, left: float | None = None, right: float | None = None,
            status: str = "ok") -> dict:
    return {"value": value, "unit": "% leg length", "uncertainty": 1.0, "status": status,
            "reason": "", "left": left, "right": right, "n_strides": 8}


def test_metric_cards_use_the_findings_bands_and_judge_the_worse_side() -> None:
    rules = default_rules()
    ctx = report_context({"options": {"height_m": None, "treadmill_speed_kmh": None}})
    # Overstride is judged per side (good <= 8 %): a mean of 7 can hide a right side of 12.
    card = metric_card("overstride_pct_leg", _metric(7.0, 2.0, 12.0), rules, ctx)
    assert card.band == "good <= 8 % leg length"
    assert card.level == "watch"
    assert card.sides == "L 2.0 / R 12.0"
    # ...so the card's headline is that side's value, with its own spread, not the mean.
    assert card.judged_side == "right" and card.value == "12.0" and card.uncertainty == "-"
    rows = [{"foot": "right", "value": v} for v in (11.0, 12.0, 13.0)] + [
        {"foot": "left", "value": v} for v in (1.0, 2.0, 3.0)]
    spread = metric_card("overstride_pct_leg", {**_metric(7.0, 2.0, 12.0), "per_stride": rows},
                         rules, ctx)
    assert spread.value == "12.0" and spread.uncertainty == "2.5"  # t(.975, 2) x 1 / sqrt 3
    # A valgus right knee beside a varus left one: the mean (1.9) would read as good.
    fppa = metric_card("knee_valgus_fppa_deg", {**_metric(1.9, -5.8, 9.7), "unit": "deg"},
                       rules, ctx)
    assert (fppa.value, fppa.judged_side, fppa.level) == ("9.7", "right", "watch")
    both_good = metric_card("overstride_pct_leg", _metric(5.0, 4.0, 6.0), rules, ctx)
    assert both_good.level == "good" and both_good.value == "5.0" and not both_good.judged_side
    assert metric_card("overstride_pct_leg", _metric(5.0, 4.0, 6.0), rules, ctx).level == "good"
    assert metric_card("overstride_pct_leg", _metric(None, status="not_applicable"), rules,
                       ctx).level is None
    # Unscored metrics have no band and no level.
    assert metric_card("foot_strike_angle_deg", _metric(5.0), rules, ctx).level is None


def test_metric_cards_follow_height_and_speed_like_the_findings() -> None:
    rules = default_rules()
    plain = report_context({"options": {}})
    tall = report_context({"options": {"height_m": 1.95, "treadmill_speed_kmh": None}})
    cad = {"value": 160.0, "unit": "steps/min", "status": "ok"}
    assert metric_card("cadence_spm", cad, rules, plain).band == "good 160-200 steps/min"
    shifted = metric_card("cadence_spm", cad, rules, tall)
    assert shifted.band != "good 160-200 steps/min" and shifted.band_note


def test_the_app_names_its_own_controls_not_cli_options() -> None:
    from formcheck.ui.present import app_words, report_notes

    rules = default_rules()
    ctx = report_context({"options": {}})
    card = metric_card("vertical_oscillation_cm", {
        "value": None, "unit": "cm", "status": "not_applicable",
        "reason": "needs the runner's height (--height)"}, rules, ctx)
    assert card.reason == "needs the runner's height (your height, under Run details)"
    assert "--" not in app_words("needs the treadmill speed (--speed)")
    assert "--capture-fps" not in clean_error(
        "a.mp4 looks like slow motion: ... Run again with --capture-fps set to ...", {})
    notes = report_notes({"video": {"warnings": ["let formcheck detect the view (--view auto)"]}})
    assert notes == ("let formcheck detect the view (view: auto, under Run details)",)


def test_metric_labels() -> None:
    rules = default_rules()
    assert metric_label("cadence_spm", rules) == "Cadence"
    assert metric_label("overstride_pct_leg_asymmetry_pct", rules) == (
        "Left-right difference: foot landing ahead of the hip"
    )
    assert metric_label("step_length_m", rules) == "Step length"
    assert metric_label("vertical_oscillation_cm", rules) == "Vertical oscillation"


def test_cards_and_flags_from_a_written_report(analysed_sample) -> None:
    _, report, out, _ = analysed_sample("side_overstride")
    rules = default_rules()
    cards = metric_cards(report, rules)
    assert [c.name for c in cards] == list(report["metrics"])
    flags = flagged_frames(report, rules)
    assert len(flags) == sum(len(i["frames"]) for i in report["findings"]["items"])
    assert flags[0].rank == 1 and flags[0].title == report["findings"]["items"][0]["title"]
    for f in flags:
        assert (out / f.image).is_file()


# -------------------------------------------------------------------------- store


def test_cache_keys_separate_pose_from_the_rest() -> None:
    a = ClipRequest("a.mp4", "d1", AnalysisOptions(view="auto"))
    b = ClipRequest("a.mp4", "d1", AnalysisOptions(view="rear", height_m=1.8))
    c = ClipRequest("a.mp4", "d1", AnalysisOptions(capture_fps=240.0))
    assert a.key != b.key and a.pose_key == b.pose_key
    assert a.pose_key != c.pose_key
    assert session_key([a]) != session_key([a, b])
    renamed = ClipRequest("b.mp4", "d1", AnalysisOptions(view="auto"))
    assert renamed.key == a.key and session_key([renamed]) != session_key([a])


def test_result_store_drops_the_least_recently_used() -> None:
    store = ResultStore(max_analyses=2)
    store.put_analysis("a", "A")  # type: ignore[arg-type]
    store.put_analysis("b", "B")  # type: ignore[arg-type]
    assert store.analysis("a") == "A"  # a is now the most recent
    store.put_analysis("c", "C")  # type: ignore[arg-type]
    assert store.analysis("b") is None
    assert store.analysis("a") == "A" and store.analysis("c") == "C"
