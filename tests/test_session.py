"""A side and a rear clip of one run combined into one report."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from formcheck.cli import main
from formcheck.errors import FormcheckError
from formcheck.metrics import Metric
from formcheck.session import Session, combine_metrics, make_session, metric_sources

pytestmark = pytest.mark.slow

SAGITTAL = ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg")
FRONTAL = ("knee_valgus_fppa_deg", "pelvic_drop_deg")


def _metric(name: str, status: str, n: int, unc: float | None = 1.0) -> Metric:
    return Metric(
        name=name, value=1.0, unit="deg", uncertainty=unc, status=status,  # type: ignore[arg-type]
        reason="", n_strides=n,
    )


@pytest.fixture(scope="module")
def pair(analysed_sample):
    side = analysed_sample("side_overstride")[0]
    rear = analysed_sample("rear_valgus_right")[0]
    return side, rear


def test_each_metric_comes_from_the_view_that_sees_it(pair):
    side, rear = pair
    session = make_session([side, rear])
    assert session.labels[0] == "side" and session.primary_label == "side"
    rear_label = session.labels[1]
    sources = metric_sources(session)
    for name in SAGITTAL:
        assert sources[name] == "side", name
        assert side.metrics[name].status != "not_applicable"
    for name in FRONTAL:
        assert sources[name] == rear_label, name
        assert side.metrics[name].status == "not_applicable"
    combined = combine_metrics(session)
    assert combined["overstride_pct_leg"] is side.metrics["overstride_pct_leg"]
    assert combined["knee_valgus_fppa_deg"] is rear.metrics["knee_valgus_fppa_deg"]


def test_source_order_status_then_strides_then_uncertainty(pair):
    side, rear = pair
    name = "cadence_spm"
    cases = [
        (("ok", 4, 1.0), ("low_confidence", 20, 0.1), "a"),
        (("ok", 4, 1.0), ("ok", 8, 3.0), "b"),
        (("ok", 8, 2.0), ("ok", 8, 1.0), "b"),
        (("not_applicable", 0, None), ("low_confidence", 2, 5.0), "b"),
        (("ok", 8, 1.0), ("ok", 8, 1.0), "a"),
    ]
    for a_spec, b_spec, expected in cases:
        a = replace(side, metrics={name: _metric(name, *a_spec)})
        b = replace(rear, metrics={name: _metric(name, *b_spec)})
        assert metric_sources(Session({"a": a, "b": b}))[name] == expected, (a_spec, b_spec)


def test_asymmetry_follows_its_bilateral_metric(pair):
    side, rear = pair
    base, asym = "knee_flexion_ic_deg", "knee_flexion_ic_deg_asymmetry_pct"
    a = replace(side, metrics={base: _metric(base, "ok", 10), asym: _metric(asym, "ok", 2)})
    b = replace(rear, metrics={base: _metric(base, "ok", 5), asym: _metric(asym, "ok", 9)})
    assert metric_sources(Session({"a": a, "b": b})) == {base: "a", asym: "a"}


def test_combined_report_names_every_clips_notes_and_questions_a_mismatch(pair, analysed_sample):
    """Two side clips, a note from the second clip and cadences 20 spm apart all reach the
    combined report's notes, each naming its clip."""
    from formcheck.session import build_session_report

    side, rear = pair
    other = analysed_sample("side_normal")[0]
    cad = side.metrics["cadence_spm"]
    assert cad.status == "ok" and cad.value is not None
    other = replace(
        other,
        video={**other.video, "warnings": ["the view was set to side, but ..."]},
        metrics={**other.metrics, "cadence_spm": replace(cad, value=cad.value + 20.0)},
    )
    # The bundled side and rear samples are two different synthetic runs (155 and 170 spm):
    # give the rear clip the side clip's cadence, so only the +20 can raise the question.
    same = replace(rear, metrics={**rear.metrics, "cadence_spm": replace(
        rear.metrics["cadence_spm"], value=cad.value + 3.0)})
    report = build_session_report(make_session([side, other, same]))
    notes = report["video"]["warnings"]
    assert any(n.startswith("side_2 (") and "the view was set to side" in n for n in notes), notes
    assert any("2 side-view clips" in n and "measured it best" in n for n in notes), notes
    assert any("cadences differ" in n and "analyse them separately" in n for n in notes), notes
    # The same run seen from the side and from behind raises neither question.
    quiet = build_session_report(make_session([side, same]))["video"]["warnings"]
    assert not any("cadences differ" in n or "-view clips" in n for n in quiet), quiet


def test_empty_session_is_an_error():
    with pytest.raises(FormcheckError):
        Session({})


def test_combined_outputs_and_rerender(sample_dir, tmp_path, capsys):
    side, rear = sample_dir / "side_overstride.mp4", sample_dir / "rear_valgus_right.mp4"
    out = tmp_path / "run"
    assert main(["analyze", str(side), str(rear), "--out", str(out), "--view", "side,rear"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["views"]) == {"side", "rear"} and report["primary_view"] == "side"
    for label in ("side", "rear"):
        own = json.loads((out / label / "report.json").read_text())
        assert own["view"] == label
        assert (out / label / "tracks.nc").is_file() and (out / label / "annotated.mp4").is_file()
        assert report["views"][label]["report"] == f"{label}/report.json"
    metrics = report["metrics"]
    assert metrics["overstride_pct_leg"]["source_view"] == "side"
    assert metrics["overstride_pct_leg"]["status"] == "ok"
    assert metrics["knee_valgus_fppa_deg"]["source_view"] == "rear"
    assert metrics["knee_valgus_fppa_deg"]["status"] != "not_applicable"
    items = report["findings"]["items"]
    assert any("overstride_pct_leg" in f["metrics"] for f in items)
    frames = [fr for f in items for fr in f["frames"]]
    assert frames and all((out / fr["image"]).is_file() for fr in frames)
    for fr in frames:  # each image is drawn on the clip its metric came from
        assert metrics[fr["metric"]]["source_view"] in ("side", "rear")
    html = (out / "report.html").read_text()
    assert "side/annotated.mp4" in html
    before = (out / "report.json").read_text()
    assert main(["report", str(out), "-q"]) == 0
    after = json.loads((out / "report.json").read_text())
    assert after["metrics"] == json.loads(before)["metrics"]
    # Re-rendering keeps every image the combined report points to, from both clips.
    again = [fr for f in after["findings"]["items"] for fr in f["frames"]]
    assert again and all((out / fr["image"]).is_file() for fr in again)
    assert {metrics[fr["metric"]]["source_view"] for fr in again} == {"side", "rear"}


@pytest.mark.parametrize(
    ("views", "message"),
    [("side,rear,front", "3 views for 2 clips"), ("side,back", "not 'back'")],
)
def test_bad_view_lists(sample_dir, tmp_path, capsys, views, message):
    clip = str(sample_dir / "side_normal.mp4")
    assert main(["analyze", clip, clip, "--out", str(tmp_path), "--view", views]) == 2
    assert message in capsys.readouterr().err
