"""The Streamlit app, driven by ``streamlit.testing.v1.AppTest`` (no browser).

Flows: a sample clip with one click, an upload, a side and a rear clip in one
report, and bad input (not a video, no runner, too short, too large). Pose
estimation is counted by wrapping :func:`formcheck.pipeline.run_pose`: a
widget click, a re-upload or a new height must never run it again. The
app's result cache is shared by every AppTest in this process, so the sample
clips are estimated once per test module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from formcheck import pipeline
from formcheck.findings import default_rules
from formcheck.io.writer import VideoWriter
from formcheck.report import DISCLAIMER
from formcheck.ui.present import fmt
from formcheck.ui.runner import AppResult

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "streamlit_app.py"
SAMPLES = REPO / "sample_videos"
TIMEOUT_S = 600

pytestmark = pytest.mark.slow


@pytest.fixture
def pose_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every pose estimation run while the test runs: the clip path and whether it existed."""
    runs: list[dict] = []
    real = pipeline.run_pose

    def counting(video, *args, **kwargs):
        path = Path(video)
        runs.append({"path": path, "existed": path.is_file(), "name": path.name})
        return real(video, *args, **kwargs)

    monkeypatch.setattr(pipeline, "run_pose", counting)
    return runs


@pytest.fixture(scope="module", autouse=True)
def fresh_caches() -> Iterator[None]:
    """Start the module with empty app caches (model, results)."""
    st.cache_resource.clear()
    yield


def _app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception
    return at


def _result(at: AppTest) -> AppResult:
    result = at.session_state["fc_result"]
    assert isinstance(result, AppResult)
    return result


def _tab(at: AppTest, name: str) -> None:
    at.session_state["fc_tab"] = name
    at.run()
    assert not at.exception


def _upload(at: AppTest, key: str, name: str, data: bytes) -> None:
    at.file_uploader(key=key).set_value((name, data, "video/mp4"))
    at.run()
    assert not at.exception


def _go(at: AppTest) -> None:
    at.button(key="fc_go").click()
    at.run()
    assert not at.exception


def _mode(at: AppTest, mode: str) -> None:
    at.button_group(key="fc_mode").set_value(mode)
    at.run()
    assert not at.exception


def test_sample_clip_with_one_click_and_clicks_never_rerun_pose(pose_runs: list[dict]) -> None:
    at = _app()
    assert at.button(key="fc_go").label == "Analyse sample"
    assert "fc_result" not in at.session_state
    _go(at)  # the one click
    assert [r["name"] for r in pose_runs] == ["side_overstride.mp4"]
    assert not at.error
    report = _result(at).report

    # The findings on the page are the report's, in rank order; the clip overstrides
    # (truth: heel 22 % of leg length ahead of the hip), so that is the first fix.
    items = report["findings"]["items"]
    assert items[0]["id"] == "overstriding"
    assert [s.value for s in at.subheader] == [f"{i['rank']}. {i['title']}" for i in items]
    page = "\n".join(m.value for m in at.markdown)
    for text in ("What we saw", "Why it matters", "What to do", "When to see a clinician"):
        assert text in page
    assert items[0]["why"][0]["source"] in page  # sources cited by title
    assert any(DISCLAIMER in i.value for i in at.info)
    assert len(at.get("download_button")) == 5  # html, json, csv, video, zip

    # Flagged-frame review: next / previous step through every flagged frame.
    _tab(at, "Flagged frames")
    n_flags = sum(len(i["frames"]) for i in items)
    assert at.selectbox(key="fc_flag").value == 0
    at.button(key="fc_flag_next").click().run()
    assert at.selectbox(key="fc_flag").value == 1
    at.button(key="fc_flag_prev").click().run()
    at.button(key="fc_flag_prev").click().run()
    assert at.selectbox(key="fc_flag").value == n_flags - 1
    assert len(at.get("image")) == 1
    last = items[-1]["frames"][-1]
    assert any(c.value.startswith(f"Frame {last['frame']} at") for c in at.caption)

    # "See this moment in the video" opens the scrubber at that frame.
    at.button(key="fc_flag_open").click().run()
    assert at.session_state["fc_tab"] == "Video"
    scrub = at.slider(key="fc_scrub_side")
    assert scrub.value == last["frame"]
    at.button(key="fc_next_frame_side").click().run()
    assert at.slider(key="fc_scrub_side").value == last["frame"] + 1
    at.slider(key="fc_scrub_side").set_value(0).run()
    assert at.get("image") and at.get("video")

    # Metric cards show the report's values; the charts draw.
    _tab(at, "Metrics")
    cards = {m.label: m.value for m in at.metric}
    cadence = report["metrics"]["cadence_spm"]
    assert cards[f"Cadence ({cadence['unit']})"] == fmt(cadence["value"])
    _tab(at, "Charts")
    assert len(at.get("vega_lite_chart")) == 2
    at.selectbox(key="fc_chart_metric").set_value("cadence_spm").run()
    assert not at.exception

    # Pressing the button again, or a new browser session, reuses the result.
    _go(at)
    assert len(pose_runs) == 1
    other = _app()
    _go(other)
    assert _result(other).key == _result(at).key
    # A new height re-runs only the analysis after pose.
    at.number_input(key="fc_height").set_value(180).run()
    _go(at)
    assert len(pose_runs) == 1
    assert _result(at).report["options"]["height_m"] == pytest.approx(1.8)
    assert not at.exception and not at.error


def test_upload_is_staged_under_a_fixed_name_and_removed(pose_runs: list[dict]) -> None:
    at = _app()
    _mode(at, "upload")
    assert "How to film your run" in [e.label for e in at.expander]
    assert at.button(key="fc_go").disabled  # nothing uploaded yet
    data = (SAMPLES / "side_normal.mp4").read_bytes()
    _upload(at, "fc_upload", "../../etc/My run.MOV", data)
    _go(at)
    assert not at.error
    assert len(pose_runs) == 1
    staged = pose_runs[0]
    assert staged["existed"] and staged["name"] == "clip_1.mov"
    assert staged["path"].parent.name.startswith("formcheck-upload-")
    assert not staged["path"].exists() and not staged["path"].parent.exists()
    result = _result(at)
    assert result.report["video"]["file"] == "My run.MOV"
    assert (result.out_dir / "report.json").is_file()

    # The same bytes under another name: no pose, the new name shown.
    _upload(at, "fc_upload", "again.mp4", data)
    _go(at)
    assert len(pose_runs) == 1
    assert _result(at).report["video"]["file"] == "again.mp4"


def test_side_and_rear_clips_make_one_report(pose_runs: list[dict]) -> None:
    at = _app()
    _mode(at, "pair")
    _upload(at, "fc_upload_side", "side.mp4", (SAMPLES / "side_overstride.mp4").read_bytes())
    _upload(at, "fc_upload_rear", "rear.mp4", (SAMPLES / "rear_valgus_right.mp4").read_bytes())
    _go(at)
    assert not at.error
    runs = len(pose_runs)
    assert runs <= 2
    result = _result(at)
    report = result.report
    assert list(report["views"]) == ["side", "rear"]
    assert report["metrics"]["overstride_pct_leg"]["source_view"] == "side"
    valgus = report["metrics"]["knee_valgus_fppa_deg"]
    assert valgus["source_view"] == "rear" and valgus["status"] != "not_applicable"
    page = "\n".join(m.value for m in at.markdown)
    assert "**side.mp4**: side view" in page and "**rear.mp4**: rear view" in page
    # The report's notes reach the page: the bundled side and rear samples are two
    # different synthetic runs (155 and 170 spm), and the combined report asks about it.
    warned = "\n".join(w.value for w in at.warning)
    assert "cadences differ" in warned and "analyse them separately" in warned, warned

    # Each flagged frame comes from the clip its metric was measured in.
    from formcheck.ui.present import flagged_frames

    flags = flagged_frames(report, default_rules())
    assert {f.view for f in flags} <= {"side", "rear"} and flags
    for f in flags:
        assert f.view == report["metrics"][_metric_of(report, f.image)]["source_view"]
        assert (result.out_dir / f.image).is_file()

    # Both clips can be scrubbed and played.
    _tab(at, "Video")
    assert at.button_group(key="fc_video_label").value == "side"
    at.button_group(key="fc_video_label").set_value("rear").run()
    assert at.slider(key="fc_scrub_rear").max == report["views"]["rear"]["video"]["frames"] - 1
    _go(at)
    assert len(pose_runs) == runs

    # The side clip as a sample: its pose tracks are reused (other view option).
    _mode(at, "sample")
    at.selectbox(key="fc_sample").set_value("side_overstride.mp4").run()
    _go(at)
    assert len(pose_runs) == runs
    assert "views" not in _result(at).report


def _metric_of(report: dict, image: str) -> str:
    for item in report["findings"]["items"]:
        for fr in item["frames"]:
            if fr["image"] == image:
                return str(fr["metric"])
    raise AssertionError(image)


# ------------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def bad_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A text file, a clip with nobody in it, and a runner for one second."""
    from formcheck.synth import render_clip
    from formcheck.synth.params import SynthParams

    folder = tmp_path_factory.mktemp("bad_clips")
    with VideoWriter(folder / "empty.mp4", 320, 240, fps=30) as writer:
        for i in range(90):
            writer.write(np.full((240, 320, 3), 60 + i, np.uint8))
    render_clip(SynthParams(duration_s=1.0, width=640, height=360), folder / "short.mp4")
    return {
        "notes.mp4": b"these are my running notes, not a video\n" * 50,
        "empty.mp4": (folder / "empty.mp4").read_bytes(),
        "short.mp4": (folder / "short.mp4").read_bytes(),
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.mp4", "it is a text file, not a video"),
        ("empty.mp4", "no runner found in empty.mp4"),
        ("short.mp4", "too short for two strides"),
    ],
)
def test_bad_input_gives_one_message_and_the_app_keeps_working(
    bad_clips: dict[str, bytes], name: str, expected: str
) -> None:
    at = _app()
    _mode(at, "upload")
    _upload(at, "fc_upload", name, bad_clips[name])
    _go(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert expected in message
    assert "/tmp" not in message and "clip_1" not in message and "formcheck-upload" not in message
    assert "fc_result" not in at.session_state
    # The app keeps working: a sample clip analyses in the same session.
    _mode(at, "sample")
    _go(at)
    assert not at.error and _result(at).report["findings"]["items"]


def test_upload_limit_is_configurable_and_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMCHECK_MAX_UPLOAD_MB", "1")
    at = _app()
    _mode(at, "upload")
    assert at.file_uploader(key="fc_upload").proto.max_upload_size_mb == 1
    # Past the browser's check, the pipeline's limit still holds.
    _upload(at, "fc_upload", "big.mp4", b"\0" * (1024**2 + 1))
    _go(at)
    assert len(at.error) == 1 and "over the 1 MB limit" in at.error[0].value


def test_every_page_in_the_navigation_resolves() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("streamlit_app_pages", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    titles = [title for _, title, _, _ in module.PAGES]
    assert any("Coach" in t for t in titles) and any("Analyse" in t for t in titles)
    for entry, title, _, path in module.PAGES:
        assert callable(module._function(entry)), title
    assert len({p for *_, p in module.PAGES}) == len(module.PAGES)
