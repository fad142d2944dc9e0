"""Running-form metrics from pose tracks and gait events.

Definitions follow ``docs/METRICS.md``; methods, conventions and deviations are in
``docs/metrics-methods.md``. Every metric is a :class:`Metric` with per-stride
values, a spread-based uncertainty (95 % confidence half-width of the mean,
``t(0.975, n-1) * SD / sqrt(n)``), the frames it used and a status. Bilateral
metrics carry ``left``/``right`` means and a companion metric
``<name>_asymmetry_pct`` (``|L - R| / mean(|L|, |R|) * 100``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import xarray as xr
from scipy import interpolate, stats

from formcheck.dataset import clip_seconds, keypoint_xy, validate_dataset
from formcheck.events import (
    GaitEvent,
    estimate_step_period,
    hip_step_period,
    leg_length_px,
    prepare_legs,
)
from formcheck.landmarks import Side, other_side
from formcheck.settings import CADENCE_RANGE_SPM, GIVEN_BY_USER
from formcheck.view import ViewInfo, estimate_facing

Status = Literal["ok", "low_confidence", "not_applicable"]
ASYMMETRY_SUFFIX = "_asymmetry_pct"
"""Name suffix of the left-right difference metric of a bilateral metric."""

MIN_STEPS = 10
"""Steps (five strides of two steps) a metric needs for status ok.

Fewer per-step values, or fewer contact-to-contact intervals for the
cadence, make it low-confidence: the mean of a handful of steps moves with
each one's pose error, and docs/METRICS.md asks for 10 s or more of steady
running (about 28 steps at 170 steps/min).
"""
MIN_FPS_CONTACT = 24.0
"""Frame rate below which values read at the instant of contact are low-confidence.

At 15 fps a frame is 67 ms, a fifth of a stance: the shank turns about 10
degrees and the hip moves some 15 % of a leg length over the foot in that
time, so overstride, shank angle, knee flexion and foot angle at contact
cannot be read from one frame's timing.
"""
CONTACT_METRICS: tuple[str, ...] = (
    "overstride_pct_leg",
    "shank_angle_ic_deg",
    "knee_flexion_ic_deg",
    "foot_strike_angle_deg",
)
"""Metrics read at the instant of initial contact."""
CADENCE_CROSSCHECK = 0.1
"""Periodicity-based cadences further than this fraction from the contacts' are ignored."""
HIGH_FPS = 120.0
"""Frame rate below which contact times are approximate."""
LEG_FRACTION_OF_HEIGHT = 0.491
"""Hip-knee-ankle length / body height: thigh 0.245 H + shank 0.246 H (Winter 2009)."""
STRIKE_REARFOOT_DEG = 8.0
"""Foot strike angle above which the strike is rearfoot (Altman & Davis 2012)."""
STRIKE_FOREFOOT_DEG = -1.6
"""Foot strike angle below which the strike is forefoot (Altman & Davis 2012)."""

SIDE_METRICS: tuple[str, ...] = (
    "overstride_pct_leg",
    "shank_angle_ic_deg",
    "knee_flexion_ic_deg",
    "knee_flexion_midstance_deg",
    "trunk_lean_deg",
    "vertical_oscillation_pct_leg",
    "vertical_oscillation_cm",
    "foot_strike_angle_deg",
    "ground_contact_time_ms",
    "flight_time_ms",
    "duty_factor_pct",
    "step_length_m",
    "speed_m_s",
)
FRONTAL_METRICS: tuple[str, ...] = (
    "knee_valgus_fppa_deg",
    "pelvic_drop_deg",
    "step_width_pct_leg",
)
BILATERAL: tuple[str, ...] = (
    "overstride_pct_leg",
    "shank_angle_ic_deg",
    "knee_flexion_ic_deg",
    "knee_flexion_midstance_deg",
    "foot_strike_angle_deg",
    "ground_contact_time_ms",
    "knee_valgus_fppa_deg",
    "pelvic_drop_deg",
)
UNITS: dict[str, str] = {
    "cadence_spm": "steps/min",
    "overstride_pct_leg": "% leg length",
    "shank_angle_ic_deg": "deg",
    "knee_flexion_ic_deg": "deg",
    "knee_flexion_midstance_deg": "deg",
    "trunk_lean_deg": "deg",
    "vertical_oscillation_pct_leg": "% leg length",
    "vertical_oscillation_cm": "cm",
    "foot_strike_angle_deg": "deg",
    "ground_contact_time_ms": "ms",
    "flight_time_ms": "ms",
    "duty_factor_pct": "%",
    "step_length_m": "m",
    "speed_m_s": "m/s",
    "knee_valgus_fppa_deg": "deg",
    "pelvic_drop_deg": "deg",
    "step_width_pct_leg": "% leg length",
}


@dataclass(frozen=True)
class Metric:
    """One running-form metric.

    Attributes
    ----------
    name : str
        Stable key, e.g. ``"cadence_spm"``.
    value : float or None
        Mean over strides; None when not measurable.
    unit : str
        Unit of ``value``, ``left``, ``right`` and ``uncertainty``.
    uncertainty : float or None
        95 % confidence half-width of the mean from the per-stride spread.
    status : {"ok", "low_confidence", "not_applicable"}
        Whether to trust the value.
    reason : str
        Why the status (or a note such as the foot-strike pattern).
    left, right : float or None
        Per-foot means of bilateral metrics.
    per_stride : tuple of dict
        One entry per stride/step/stance: ``foot``, ``frame``, ``time_s``,
        ``value`` and metric-specific fields.
    n_strides : int
        Number of per-stride values used.
    frames : tuple of int
        Frames the values were taken at (initial contacts, peaks...).
    """

    name: str
    value: float | None
    unit: str
    uncertainty: float | None
    status: Status
    reason: str
    left: float | None = None
    right: float | None = None
    per_stride: tuple[dict, ...] = ()
    n_strides: int = 0
    frames: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (tuples become lists).

        Returns
        -------
        dict
            All fields by name.
        """
        out = asdict(self)
        out["per_stride"] = [dict(d) for d in self.per_stride]
        out["frames"] = list(self.frames)
        return out


@dataclass(frozen=True)
class _Context:
    """What every metric function needs, computed once."""

    ds: xr.Dataset
    view: ViewInfo
    ics: tuple[GaitEvent, ...]
    tos: tuple[GaitEvent, ...]
    leg_px: float
    direction: float
    fps: float
    tracks: _Tracks
    ic_times: tuple[float, ...]
    to_times: tuple[float, ...]

    @cached_property
    def median_step_s(self) -> float:
        """Median contact-to-contact time (s); 0.35 with fewer than two contacts."""
        times = np.asarray(self.ic_times)
        return float(np.median(np.diff(times))) if times.size > 1 else 0.35


# ---------------------------------------------------------------- geometry


def interp_track(t: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Cubic-spline interpolation of a sampled track at sub-frame times.

    Joint positions change fast around initial contact (a shank rotates by
    several degrees per frame at 30 fps), and linear interpolation between
    two frames cuts the corner of every curved trajectory. Each gap-free run
    of samples gets its own not-a-knot cubic spline (runs of 2-3 samples:
    linear); times in a gap are NaN.

    Parameters
    ----------
    t : numpy.ndarray
        Sample times ``(n,)``, increasing.
    y : numpy.ndarray
        Samples ``(n, k)``; NaN where missing.
    at : numpy.ndarray
        Times to evaluate ``(m,)``.

    Returns
    -------
    numpy.ndarray
        ``(m, k)`` values.
    """
    return np.column_stack([_Spline.fit(t, y[:, j]).at(at) for j in range(y.shape[1])])


def _finite_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and stop (exclusive) of the True runs of ``mask``."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


@dataclass(frozen=True)
class _Spline:
    """The cubic splines of one sampled column, kept as knot values and second derivatives.

    A cubic spline is fixed by its values and second derivatives at the
    knots; between knots ``k`` and ``k + 1`` (``h`` apart, ``a`` the share
    of ``h`` still to go, ``b = 1 - a``) it is
    ``a y_k + b y_k+1 + ((a^3 - a) M_k + (b^3 - b) M_k+1) h^2 / 6``
    (de Boor, *A Practical Guide to Splines*, ch. IV). scipy's
    ``CubicSpline`` fits each gap-free run (not-a-knot); keeping only its
    ``M`` (float32) beside the samples takes 5 bytes per sample instead of the
    40 of its piecewise-polynomial coefficients and breakpoints (about 25 MB
    less for a 20-minute clip). Runs of 2-3 samples have ``M = 0``: linear.

    Attributes
    ----------
    t, y : numpy.ndarray
        Sample times and values (NaN where missing).
    m : numpy.ndarray
        Second derivative at each sample, float32 (0 outside the cubic runs).
    joined : numpy.ndarray
        Boolean per sample: samples ``k`` and ``k + 1`` lie in one gap-free
        run of two or more samples (one byte a sample; the last is False).
    """

    t: np.ndarray
    y: np.ndarray
    m: np.ndarray
    joined: np.ndarray

    @classmethod
    def fit(cls, t: np.ndarray, y: np.ndarray) -> _Spline:
        """Fit every gap-free run of ``y(t)``."""
        m = np.zeros(y.size, dtype=np.float32)  # the curvature term needs no more
        joined = np.zeros(y.size, dtype=bool)
        for start, stop in _finite_runs(np.isfinite(y)):
            if stop - start < 2:
                continue
            joined[start : stop - 1] = True
            if stop - start >= 4:
                ts = t[start:stop]
                m[start:stop] = interpolate.CubicSpline(ts, y[start:stop])(ts, 2)
        return cls(t, y, m, joined)

    def at(self, times: np.ndarray) -> np.ndarray:
        """Values at ``times``; NaN where no run of two or more samples covers them."""
        t, joined, n = self.t, self.joined, self.t.size
        if n < 2:
            return np.full(times.size, np.nan)
        k = np.searchsorted(t, times, side="right") - 1
        np.clip(k, 0, n - 2, out=k)
        # A time on a run's last sample belongs to the interval before it.
        last = ~joined[k] & (times == t[k]) & (k > 0)
        if last.any():
            k -= last
        t0, t1 = t[k], t[k + 1]
        ok = joined[k] & (times >= t0) & (times <= t1)
        h = t1 - t0
        a = (t1 - times) / h
        b = 1.0 - a
        curve = ((a**3 - a) * self.m[k] + (b**3 - b) * self.m[k + 1]) * (h * h / 6.0)
        value = a * self.y[k] + b * self.y[k + 1] + curve
        return np.where(ok, value, np.nan)


class _Tracks:
    """One dataset's keypoint tracks as arrays, with their splines fitted once per keypoint.

    The metric functions read thousands of positions at sub-frame times;
    fitting every spline once (rather than at every read) and finding the
    interval that holds a time by binary search keep the analysis of a long
    clip linear in its length and far below the time pose estimation takes.
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self.t = np.asarray(ds["time"].values, dtype=float)
        self._ds = ds
        self._xy: dict[str, np.ndarray] = {}
        self._splines: dict[str, tuple[_Spline, _Spline]] = {}

    def xy(self, name: str) -> np.ndarray:
        """The ``(n_frames, 2)`` track of keypoint ``name`` (NaN where missing)."""
        if name not in self._xy:
            self._xy[name] = keypoint_xy(self._ds, name, copy=False)
        return self._xy[name]

    def at(self, name: str, time_s: float | np.ndarray) -> np.ndarray:
        """Keypoint position at ``time_s``, as :func:`interp_track` gives it."""
        at = np.atleast_1d(np.asarray(time_s, dtype=float))
        if name not in self._splines:
            xy = self.xy(name)
            self._splines[name] = (_Spline.fit(self.t, xy[:, 0]), _Spline.fit(self.t, xy[:, 1]))
        x, y = self._splines[name]
        return np.column_stack([x.at(at), y.at(at)])

    def mid(self, stem: str, time_s: float | np.ndarray) -> np.ndarray:
        """Midpoint of the left and right ``stem`` keypoints at ``time_s``."""
        return (self.at(f"left_{stem}", time_s) + self.at(f"right_{stem}", time_s)) / 2


def _angle_from_vertical(top: np.ndarray, bottom: np.ndarray, direction: float) -> np.ndarray:
    """Angle of ``top -> bottom`` from the downward vertical, + when ``bottom`` is ahead."""
    d = bottom - top
    return np.degrees(np.arctan2(direction * d[..., 0], d[..., 1]))


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """Knee flexion, 180 minus the interior hip-knee-ankle angle, in degrees.

    Parameters
    ----------
    hip, knee, ankle : numpy.ndarray
        Points ``(..., 2)``.

    Returns
    -------
    numpy.ndarray
        0 for a straight leg.
    """
    u, v = hip - knee, ankle - knee
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def fppa_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, medial_x: float) -> np.ndarray:
    """Frontal plane projection angle, + when the knee is medial (valgus).

    Parameters
    ----------
    hip, knee, ankle : numpy.ndarray
        Image points ``(..., 2)``.
    medial_x : float
        +1 if medial is the image +x direction for this leg, else -1.

    Returns
    -------
    numpy.ndarray
        180 minus the hip-knee-ankle angle, signed by the knee's side of the
        hip-ankle line.
    """
    magnitude = knee_flexion_deg(hip, knee, ankle)
    axis = ankle - hip
    rel = knee - hip
    frac = np.sum(rel * axis, axis=-1) / np.sum(axis * axis, axis=-1)
    on_line = hip + frac[..., None] * axis
    side = np.sign(medial_x * (knee[..., 0] - on_line[..., 0]))
    return magnitude * side


# ---------------------------------------------------------------- summaries


def ci95(values: np.ndarray) -> float | None:
    """95 % confidence half-width of the mean (Student t)."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    sd = float(np.std(values, ddof=1))
    return float(stats.t.ppf(0.975, values.size - 1) * sd / np.sqrt(values.size))


def _side_mean(rows: Sequence[dict], side: Side) -> float | None:
    """Mean of the ``value`` of the rows of one foot."""
    vals = np.array([r["value"] for r in rows if r.get("foot") == side], dtype=float)
    vals = vals[np.isfinite(vals)]
    return float(np.mean(vals)) if vals.size else None


def _summarise(
    name: str, rows: list[dict], reason: str = "", *, status: Status | None = None
) -> Metric:
    """Build a :class:`Metric` from per-stride rows (each with ``value``, ``frame``)."""
    rows = [r for r in rows if r["value"] is not None and np.isfinite(r["value"])]
    vals = np.array([r["value"] for r in rows], dtype=float)
    frames = tuple(int(r["frame"]) for r in rows)
    if vals.size == 0:
        return Metric(
            name,
            None,
            UNITS[name],
            None,
            "low_confidence",
            reason or "no usable strides were found",
        )
    auto: Status = "ok"
    notes = [reason] if reason else []
    if vals.size < MIN_STEPS:
        auto = "low_confidence"
        notes.append(_too_few(vals.size))
    final: Status = status if status is not None and auto == "ok" else auto
    if status == "low_confidence":
        final = "low_confidence"
    return Metric(
        name=name,
        value=float(np.mean(vals)),
        unit=UNITS[name],
        uncertainty=ci95(vals),
        status=final,
        reason="; ".join(notes),
        left=_side_mean(rows, "left"),
        right=_side_mean(rows, "right"),
        per_stride=tuple(rows),
        n_strides=int(vals.size),
        frames=frames,
    )


FILM_LONGER = "film at least 10 s of steady running"
"""What to do about too few steps, unless the clip was long enough (:func:`_clip_advice`)."""


def _too_few(n_steps: int) -> str:
    """The reason given when a metric rests on too few steps."""
    return (
        f"only {n_steps} steps measured ({n_steps / 2:g} strides; {MIN_STEPS} needed): "
        f"{FILM_LONGER}"
    )


def _clip_advice(metric: Metric, clip_s: float) -> Metric:
    """On a clip long enough for 10 steps, say what was missing, not that it was short."""
    if FILM_LONGER not in metric.reason or not clip_s >= 10.0:
        return metric
    times = sorted(float(r["time_s"]) for r in metric.per_stride if "time_s" in r)
    if len(times) > 1 and times[-1] - times[0] < 0.5 * clip_s:
        what = (
            f"its steps were found only from {times[0]:.1f} s to {times[-1]:.1f} s "
            f"of this {clip_s:.0f} s clip"
        )
    else:
        what = f"the points it needs were missing in most strides of this {clip_s:.0f} s clip"
    advice = (
        f"{what}: keep the whole body, feet included, in the picture with the camera "
        "steady and still, in good light"
    )
    return replace(metric, reason=metric.reason.replace(FILM_LONGER, advice))


def _gate_frame_rate(metric: Metric, fps: float) -> Metric:
    """Mark a value read at the instant of contact low-confidence on a low-frame-rate clip."""
    if metric.status != "ok" or not np.isfinite(fps) or fps >= MIN_FPS_CONTACT:
        return metric
    reason = (
        f"the clip has {fps:.0f} frames per second; a value at the instant of contact "
        f"needs {MIN_FPS_CONTACT:.0f} or more (60 is best)"
    )
    return replace(metric, status="low_confidence", reason=reason)


def _not_applicable(name: str, reason: str) -> Metric:
    """A metric the clip cannot give."""
    return Metric(name, None, UNITS[name], None, "not_applicable", reason)


def asymmetry(metric: Metric) -> Metric:
    """``|L - R| / mean(|L|, |R|) * 100`` of a bilateral metric.

    Parameters
    ----------
    metric : Metric
        A metric with ``left`` and ``right``.

    Returns
    -------
    Metric
        Named ``<name>_asymmetry_pct``; low-confidence when the side means
        do not differ from zero by more than their spread (a ratio to a
        near-zero mean is meaningless), not applicable when the source is.
    """
    name = f"{metric.name}{ASYMMETRY_SUFFIX}"
    if metric.status == "not_applicable":
        return Metric(name, None, "%", None, "not_applicable", metric.reason)
    if metric.left is None or metric.right is None:
        return Metric(name, None, "%", None, "low_confidence", "needs values for both feet")
    denom = (abs(metric.left) + abs(metric.right)) / 2
    vals = np.array([r["value"] for r in metric.per_stride], dtype=float)
    spread = float(np.std(vals, ddof=1)) if vals.size > 1 else 0.0
    if denom == 0:
        return Metric(name, None, "%", None, "low_confidence", "both sides are zero")
    value = abs(metric.left - metric.right) / denom * 100.0
    low = denom <= spread or metric.status != "ok"
    reason = (
        "the side means are within their stride-to-stride spread of zero; the ratio is unstable"
        if denom <= spread
        else metric.reason
    )
    return Metric(
        name,
        float(value),
        "%",
        None,
        "low_confidence" if low else "ok",
        reason,
        left=metric.left,
        right=metric.right,
        n_strides=metric.n_strides,
        frames=metric.frames,
    )


# ---------------------------------------------------------------- events helpers


def _row(ev: GaitEvent, value: float, **extra: Any) -> dict:
    """A per-stride record anchored on an event."""
    return {"foot": ev.foot, "frame": ev.frame, "time_s": ev.time_s, "value": float(value), **extra}


def _measured(ctx: _Context) -> tuple[GaitEvent, ...]:
    """Contacts seen in the foot trajectories (not placed by the step rhythm)."""
    return tuple(ic for ic in ctx.ics if not ic.estimated)


def _next_toe_off(ctx: _Context, ic: GaitEvent) -> GaitEvent | None:
    """The same foot's toe-off after ``ic`` and before the next contact."""
    k = bisect_right(ctx.ic_times, ic.time_s)
    limit = ctx.ic_times[k] if k < len(ctx.ic_times) else np.inf
    for to in ctx.tos[bisect_right(ctx.to_times, ic.time_s) :]:
        if to.time_s >= limit:
            break
        if to.foot == ic.foot:
            return to
    return None


def _steps(ctx: _Context) -> list[tuple[GaitEvent, GaitEvent]]:
    """Consecutive contact pairs of alternating feet, gaps (missed contacts) excluded."""
    pairs = list(zip(ctx.ics[:-1], ctx.ics[1:], strict=True))
    pairs = [(a, b) for a, b in pairs if a.foot != b.foot]
    if not pairs:
        return []
    dur = np.array([b.time_s - a.time_s for a, b in pairs])
    med = float(np.median(dur))
    return [p for p, d in zip(pairs, dur, strict=True) if 0.5 * med <= d <= 1.5 * med]


def _stance_mid(ctx: _Context, ic: GaitEvent) -> float | None:
    """Midstance time: mid-hip passes over the stance ankle, else stance midpoint."""
    to = _next_toe_off(ctx, ic)
    if to is None:
        return None
    t = np.linspace(ic.time_s, to.time_s, 41)
    ahead = ctx.direction * (
        ctx.tracks.at(f"{ic.foot}_ankle", t)[:, 0] - ctx.tracks.mid("hip", t)[:, 0]
    )
    cross = np.flatnonzero((ahead[:-1] > 0) & (ahead[1:] <= 0))
    if cross.size:
        i = int(cross[0])
        frac = ahead[i] / (ahead[i] - ahead[i + 1])
        return float(t[i] + frac * (t[i + 1] - t[i]))
    return float((ic.time_s + to.time_s) / 2)


# ---------------------------------------------------------------- side metrics


def stance_line_at(t: np.ndarray, xy: np.ndarray, t_ic: float, t_end: float) -> np.ndarray | None:
    """A foot point's position at contact, from its early-stance trajectory.

    Once the foot is down it moves with the belt at constant speed (or stays
    put overground), so during early stance a foot point moves on a straight
    line in time, while just before contact it moves fast and decelerates
    abruptly. Interpolating across contact (linear or spline) mixes the two
    and places the heel too far back at 30 fps (the heel travels ~7 % of leg
    length per frame). The line fitted to the samples in ``[t_ic, t_end]``
    and evaluated at ``t_ic`` has no such bias and averages pose noise.

    Parameters
    ----------
    t : numpy.ndarray
        Frame times ``(n,)``.
    xy : numpy.ndarray
        The point's track ``(n, 2)``.
    t_ic : float
        Contact time.
    t_end : float
        End of the early-stance window (at least two samples are needed).

    Returns
    -------
    numpy.ndarray or None
        ``(2,)`` position; None when the window holds fewer than two samples.
    """
    lo, hi = np.searchsorted(t, [t_ic, t_end], side="left")
    hi = hi + int(hi < t.size and t[hi] <= t_end)
    window, ts = xy[lo:hi], t[lo:hi]
    ok = np.all(np.isfinite(window), axis=1)
    if ok.sum() < 2:
        return None
    ts = ts[ok] - t_ic
    design = np.stack([np.ones_like(ts), ts], axis=1)
    coef, *_ = np.linalg.lstsq(design, window[ok], rcond=None)
    return np.asarray(coef[0], dtype=float)


def _early_stance_end(ctx: _Context, ic: GaitEvent) -> float:
    """End of the early-stance window after a contact: 40 % of stance, >= 2 frames."""
    to = _next_toe_off(ctx, ic)
    step = _median_step(ctx)
    contact = (to.time_s - ic.time_s) if to is not None else 0.35 * 2 * step
    return ic.time_s + max(0.4 * contact, 2.2 / ctx.fps)


def _median_step(ctx: _Context) -> float:
    """Median contact-to-contact time (s)."""
    return ctx.median_step_s


def _foot_at_ic(ctx: _Context, ic: GaitEvent, point: str) -> np.ndarray:
    """Position of one foot point of the contacting foot at its contact."""
    name = f"{ic.foot}_{point}"
    line = stance_line_at(ctx.tracks.t, ctx.tracks.xy(name), ic.time_s, _early_stance_end(ctx, ic))
    return line if line is not None else ctx.tracks.at(name, ic.time_s)[0]


def _overstride(ctx: _Context) -> Metric:
    """Heel ahead of mid-hip at initial contact, % leg length.

    The heel's position at contact is the more forward of two estimates:
    the cubic spline at the contact time and the early-stance line
    (:func:`stance_line_at`). In a side view the contact sits at or just
    after the heel's most forward position, so both err in the same
    direction only: the low-pass filter rounds that turning point back,
    which the spline inherits, and pose models drag the foot back towards
    the other leg just after touchdown, which the early-stance line
    inherits.
    """
    rows = []
    for ic in _measured(ctx):
        spline = ctx.tracks.at(f"{ic.foot}_heel", ic.time_s)[0]
        line = _foot_at_ic(ctx, ic, "heel")
        found = [p for p in (spline, line) if np.isfinite(p[0])]
        heel = max(found, key=lambda p: ctx.direction * p[0]) if found else spline
        hip = ctx.tracks.mid("hip", ic.time_s)[0]
        rows.append(_row(ic, ctx.direction * (heel[0] - hip[0]) / ctx.leg_px * 100.0))
    return _summarise("overstride_pct_leg", rows)


def _shank_angle(ctx: _Context) -> Metric:
    """Knee-to-ankle angle from vertical at initial contact, + ankle ahead."""
    rows = []
    for ic in _measured(ctx):
        knee = ctx.tracks.at(f"{ic.foot}_knee", ic.time_s)[0]
        ankle = _foot_at_ic(ctx, ic, "ankle")
        rows.append(_row(ic, float(_angle_from_vertical(knee, ankle, ctx.direction))))
    return _summarise("shank_angle_ic_deg", rows)


def _knee_at(ctx: _Context, foot: Side, time_s: float, ankle: np.ndarray | None = None) -> float:
    """Knee flexion of one leg at a time (optionally with a given ankle position)."""
    hip, knee = (ctx.tracks.at(f"{foot}_{j}", time_s)[0] for j in ("hip", "knee"))
    if ankle is None:
        ankle = ctx.tracks.at(f"{foot}_ankle", time_s)[0]
    return float(knee_flexion_deg(hip, knee, ankle))


def _knee_ic(ctx: _Context) -> Metric:
    """Knee flexion at initial contact."""
    rows = [
        _row(ic, _knee_at(ctx, ic.foot, ic.time_s, _foot_at_ic(ctx, ic, "ankle")))
        for ic in _measured(ctx)
    ]
    return _summarise("knee_flexion_ic_deg", rows)


def _knee_midstance(ctx: _Context) -> Metric:
    """Knee flexion at midstance (mid-hip over the stance ankle)."""
    rows = []
    for ic in _measured(ctx):
        tm = _stance_mid(ctx, ic)
        if tm is not None:
            frame = int(ctx.ds["frame"].values[np.argmin(np.abs(ctx.ds["time"].values - tm))])
            rows.append(
                {
                    "foot": ic.foot,
                    "frame": frame,
                    "time_s": tm,
                    "value": _knee_at(ctx, ic.foot, tm),
                    "ic_frame": ic.frame,
                }
            )
    return _summarise("knee_flexion_midstance_deg", rows)


def _trunk_lean(ctx: _Context) -> Metric:
    """Hip-mid to shoulder-mid line from vertical, forward positive, mean per step."""
    rows = []
    for a, b in _steps(ctx):
        t = np.linspace(a.time_s, b.time_s, 21)
        lean = _angle_from_vertical(
            ctx.tracks.mid("shoulder", t), ctx.tracks.mid("hip", t), -ctx.direction
        )
        lean = lean[np.isfinite(lean)]
        if lean.size:
            rows.append(_row(a, float(np.mean(lean))))
    return _summarise("trunk_lean_deg", rows)


def _oscillation_px(ctx: _Context) -> list[dict]:
    """Mid-hip vertical excursion per step in pixels (value in px)."""
    rows = []
    t_all = ctx.ds["time"].values
    hip_y = (ctx.tracks.xy("left_hip")[:, 1] + ctx.tracks.xy("right_hip")[:, 1]) / 2
    for a, b in _steps(ctx):
        inside = (t_all >= a.time_s) & (t_all <= b.time_s)
        y = np.concatenate(
            [hip_y[inside], ctx.tracks.mid("hip", np.array([a.time_s, b.time_s]))[:, 1]]
        )
        if np.sum(np.isfinite(y)) >= 3:
            rows.append(_row(a, float(np.nanmax(y) - np.nanmin(y))))
    return rows


def _vertical_oscillation(ctx: _Context, height_m: float | None) -> tuple[Metric, Metric]:
    """Vertical oscillation in % leg length and, given the height, in cm."""
    px = _oscillation_px(ctx)
    pct = [{**r, "value": r["value"] / ctx.leg_px * 100.0} for r in px]
    m_pct = _summarise("vertical_oscillation_pct_leg", pct)
    if height_m is None:
        return m_pct, Metric(
            "vertical_oscillation_cm",
            None,
            "cm",
            None,
            "not_applicable",
            "needs the runner's height (--height)",
        )
    leg_cm = LEG_FRACTION_OF_HEIGHT * height_m * 100.0
    cm = [{**r, "value": r["value"] / ctx.leg_px * leg_cm} for r in px]
    note = f"leg length taken as {LEG_FRACTION_OF_HEIGHT} x height (Winter 2009)"
    return m_pct, _summarise("vertical_oscillation_cm", cm, note)


def _foot_angle(ctx: _Context, foot: Side, t: np.ndarray) -> np.ndarray:
    """Heel-to-toe angle from horizontal, + toe up."""
    heel = ctx.tracks.at(f"{foot}_heel", t)
    toe = ctx.tracks.at(f"{foot}_foot_index", t)
    d = toe - heel
    return np.degrees(np.arctan2(-d[:, 1], ctx.direction * d[:, 0]))


def strike_pattern(angle_deg: float) -> Literal["rearfoot", "midfoot", "forefoot"]:
    """Foot-strike pattern from the foot strike angle (Altman & Davis 2012).

    Parameters
    ----------
    angle_deg : float
        Foot angle at initial contact relative to the flat foot, + toe up.

    Returns
    -------
    {"rearfoot", "midfoot", "forefoot"}
        Rearfoot above 8 deg, forefoot below -1.6 deg, midfoot between.
    """
    if angle_deg > STRIKE_REARFOOT_DEG:
        return "rearfoot"
    if angle_deg < STRIKE_FOREFOOT_DEG:
        return "forefoot"
    return "midfoot"


def _foot_strike(ctx: _Context) -> Metric:
    """Foot angle at contact minus the same foot's angle at midstance (foot flat)."""
    rows = []
    for ic in _measured(ctx):
        tm = _stance_mid(ctx, ic)
        if tm is None:
            continue
        at_ic, flat = _foot_angle(ctx, ic.foot, np.array([ic.time_s, tm]))
        value = float(at_ic - flat)
        rows.append(_row(ic, value, pattern=strike_pattern(value)))
    metric = _summarise("foot_strike_angle_deg", rows)
    if metric.value is None:
        return metric
    pattern = strike_pattern(metric.value)
    reason = "; ".join(x for x in (f"{pattern} strike", metric.reason) if x)
    return Metric(
        **{
            **asdict(metric),
            "reason": reason,
            "per_stride": metric.per_stride,
            "frames": metric.frames,
        }
    )


def _timing_metrics(ctx: _Context) -> tuple[Metric, Metric, Metric]:
    """Ground contact time, flight time and duty factor."""
    contact, flight, duty = [], [], []
    for k, ic in enumerate(ctx.ics):
        to = _next_toe_off(ctx, ic)
        if to is None:
            continue
        gct = to.time_s - ic.time_s
        contact.append(_row(ic, gct * 1000.0, toe_off_frame=to.frame))
        nxt = ctx.ics[k + 1] if k + 1 < len(ctx.ics) else None
        if nxt is not None and nxt.foot != ic.foot:
            flight.append(_row(to, (nxt.time_s - to.time_s) * 1000.0))
        # A stride: the other foot's contact, then this foot's again.
        if nxt is not None and nxt.foot != ic.foot and k + 2 < len(ctx.ics):
            again = ctx.ics[k + 2]
            if again.foot == ic.foot:
                duty.append(_row(ic, gct / (again.time_s - ic.time_s) * 100.0))
    low = ctx.fps < HIGH_FPS
    note = f"approximate below {HIGH_FPS:.0f} fps (clip is {ctx.fps:.0f} fps)" if low else ""
    status: Status | None = "low_confidence" if low else None
    return (
        _summarise("ground_contact_time_ms", contact, note, status=status),
        _summarise("flight_time_ms", flight, note, status=status),
        _summarise("duty_factor_pct", duty, note, status=status),
    )


def _speed_metrics(ctx: _Context, speed_kmh: float | None) -> tuple[Metric, Metric]:
    """Step length from the belt speed and step times; the speed itself."""
    if speed_kmh is None:
        reason = "needs the treadmill speed (--speed)"
        return _not_applicable("step_length_m", reason), _not_applicable("speed_m_s", reason)
    v = speed_kmh / 3.6
    rows = [_row(a, v * (b.time_s - a.time_s)) for a, b in _steps(ctx)]
    speed = Metric("speed_m_s", v, "m/s", None, "ok", GIVEN_BY_USER)
    if ctx.view.setting == "overground":
        return (
            _summarise(
                "step_length_m",
                rows,
                "the speed was given for an overground clip",
                status="low_confidence",
            ),
            speed,
        )
    return _summarise("step_length_m", rows), speed


# ---------------------------------------------------------------- frontal metrics


def _medial_sign(ctx: _Context, foot: Side) -> float:
    """+1 if medial is image +x for this leg in the current view."""
    left_medial = 1.0 if ctx.view.view == "rear" else -1.0
    return left_medial if foot == "left" else -left_medial


def _fppa(ctx: _Context) -> Metric:
    """Peak frontal plane projection angle during each stance.

    The peak is taken in the direction the knee deviates during most of the
    stance (the sign of the stance's median angle): the largest valgus angle
    of a knee that caves in, the largest varus angle of one that bows out.
    A largest-magnitude rule would let a one-frame pose glitch to the other
    side stand for the whole stance.
    """
    rows = []
    t_all = ctx.ds["time"].values
    for ic in _measured(ctx):
        to = _next_toe_off(ctx, ic)
        if to is None:
            continue
        t = np.concatenate(
            [[ic.time_s], t_all[(t_all > ic.time_s) & (t_all < to.time_s)], [to.time_s]]
        )
        hip, knee, ankle = (ctx.tracks.at(f"{ic.foot}_{j}", t) for j in ("hip", "knee", "ankle"))
        angle = fppa_deg(hip, knee, ankle, _medial_sign(ctx, ic.foot))
        if not np.any(np.isfinite(angle)):
            continue
        k = int(np.nanargmax(angle) if np.nanmedian(angle) >= 0 else np.nanargmin(angle))
        frame = int(ctx.ds["frame"].values[np.argmin(np.abs(t_all - t[k]))])
        rows.append(
            {
                "foot": ic.foot,
                "frame": frame,
                "time_s": float(t[k]),
                "value": float(angle[k]),
                "ic_frame": ic.frame,
            }
        )
    note = (
        "2D FPPA is an estimate: its limits of agreement with 3D knee abduction are "
        "wide (-30 to +17 deg, Straub & Powers 2022)"
    )
    return _summarise("knee_valgus_fppa_deg", rows, note, status="low_confidence")


def _pelvic_drop(ctx: _Context) -> Metric:
    """Swing-side hip below the stance-side hip at midstance, degrees."""
    rows = []
    for ic in _measured(ctx):
        to = _next_toe_off(ctx, ic)
        if to is None:
            continue
        tm = (ic.time_s + to.time_s) / 2
        stance = ctx.tracks.at(f"{ic.foot}_hip", tm)[0]
        swing = ctx.tracks.at(f"{other_side(ic.foot)}_hip", tm)[0]
        drop = np.degrees(np.arctan2(swing[1] - stance[1], abs(swing[0] - stance[0])))
        frame = int(ctx.ds["frame"].values[np.argmin(np.abs(ctx.ds["time"].values - tm))])
        rows.append(
            {
                "foot": ic.foot,
                "frame": frame,
                "time_s": tm,
                "value": float(drop),
                "ic_frame": ic.frame,
            }
        )
    return _summarise(
        "pelvic_drop_deg", rows, "a tilted camera biases left and right in opposite directions"
    )


def _step_width(ctx: _Context) -> Metric:
    """Lateral heel distance between consecutive contacts, % leg length, + feet apart."""
    rows = []
    right_x = 1.0 if ctx.view.view == "rear" else -1.0
    for a, b in _steps(ctx):
        xa = ctx.tracks.at(f"{a.foot}_heel", a.time_s)[0, 0]
        xb = ctx.tracks.at(f"{b.foot}_heel", b.time_s)[0, 0]
        left_x, rgt_x = (xa, xb) if a.foot == "left" else (xb, xa)
        rows.append(_row(b, right_x * (rgt_x - left_x) / ctx.leg_px * 100.0))
    return _summarise("step_width_pct_leg", rows, "negative values mean crossover")


# ---------------------------------------------------------------- cadence


def _step_time_fit(ics: Sequence[GaitEvent], median_step: float) -> float:
    """Step time as the least-squares slope of contact time against step number.

    Step numbers advance by the rounded gap / median step, so a missed
    contact does not halve the cadence. Using every contact (not only the
    first and last) makes the end contacts' timing errors matter far less.
    """
    times = np.array([e.time_s for e in ics])
    steps = np.concatenate([[0], np.cumsum(np.maximum(1, np.round(np.diff(times) / median_step)))])
    return float(np.polyfit(steps, times, 1)[0])


def _periodicity_cadences(ds: xr.Dataset, reference: float) -> list[float]:
    """Cadences from the clip's periodicity: the feet's height difference and the hip's bounce.

    Each is matched to ``reference`` (the contacts' cadence) up to a factor
    of two (a hip that bounces differently on each step shows the stride)
    and kept only within :data:`CADENCE_CROSSCHECK` of it.
    """
    out = []
    for period in (estimate_step_period(ds), hip_step_period(ds)):
        if not (np.isfinite(period) and period > 0):
            continue
        for factor in (1.0, 2.0, 0.5):
            cadence = 60.0 / period * factor
            if abs(cadence - reference) <= CADENCE_CROSSCHECK * reference:
                out.append(cadence)
                break
    return out


def _cadence(ctx: _Context) -> Metric:
    """Steps per minute: the median of three independent estimates.

    (1) The least-squares slope of contact time against step number
    (:func:`_step_time_fit`), (2) the period of the feet's height difference
    and (3) the period of the hip's vertical bounce (whole-clip
    autocorrelations, :func:`formcheck.events.estimate_step_period` and
    :func:`formcheck.events.hip_step_period`). They fail in different ways
    (contacts: a timing bias that drifts along the clip when the pose model
    loses the feet; feet: label noise; hip: a stride-long period), so the
    median of the ones that agree within :data:`CADENCE_CROSSCHECK` is kept.
    Per-step values and the uncertainty come from the contacts.
    """
    steps = _steps(ctx)
    rows = [
        _row(b, 60.0 / (b.time_s - a.time_s), step_time_s=b.time_s - a.time_s) for a, b in steps
    ]
    name = "cadence_spm"
    if not rows:
        return Metric(
            name,
            None,
            UNITS[name],
            None,
            "low_confidence",
            "fewer than two consecutive contacts were found",
        )
    durations = np.array([r["step_time_s"] for r in rows])
    from_contacts = 60.0 / _step_time_fit(ctx.ics, float(np.median(durations)))
    value = float(np.median([from_contacts, *_periodicity_cadences(ctx.ds, from_contacts)]))
    se = ci95(60.0 / durations)
    if se is not None:
        se = se / np.sqrt(max(1.0, durations.size / 2.0))
    notes: list[str] = []
    status: Status = "ok"
    if len(rows) < MIN_STEPS:
        status = "low_confidence"
        notes.append(_too_few(len(rows)))
    lo, hi = CADENCE_RANGE_SPM
    if value < lo:
        status = "low_confidence"
        notes.append(
            f"{value:.0f} spm is implausibly low for running: a slow-motion clip played "
            "back slower than it was filmed reads low; give the capture frame rate "
            "with --capture-fps"
        )
    elif value > hi:
        status = "low_confidence"
        notes.append(
            f"{value:.0f} spm is implausibly high for running; check the clip's frame times"
        )
    return Metric(
        name,
        float(value),
        UNITS[name],
        se,
        status,
        "; ".join(notes),
        per_stride=tuple(rows),
        n_strides=len(rows),
        frames=tuple(e.frame for e in ctx.ics),
    )


# ---------------------------------------------------------------- public API


def _view_reason(needed: str, view: ViewInfo) -> str:
    """Why a metric is not applicable in this view."""
    seen = (
        "the view could not be determined"
        if view.view == "unknown"
        else (f"this clip looks like a {view.view} view")
    )
    return f"needs a {needed} view; {seen}"


def _side_metrics(ctx: _Context, height_m: float | None, speed_kmh: float | None) -> list[Metric]:
    """All sagittal-plane metrics."""
    vo_pct, vo_cm = _vertical_oscillation(ctx, height_m)
    gct, flight, duty = _timing_metrics(ctx)
    step_len, speed = _speed_metrics(ctx, speed_kmh)
    return [
        _overstride(ctx),
        _shank_angle(ctx),
        _knee_ic(ctx),
        _knee_midstance(ctx),
        _trunk_lean(ctx),
        vo_pct,
        vo_cm,
        _foot_strike(ctx),
        gct,
        flight,
        duty,
        step_len,
        speed,
    ]


def _frontal_metrics(ctx: _Context) -> list[Metric]:
    """All frontal-plane metrics."""
    return [_fppa(ctx), _pelvic_drop(ctx), _step_width(ctx)]


def _context(ds: xr.Dataset, view: ViewInfo, events: Sequence[GaitEvent]) -> _Context:
    """Repair labels and gather what the metric functions share."""
    fixed = prepare_legs(ds, view)
    facing = view.facing or (estimate_facing(fixed)[0] if view.view == "side" else None)
    ordered = sorted(events, key=lambda e: e.time_s)
    ics = tuple(e for e in ordered if e.kind == "initial_contact")
    tos = tuple(e for e in ordered if e.kind == "toe_off")
    return _Context(
        ds=fixed,
        view=view,
        ics=ics,
        tos=tos,
        ic_times=tuple(e.time_s for e in ics),
        to_times=tuple(e.time_s for e in tos),
        leg_px=leg_length_px(fixed),
        direction=1.0 if facing != "left" else -1.0,
        fps=_mean_fps(ds),
        tracks=_Tracks(fixed),
    )


def _mean_fps(ds: xr.Dataset) -> float:
    """Frames per second over the whole clip (with a variable rate, what it really had)."""
    t = np.asarray(ds["time"].values, dtype=float)
    if t.size < 2 or t[-1] <= t[0]:
        return float(ds.attrs.get("fps", np.nan))
    return float((t.size - 1) / (t[-1] - t[0]))


def compute_metrics(
    ds: xr.Dataset,
    view: ViewInfo,
    events: list[GaitEvent],
    *,
    height_m: float | None = None,
    treadmill_speed_kmh: float | None = None,
) -> dict[str, Metric]:
    """Compute every running-form metric the view allows.

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset.
    view : ViewInfo
        The camera view.
    events : list of GaitEvent
        From :func:`formcheck.events.detect_events`.
    height_m : float, optional
        Runner's height, for vertical oscillation in cm.
    treadmill_speed_kmh : float, optional
        Belt speed, for step length.

    Returns
    -------
    dict of str to Metric
        Every metric name of ``docs/METRICS.md`` that formcheck knows, including
        ``<name>_asymmetry_pct`` for bilateral metrics; metrics the view
        cannot give are ``not_applicable`` with a reason.
    """
    validate_dataset(ds)
    ctx = _context(ds, view, events)
    out: dict[str, Metric] = {"cadence_spm": _cadence(ctx)}
    groups: list[tuple[tuple[str, ...], str, Callable[[], list[Metric]]]] = [
        (SIDE_METRICS, "side", lambda: _side_metrics(ctx, height_m, treadmill_speed_kmh)),
        (FRONTAL_METRICS, "rear or front", lambda: _frontal_metrics(ctx)),
    ]
    for names, needed, build in groups:
        applies = view.view == "side" if needed == "side" else view.view in ("rear", "front")
        if applies and np.isfinite(ctx.leg_px):
            out.update({m.name: m for m in build()})
        else:
            reason = _view_reason(needed, view) if not applies else "the legs were never seen"
            out.update({n: _not_applicable(n, reason) for n in names})
    for name in CONTACT_METRICS:
        out[name] = _gate_frame_rate(out[name], ctx.fps)
    out = {name: implausible(m) for name, m in out.items()}
    for name in BILATERAL:
        asym = asymmetry(out[name])
        out[asym.name] = one_camera_side(asym) if view.view == "side" else asym
    clip_s = clip_seconds(ctx.tracks.t)
    return {name: _clip_advice(m, clip_s) for name, m in out.items()}


PLAUSIBLE_RANGE: Mapping[str, tuple[float, float]] = MappingProxyType({
    "overstride_pct_leg": (-50.0, 80.0),
    "shank_angle_ic_deg": (-40.0, 50.0),
    "knee_flexion_ic_deg": (-15.0, 80.0),
    "knee_flexion_midstance_deg": (0.0, 100.0),
    "trunk_lean_deg": (-30.0, 50.0),
    "vertical_oscillation_pct_leg": (0.0, 40.0),
    "foot_strike_angle_deg": (-45.0, 60.0),
    "knee_valgus_fppa_deg": (-35.0, 35.0),
    "pelvic_drop_deg": (-25.0, 25.0),
    "step_width_pct_leg": (-40.0, 60.0),
})
"""What a running body can show at all, per metric (mean and each side).

Far wider than any runner's range (METRICS.md's typical values sit well
inside); a value outside means the pose model or the view failed, e.g. a
side clip forced to a rear view read one knee at -80 deg of valgus, and an
upside-down picture a trunk lean of 158 deg. Such a metric is withheld
(:func:`implausible`) and never becomes a finding (the rules take these
ranges unless they give their own ``plausible``)."""


def values_within(metric: Metric, bounds: tuple[float, float]) -> bool:
    """Whether the metric's value and each side's value lie within ``bounds`` (NaN and None pass).

    Parameters
    ----------
    metric : Metric
        A metric.
    bounds : tuple of float
        ``(low, high)``, inclusive.

    Returns
    -------
    bool
        False when any of ``value``, ``left`` and ``right`` is outside.
    """
    lo, hi = bounds
    values = (metric.value, metric.left, metric.right)
    return all(lo <= float(v) <= hi for v in values if v is not None and np.isfinite(v))


def implausible(metric: Metric) -> Metric:
    """Withhold a metric whose value or a side's value lies outside :data:`PLAUSIBLE_RANGE`.

    Parameters
    ----------
    metric : Metric
        A computed metric.

    Returns
    -------
    Metric
        Unchanged when every value is plausible; otherwise not applicable,
        with no value and the reason (its left-right asymmetry, computed from
        it, is then not applicable too).
    """
    bounds = PLAUSIBLE_RANGE.get(metric.name)
    if bounds is None or metric.status == "not_applicable" or values_within(metric, bounds):
        return metric
    lo, hi = bounds
    values = (metric.value, metric.left, metric.right)
    shown = ", ".join(f"{v:.0f}" for v in values if v is not None and np.isfinite(v))
    return _not_applicable(
        metric.name,
        f"not a measurement of the runner: the values ({shown} {metric.unit}) lie outside what "
        f"a running body shows ({lo:g} to {hi:g}), so the pose model or the view failed here",
    )


ONE_SIDE_REASON = (
    "seen from one side, the far leg is partly hidden and the pose model places it less "
    "well, so a left-right difference from one side camera is a hint, not a measurement "
    "(perfectly symmetric synthetic runners read up to 150 % here, more where a value is near zero)"
)
"""Why side-view asymmetries are never ``ok`` (docs/metrics-methods.md)."""


def one_camera_side(metric: Metric) -> Metric:
    """Mark a left-right asymmetry seen from one side camera as low confidence.

    From the side the far leg is partly hidden behind the near one, and the
    pose model's far-leg points are less accurate, so the two sides' values
    differ by the model's near/far error as well as by the runner. On the
    synthetic side clips, whose runners are symmetric, the asymmetries that
    passed every other check read 3-150 % (up to 200 %, the largest
    possible, where one side's value is near zero).

    Parameters
    ----------
    metric : Metric
        A ``<name>_asymmetry_pct`` metric computed from a side view.

    Returns
    -------
    Metric
        The same value with status ``low_confidence`` and this reason (any
        other doubt about the two sides is stated on the bilateral metric
        itself); unchanged when not applicable.
    """
    if metric.status == "not_applicable":
        return metric
    return replace(metric, status="low_confidence", reason=ONE_SIDE_REASON)


def doubt_view(metrics: Mapping[str, Metric], reason: str) -> dict[str, Metric]:
    """Mark every view-specific measured metric low confidence, with the reason.

    Used when the user chose a view that a confident detection contradicts
    (:func:`formcheck.view.override_note`): the values are kept, but none is
    ``ok``, so a finding from them says it is unsure. Cadence does not depend
    on the view and is left as it is.

    Parameters
    ----------
    metrics : mapping of str to Metric
        Metrics by name.
    reason : str
        Why the view is in doubt.

    Returns
    -------
    dict of str to Metric
        The metrics, those of :data:`SIDE_METRICS` and :data:`FRONTAL_METRICS`
        (and their asymmetries) that are not ``not_applicable`` marked
        ``low_confidence`` with ``reason`` added.
    """
    viewed = {*SIDE_METRICS, *FRONTAL_METRICS}
    out = {}
    for name, m in metrics.items():
        if name.removesuffix(ASYMMETRY_SUFFIX) in viewed and m.status != "not_applicable":
            why = m.reason if reason in m.reason else "; ".join(r for r in (m.reason, reason) if r)
            m = replace(m, status="low_confidence", reason=why)
        out[name] = m
    return out
