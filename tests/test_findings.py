"""Findings: rules as data, bands, patterns, confidence, guidance, flagged frames."""

from __future__ import annotations

import json
import math
from importlib.resources import files

import pytest

from formcheck.findings import (
    RuleContext,
    RulesError,
    adapted_band,
    default_rules,
    evaluate,
    observe,
    parse_rules,
)
from formcheck.metrics import UNITS, Metric


@pytest.fixture(scope="module")
def rules():
    return default_rules()


def metric(name, value, *, left=None, right=None, status="ok", reason="", rows=None, unc=1.0):
    rows = rows or []
    return Metric(
        name=name, value=value, unit=UNITS.get(name, "%"), uncertainty=unc, status=status,
        reason=reason, left=left, right=right, per_stride=tuple(rows), n_strides=len(rows) or 8,
        frames=tuple(r["frame"] for r in rows),
    )


def strides(values_by_foot, start=10, step=11):
    rows, frame = [], start
    for i in range(max(len(v) for v in values_by_foot.values())):
        for foot, vals in values_by_foot.items():
            if i < len(vals):
                rows.append({"foot": foot, "frame": frame, "time_s": frame / 30, "value": vals[i]})
                frame += step
    return rows


def overstriding_metrics():
    over = strides({"left": [21, 22, 23, 20], "right": [22, 24, 21, 22]})
    return {
        "overstride_pct_leg": metric("overstride_pct_leg", 21.9, left=21.5, right=22.3, rows=over),
        "shank_angle_ic_deg": metric("shank_angle_ic_deg", 12.0, left=12, right=12,
                                     rows=strides({"left": [12] * 4, "right": [12] * 4})),
        "knee_flexion_ic_deg": metric("knee_flexion_ic_deg", 9.0, left=9, right=9,
                                      rows=strides({"left": [9] * 4, "right": [9] * 4})),
        "cadence_spm": metric("cadence_spm", 155.0, rows=strides({"left": [155] * 4})),
    }


def normal_metrics():
    return {
        "overstride_pct_leg": metric("overstride_pct_leg", 6.0, left=6, right=6,
                                     rows=strides({"left": [6] * 4, "right": [6] * 4})),
        "shank_angle_ic_deg": metric("shank_angle_ic_deg", -1.8, left=-2, right=-1.6),
        "knee_flexion_ic_deg": metric("knee_flexion_ic_deg", 17.0, left=17, right=17),
        "cadence_spm": metric("cadence_spm", 172.0),
    }


# ---------------------------------------------------------------- rules as data


def test_rules_load_and_name_real_metrics(rules):
    known = set(UNITS) | {f"{m}_asymmetry_pct" for m in UNITS}
    assert set(rules.metrics) <= known, set(rules.metrics) - known
    for name in ("cadence_spm", "overstride_pct_leg", "knee_valgus_fppa_deg"):
        assert rules.metrics[name].scored and rules.metrics[name].sources


def test_every_guidance_piece_cites_a_source(rules):
    titles = {s.title for s in rules.sources.values()}
    for topic in rules.topics.values():
        for g in (*topic.why, *topic.actions, topic.clinician):
            assert g.text and g.source.title in titles
    articles = {s.id for s in rules.sources.values() if s.kind == "article"}
    cited = {g.source.id for t in rules.topics.values() for g in (*t.why, *t.actions, t.clinician)}
    cited |= {g.source.id for g in rules.general}
    assert articles <= cited, f"articles never cited: {articles - cited}"


def test_general_advice_covers_the_basics(rules):
    text = " ".join(g.text.lower() for g in rules.general)
    for needle in ("5-10%", "warm-up", "shoes", "week off", "swollen", "quadriceps"):
        assert needle in text, needle


def test_broken_rules_are_rejected(rules):
    bad = {"metrics": {"cadence_spm": {"scored": True, "good": [160, 200], "watch": [170, 180],
                                       "topic": "cadence", "sources": []}}}
    guidance = {"sources": {}, "topics": {}}
    with pytest.raises(RulesError):
        parse_rules(bad, guidance)


def test_cadence_band_adapts_to_height_and_speed(rules):
    rule = rules.metrics["cadence_spm"]
    base = adapted_band(rule, RuleContext())
    tall = adapted_band(rule, RuleContext(height_m=1.95))
    fast = adapted_band(rule, RuleContext(speed_m_s=4.0))
    assert tall.good[0] < base.good[0] < fast.good[0]
    assert "height" in tall.note
    # 158 spm is "watch" for a 1.75 m runner but fine for a tall one.
    assert base.level(158) == "watch" and tall.level(158) == "good"


# ---------------------------------------------------------------- evaluation


def test_overstriding_pattern_found_with_frames_and_guidance(rules):
    findings = evaluate(overstriding_metrics(), rules)
    assert findings[0].id == "overstriding" and findings[0].rank == 1 and findings[0].top_fix
    f = findings[0]
    members = {"overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg", "cadence_spm"}
    assert members == set(f.metrics)
    assert f.level == "act" and f.confidence == "high"
    # flagged frames are the worst overstride contacts
    assert [fr.value for fr in f.frames] == [24, 23, 22]
    assert all(fr.metric == "overstride_pct_leg" for fr in f.frames)
    # The image caption uses the plain-language name, not the metric's id.
    assert all(fr.label == "Foot landing ahead of the hip" for fr in f.frames)
    text = " ".join(a.text for a in f.actions)
    assert "5%" in text or "5-10%" in " ".join(a.dose for a in f.actions)
    assert f.why and f.clinician.text and f.sources
    # members are absorbed into the pattern: no duplicate findings
    assert [x.id for x in findings] == ["overstriding"]


def test_both_sides_out_of_band_shows_each_sides_value(rules):
    """A finding on both legs names both values, not the worse one 'on both sides'."""
    rows = strides({"left": [33, 34, 32, 33], "right": [24, 25, 23, 24]})
    obs = observe(
        metric("overstride_pct_leg", 28.6, left=33.1, right=24.1, rows=rows),
        rules.metrics["overstride_pct_leg"],
        RuleContext(),
    )
    assert obs is not None and obs.side == "both"
    text = obs.sentence()
    assert "left 33.1, right 24.1" in text and "on both sides" not in text, text
    one = observe(
        metric("pelvic_drop_deg", 8.0, left=12.0, right=4.0,
               rows=strides({"left": [12] * 4, "right": [4] * 4})),
        rules.metrics["pelvic_drop_deg"],
        RuleContext(),
    )
    assert one is not None and one.side == "left" and one.named_side == "left"
    assert "12 " in one.sentence() and "on the left side" in one.sentence(), one.sentence()


def test_a_side_view_finding_on_one_leg_does_not_name_the_leg(rules):
    """From one side camera the far leg reads less well: 'one leg' with both values, no side."""
    side_view = [n for n, r in rules.metrics.items() if r.judge == "sides" and not r.name_side]
    assert {"overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg",
            "knee_flexion_midstance_deg"} <= set(side_view)
    # Rear/front views see both legs alike: their findings still name the leg.
    assert rules.metrics["knee_valgus_fppa_deg"].name_side
    assert rules.metrics["pelvic_drop_deg"].name_side
    rows = strides({"left": [6, 7, 5, 6], "right": [22, 21, 23, 22]})
    ms = {"overstride_pct_leg": metric("overstride_pct_leg", 14.0, left=6.0, right=22.0, rows=rows)}
    (f,) = evaluate(ms, rules)
    obs = f.observations[0]
    assert obs.side == "right" and not obs.side_named and obs.named_side is None
    assert f.side is None and f.title.endswith("(one leg)") and "right" not in f.title
    text = obs.sentence()
    assert "on one leg (right 22, left 6;" in text and "which leg is uncertain" in text, text
    # The +/- is that leg's own stride-to-stride spread (t(0.975, 3) x 0.816 / 2), not the
    # metric's both-leg one (1.0 here).
    assert "22 ± 1.3 % leg length on one leg" in text, text
    assert "on the right side" not in text
    # The flagged frames are still the strides that read out of band.
    assert f.frames and all(fr.foot == "right" for fr in f.frames)
    d = f.to_dict()
    assert d["side"] is None and d["observations"][0]["side_named"] is False
    # With the other leg unmeasured, the sentence gives the one value it has.
    alone = strides({"right": [22, 21, 23, 22]})
    ms = {"overstride_pct_leg": metric("overstride_pct_leg", 22.0, right=22.0, rows=alone)}
    (f,) = evaluate(ms, rules)
    assert "on one leg (right 22;" in f.summary and "left -" not in f.summary, f.summary
    # Both legs out of band is still said as such.
    both = strides({"left": [20, 21, 19, 20], "right": [22, 21, 23, 22]})
    ms = {"overstride_pct_leg": metric("overstride_pct_leg", 21.0, left=20.0, right=22.0,
                                       rows=both)}
    (f,) = evaluate(ms, rules)
    assert f.side == "both" and "left 20, right 22" in f.summary
    assert f.observations[0].side_named  # 'both' is said as such: nothing left unnamed


def test_name_side_must_be_a_boolean():
    from formcheck.findings import parse_rules_toml

    rules_text = (files("formcheck") / "rules.toml").read_text()
    guidance_text = (files("formcheck") / "guidance.toml").read_text()
    bad = rules_text.replace("\nname_side = false\n", '\nname_side = "no"\n', 1)
    assert bad != rules_text
    with pytest.raises(RulesError, match="name_side must be true or false"):
        parse_rules_toml(bad, guidance_text)


def test_side_view_asymmetries_are_shown_but_never_findings(rules):
    """Left-right differences of side-view metrics are for information only, however large."""
    rows = strides({"left": [40, 41, 39, 40], "right": [20, 21, 19, 20]})
    names = [n for n, r in rules.metrics.items() if r.frames_from]
    assert names and all(not rules.metrics[n].scored for n in names)
    assert all("far leg is partly hidden" in rules.metrics[n].note for n in names)
    metrics = {
        n: metric(n, 66.7, left=40.0, right=20.0, rows=rows) for n in names
    }
    assert not [f for f in evaluate(metrics, rules) if f.id in names]


def test_normal_form_gives_no_overstride_finding(rules):
    assert evaluate(normal_metrics(), rules) == ()


def test_not_applicable_yields_nothing(rules):
    ms = {"knee_valgus_fppa_deg": metric("knee_valgus_fppa_deg", None, status="not_applicable",
                                         reason="needs a rear view")}
    assert evaluate(ms, rules) == ()


def test_low_confidence_lowers_confidence_and_says_why(rules):
    rows = strides({"left": [2, 1, 3, 2], "right": [12, 13, 11, 12]})
    ms = {"knee_valgus_fppa_deg": metric("knee_valgus_fppa_deg", 7.0, left=2.0, right=12.0,
                                         status="low_confidence", reason="2D FPPA is an estimate",
                                         rows=rows)}
    (f,) = evaluate(ms, rules)
    assert f.id == "knee_valgus_fppa_deg" and f.side == "right"
    assert f.confidence == "medium"
    assert any("2D FPPA is an estimate" in r for r in f.confidence_reasons)
    assert all(fr.foot == "right" for fr in f.frames) and f.frames[0].value == 13
    assert any("clam" in a.text.lower() for a in f.actions)
    assert any("single-leg" in a.text.lower() for a in f.actions)


def test_implausible_cadence_is_not_a_finding(rules):
    ms = {"cadence_spm": metric("cadence_spm", 310.0, status="low_confidence",
                                reason="implausibly high")}
    assert evaluate(ms, rules) == ()


def test_ranking_puts_top_three_first(rules):
    ms = overstriding_metrics()
    ms["trunk_lean_deg"] = metric("trunk_lean_deg", 20.0)
    ms["vertical_oscillation_pct_leg"] = metric("vertical_oscillation_pct_leg", 13.0)
    ms["pelvic_drop_deg"] = metric("pelvic_drop_deg", 11.0, left=11.0, right=4.0)
    findings = evaluate(ms, rules)
    assert [f.rank for f in findings] == list(range(1, len(findings) + 1))
    assert [f.top_fix for f in findings] == [True] * 3 + [False] * (len(findings) - 3)
    assert all(a.priority >= b.priority for a, b in zip(findings, findings[1:], strict=False))
    assert findings[0].id == "overstriding"


def test_one_stride_alone_is_never_a_finding(rules):
    """One stride says nothing about the stride-to-stride spread: no finding, however far out."""
    one = strides({"left": [20.0]})
    ms = {"knee_flexion_midstance_deg": metric("knee_flexion_midstance_deg", 20.0, left=20.0,
                                               rows=one)}
    assert evaluate(ms, rules) == ()
    # A side judged on one stride (the other leg inside its band) is no finding either...
    rows = strides({"left": [20.0], "right": [44.0, 45.0, 43.0, 44.0]})
    ms = {"knee_flexion_midstance_deg": metric("knee_flexion_midstance_deg", 39.2, left=20.0,
                                               right=44.0, rows=rows)}
    assert evaluate(ms, rules) == ()
    # One stride on the other leg neither vetoes nor names a finding its six strides support
    # (both legs out of band: the single stride used to count as the weaker leg's evidence).
    for lone in (22.0, 44.0):
        rows = strides({"left": [20.0, 21.0, 19.0, 20.0, 20.5, 19.5], "right": [lone]})
        ms = {"knee_flexion_midstance_deg": metric(
            "knee_flexion_midstance_deg", 20.2, left=20.0, right=lone, rows=rows)}
        (f,) = evaluate(ms, rules)
        obs = f.observations[0]
        assert obs.side == "left" and obs.n_judged == 6, (lone, obs)
    # ...while two consistent strides that far out are.
    rows = strides({"left": [20.0, 21.0], "right": [44.0, 45.0, 43.0, 44.0]})
    ms = {"knee_flexion_midstance_deg": metric("knee_flexion_midstance_deg", 38.8, left=20.5,
                                               right=44.0, rows=rows)}
    (f,) = evaluate(ms, rules)
    assert f.observations[0].side == "left"


def test_side_just_past_the_band_with_a_wide_spread_is_not_a_finding(rules):
    # Right side 8.2 % leg (good <= 8) from strides spread from 3 to 13: as
    # likely inside the band as outside; left clearly inside.
    rows = strides({"left": [0, 1, -1, 0, 2, -2], "right": [3, 13, 8, 5, 12, 8.2]})
    ms = {"overstride_pct_leg": metric("overstride_pct_leg", 4.1, left=0.0, right=8.2, rows=rows)}
    assert evaluate(ms, rules) == ()
    # The same side mean from consistent strides is a finding.
    rows = strides({"left": [0, 1, -1, 0, 2, -2], "right": [12.9, 13.2, 13.0, 12.8, 13.1, 13.0]})
    ms = {"overstride_pct_leg": metric("overstride_pct_leg", 6.5, left=0.0, right=13.0, rows=rows)}
    (f,) = evaluate(ms, rules)
    assert f.observations[0].side == "right" and f.observations[0].evidence > 0.99


def test_noisy_asymmetry_does_not_outrank_a_clear_finding(rules):
    # The shipped asymmetry rules are information only (side views); a team that scores
    # one (rules are data) gets the asymmetry evidence rule tested here.
    from dataclasses import replace

    name = "knee_flexion_ic_deg_asymmetry_pct"
    scored = replace(rules.metrics[name], scored=True, good=(-math.inf, 5.0),
                     watch=(-math.inf, 10.0))
    rules = replace(rules, metrics={**rules.metrics, name: scored})
    knee = strides({"left": [10, 22, 14, 25, 9, 20], "right": [20, 9, 24, 12, 21, 10]})
    ms = overstriding_metrics()
    ms["knee_flexion_ic_deg"] = metric("knee_flexion_ic_deg", 16.3, left=16.7, right=16.0,
                                       rows=knee)
    ms["pelvic_drop_deg"] = metric("pelvic_drop_deg", 11.0, left=11.0, right=10.0,
                                   rows=strides({"left": [11, 10.5, 11.5, 11],
                                                 "right": [10, 10.5, 9.5, 10]}))
    # 20 % asymmetry from two sides whose strides overlap completely
    ms["knee_flexion_ic_deg_asymmetry_pct"] = metric(
        "knee_flexion_ic_deg_asymmetry_pct", 20.0, left=18.0, right=14.7
    )
    ms["knee_flexion_ic_deg"] = metric("knee_flexion_ic_deg", 16.3, left=18.0, right=14.7,
                                       rows=knee)
    ids = [f.id for f in evaluate(ms, rules)]
    assert "knee_flexion_ic_deg_asymmetry_pct" not in ids
    # With consistent strides the same asymmetry is real, but ranks below the pattern.
    ms["knee_flexion_ic_deg"] = metric(
        "knee_flexion_ic_deg", 16.3, left=18.0, right=14.7,
        rows=strides({"left": [18, 18.2, 17.8, 18], "right": [14.7, 14.5, 14.9, 14.7]}),
    )
    findings = evaluate(ms, rules)
    ids = [f.id for f in findings]
    assert ids[0] == "overstriding" and "knee_flexion_ic_deg_asymmetry_pct" in ids


def test_finding_dict_is_json_ready(rules):
    (f,) = evaluate(overstriding_metrics(), rules)
    d = json.loads(json.dumps(f.to_dict(), allow_nan=False, default=lambda x: None))
    assert d["frames"][0]["image"].startswith("images/")
    assert d["see_clinician"]["source"]
    for g in d["why"] + d["actions"]:
        assert g["source"]


# ---------------------------------------------------------------- on the sample clips (slow)


def _ic_frames(truth):
    return [c["ic_frame"] for c in truth["contacts"]]


@pytest.mark.slow
def test_overstride_clip_flags_true_contacts(analysed_sample):
    analysis, report, out, truth = analysed_sample("side_overstride")
    items = report["findings"]["items"]
    over = [f for f in items if "overstride_pct_leg" in f["metrics"]]
    assert over, (
        "no overstride finding; measured overstride "
        f"{report['metrics']['overstride_pct_leg']['value']} % leg (truth ~22), findings "
        f"{[f['id'] for f in items]}"
    )
    f = over[0]
    assert f["rank"] <= 3
    ics = _ic_frames(truth)
    assert f["frames"], "overstride finding without flagged frames"
    for fr in f["frames"]:
        assert fr["metric"] == "overstride_pct_leg"
        nearest = min(ics, key=lambda x: abs(x - fr["frame"]))
        assert abs(nearest - fr["frame"]) <= 2, (fr["frame"], ics)
        assert (out / fr["image"]).is_file()


@pytest.mark.slow
def test_normal_clip_has_no_overstride_finding(analysed_sample):
    _, report, _, _ = analysed_sample("side_normal")
    ids = [m for f in report["findings"]["items"] for m in f["metrics"]]
    assert "overstride_pct_leg" not in ids and "overstriding" not in ids, (
        report["metrics"]["overstride_pct_leg"]["value"]
    )


@pytest.mark.slow
def test_valgus_clip_names_the_right_leg(analysed_sample):
    _, report, _, truth = analysed_sample("rear_valgus_right")
    items = report["findings"]["items"]
    valgus = [f for f in items if "knee_valgus_fppa_deg" in f["metrics"]]
    m = report["metrics"]["knee_valgus_fppa_deg"]
    assert valgus, f"no valgus finding: view {report['view']}, FPPA L {m['left']} R {m['right']}"
    assert valgus[0]["side"] == "right"
    peaks = [c["fppa_peak_frame"] for c in truth["contacts"] if c["foot"] == "right"]
    for fr in valgus[0]["frames"]:
        assert fr["foot"] == "right"
        assert min(abs(p - fr["frame"]) for p in peaks) <= 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["side_overstride", "side_normal", "rear_valgus_right"])
def test_every_finding_has_guidance_sources_and_frames(analysed_sample, name):
    _, report, out, _ = analysed_sample(name)
    block = report["findings"]
    assert block["general_advice"] and "not a diagnosis" in report["disclaimer"]
    for f in block["items"]:
        assert f["why"] and f["actions"] and f["see_clinician"]["text"], f["id"]
        assert f["sources"] and all(g["source"] for g in f["why"] + f["actions"]), f["id"]
        assert f["confidence"] in ("low", "medium", "high")
        assert f["frames"], f"{f['id']} points to no frame"
        for fr in f["frames"]:
            assert (out / fr["image"]).is_file()
    for suffix in ("report.json", "report.html", "per_stride.csv", "annotated.mp4", "tracks.nc"):
        assert (out / suffix).is_file(), suffix


@pytest.mark.slow
def test_report_command_rerenders_without_pose(analysed_sample, monkeypatch):
    from formcheck import cli, pipeline

    _, report, out, _ = analysed_sample("side_normal")
    (out / "report.html").unlink()

    def no_pose(*args, **kwargs):
        raise AssertionError("pose estimation must not run")

    monkeypatch.setattr(pipeline, "run_pose", no_pose)
    monkeypatch.setattr(pipeline, "track_pose", no_pose)
    monkeypatch.setattr(pipeline, "parallel_pose", no_pose)
    assert cli.main(["report", str(out), "--quiet"]) == 0
    again = json.loads((out / "report.json").read_text())
    assert (out / "report.html").is_file()
    assert [f["id"] for f in again["findings"]["items"]] == [
        f["id"] for f in report["findings"]["items"]
    ]
    assert math.isclose(
        again["metrics"]["cadence_spm"]["value"] or 0,
        report["metrics"]["cadence_spm"]["value"] or 0,
    )


@pytest.mark.slow
def test_per_stride_csv_matches_report(analysed_sample):
    import csv

    _, report, out, _ = analysed_sample("side_overstride")
    rows = list(csv.DictReader((out / "per_stride.csv").open()))
    n = sum(len(m["per_stride"]) for m in report["metrics"].values())
    assert len(rows) == n and rows and set(rows[0]) >= {"metric", "foot", "frame", "value"}


@pytest.mark.slow
def test_rerendering_a_report_folder_leaves_no_stale_images(analysed_sample, sample_dir, tmp_path):
    from formcheck.io.outputs import write_analysis

    analysis, _, _, _ = analysed_sample("side_overstride")
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    stale = out / "images" / "frame_000999_from_an_earlier_run.png"
    stale.write_bytes(b"\x89PNG earlier run")
    report = write_analysis(analysis, out, video_path=sample_dir / "side_overstride.mp4")
    wanted = {fr["image"] for f in report["findings"]["items"] for fr in f["frames"]}
    assert wanted, "the overstride clip flags frames"
    assert not stale.exists()
    assert {f"images/{p.name}" for p in (out / "images").glob("*.png")} == wanted


def test_bundled_rules_are_parsed_once_and_each_caller_gets_its_own_tables() -> None:
    import pickle

    from formcheck.findings import _bundled_rules

    first = default_rules()
    name = next(iter(first.metrics))
    first.metrics.pop(name)  # type: ignore[attr-defined]  # a careless caller
    second = default_rules()
    assert name in second.metrics and name in _bundled_rules().metrics
    assert second.patterns is _bundled_rules().patterns  # parsed once, not re-read
    assert pickle.loads(pickle.dumps(second)) == second  # Streamlit's cache pickles
