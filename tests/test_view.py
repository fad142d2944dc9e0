"""View, facing and setting detection on analytic runners."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.runner import Runner, make_runner

from formcheck.dataset import from_arrays, leg_length_px
from formcheck.view import (
    StanceDrift,
    ToeDrop,
    ViewInfo,
    _front_or_rear,
    detect_view,
    resolve_view,
    stance_drift,
    stance_toe_drop,
)


@pytest.mark.parametrize(
    ("view", "facing"), [("side", "left"), ("side", "right"), ("rear", None), ("front", None)]
)
def test_detects_view_and_facing(view: str, facing: str | None) -> None:
    r = Runner(view=view, facing=facing or "right")
    info = detect_view(make_runner(r, noise_px=3.0))
    assert info.view == view
    assert info.facing == facing
    assert info.setting == "treadmill"
    assert 0.0 < info.confidence <= 1.0 and info.reason


def test_overground_when_hips_cross_the_frame() -> None:
    r = Runner()
    ds = make_runner(r)
    pos = ds["position"].values.copy()
    shift = np.linspace(-400, 400, ds.sizes["time"])
    pos[:, 0, :, :] += shift[:, None, None]
    moved = from_arrays(
        pos[..., 0].transpose(0, 2, 1),
        ds["confidence"].values[..., 0],
        ds["time"].values,
        source="x",
        width=r.width,
        height=r.height,
    )
    assert detect_view(moved).setting == "overground"


def test_unknown_without_torso() -> None:
    r = Runner()
    ds = make_runner(r)
    ds["position"].loc[{"keypoints": ["left_shoulder", "right_shoulder"]}] = np.nan
    assert detect_view(ds).view == "unknown"


def test_resolve_view() -> None:
    detected = ViewInfo("side", "left", "treadmill", 0.8, "cues")
    assert resolve_view(detected, "auto") is detected
    forced = resolve_view(detected, "rear")
    assert (forced.view, forced.facing, forced.confidence) == ("rear", None, 1.0)
    assert "set by the user" in forced.reason
    assert resolve_view(detected, "side").facing == "left"


@pytest.mark.parametrize("view", ["rear", "front"])
def test_front_or_rear_from_belt_motion_when_a_face_is_reported(view: str) -> None:
    # Pose models report a face on the back of the head; the belt motion decides.
    r = Runner(view=view, face_visibility=0.99)
    info = detect_view(make_runner(r, noise_px=3.0))
    assert info.view == view, info.reason
    assert "stance ankle moves" in info.reason


def test_stance_drift_sign_and_side_view_is_flat() -> None:
    r = Runner(view="rear")
    rear = stance_drift(make_runner(r, noise_px=2.0))
    front = stance_drift(make_runner(Runner(view="front"), noise_px=2.0))
    side = stance_drift(make_runner(Runner(), noise_px=2.0))
    assert rear.z > 2 and front.z < -2
    assert rear.n >= 20 and front.n >= 20
    # belt_drift leg lengths over one contact, in the runner's (hip-knee-ankle) leg lengths
    contact_s = r.duty * 2 * r.step_s
    leg = leg_length_px(make_runner(r))
    assert rear.median == pytest.approx(r.belt_drift * r.leg_px / leg / contact_s, rel=0.15)
    assert front.median == pytest.approx(-rear.median, rel=0.15)
    assert abs(side.median) < 0.1 * rear.median


def test_frontal_view_without_motion_or_clear_cue_is_the_guides_rear_view() -> None:
    # A face is reported (pose models invent one on the back of the head), the
    # belt does not move the feet and the toes lie level: the filming guide's
    # rear view, with low confidence.
    r = Runner(view="front", face_visibility=0.99, belt_drift=0.0, toe_drop=0.0)
    info = detect_view(make_runner(r, noise_px=3.0))
    assert info.view == "rear" and info.confidence <= 0.5, info.reason
    assert "filming guide" in info.reason


def test_stance_toes_below_the_heels_say_front() -> None:
    front = make_runner(Runner(view="front", belt_drift=0.0, face_visibility=0.99), noise_px=2.0)
    rear = make_runner(Runner(view="rear", belt_drift=0.0, face_visibility=0.99), noise_px=2.0)
    drop, lower, n = stance_toe_drop(front)
    leg = leg_length_px(front)
    assert n >= 20 and lower == 1.0
    assert drop == pytest.approx(0.15 * Runner().leg_px / leg, rel=0.1)
    assert stance_toe_drop(rear)[0] < 0
    info = detect_view(front)
    assert info.view == "front" and "toes" in info.reason, info.reason
    assert detect_view(rear).view == "rear"


@pytest.mark.parametrize(
    ("drift", "toe", "want", "conf"),
    [
        (StanceDrift(0.11, 1.5, 19), (0.02, 0.8, 19), "rear", 0.3),  # weak, one way
        (StanceDrift(-0.11, -1.5, 19), (0.02, 0.8, 19), "front", 0.3),
        (StanceDrift(0.11, 1.5, 4), (0.02, 0.8, 4), "rear", 0.3),  # too few stances: guide
        (StanceDrift(-0.05, -0.5, 19), (0.02, 0.5, 19), "rear", 0.3),  # nothing clear: guide
        (StanceDrift(-0.03, -2.5, 22), (0.0, 0.5, 22), "rear", 0.3),  # one way, but too slow
        (StanceDrift(0.05, 0.5, 19), (0.18, 1.0, 19), "front", 0.5),  # toes point at camera
        (StanceDrift(0.05, 0.5, 19), (0.04, 0.9, 19), "rear", 0.3),  # MediaPipe from behind
        (StanceDrift(0.45, 4.5, 19), (0.18, 1.0, 19), "rear", 0.75),  # the belt outweighs toes
    ],
)
def test_front_or_rear_weighs_the_cues_in_order(
    drift: StanceDrift, toe: tuple[float, float, int], want: str, conf: float
) -> None:
    view, confidence, why = _front_or_rear(drift, ToeDrop(*toe), 1.0, "treadmill", 0.0)
    assert (view, confidence) == (want, pytest.approx(conf)), why


def test_a_chosen_view_the_clip_contradicts_gets_a_note() -> None:
    from formcheck.pipeline import AnalysisOptions, analyze_tracks
    from formcheck.view import override_note

    ds = make_runner(Runner(view="rear"))
    ds.attrs.update(n_frames=ds.sizes["time"], detected_frames=ds.sizes["time"])
    rear = detect_view(ds)
    assert rear.view == "rear" and rear.confidence >= 0.6
    note = override_note(rear, "side")
    assert note is not None and "set to side" in note and "looks like a rear view" in note
    assert override_note(rear, "auto") is None  # detected, not chosen
    assert override_note(rear, "front") is None  # rear vs front: no doubt raised
    side = detect_view(make_runner(Runner()))
    assert override_note(side, "side") is None  # they agree
    unsure = ViewInfo("rear", None, "treadmill", 0.3, "unsure")
    assert override_note(unsure, "side") is None
    # The note reaches the report's notes through the pipeline, and no metric of the
    # contradicted view is 'ok' (cadence does not depend on the view).
    forced = analyze_tracks(ds, {}, AnalysisOptions(view="side"))
    assert note in forced.video["warnings"]
    measured = [m for n, m in forced.metrics.items() if m.status != "not_applicable"]
    assert any(m.name == "knee_flexion_midstance_deg" for m in measured)
    for m in measured:
        if m.name != "cadence_spm":
            assert m.status == "low_confidence" and note in m.reason, (m.name, m.reason)
    # Earlier reasons are kept (a side-view asymmetry's own), and a second call adds nothing.
    from formcheck.metrics import ONE_SIDE_REASON, doubt_view

    asym = [m for m in measured if m.name.endswith("_asymmetry_pct")]
    assert asym and all(ONE_SIDE_REASON in m.reason for m in asym), [m.reason for m in asym]
    again = doubt_view(forced.metrics, note)
    assert all(again[n].reason.count(note) <= 1 for n in again)
    assert {n: m.reason for n, m in again.items()} == {
        n: m.reason for n, m in forced.metrics.items()}
    auto = analyze_tracks(ds, {}, AnalysisOptions())
    assert not auto.video["warnings"]
    assert auto.metrics["knee_valgus_fppa_deg"].reason.count(note) == 0


def _zoomed(ds, factor: float, from_s: float):
    """The runner's picture scaled by ``factor`` about the image centre after ``from_s``."""
    pos = ds["position"].values.copy()
    later = ds["time"].values >= from_s
    centre = np.array([640.0, 360.0])[:, None, None]
    pos[later] = centre + (pos[later] - centre) * factor
    return ds.assign(position=(ds["position"].dims, pos))


@pytest.mark.parametrize("view", ["rear", "front"])
def test_a_zoom_on_a_treadmill_is_not_a_runner_changing_distance(view: str) -> None:
    from formcheck.view import detect_setting

    zoomed = _zoomed(make_runner(Runner(view=view, duration_s=8.0)), 1.35, 4.0)
    setting, why = detect_setting(zoomed)
    assert setting == "treadmill" and "ride a belt" in why, why
    found = detect_view(zoomed)
    assert found.view == view, found
    # The same size change without a belt under the feet is a runner moving away or closer.
    still_feet = _zoomed(make_runner(Runner(view=view, duration_s=8.0, belt_drift=0.0)), 1.35, 4.0)
    assert detect_setting(still_feet)[0] == "overground"


def test_a_zoomed_side_view_stays_a_treadmill_and_a_hidden_face_says_rear() -> None:
    from formcheck.view import detect_setting

    side = _zoomed(make_runner(Runner(view="side", duration_s=8.0)), 1.35, 4.0)
    setting, why = detect_setting(side, frontal=False)
    assert setting == "treadmill" and "crossing no ground" in why, why
    assert detect_view(side).setting == "treadmill"
    # A short zoomed rear clip (too few stances for the belt) with the face hidden: rear.
    short = _zoomed(make_runner(Runner(view="rear", duration_s=2.0)), 1.35, 1.0)
    found = detect_view(short)
    assert found.view == "rear", found


def test_a_view_guessed_from_a_name_gives_way_to_a_confident_detection() -> None:
    # A tester's side clip named "welcome_back_run.mp4" was analysed as a rear view in a
    # batch, and a knee valgus of 28.6 +/- 125.7 deg became a top fix.
    from formcheck.pipeline import AnalysisOptions, analyze_tracks

    ds = make_runner(Runner())
    ds.attrs.update(n_frames=ds.sizes["time"], detected_frames=ds.sizes["time"])
    guessed = analyze_tracks(ds, {}, AnalysisOptions(view="rear", view_hint=True))
    assert guessed.view.view == "side" and guessed.view.facing == "right"
    assert any("name suggests a rear view" in w for w in guessed.video["warnings"])
    assert guessed.metrics["overstride_pct_leg"].status == "ok"
    chosen = analyze_tracks(ds, {}, AnalysisOptions(view="rear"))  # the user's choice stays
    assert chosen.view.view == "rear"
    assert any("the view was set to rear" in w for w in chosen.video["warnings"])


def test_an_unsure_front_or_rear_call_casts_doubt_on_the_sides() -> None:
    # With no belt motion and level toes the clip is taken as rear at low confidence:
    # every per-side frontal value would be on the other leg if it was a front view.
    from formcheck.pipeline import AnalysisOptions, analyze_tracks
    from formcheck.view import front_rear_doubt

    weak = make_runner(Runner(view="rear", belt_drift=0.0, toe_drop=0.0, face_visibility=0.99))
    clear = make_runner(Runner(view="rear"))
    for ds in (weak, clear):
        ds.attrs.update(n_frames=ds.sizes["time"], detected_frames=ds.sizes["time"])
    unsure = detect_view(weak)
    assert unsure.view == "rear" and unsure.kind_confidence and unsure.kind_confidence >= 0.6
    doubt = front_rear_doubt(unsure)
    assert doubt is not None and "left and right are swapped" in doubt
    assert front_rear_doubt(detect_view(clear)) is None
    assert front_rear_doubt(resolve_view(unsure, "rear")) is None  # the user settled it
    an = analyze_tracks(weak, {}, AnalysisOptions())
    drop = an.metrics["pelvic_drop_deg"]
    assert drop.status == "low_confidence" and doubt in drop.reason
    sure = analyze_tracks(clear, {}, AnalysisOptions())
    assert "left and right are swapped" not in sure.metrics["pelvic_drop_deg"].reason
    # The width of the shoulders and hips alone says frontal: a name's "side" gives way.
    named = analyze_tracks(weak, {}, AnalysisOptions(view="side", view_hint=True))
    assert named.view.view == "rear"
    assert any("name suggests a side view" in w for w in named.video["warnings"])
