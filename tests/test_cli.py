"""The command line: end to end on a sample clip, and clear one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from formcheck.io.tracks import load_tracks

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "formcheck.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


@pytest.mark.slow
def test_analyze_writes_tracks_and_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _run("analyze", str(REPO / "sample_videos" / "side_normal.mp4"), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""  # --quiet: nothing, and no native log lines
    report = json.loads((out / "report.json").read_text())
    video = report["video"]
    assert (video["width"], video["height"], video["rotation_deg"]) == (1280, 720, 0)
    assert video["fps"] == pytest.approx(30.0, abs=0.01)
    assert video["frames"] == 210
    assert report["pose_quality"]["detection_rate"] >= 0.95
    assert report["view"] == "side"
    truth = json.loads((REPO / "sample_videos" / "side_normal.truth.json").read_text())
    assert report["direction"] == truth["facing"]
    tracks = load_tracks(out / "tracks.nc")
    assert tracks.sizes["time"] == 210
    assert tracks.attrs["model_sha256"].startswith("ba58245e")
    assert np.isfinite(tracks.position.sel(keypoints="left_hip").values).mean() > 0.95


@pytest.mark.parametrize(
    "content,needle",
    [(b"hello, not a video\n" * 20, "cannot open"), (b"", "empty")],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path: Path, content: bytes, needle: str) -> None:
    bad = tmp_path / "my run é.mp4"
    bad.write_bytes(content)
    proc = _run("analyze", str(bad), "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], proc.stderr
    assert not (tmp_path / "o" / "report.json").exists()


def test_missing_model_is_one_clear_line(tmp_path: Path) -> None:
    clip = REPO / "sample_videos" / "side_normal.mp4"
    proc = _run("analyze", str(clip), "--model", str(tmp_path / "none.task"), "--quiet")
    assert proc.returncode == 2
    assert "pose model not found" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_option_value_is_reported() -> None:
    proc = _run("analyze", str(REPO / "sample_videos" / "side_normal.mp4"), "--view", "top")
    assert proc.returncode == 2
    assert "--view" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        ((), "Usage:"),
        (("analyze",), "Missing argument"),
        (("analyze", "x.mp4", "--workers", "0"), "--workers"),
        (("analyze", "x.mp4", "--bogus"), "No such option"),
        (("frobnicate",), "No such command"),
    ],
)
def test_usage_mistakes_are_usage_errors_not_failures(args: tuple[str, ...], needle: str) -> None:
    """A wrong command line gets click's usage message and exit 2, never 'unexpected failure'."""
    proc = _run(*args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr + proc.stdout
    assert "unexpected failure" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--height", "178"), "looks like centimetres: 1.78"),
        (("--height", "-1.7"), "height must be given in metres"),
        (("--height", "0"), "height must be given in metres"),
        (("--speed", "nan"), "speed must be given in km/h"),
        (("--speed", "-5"), "speed must be given in km/h"),
        (("--speed", "500"), "speed must be given in km/h"),
        (("--out", "README.md"), "is a file, not a folder"),
    ],
)
def test_impossible_inputs_are_refused_before_any_work(
    extra: tuple[str, ...], needle: str, tmp_path: Path
) -> None:
    """A height in cm, a negative or NaN speed, a file as --out: one clear line and exit 2."""
    out = ("--out", str(tmp_path / "a" / "b")) if "--out" not in extra else ()
    proc = _run("analyze", "sample_videos/side_normal.mp4", "--quiet", *out, *extra)
    assert proc.returncode == 2, proc.stderr
    assert not (tmp_path / "a").exists()  # refused before any folder was made
    assert needle in proc.stderr, proc.stderr
    assert "unexpected failure" not in proc.stderr and "Traceback" not in proc.stderr


def test_batch_refuses_a_video_or_a_binary_file_as_its_manifest(tmp_path: Path) -> None:
    proc = _run("batch", "sample_videos/side_normal.mp4", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "is a video" in proc.stderr and "formcheck analyze" in proc.stderr, proc.stderr
    assert not (tmp_path / "o").exists()  # nothing made in --out for an input it cannot read
    binary = tmp_path / "squad.csv"
    binary.write_bytes(bytes(range(128, 256)))
    proc = _run("batch", str(binary), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "is not a text CSV manifest" in proc.stderr and "codec" not in proc.stderr, proc.stderr
    proc = _run("batch", "sample_videos", "--height", "175", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "looks like centimetres" in proc.stderr, proc.stderr


def test_batch_summary_names_each_failure_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from formcheck.cli import _print_batch_summary

    summary = SimpleNamespace(
        videos_done=1, videos_failed=2, videos_skipped=0, sessions_done=1, sessions_skipped=0,
        sessions_failed=0, squad_html=tmp_path / "squad.html", squad_csv=tmp_path / "squad.csv",
        db_url="sqlite:///x.db",
        errors=[
            ("a/side.mp4", "a/side.mp4: no date folder above the clip [see README]"),
            ("b/2025-01-02/rear.mp4", "cannot decode rear.mp4"),
        ],
    )
    _print_batch_summary(summary)
    out = " ".join(capsys.readouterr().out.split())
    assert "failed a/side.mp4: no date folder above the clip [see README]" in out, out
    assert out.count("a/side.mp4") == 1, out
    assert "failed b/2025-01-02/rear.mp4: cannot decode rear.mp4" in out, out


def test_version() -> None:
    from formcheck import __version__

    proc = _run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"formcheck {__version__}", proc


def test_a_folder_is_not_called_missing(tmp_path: Path) -> None:
    proc = _run("analyze", str(tmp_path), "--quiet")
    assert proc.returncode == 2
    assert "is a folder" in proc.stderr and "formcheck batch" in proc.stderr, proc.stderr


def test_summary_keeps_values_whole_and_lists_reasons_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from formcheck.cli import _print_summary

    monkeypatch.setenv("COLUMNS", "80")

    why = "only 8 steps measured (4 strides; 10 needed): film at least 10 s of steady running"
    metrics = {
        "cadence_spm": {"value": 170.2, "uncertainty": 0.4, "unit": "steps/min", "status": "ok"},
        "knee_flexion_midstance_deg_asymmetry_pct": {
            "value": 12.0, "unit": "%", "status": "low_confidence", "reason": why,
        },
        "ground_contact_time_ms": {
            "value": 250.0, "unit": "ms", "left": 251.0, "right": 249.0,
            "status": "low_confidence", "reason": why,
        },
        "speed_m_s": {"value": 3.3, "unit": "m/s", "status": "ok", "reason": "given by the user"},
    }
    report = {
        "pose_quality": {"detection_rate": 1.0},
        "video": {"file": "a.mp4", "frames": 300, "duration_s": 10.0, "fps": 30.0,
                  "width": 1280, "height": 720},
        "view": "side", "direction": "left", "setting": "treadmill", "metrics": metrics,
        "findings": {"items": [{
            "rank": 1, "title": "Foot landing ahead of the hip is high (one leg)",
            "level": "act", "confidence": "high", "actions": [],
            "observations": [{"text": "Foot landing ahead of the hip: 22 [sic] % leg length."}],
        }]},
    }
    _print_summary(report, tmp_path)
    out = capsys.readouterr().out
    # On an 80-column terminal values stay whole (a long name folds instead), nothing is
    # cut with "…", and text in square brackets is printed, not taken for markup.
    assert "170.2 ± 0.4 steps/min" in out and "12.0 %" in out and "250.0 ms" in out, out
    assert "…" not in out, out
    assert "(one leg) [work on this, confidence high]" in " ".join(out.split()), out
    assert "22 [sic] %" in out, out
    joined = " ".join(out.split())  # the reason line may wrap
    assert joined.count("only 8 steps measured") == 1, out
    assert "approximate: knee_flexion_midstance_deg_asymmetry_pct, ground_contact_time_ms:" in (
        joined
    ), out
    assert "does not include the pose model's own error" in joined, out
    # The belt speed the user typed is echoed, not measured.
    speed_row = next(line for line in out.splitlines() if "speed_m_s" in line)
    assert "given" in speed_row and "measured" not in speed_row, speed_row
    assert "cadence_spm" in out and "measured" in next(
        line for line in out.splitlines() if "cadence_spm" in line
    )


def test_analyze_without_the_annotated_video(tmp_path: Path) -> None:
    out = tmp_path / "out"
    clip = str(REPO / "sample_videos" / "side_normal.mp4")
    assert _run("analyze", clip, "--out", str(out), "--quiet").returncode == 0
    assert (out / "annotated.mp4").is_file()
    # Written again without the video: the old one goes, the report says there is none.
    proc = _run("analyze", clip, "--out", str(out), "--quiet", "--no-video")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "annotated.mp4").exists()
    assert "annotated.mp4" not in json.loads((out / "outputs.json").read_text())["files"]
    html = (out / "report.html").read_text()
    assert "No annotated video" in html and 'id="annotated"' not in html
    assert json.loads((out / "report.json").read_text())["metrics"]["cadence_spm"]["value"]
