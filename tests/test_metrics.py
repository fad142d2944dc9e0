"""Metric tests against analytic runners with exactly known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixtures.runner import Runner, make_runner, runner_points, side_view

from formcheck.cleaning import clean_tracks
from formcheck.events import GaitEvent, detect_events, leg_length_px
from formcheck.metrics import (
    CONTACT_METRICS,
    LEG_FRACTION_OF_HEIGHT,
    MIN_STEPS,
    Metric,
    asymmetry,
    compute_metrics,
    fppa_deg,
    knee_flexion_deg,
    strike_pattern,
)


def _truth_ics(r: Runner) -> np.ndarray:
    """Exact contact times inside the clip, both feet."""
    t = np.concatenate([r.contact_times("left"), r.contact_times("right")])
    return np.sort(t[(t > 0.3) & (t < r.duration_s - 0.3)])


def _run(r: Runner, **kw: float) -> dict[str, Metric]:
    ds = make_runner(r)
    return compute_metrics(ds, side_view(r), detect_events(ds, side_view(r)), **kw)


@pytest.mark.parametrize(
    "r",
    [
        Runner(),
        Runner(facing="left", fps=30, cadence_spm=150, leg_px=420, height=1280, width=720),
        Runner(fps=240, cadence_spm=190, strike_deg=-4.0, duration_s=4.0),
    ],
    ids=["60fps", "30fps-left", "240fps-forefoot"],
)
def test_side_metrics_on_exact_tracks(r: Runner) -> None:
    m = _run(r)
    assert m["cadence_spm"].value == pytest.approx(r.cadence_spm, abs=0.5)
    assert m["cadence_spm"].status == "ok"
    assert m["overstride_pct_leg"].value == pytest.approx(100 * r.overstride, abs=1.0)
    sgn = 1.0 if r.facing == "right" else -1.0
    for foot in ("left", "right"):
        t_ic = r.contact_times(foot)
        p = runner_points(r, t_ic[(t_ic > 0.3) & (t_ic < r.duration_s - 0.3)])
        d = p[f"{foot}_ankle"] - p[f"{foot}_knee"]
        shank = np.degrees(np.arctan2(sgn * d[:, 0], d[:, 1]))
        assert getattr(m["shank_angle_ic_deg"], foot) == pytest.approx(
            float(np.mean(shank)), abs=1.0
        )
        knee = knee_flexion_deg(p[f"{foot}_hip"], p[f"{foot}_knee"], p[f"{foot}_ankle"])
        assert getattr(m["knee_flexion_ic_deg"], foot) == pytest.approx(
            float(np.mean(knee)), abs=2.0
        )
    assert m["trunk_lean_deg"].value == pytest.approx(r.lean_deg, abs=0.5)
    assert m["vertical_oscillation_pct_leg"].value == pytest.approx(200 * r.osc, abs=0.5)
    assert m["foot_strike_angle_deg"].value == pytest.approx(r.strike_deg, abs=2.0)
    assert strike_pattern(r.strike_deg) in m["foot_strike_angle_deg"].reason
    stride = 2 * r.step_s
    assert m["ground_contact_time_ms"].value == pytest.approx(
        1000 * r.duty * stride, abs=1000 / r.fps
    )
    assert m["flight_time_ms"].value == pytest.approx(
        1000 * (r.step_s - r.duty * stride), abs=1000 / r.fps
    )
    assert m["duty_factor_pct"].value == pytest.approx(100 * r.duty, abs=100 / (r.fps * stride))
    assert (m["duty_factor_pct"].status == "ok") == (r.fps >= 120)
    if r.fps < 120:
        assert "approximate below 120 fps" in m["duty_factor_pct"].reason
    for name in ("knee_valgus_fppa_deg", "pelvic_drop_deg", "step_width_pct_leg"):
        assert m[name].status == "not_applicable" and m[name].value is None
        assert m[name].reason == "needs a rear or front view; this clip looks like a side view"


def test_per_stride_fields_and_uncertainty() -> None:
    m = _run(Runner())["overstride_pct_leg"]
    assert m.n_strides == len(m.per_stride) == len(m.frames) >= 20
    assert {"foot", "frame", "time_s", "value"} <= set(m.per_stride[0])
    assert m.left is not None and m.right is not None
    assert m.uncertainty is not None and m.uncertainty < 0.5
    json.dumps({k: v.to_dict() for k, v in _run(Runner()).items()})


def test_noise_and_swaps_keep_cadence_and_overstride() -> None:
    r = Runner(fps=30, seed=4)
    ds = clean_tracks(make_runner(r, noise_px=4.0, swap_frames=(30, 31, 32, 90, 91, 150)))
    m = compute_metrics(ds, side_view(r), detect_events(ds, side_view(r)))
    assert m["cadence_spm"].value == pytest.approx(r.cadence_spm, abs=1.0)
    assert m["overstride_pct_leg"].value == pytest.approx(100 * r.overstride, abs=2.0)
    assert m["trunk_lean_deg"].value == pytest.approx(r.lean_deg, abs=1.0)


@pytest.mark.parametrize("view", ["rear", "front"])
def test_frontal_metrics_on_exact_tracks(view: str) -> None:
    r = Runner(view=view)
    m = _run(r)
    t = np.linspace(0, 2 * r.step_s, 4001)
    p = runner_points(r, t)
    medial = 1.0 if view == "rear" else -1.0
    truth = np.max(fppa_deg(p["left_hip"], p["left_knee"], p["left_ankle"], medial))
    assert truth > 3.0
    fppa = m["knee_valgus_fppa_deg"]
    assert fppa.left == pytest.approx(truth, abs=1.0)
    assert fppa.right == pytest.approx(truth, abs=1.0)
    assert fppa.status == "low_confidence" and "estimate" in fppa.reason
    assert m["pelvic_drop_deg"].value == pytest.approx(r.drop_deg, abs=1.0)
    leg = leg_length_px(make_runner(r))
    assert m["step_width_pct_leg"].value == pytest.approx(
        100 * r.step_width * r.leg_px / leg, abs=1.0
    )
    assert m["overstride_pct_leg"].status == "not_applicable"
    assert (
        m["overstride_pct_leg"].reason == f"needs a side view; this clip looks like a {view} view"
    )
    assert m["overstride_pct_leg_asymmetry_pct"].status == "not_applicable"


def _events_at(times: np.ndarray) -> list[GaitEvent]:
    feet = ["left", "right"]
    return [GaitEvent(feet[k % 2], "initial_contact", k, float(tt)) for k, tt in enumerate(times)]


def test_cadence_survives_contact_timing_that_drifts_along_the_clip() -> None:
    # Contacts that slide 4 frames early over the clip (a pose model losing
    # the feet progressively) put the contacts' slope ~3 spm off; the feet's
    # and the hip's periodicity agree with each other and win the median.
    r = Runner(fps=30)
    ds = make_runner(r)
    ics = _truth_ics(r)
    drift = -4.0 / r.fps * (ics - ics[0]) / (ics[-1] - ics[0])
    m = compute_metrics(ds, side_view(r), _events_at(ics + drift))["cadence_spm"]
    contacts_only = 60.0 / float(np.polyfit(np.arange(ics.size), ics + drift, 1)[0])
    assert abs(contacts_only - r.cadence_spm) > 2.0
    assert m.value == pytest.approx(r.cadence_spm, abs=0.3)


def test_slow_motion_cadence_is_flagged() -> None:
    r = Runner()
    ds = make_runner(r)
    slow = _events_at(_truth_ics(r) * 8.0)
    m = compute_metrics(ds, side_view(r), slow)["cadence_spm"]
    assert m.value == pytest.approx(r.cadence_spm / 8, rel=0.01)
    assert m.status == "low_confidence"
    assert "slow-motion" in m.reason and "--capture-fps" in m.reason


def test_few_steps_are_low_confidence() -> None:
    r = Runner()
    ds = make_runner(r)
    ics = _truth_ics(r)
    few = compute_metrics(ds, side_view(r), _events_at(ics[:MIN_STEPS]))  # MIN_STEPS - 1 steps
    assert few["cadence_spm"].status == "low_confidence"
    assert "strides" in few["cadence_spm"].reason and "10 s" in few["cadence_spm"].reason
    assert few["cadence_spm"].value == pytest.approx(r.cadence_spm, abs=0.5)  # still shown
    enough = compute_metrics(ds, side_view(r), _events_at(ics[: MIN_STEPS + 1]))
    assert enough["cadence_spm"].status == "ok"
    two = compute_metrics(ds, side_view(r), _events_at(ics[:2]))
    assert two["overstride_pct_leg"].status == "low_confidence"
    assert "only 2 steps measured (1 strides" in two["overstride_pct_leg"].reason


def test_values_at_contact_need_a_frame_rate_that_can_time_it() -> None:
    """At 15 fps the cadence (a fit over many steps) stands; values read at the
    instant of contact are low-confidence, with the frame rate as the reason."""
    for fps, ok in ((15.0, False), (30.0, True)):
        r = Runner(fps=fps)
        m = _run(r)
        assert m["cadence_spm"].status == "ok"
        for name in CONTACT_METRICS:
            assert (m[name].status == "ok") == ok, (fps, name, m[name].reason)
            if not ok:
                assert "15 frames per second" in m[name].reason
        if not ok:
            assert m["overstride_pct_leg_asymmetry_pct"].status == "low_confidence"


def test_no_events() -> None:
    r = Runner()
    m = compute_metrics(make_runner(r), side_view(r), [])
    assert m["cadence_spm"].value is None and m["cadence_spm"].status == "low_confidence"


def test_speed_and_height() -> None:
    r = Runner()
    m = _run(r, height_m=1.8, treadmill_speed_kmh=12.0)
    assert m["step_length_m"].value == pytest.approx(12 / 3.6 * r.step_s, rel=0.01)
    assert m["speed_m_s"].value == pytest.approx(12 / 3.6)
    cm = m["vertical_oscillation_pct_leg"].value / 100 * LEG_FRACTION_OF_HEIGHT * 180
    assert m["vertical_oscillation_cm"].value == pytest.approx(cm, rel=1e-6)
    bare = _run(r)
    assert bare["step_length_m"].status == "not_applicable"
    assert bare["vertical_oscillation_cm"].status == "not_applicable"


def test_asymmetry() -> None:
    rows = tuple(
        {"foot": f, "value": v, "frame": 0}
        for f, v in [("left", 10.0), ("right", 12.0), ("left", 10.0), ("right", 12.0)]
    )
    base = Metric(
        "x", 11.0, "deg", 1.0, "ok", "", left=10.0, right=12.0, per_stride=rows, n_strides=4
    )
    a = asymmetry(base)
    assert a.name == "x_asymmetry_pct" and a.value == pytest.approx(2 / 11 * 100)
    assert a.status == "ok"
    near_zero = Metric(
        "y", 0.0, "deg", 1.0, "ok", "", left=-0.5, right=0.5, per_stride=rows, n_strides=4
    )
    assert asymmetry(near_zero).status == "low_confidence"


def test_side_view_asymmetries_are_never_ok_but_frontal_ones_can_be() -> None:
    """One side camera cannot compare the legs: its asymmetries are hints (value kept)."""
    side = _run(Runner())
    for name in ("overstride_pct_leg", "knee_flexion_ic_deg", "ground_contact_time_ms"):
        a = side[f"{name}_asymmetry_pct"]
        assert a.value is not None and a.status == "low_confidence", a
        assert a.reason.startswith("seen from one side, the far leg is partly hidden"), a.reason
    rear = _run(Runner(view="rear"))["pelvic_drop_deg_asymmetry_pct"]
    assert rear.status == "ok" and "seen from one side" not in rear.reason, rear


def test_fppa_sign() -> None:
    hip, ankle = np.array([0.0, 0.0]), np.array([0.0, 100.0])
    knee_medial_plus_x = np.array([5.0, 50.0])
    assert fppa_deg(hip, knee_medial_plus_x, ankle, 1.0) > 0
    assert fppa_deg(hip, knee_medial_plus_x, ankle, -1.0) < 0
    assert float(fppa_deg(hip, knee_medial_plus_x, ankle, 1.0)) == pytest.approx(
        2 * np.degrees(np.arctan(5 / 50))
    )


def test_fppa_peak_ignores_a_glitch_to_the_other_side() -> None:
    # One frame per stance with the knee thrown laterally (varus) must not
    # stand for a stance whose knee caves in (valgus) the rest of the time.
    r = Runner(view="rear", fps=60)
    ds = make_runner(r)
    events = detect_events(ds, side_view(r))
    pos = ds["position"].values.copy()
    names = list(ds["keypoints"].values)
    t = ds["time"].values
    knee = names.index("left_knee")
    lateral = -1.0  # the left leg is on the image left from behind
    for tc in r.contact_times("left"):
        k = int(np.searchsorted(t, tc + 0.3 * r.duty * 2 * r.step_s))
        if k < t.size:
            pos[k, 0, knee, 0] += lateral * 0.15 * r.leg_px
    glitched = ds.copy()
    glitched["position"] = (ds["position"].dims, pos)
    clean = compute_metrics(ds, side_view(r), events)["knee_valgus_fppa_deg"]
    m = compute_metrics(glitched, side_view(r), events)["knee_valgus_fppa_deg"]
    assert clean.left is not None and clean.left > 3.0
    assert m.left == pytest.approx(clean.left, abs=0.5)


def _reference_spline(t: np.ndarray, y: np.ndarray, times: np.ndarray) -> np.ndarray:
    """scipy's not-a-knot CubicSpline on each gap-free run (2-3 samples: linear), NaN elsewhere."""
    from scipy.interpolate import CubicSpline

    out = np.full(times.size, np.nan)
    ok = np.isfinite(y)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(int), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        ts, ys = t[start:stop], y[start:stop]
        inside = (times >= ts[0]) & (times <= ts[-1])
        if ts.size >= 4:
            out[inside] = CubicSpline(ts, ys)(times[inside])
        elif ts.size >= 2:
            out[inside] = np.interp(times[inside], ts, ys)
    return out


def test_cached_track_reads_match_scipy_splines_run_by_run() -> None:
    """The metric stage's compact splines give scipy's CubicSpline values on every
    gap-free run, at clip ends and knots too, and NaN where no run covers the time.
    The second derivatives are kept in float32: within 1e-6 px of scipy here."""
    from formcheck.dataset import keypoint_xy
    from formcheck.metrics import _Tracks, interp_track

    r = Runner(duration_s=4.0)
    ds = make_runner(r)
    k = list(ds["keypoints"].values).index("left_heel")
    ds["position"][40:47, :, k, 0] = np.nan  # a gap
    ds["position"][100:102, :, k, 0] = np.nan  # a short one: a 2-sample run between
    ds["position"][103:105, :, k, 0] = np.nan
    ds["position"][150, :, k, 0] = np.nan  # an isolated sample at 151: no run
    ds["position"][152, :, k, 0] = np.nan
    t = ds["time"].values
    times = np.concatenate([np.linspace(t[0] - 0.1, t[-1] + 0.1, 997), t])  # and every knot
    xy = keypoint_xy(ds, "left_heel")
    want = np.column_stack([_reference_spline(t, xy[:, j], times) for j in range(2)])
    got = _Tracks(ds).at("left_heel", times)
    np.testing.assert_allclose(got, want, equal_nan=True, rtol=0, atol=1e-6)
    np.testing.assert_allclose(interp_track(t, xy, times), want, equal_nan=True, rtol=0, atol=1e-6)
    assert np.isnan(got[times < t[0]]).all() and np.isfinite(got).sum() > 1800
    assert np.isnan(got[times == t[151]]).all()


def test_too_few_steps_on_a_long_clip_says_the_feet_were_lost_not_film_longer() -> None:
    r = Runner(duration_s=12.0, fps=30.0)
    ds = make_runner(r)
    early = [e for e in detect_events(ds, side_view(r)) if e.time_s < 2.0]
    m = compute_metrics(ds, side_view(r), early)["cadence_spm"]
    assert m.status == "low_confidence"
    assert "its steps were found only from 0." in m.reason and "of this 12 s clip" in m.reason
    assert "film at least 10 s" not in m.reason
    # Contacts all through the clip, but the points one metric needs mostly missing.
    ds_knee = make_runner(r)
    ds_knee["position"].loc[{"time": ds_knee["time"][60:], "keypoints": "right_knee"}] = np.nan
    ds_knee["position"].loc[{"time": ds_knee["time"][60:], "keypoints": "left_knee"}] = np.nan
    knee = compute_metrics(ds_knee, side_view(r), detect_events(ds, side_view(r)))
    assert knee["cadence_spm"].status == "ok"
    why = knee["knee_flexion_ic_deg"].reason
    assert "found only from 0." in why and "of this 12 s clip" in why, why
    # A clip that is short really is too short.
    short = Runner(duration_s=2.5, fps=30.0)
    ds = make_runner(short)
    m = compute_metrics(ds, side_view(short), detect_events(ds, side_view(short)))["cadence_spm"]
    assert "film at least 10 s of steady running" in m.reason


def test_values_no_running_body_shows_are_withheld_and_never_judged() -> None:
    # A side clip forced to a rear view read one knee at -80 deg of valgus; the other
    # knee's 28.6 from the same strides became a top fix.
    from formcheck.findings import RuleContext, default_rules, observe
    from formcheck.metrics import PLAUSIBLE_RANGE, Metric, asymmetry, implausible

    rows = tuple(
        {"foot": f, "frame": i, "time_s": i / 30, "value": v}
        for i, (f, v) in enumerate([("right", 18.7), ("left", -80.3), ("right", 38.5)])
    )
    fppa = Metric("knee_valgus_fppa_deg", -7.7, "deg", 158.0, "low_confidence", "",
                  left=-80.3, right=28.6, per_stride=rows, n_strides=3)
    withheld = implausible(fppa)
    assert withheld.status == "not_applicable" and withheld.value is None
    assert "outside what a running body shows" in withheld.reason and "-80" in withheld.reason
    assert asymmetry(withheld).status == "not_applicable"
    rules = default_rules()
    rule = rules.metrics["knee_valgus_fppa_deg"]
    assert rule.plausible == PLAUSIBLE_RANGE["knee_valgus_fppa_deg"]
    assert observe(fppa, rule, RuleContext()) is None  # the raw metric is not judged either
    fine_rows = tuple({**r, "value": v} for r, v in zip(rows, (13, 11, 13), strict=True))
    fine = Metric("knee_valgus_fppa_deg", 12.0, "deg", 2.0, "ok", "", left=11.0, right=13.0,
                  per_stride=fine_rows)
    assert implausible(fine) is fine
    assert observe(fine, rule, RuleContext()) is not None
