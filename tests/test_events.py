"""Gait-event tests on analytic runners with exactly known contact times.

``make_runner`` (also imported by ``test_metrics.py`` and ``test_view.py``)
draws a 2D runner whose feet land and lift at exact, known times: in stance
the lowest foot point sits exactly on the ground; in swing it is lifted by
``h * sin(pi * u)``, so contact starts with a finite downward speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pytest
import xarray as xr

from formcheck.dataset import from_arrays
from formcheck.events import GaitEvent, detect_events, estimate_step_period, find_label_swaps
from formcheck.landmarks import KEYPOINT_NAMES
from formcheck.view import ViewInfo


@dataclass(frozen=True)
class Runner:
    """Parameters of the analytic runner (lengths in leg lengths unless noted)."""

    view: Literal["side", "rear", "front"] = "side"
    facing: Literal["left", "right"] = "right"
    cadence_spm: float = 170.0
    fps: float = 60.0
    duration_s: float = 8.0
    leg_px: float = 300.0
    duty: float = 0.36
    overstride: float = 0.15
    behind_at_to: float = 0.35
    strike_deg: float = 15.0
    lift: float = 0.35
    osc: float = 0.04
    lean_deg: float = 8.0
    far_ground_px: float = 12.0
    fppa_peak: float = 0.04
    drop_deg: float = 5.0
    step_width: float = 0.06
    width: int = 1280
    height: int = 720
    phase_s: float = 0.13
    vfr_jitter: float = 0.0
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def step_s(self) -> float:
        """Step period in seconds."""
        return 60.0 / self.cadence_spm

    def contact_times(self, foot: str) -> np.ndarray:
        """Exact initial-contact times of one foot."""
        offset = 0.0 if foot == "left" else self.step_s
        return np.arange(
            self.phase_s + offset - 4 * self.step_s, self.duration_s + 1, 2 * self.step_s
        )

    def toe_off_times(self, foot: str) -> np.ndarray:
        """Exact toe-off times of one foot."""
        return self.contact_times(foot) + self.duty * 2 * self.step_s


def _phase(r: Runner, foot: str, t: np.ndarray) -> np.ndarray:
    """Stride phase in [0, 1) of one foot, 0 at initial contact."""
    t0 = r.contact_times(foot)[0]
    return np.mod((t - t0) / (2 * r.step_s), 1.0)


def _foot_state(
    r: Runner, foot: str, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heel forward offset, lift, foot angle (rad) and stance fraction (NaN in swing)."""
    phi = _phase(r, foot, t)
    stance = phi < r.duty
    u_st = phi / r.duty
    u_sw = (phi - r.duty) / (1 - r.duty)
    fwd = np.where(
        stance,
        r.overstride - (r.overstride + r.behind_at_to) * u_st,
        -r.behind_at_to + (r.overstride + r.behind_at_to) * (1 - np.cos(np.pi * u_sw)) / 2,
    )
    lift = np.where(stance, 0.0, r.lift * np.sin(np.pi * u_sw))
    th_ic, th_to = np.radians(r.strike_deg), np.radians(25.0)
    theta_st = np.where(
        u_st < 0.15,
        th_ic * (1 - u_st / 0.15),
        np.where(u_st < 0.7, 0.0, -th_to * (u_st - 0.7) / 0.3),
    )
    theta = np.where(stance, theta_st, -th_to + (th_ic + th_to) * u_sw)
    return fwd, lift, theta, np.where(stance, u_st, np.nan)


def _ik_knee(hip: np.ndarray, ankle: np.ndarray, seg: float, forward: np.ndarray) -> np.ndarray:
    """Knee of a two-link leg (equal segments) bending towards ``forward``."""
    d = ankle - hip
    dist = np.minimum(np.linalg.norm(d, axis=1), 1.999 * seg)
    mid = hip + d / 2
    off = np.sqrt(seg**2 - (dist / 2) ** 2)
    perp = np.stack([-d[:, 1], d[:, 0]], axis=1) / np.linalg.norm(d, axis=1)[:, None]
    sign = np.sign(np.sum(perp * forward, axis=1))[:, None]
    return mid + sign * off[:, None] * perp


def _side_points(r: Runner, t: np.ndarray) -> dict[str, np.ndarray]:
    """Exact keypoints of a side view."""
    L, sgn = r.leg_px, (1.0 if r.facing == "right" else -1.0)
    ground = 0.9 * r.height
    hip_y = (
        ground
        - 0.93 * L
        + r.osc * L * np.cos(2 * np.pi * (t - r.phase_s - r.duty * r.step_s) / r.step_s)
    )
    hip = np.stack([np.full_like(t, r.width / 2), hip_y], axis=1)
    pts: dict[str, np.ndarray] = {}
    lf = 0.28 * L
    for foot, far in (("left", 0.0), ("right", 1.0)):
        fwd, lift, th, _ = _foot_state(r, foot, t)
        g = ground - far * r.far_ground_px
        y_low = g - lift * L
        heel_x = hip[:, 0] + sgn * fwd * L
        heel_y = np.where(th >= 0, y_low, y_low + lf * np.sin(th))
        toe = np.stack([heel_x + sgn * lf * np.cos(th), heel_y - lf * np.sin(th)], axis=1)
        heel = np.stack([heel_x, heel_y], axis=1)
        u = np.stack([sgn * np.cos(th), -np.sin(th)], axis=1)
        n = np.stack([-sgn * np.sin(th), -np.cos(th)], axis=1)
        ankle = heel + 0.25 * lf * u + 0.08 * L * n
        fwd_vec = np.tile([sgn, 0.0], (t.size, 1))
        hip_k = hip + np.array([0.0, -far * 3.0])
        pts[f"{foot}_hip"] = hip_k
        pts[f"{foot}_knee"] = _ik_knee(hip_k, ankle, L / 2, fwd_vec)
        pts[f"{foot}_ankle"], pts[f"{foot}_heel"], pts[f"{foot}_foot_index"] = ankle, heel, toe
    lean = np.radians(r.lean_deg)
    sh = hip + 0.6 * L * np.array([sgn * np.sin(lean), -np.cos(lean)])
    pts["left_shoulder"], pts["right_shoulder"] = sh, sh + np.array([2.0, -2.0])
    head = sh + np.array([0.0, -0.3 * L])
    pts["nose"] = head + np.array([sgn * 0.08 * L, 0.0])
    pts["left_ear"], pts["right_ear"] = head, head + np.array([1.0, 0.0])
    return pts


def _frontal_points(r: Runner, t: np.ndarray) -> dict[str, np.ndarray]:
    """Exact keypoints of a rear (runner's left on image left) or front view."""
    L = r.leg_px
    left_x = -1.0 if r.view == "rear" else 1.0
    ground = 0.9 * r.height
    cx = r.width / 2
    hip_y = ground - 0.93 * L
    half_w = 0.12 * L
    pts: dict[str, np.ndarray] = {}
    drop = np.zeros_like(t)
    for foot, s in (("left", 1.0), ("right", -1.0)):
        _, _, _, u = _foot_state(r, foot, t)
        drop += s * np.where(
            np.isfinite(u), np.radians(r.drop_deg) * np.sin(np.pi * np.nan_to_num(u)), 0
        )
    for foot in ("left", "right"):
        side = left_x if foot == "left" else -left_x
        stance_sign = 1.0 if foot == "left" else -1.0
        # Positive drop = left stance: right (swing) hip lower (larger y).
        hip = np.stack(
            [cx + side * half_w * np.cos(drop), hip_y - stance_sign * half_w * np.sin(drop)], axis=1
        )
        _, lift, _, u = _foot_state(r, foot, t)
        ankle_x = cx + side * (r.step_width / 2) * L
        heel = np.stack([np.full_like(t, ankle_x), ground - lift * L], axis=1)
        ankle = heel + np.array([0.0, -0.08 * L])
        toe = heel + np.array([0.0, -0.05 * L])
        mid = (hip + ankle) / 2
        medial = -side
        bump = np.where(np.isfinite(u), r.fppa_peak * np.sin(np.pi * np.nan_to_num(u)), 0.0)
        knee = mid + np.stack([medial * bump * L, np.zeros_like(t)], axis=1)
        pts[f"{foot}_hip"], pts[f"{foot}_knee"], pts[f"{foot}_ankle"] = hip, knee, ankle
        pts[f"{foot}_heel"], pts[f"{foot}_foot_index"] = heel, toe
        pts[f"{foot}_shoulder"] = hip + np.array([side * 0.06 * L, -0.6 * L])
        pts[f"{foot}_ear"] = np.stack(
            [np.full_like(t, cx + side * 0.05 * L), hip_y - 0.85 * L + 0 * t], axis=1
        )
    pts["nose"] = np.stack([np.full_like(t, cx), hip_y - 0.83 * L + 0 * t], axis=1)
    return pts


def runner_points(r: Runner, t: np.ndarray) -> dict[str, np.ndarray]:
    """Exact pixel positions of the keypoints the tests use, at times ``t``."""
    return _side_points(r, t) if r.view == "side" else _frontal_points(r, t)


def make_runner(
    r: Runner,
    *,
    noise_px: float = 0.0,
    swap_frames: tuple[int, ...] = (),
    nan_frames: tuple[int, ...] = (),
) -> xr.Dataset:
    """Sample the analytic runner into a pose dataset.

    Parameters
    ----------
    r : Runner
        The runner.
    noise_px : float
        Gaussian pixel noise (SD) on every coordinate.
    swap_frames : tuple of int
        Frames whose left/right leg labels are exchanged.
    nan_frames : tuple of int
        Frames where every point is missing.

    Returns
    -------
    xarray.Dataset
        Built with :func:`formcheck.dataset.from_arrays`.
    """
    rng = np.random.default_rng(r.seed)
    n = int(r.duration_s * r.fps)
    t = np.arange(n) / r.fps
    if r.vfr_jitter:
        t = t + rng.uniform(-r.vfr_jitter, r.vfr_jitter, n) / r.fps
    pts = runner_points(r, t)
    pos = np.full((n, len(KEYPOINT_NAMES), 2), np.nan)
    conf = np.full((n, len(KEYPOINT_NAMES)), 0.95)
    face_vis = 0.1 if r.view == "rear" else 0.99
    for name, xy in pts.items():
        pos[:, KEYPOINT_NAMES.index(name)] = xy
    for name in ("nose", "left_eye_inner", "right_eye_inner"):
        conf[:, KEYPOINT_NAMES.index(name)] = face_vis
    for name in ("left_eye_inner", "right_eye_inner"):
        pos[:, KEYPOINT_NAMES.index(name)] = pts["nose"]
    pos += rng.normal(0.0, noise_px, pos.shape) if noise_px else 0.0
    legs = [k for k in ("hip", "knee", "ankle", "heel", "foot_index")]
    li = [KEYPOINT_NAMES.index(f"left_{k}") for k in legs]
    ri = [KEYPOINT_NAMES.index(f"right_{k}") for k in legs]
    sw = np.array(swap_frames, dtype=int)
    if sw.size:
        pos[np.ix_(sw, li + ri)] = pos[np.ix_(sw, ri + li)]
    if nan_frames:
        pos[list(nan_frames)] = np.nan
    return from_arrays(pos, conf, t, source="analytic", width=r.width, height=r.height)


def side_view(r: Runner) -> ViewInfo:
    """The true view of an analytic runner."""
    return ViewInfo(r.view, r.facing if r.view == "side" else None, "treadmill", 1.0, "test")


def match_errors(events: list[GaitEvent], r: Runner, kind: str) -> tuple[np.ndarray, int, int, int]:
    """Timing errors in frames of matched events; counts of missed, extra, wrong-foot."""
    got = [e for e in events if e.kind == kind]
    truth = []
    for foot in ("left", "right"):
        times = r.contact_times(foot) if kind == "initial_contact" else r.toe_off_times(foot)
        truth += [(tt, foot) for tt in times if 0.3 < tt < r.duration_s - 0.3]
    errs, wrong, used = [], 0, set()
    for tt, foot in truth:
        if not got:
            break
        k = int(np.argmin([abs(e.time_s - tt) for e in got]))
        if abs(got[k].time_s - tt) < 0.4 * r.step_s:
            errs.append((got[k].time_s - tt) * r.fps)
            used.add(k)
            wrong += got[k].foot != foot
    inner = [k for k, e in enumerate(got) if 0.3 < e.time_s < r.duration_s - 0.3]
    extra = len([k for k in inner if k not in used])
    return np.array(errs), len(truth) - len(errs), extra, wrong


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


@pytest.mark.parametrize("r", CASES[:5], ids=lambda r: f"{r.fps:g}fps")
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
    ds = make_runner(r, noise_px=4.0, swap_frames=swaps)
    events = detect_events(ds, side_view(r))
    errs, missed, extra, wrong = match_errors(events, r, "initial_contact")
    assert (missed, extra, wrong) == (0, 0, 0)
    assert np.median(np.abs(errs)) <= 1.0
    assert np.percentile(np.abs(errs), 95) <= 2.0


def test_swaps_are_found() -> None:
    r = Runner()
    ds = make_runner(r, swap_frames=(40, 41, 42, 100))
    assert set(np.flatnonzero(find_label_swaps(ds))) == {40, 41, 42, 100}


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
