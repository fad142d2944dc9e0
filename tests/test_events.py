"""Gait-event tests on analytic runners with exactly known contact times.

The runner builder lives in ``tests/fixtures/runner.py`` (shared with the
metric and view tests).
"""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.runner import Runner, make_runner, match_errors, side_view

from formcheck.cleaning import clean_tracks
from formcheck.events import detect_events, estimate_step_period

CASES = [
    Runner(),
    Runner(facing="left", fps=30, cadence_spm=150, leg_px=420, height=1280, width=720),
    Runner(fps=120, cadence_spm=200, duty=0.3, strike_deg=-5.0, leg_px=180),
    Runner(fps=240, cadence_spm=140, duty=0.42, duration_s=5.0, facing="left"),
    Runner(fps=30, cadence_spm=210, duty=0.3, leg_px=250, phase_s=0.05),
    Runner(view="rear", fps=60),
    Runner(view="front", fps=30, cadence_spm=180),
]


@pytest.mark.parametrize("r", CASES, ids=lambda r: f"{r.view}-{r.fps:g}fps-{r.cadence_spm:g}spm")
def test_exact_tracks_contacts_within_half_frame(r: Runner) -> None:
    events = detect_events(make_runner(r), side_view(r))
    errs, missed, extra, wrong = match_errors(events, r, "initial_contact")
    assert (missed, extra, wrong) == (0, 0, 0)
    assert np.median(np.abs(errs)) <= 0.5
    assert np.max(np.abs(errs)) <= 1.0


@pytest.mark.parametrize("r", CASES, ids=lambda r: f"{r.view}-{r.fps:g}fps")
def test_exact_tracks_toe_offs(r: Runner) -> None:
    events = detect_events(make_runner(r), side_view(r))
    errs, missed, extra, _ = match_errors(events, r, "toe_off")
    assert missed <= 1 and extra == 0
    assert np.median(np.abs(errs)) <= 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_noise_and_swaps(seed: int, fps: float) -> None:
    r = Runner(fps=fps, seed=seed, facing="left" if seed % 2 else "right")
    n = int(r.duration_s * fps)
    rng = np.random.default_rng(seed)
    starts = rng.choice(np.arange(10, n - 10), 4, replace=False)
    swaps = tuple(int(s + k) for s in starts for k in range(3))
    ds = clean_tracks(make_runner(r, noise_px=4.0, swap_frames=swaps))
    events = detect_events(ds, side_view(r))
    errs, missed, extra, wrong = match_errors(events, r, "initial_contact")
    assert (missed, extra, wrong) == (0, 0, 0)
    assert np.median(np.abs(errs)) <= 1.0
    assert np.percentile(np.abs(errs), 95) <= 2.0


def test_short_gap_keeps_contacts_and_long_gap_drops_only_its_own() -> None:
    r = Runner(fps=60)
    short = make_runner(r, nan_frames=(50, 51))
    errs, missed, extra, wrong = match_errors(
        detect_events(short, side_view(r)), r, "initial_contact"
    )
    assert (missed, extra, wrong) == (0, 0, 0)
    gap = tuple(range(200, 260))
    events = detect_events(make_runner(r, nan_frames=gap), side_view(r))
    errs, missed, extra, wrong = match_errors(events, r, "initial_contact")
    assert extra == 0 and wrong == 0 and missed <= 4
    assert np.median(np.abs(errs)) <= 0.5


def test_feet_alternate_and_frame_is_nearest() -> None:
    r = Runner(vfr_jitter=0.2)
    ds = make_runner(r)
    ics = [e for e in detect_events(ds, side_view(r)) if e.kind == "initial_contact"]
    feet = [e.foot for e in ics]
    assert all(a != b for a, b in zip(feet[:-1], feet[1:], strict=True))
    t = ds["time"].values
    assert all(e.frame == int(np.argmin(np.abs(t - e.time_s))) for e in ics)


@pytest.mark.parametrize("cadence", [140.0, 170.0, 210.0])
def test_step_period(cadence: float) -> None:
    r = Runner(cadence_spm=cadence)
    assert estimate_step_period(make_runner(r)) == pytest.approx(60 / cadence, rel=0.02)


def test_zeni_method_runs_on_side_view() -> None:
    r = Runner()
    events = detect_events(make_runner(r), side_view(r), method="zeni")
    errs, missed, extra, _ = match_errors(events, r, "initial_contact")
    assert missed == 0 and extra == 0


def test_too_short_clip_gives_no_events() -> None:
    r = Runner(duration_s=0.1)
    assert detect_events(make_runner(r), side_view(r)) == []


def _glitch_at_contacts(r: Runner, ds, lift_leg: float = 0.1, frames: int = 3):
    """Lift every foot point for a few frames after each contact, as pose models do."""
    pos = ds["position"].values.copy()
    t = ds["time"].values
    names = list(ds["keypoints"].values)
    for foot in ("left", "right"):
        cols = [names.index(f"{foot}_{j}") for j in ("ankle", "heel", "foot_index")]
        for tc in r.contact_times(foot):
            k = int(np.searchsorted(t, tc))
            sl = slice(k, min(t.size, k + frames))
            pos[sl, 1, cols, 0] -= lift_leg * r.leg_px
    out = ds.copy()
    out["position"] = (ds["position"].dims, pos)
    return out


@pytest.mark.parametrize("facing", ["left", "right"])
def test_side_contacts_survive_foot_glitches_at_touchdown(facing: str) -> None:
    # The foot's height is corrupted right after every contact (the foot seems
    # to stop early, then bounce); its horizontal swing is intact.
    r = Runner(fps=30, facing=facing)
    ds = _glitch_at_contacts(r, make_runner(r, noise_px=1.0))
    events = detect_events(ds, side_view(r))
    errs, missed, extra, wrong = match_errors(events, r, "initial_contact")
    assert (missed, extra, wrong) == (0, 0, 0)
    assert np.median(np.abs(errs)) <= 1.0
    assert np.max(np.abs(errs)) <= 1.0


def test_side_contact_after_swing_retraction_keeps_its_lag() -> None:
    # The analytic foot peaks forward exactly at contact; shift the vertical
    # landing 2 frames later (a foot pulled back before it lands) by moving the
    # contact times and check the forward-extreme anchor keeps that lag.
    r = Runner(fps=60)
    ds = make_runner(r)
    pos = ds["position"].values.copy()
    names = list(ds["keypoints"].values)
    lag = 2
    for foot in ("left", "right"):
        for j in ("ankle", "heel", "foot_index"):
            c = names.index(f"{foot}_{j}")
            pos[:, 1, c, 0] = np.concatenate([pos[:lag, 1, c, 0], pos[:-lag, 1, c, 0]])
    shifted = ds.copy()
    shifted["position"] = (ds["position"].dims, pos)
    events = detect_events(shifted, side_view(r))
    errs, missed, extra, _ = match_errors(events, r, "initial_contact")
    assert missed == 0 and extra == 0
    assert np.median(errs) == pytest.approx(lag, abs=0.5)


@pytest.mark.parametrize("view", ["side", "rear"])
def test_no_wrong_contact_where_the_clip_cuts_a_stance(view: str) -> None:
    # The clip ends 1.5 frames after a contact: whatever is reported there
    # must be that contact, not a guess from the truncated stance.
    r = Runner(fps=30, duration_s=4.0, view=view)
    ds = make_runner(r)
    t_end = float(ds["time"].values[-1])
    true = sorted(tc for foot in ("left", "right") for tc in r.contact_times(foot) if tc >= 0)
    last = max(tc for tc in true if tc <= t_end)
    cut = ds.sel(time=ds["time"] <= last + 1.5 / r.fps)
    ics = [e for e in detect_events(cut, side_view(r)) if e.kind == "initial_contact"]
    assert ics
    for e in ics:
        assert min(abs(e.time_s - tc) for tc in true) <= 1.0 / r.fps, e


def test_a_trusted_foot_wins_a_step_sequence_over_a_late_far_foot() -> None:
    from formcheck.events import select_periodic

    # Near foot lands every stride (0, 2, 4, 6, 8; the other foot's contacts unseen);
    # the far foot's candidates come 0.35 step late and one more of them is seen.
    near = np.arange(0.0, 9.0, 2.0)
    far = np.arange(-0.65, 10.0, 2.0)
    times = np.concatenate([near, far])
    order = np.argsort(times)
    is_near = np.concatenate([np.ones(near.size, bool), np.zeros(far.size, bool)])[order]
    # Counted alike, the longer late sequence wins: every contact a third of a step late.
    kept, _ = select_periodic(times[order], 1.0)
    assert not is_near[kept].any()
    # With the far foot trusted less (its pose confidence is lower), the near foot wins.
    weights = np.where(is_near, 1.0, 0.8)
    kept, steps = select_periodic(times[order], 1.0, weights)
    assert is_near[kept].all() and np.diff(steps).tolist() == [2, 2, 2, 2]


def test_foot_trust_follows_the_pose_confidence_of_each_foot() -> None:
    from formcheck.events import foot_trust

    ds = make_runner(Runner(duration_s=3.0))
    assert foot_trust(ds) == {"left": 1.0, "right": 1.0}
    names = [f"right_{p}" for p in ("heel", "ankle", "foot_index")]
    ds["confidence"].loc[{"keypoints": names}] = 0.6
    ds["confidence"].loc[{"keypoints": [n.replace("right", "left") for n in names]}] = 0.9
    trust = foot_trust(ds)
    assert trust["left"] == 1.0 and trust["right"] == pytest.approx(0.6 / 0.9)
    # A label the leg repair dropped (no position) does not lend the foot its confidence.
    half = {"time": slice(0, ds.sizes["time"] * 2 // 3), "keypoints": names}
    ds["confidence"].loc[{"time": ds["time"][half["time"]], "keypoints": names}] = 0.95
    ds["position"].loc[{"time": ds["time"][half["time"]], "keypoints": names}] = np.nan
    assert foot_trust(ds)["right"] == pytest.approx(0.6 / 0.9)


def test_a_less_trusted_far_foot_keeps_its_uncontested_contacts() -> None:
    """Foot trust only breaks ties: uneven step times of a runner survive a low far-foot
    confidence (the far foot's contacts do not compete with the near foot's)."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Uneven(Runner):
        frac: float = 0.56  # the right foot lands 56 % of the way through the stride

        def contact_times(self, foot: str) -> np.ndarray:
            offset = 0.0 if foot == "left" else self.frac * 2 * self.step_s
            first = self.phase_s + offset - 4 * self.step_s
            return np.arange(first, self.duration_s + 1, 2 * self.step_s)

    r = Uneven(fps=60.0)
    ds = make_runner(r, noise_px=1.0)
    names = [f"right_{p}" for p in ("heel", "ankle", "foot_index")]
    ds["confidence"].loc[{"keypoints": names}] = 0.2
    ics = [e for e in detect_events(ds, side_view(r)) if e.kind == "initial_contact"]
    assert not any(e.estimated for e in ics)
    steps = np.diff([e.time_s for e in ics])
    long, short = sorted([np.median(steps[::2]), np.median(steps[1::2])], reverse=True)
    assert long == pytest.approx(0.56 * 2 * r.step_s, abs=0.01)
    assert short == pytest.approx(0.44 * 2 * r.step_s, abs=0.01)
