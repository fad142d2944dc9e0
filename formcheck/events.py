"""Gait events (initial contact, toe-off) from 2D pose tracks.

Method (default, ``"foot_height"``), for every view:

1. **Leg identity.** Label swaps and collapses are repaired once, in the
   cleaning stage (:func:`formcheck.cleaning.repair_leg_swaps`);
   :func:`prepare_legs` only orients rear/front legs by image side.
2. **Step period** :func:`estimate_step_period`: autocorrelation of the
   difference of the two feet's heights (one stride per period), resampled
   on a uniform time grid because phone video has a variable frame rate.
3. **Stance runs.** Each foot point (heel, toe) is compared with its own
   ground level, the running maximum of its image ``y`` over about two steps
   (``y`` points down; far-foot perspective, tilted cameras and slow drift
   do not matter); the foot's contact signal :func:`contact_y` is the
   larger of the two, so a toe that swings low in late swing while the
   heel is still in the air is not a landing. Frames within a tolerance of
   the ground (``max(8 % leg length, 3 x noise)``) form stance runs. In rear
   and front views the belt carries the stance foot towards or away from
   the camera (:func:`formcheck.view.stance_drift`); the tolerance grows by
   that drift over a typical contact.
4. **Sub-frame contact** :func:`descent_stop_time`: the instant the foot
   stops descending (its downward speed falls back towards the stance
   trend), refined by intersecting the descent and stance lines; a contact
   needs a few frames after it (a descent cut by the clip's end is not a
   contact). Toe-off is the break of a two-segment fit at the end of the
   run.
5. **Side views: horizontal anchor** :func:`anchor_contacts`. Pose models
   track the foot's large horizontal swing far better than the last pixels
   of its descent, which they often blur or jump across at touchdown. Each
   contact is re-timed to the foot's most forward position relative to the
   hip (the initial-contact rule of Zeni et al. 2008), plus one lag per
   clip: the median over all steps of (vertical contact - forward extreme),
   at least 0 because a foot on the belt cannot move forward any more.
6. **Regular sequence** :func:`select_periodic`: the contacts of both feet
   are merged, the most regular sequence for the step period is kept
   (dynamic programming), feet are assigned by strict alternation (phase by
   the majority of the repaired labels) and contacts the trajectories missed
   are placed by the rhythm and flagged ``estimated``.

``"zeni"`` (side views only) is Zeni et al. (2008) alone: initial contact at
the maxima of the heel-minus-pelvis horizontal distance, toe-off at the
minima of toe-minus-pelvis. See ``docs/metrics-methods.md`` for the measured
trade-offs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import xarray as xr
from scipy.ndimage import maximum_filter1d

from formcheck.cleaning import orient_frontal_legs
from formcheck.dataset import keypoint_xy, leg_length_px, midpoint_xy, validate_dataset
from formcheck.landmarks import SIDES, Side
from formcheck.view import ViewInfo, estimate_facing, stance_drift

EventKind = Literal["initial_contact", "toe_off"]
EventMethod = Literal["foot_height", "zeni"]
ContactRule = Literal["descent_stop", "hinge"]

STANCE_TOL_LEG = 0.08
"""Minimum stance-detection tolerance above the ground level, fraction of leg length."""
NOISE_TOL_FACTOR = 3.0
"""Contact tolerance as a multiple of the estimated pixel noise."""
IC_NEAR_LEG = 0.06
"""A foot point closer than this fraction of leg length to its stance level may be in contact."""
TOUCH_EPS_LEG = 0.01
"""Height above the stance level, in leg lengths, where the touchdown tangent starts."""
DESCENT_STOP_FRAC = 0.3
"""Contact when the descent speed has fallen to this fraction of its peak (above the trend)."""
LINE_FIT_S = 0.1
"""Span (s, at least 3 samples) of the descent and stance lines that time a contact."""
PERIOD_TOL = 0.15
"""Step-to-step timing deviation, as a fraction of the step period, that costs half a contact."""
SKIP_COST = 0.6
"""Cost of a missed contact between two kept ones (a kept contact is worth 1)."""
CONTACT_FRACTION = 0.35
"""Typical contact time as a fraction of the stride, to size the drift allowance."""
ANCHOR_BEFORE = 0.5
"""Side views: the foot's forward extreme is searched this many step periods before a contact..."""
ANCHOR_AFTER = 0.5
"""...and this many after."""
HINGE_GRID = 50
"""Sub-divisions per frame of the initial-contact / toe-off time search."""


@dataclass(frozen=True)
class GaitEvent:
    """One gait event of one foot.

    Attributes
    ----------
    foot : {"left", "right"}
        The runner's foot.
    kind : {"initial_contact", "toe_off"}
        Event type.
    frame : int
        Decode index of the frame nearest to ``time_s``.
    time_s : float
        Sub-frame event time in seconds (the dataset's time axis).
    estimated : bool
        True for a contact the foot trajectory did not show, placed between
        its neighbours by the step rhythm (counts for cadence, not for
        metrics measured at contact).
    """

    foot: Side
    kind: EventKind
    frame: int
    time_s: float
    estimated: bool = False


@dataclass(frozen=True)
class _Stance:
    """A contact period of one (repaired) foot track, with sub-frame times."""

    track: Side
    t_ic: float | None
    t_to: float | None
    t_mid: float
    estimated: bool = False
    weight: float = 1.0


def _times(ds: xr.Dataset) -> np.ndarray:
    """Frame times in seconds."""
    return np.asarray(ds["time"].values, dtype=float)


def prepare_legs(ds: xr.Dataset, view: ViewInfo | None = None) -> xr.Dataset:
    """Orient the legs of a cleaned dataset for a view.

    Leg-label swaps and collapses are repaired once, in the cleaning stage
    (:func:`formcheck.cleaning.repair_leg_swaps`); here only rear and front
    views get their legs named by image side
    (:func:`formcheck.cleaning.orient_frontal_legs`).

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset.
    view : ViewInfo, optional
        The camera view.

    Returns
    -------
    xarray.Dataset
        ``ds`` or a copy with the leg labels exchanged.
    """
    validate_dataset(ds)
    return orient_frontal_legs(ds, view.view) if view is not None else ds


# ---------------------------------------------------------------- signals


def foot_low_y(ds: xr.Dataset, side: Side) -> np.ndarray:
    """Image ``y`` of the lowest point of one foot (heel or toe), per frame.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset (cleaned, legs oriented by :func:`prepare_legs`).
    side : {"left", "right"}
        The foot.

    Returns
    -------
    numpy.ndarray
        ``max(heel_y, toe_y)`` (``y`` points down); where both are missing,
        the ankle ``y`` plus its median offset to that lowest point.
    """
    heel, toe, ankle = (
        keypoint_xy(ds, f"{side}_{j}")[:, 1] for j in ("heel", "foot_index", "ankle")
    )
    both = np.stack([heel, toe], axis=1)
    has = np.any(np.isfinite(both), axis=1)
    low = np.full(heel.shape, np.nan)
    low[has] = np.nanmax(both[has], axis=1)
    offset = low - ankle
    offset = offset[np.isfinite(offset)]
    if offset.size:
        fill = ~has & np.isfinite(ankle)
        low[fill] = ankle[fill] + float(np.median(offset))
    return low


def _foot_ys(ds: xr.Dataset, side: Side, window: int) -> dict[str, np.ndarray]:
    """Image ``y`` of the heel, the toe and the foot's contact signal (see :func:`contact_y`)."""
    heel = keypoint_xy(ds, f"{side}_heel")[:, 1]
    toe = keypoint_xy(ds, f"{side}_foot_index")[:, 1]
    ankle = keypoint_xy(ds, f"{side}_ankle")[:, 1]
    return {"heel": heel, "toe": toe, "low": contact_y(heel, toe, ankle, window)}


def contact_y(heel: np.ndarray, toe: np.ndarray, ankle: np.ndarray, window: int) -> np.ndarray:
    """How far the foot is from the ground, each point against its own ground level.

    Every foot point has its own stance level (the pose model's heel sits
    above the sole, the toe point at the tip): the running maximum of its
    ``y`` over ``window`` frames. The foot's signal is the largest
    ``y - level`` of heel and toe (0 when either rests on the ground,
    negative in the air), plus the heel's median level to keep image units.
    Comparing raw ``y`` instead would let a toe that swings low in late
    swing (while the heel is still well above its own level) pass for a
    landing foot. Frames with neither point use the ankle the same way.

    Parameters
    ----------
    heel, toe, ankle : numpy.ndarray
        Image ``y`` of the three points per frame (NaN where missing).
    window : int
        Frames over which the ground level is taken (about two steps).

    Returns
    -------
    numpy.ndarray
        The contact signal, image ``y`` units (down is +).
    """
    rel = []
    for y in (heel, toe):
        rel.append(y - _ground_level(y, window))
    both = np.stack(rel, axis=1)
    has = np.any(np.isfinite(both), axis=1)
    out = np.full(heel.shape, np.nan)
    out[has] = np.nanmax(both[has], axis=1)
    fill = ~has & np.isfinite(ankle)
    out[fill] = (ankle - _ground_level(ankle, window))[fill]
    base = _nanmedian_level(heel, window)
    return out + (base if np.isfinite(base) else 0.0)


def _nanmedian_level(y: np.ndarray, window: int) -> float:
    """Median ground level of one point (0 when never seen)."""
    level = _ground_level(y, window)
    level = level[np.isfinite(level)]
    return float(np.median(level)) if level.size else 0.0


def _uniform(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Resample a signal on a uniform grid (median frame interval), gaps filled."""
    ok = np.isfinite(y)
    dt = float(np.median(np.diff(t)))
    grid = np.arange(t[0], t[-1] + dt / 2, dt)
    return grid, np.interp(grid, t[ok], y[ok])


def _autocorr(y: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of a detrended signal (non-negative lags)."""
    y = y - np.polyval(np.polyfit(np.arange(y.size), y, 1), np.arange(y.size))
    n = y.size
    f = np.fft.rfft(y, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[:n]
    ac /= np.arange(n, 0, -1)
    return ac / ac[0] if ac[0] > 0 else ac


def _first_strong_peak(ac: np.ndarray, lo: int, hi: int) -> float | None:
    """Lag of the first local maximum above half the highest peak in ``[lo, hi]``."""
    hi = min(hi, ac.size - 2)
    if hi <= lo:
        return None
    lags = np.arange(max(lo, 1), hi + 1)
    is_peak = (ac[lags] > ac[lags - 1]) & (ac[lags] >= ac[lags + 1]) & (ac[lags] > 0)
    peaks = lags[is_peak]
    if peaks.size == 0:
        return None
    strong = peaks[ac[peaks] >= 0.5 * ac[peaks].max()]
    k = int(strong[0])
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    denom = a - 2 * b + c
    return k + (0.5 * (a - c) / denom if denom != 0 else 0.0)


def estimate_step_period(ds: xr.Dataset, *, min_spm: float = 30.0, max_spm: float = 300.0) -> float:
    """Dominant step period in seconds, from the feet's height difference.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset (cleaned, legs oriented by :func:`prepare_legs`).
    min_spm, max_spm : float
        Cadence search range in steps per minute; wide on purpose so that a
        slow-motion clip with wrong timestamps is found (and flagged later)
        rather than forced into the normal range.

    Returns
    -------
    float
        Step period (half the stride period) in seconds; falls back to the
        mid-hip vertical signal (:func:`hip_step_period`), then NaN.
    """
    t = _times(ds)
    if t.size < 8:
        return float("nan")
    diff = foot_low_y(ds, "left") - foot_low_y(ds, "right")
    period = _signal_period(t, diff, 2.0, min_spm, max_spm)
    return period if np.isfinite(period) else hip_step_period(ds, min_spm=min_spm, max_spm=max_spm)


def hip_step_period(
    ds: xr.Dataset, *, min_spm: float = 30.0, max_spm: float = 300.0
) -> float:
    """Step period in seconds from the mid-hip's vertical bounce (one bounce per step).

    Independent of the feet, whose points pose models track worst; used as
    a fallback by :func:`estimate_step_period` and as a cross-check of the
    cadence (:mod:`formcheck.metrics`). A runner whose two steps bounce
    differently can show the stride instead; callers compare it with
    another estimate.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    min_spm, max_spm : float
        Cadence search range in steps per minute.

    Returns
    -------
    float
        Step period in seconds, NaN when not found.
    """
    t = _times(ds)
    if t.size < 8:
        return float("nan")
    hip_y = midpoint_xy(ds, "hip")[:, 1]
    return _signal_period(t, hip_y, 1.0, min_spm, max_spm)


def _signal_period(
    t: np.ndarray, signal: np.ndarray, steps_per_period: float, min_spm: float, max_spm: float
) -> float:
    """Step period (s) from the autocorrelation of a signal with ``steps_per_period`` steps."""
    if np.sum(np.isfinite(signal)) < 8:
        return float("nan")
    grid, y = _uniform(t, signal)
    dt = grid[1] - grid[0]
    ac = _autocorr(y)
    lo = int(np.floor(steps_per_period * 60.0 / max_spm / dt))
    hi = int(np.ceil(steps_per_period * 60.0 / min_spm / dt))
    lag = _first_strong_peak(ac, lo, hi)
    return float(lag * dt / steps_per_period) if lag is not None else float("nan")


# ---------------------------------------------------------------- stance runs


def _fill_short_gaps(t: np.ndarray, y: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate NaN gaps no longer than ``max_gap_s``."""
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return y
    out = y.copy()
    filled = np.interp(t, t[ok], y[ok])
    idx = np.flatnonzero(ok)
    nxt = np.searchsorted(idx, np.arange(t.size))
    inner = (~ok) & (nxt > 0) & (nxt < idx.size)
    span = np.full(t.size, np.inf)
    span[inner] = t[idx[nxt[inner]]] - t[idx[nxt[inner] - 1]]
    fill = inner & (span <= max_gap_s)
    out[fill] = filled[fill]
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` index pairs of the True runs of ``mask``."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _merge_runs(
    runs: list[tuple[int, int]], t: np.ndarray, max_gap_s: float
) -> list[tuple[int, int]]:
    """Join runs separated by less than ``max_gap_s`` (noise dropouts)."""
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and t[a] - t[merged[-1][1]] <= max_gap_s:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _ground_level(y: np.ndarray, window: int) -> np.ndarray:
    """Running maximum of ``y`` (the lowest image position) over ``window`` frames."""
    filled = np.where(np.isfinite(y), y, -np.inf)
    level = maximum_filter1d(filled, size=max(3, window), mode="nearest")
    return np.where(np.isfinite(level), level, np.nan)


def _noise_sigma(y: np.ndarray, level: np.ndarray, tol: float) -> float:
    """Robust pixel noise from the residuals of the stance plateaus."""
    with np.errstate(invalid="ignore"):
        res = (y - level)[(y >= level - tol) & np.isfinite(y)]
    if res.size < 5:
        return 0.0
    return float(1.4826 * np.median(np.abs(res - np.median(res))))


def _kink_time(t: np.ndarray, y: np.ndarray, t_lo: float, t_hi: float) -> float | None:
    """Least-squares break time of a continuous two-segment line fitted to ``y(t)``.

    For each candidate break ``t0`` on a grid of :data:`HINGE_GRID` steps
    per frame in ``[t_lo, t_hi]``, ``y = c + a * min(t - t0, 0) + b * max(t - t0, 0)``
    is fitted by linear least squares; the ``t0`` with the smallest residual
    is returned. A foot that descends and then stops (contact), or rests and
    then lifts (toe-off), has its break at the event.
    """
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size < 4 or t_hi <= t_lo:
        return None
    step = float(np.median(np.diff(t)))
    n_grid = max(3, int(round((t_hi - t_lo) / max(step, 1e-12) * HINGE_GRID)) + 1)
    t0 = np.linspace(t_lo, t_hi, n_grid)
    rel = t[None, :] - t0[:, None]
    design = np.stack([np.ones_like(rel), np.minimum(rel, 0.0), np.maximum(rel, 0.0)], axis=-1)
    gram = np.einsum("gni,gnj->gij", design, design)
    rhs = np.einsum("gni,n->gi", design, y)
    valid = np.linalg.matrix_rank(gram) == 3
    if not np.any(valid):
        return None
    coef = np.zeros((n_grid, 3))
    coef[valid] = np.linalg.solve(gram[valid], rhs[valid][..., None])[..., 0]
    resid = np.sum((np.einsum("gni,gi->gn", design, coef) - y[None, :]) ** 2, axis=1)
    resid[~valid] = np.inf
    return float(t0[int(np.argmin(resid))])


def _arrival_index(y: np.ndarray, level: float, near: float, lo: int, a: int) -> int:
    """First index of the run of frames before ``a`` that are within ``near`` of ``level``."""
    seg = y[lo : a + 1]
    with np.errstate(invalid="ignore"):
        far = np.flatnonzero(~(seg >= level - near))
    return lo + int(far[-1]) + 1 if far.size else lo


def _contact_time(
    t: np.ndarray,
    ys: dict[str, np.ndarray],
    span: tuple[int, int, int],
    n_air: int,
    near: float,
    hold_s: float,
    eps: float,
) -> float | None:
    """Initial contact from the heel and toe trajectories around stance run ``[a, b]``.

    For each of heel and toe, the break of the descent is searched from one
    frame before the point comes within ``near`` pixels of its own stance
    level; the contact is the earliest break at which that point is the
    lower of the two (heel for a rearfoot strike, toe for a forefoot strike).
    """
    lo, a, b = span
    n = t.size
    dt = float(np.median(np.diff(t)))
    found: list[float] = []
    for name, y in ys.items():
        stance = y[a : b + 1]
        if not np.any(np.isfinite(stance)):
            continue
        level = float(np.nanpercentile(stance, 75))
        start = _arrival_index(y, level, near, lo, a)
        reach = int(np.ceil(hold_s / dt))
        end = min(n - 1, max(a, start) + reach)
        idx = np.arange(max(lo, start - n_air), min(n, end + n_air + 1))
        tk = _kink_time(t[idx], y[idx], t[max(0, start - 1)], t[end])
        if tk is None:
            continue
        other = ys["toe" if name == "heel" else "heel"]
        if _stays_lowest(t, y, other, tk, hold_s, near):
            found.append(_touchdown(t[idx], y[idx], tk, hold_s, eps))
    return min(found) if found else None


def _touchdown(t: np.ndarray, y: np.ndarray, tk: float, hold_s: float, eps: float) -> float:
    """Refine a contact break ``tk``: where the approach, extended, meets the plateau.

    The plateau level is the median of ``y`` just after ``tk``; the approach
    crosses ``level - eps`` at ``t_c`` with speed ``v`` (slope of the last
    samples before ``t_c``); the contact is ``t_c + eps / v``, bounded by
    ``hold_s``. This removes the early bias of the two-line break on feet
    that decelerate before landing, and the late bias of a plain threshold.
    """
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    post = (t >= tk) & (t <= tk + hold_s)
    if post.sum() < 2:
        return tk
    rel = y - float(np.median(y[post]))
    below = np.flatnonzero((rel[:-1] < -eps) & (rel[1:] >= -eps) & (t[1:] <= tk + hold_s))
    if below.size == 0:
        return tk
    i = int(below[-1])
    frac = (-eps - rel[i]) / (rel[i + 1] - rel[i])
    t_c = float(t[i] + frac * (t[i + 1] - t[i]))
    pre = np.flatnonzero((t >= t_c - hold_s / 2) & (t <= t[i]))
    pre = pre if pre.size >= 2 else np.arange(max(0, i - 1), i + 1)
    v = float(np.polyfit(t[pre], rel[pre], 1)[0]) if pre.size >= 2 else 0.0
    if v <= 0:
        return tk
    return float(min(t_c + eps / v, t_c + hold_s))


def _stays_lowest(
    t: np.ndarray, y: np.ndarray, other: np.ndarray, tk: float, hold_s: float, near: float
) -> bool:
    """Whether a foot point is the lower one at ``tk`` and does not lift within ``hold_s``."""
    y_k = float(np.interp(tk, t, y))
    o_k = float(np.interp(tk, t, other))
    after = (t > tk) & (t <= tk + hold_s) & np.isfinite(y)
    with np.errstate(invalid="ignore"):
        down = bool(np.all(y[after] >= y_k - near))
    return (not np.isfinite(o_k) or y_k >= o_k - near / 6) and down


def descent_stop_time(
    t: np.ndarray,
    y: np.ndarray,
    lo: int,
    hi: int,
    stance_end: int | None = None,
    trend: float | None = None,
) -> float | None:
    """Initial contact as the instant the foot stops descending.

    From the swing apex (index ``lo``) to the end of the stance run (``hi``),
    the downward speed ``v = dy/dt`` of the lowest foot point rises to a peak
    during the descent and collapses when the foot meets the belt. Contact is
    the first time after the peak where ``v`` falls to
    ``v_st + DESCENT_STOP_FRAC * (v_peak - v_st)``, ``v_st`` being the speed
    of the foot in stance: the belt drift when known (rear and front views;
    positive from behind, where the belt carries the stance foot towards the
    camera and down in the image; negative from the front, where it moves
    up, with a fall-back to 0 when the speed does not get there inside the
    window), else the median speed over the second half of the stance run
    (about 0 from the side). Linear interpolation of ``v`` gives sub-frame timing.

    Unlike a height threshold or a two-line fit, it does not need the stance
    level, so it is insensitive to keypoint offsets (MediaPipe's heel sits
    above the true heel) and to the pose model's brief loss of the foot right
    after touchdown (the foot then seems to rise: the descent has stopped
    all the same).

    Parameters
    ----------
    t : numpy.ndarray
        Frame times.
    y : numpy.ndarray
        Image ``y`` of the lowest foot point (down is +).
    lo, hi : int
        Swing apex and end of the search window (inside the stance run).
    stance_end : int, optional
        Last frame of the stance run (default ``hi``), for the stance trend.
    trend : float, optional
        The stance trend ``v_st`` (px/s) when it is known (the belt drift of
        a rear or front view, measured over all stances); otherwise it is
        measured on this stance.

    Returns
    -------
    float or None
        Contact time, None when the descent is not seen.
    """
    idx = np.arange(lo, hi + 1)
    ok = np.isfinite(y[idx])
    if ok.sum() < 4:
        return None
    ts, ys = t[idx][ok], y[idx][ok]
    v = np.gradient(ys, ts)
    k_peak = int(np.argmax(v))
    v_st = (
        trend
        if trend is not None
        else _stance_trend(t, y, int(t.searchsorted(ts[k_peak])), stance_end or hi)
    )
    v_peak = float(v[k_peak])
    if v_peak <= max(v_st, 0.0):
        return None
    thr = v_st + DESCENT_STOP_FRAC * (v_peak - v_st)
    below = np.flatnonzero(v[k_peak:] <= thr)
    if below.size == 0 and v_st < 0:
        # A stance foot moving up the image (front view: the belt carries it
        # away) may not reach its trend inside the window; it has stopped
        # descending all the same: measure the drop from 0 then.
        thr = DESCENT_STOP_FRAC * v_peak
        below = np.flatnonzero(v[k_peak:] <= thr)
    if below.size == 0:
        return None
    j = k_peak + int(below[0])
    if j == 0:
        return float(ts[0])
    frac = (v[j - 1] - thr) / (v[j - 1] - v[j]) if v[j - 1] != v[j] else 0.0
    t_thr = float(ts[j - 1] + frac * (ts[j] - ts[j - 1]))
    return _line_meet(ts, ys, j, t_thr)


def _stance_trend(t: np.ndarray, y: np.ndarray, start: int, end: int) -> float:
    """Median vertical speed over the second half of ``[start, end]`` (0 if too short)."""
    idx = np.arange((start + end) // 2, end + 1)
    ok = np.isfinite(y[idx])
    if ok.sum() < 3:
        return 0.0
    return float(np.median(np.gradient(y[idx][ok], t[idx][ok])))


def _line_meet(ts: np.ndarray, ys: np.ndarray, j: int, t_thr: float) -> float:
    """Where the descent line (samples before ``j``) meets the stance line (from ``j``).

    Refines the speed-threshold time of :func:`descent_stop_time`: central
    differences smear an abrupt stop over two frames; the intersection of
    the line fitted to the descending samples of the last :data:`LINE_FIT_S`
    with the line fitted to the stance samples of the next ones does not, and averages noise.
    Kept within one frame of ``t_thr``.
    """
    if j < 2 or j + 2 >= ts.size:
        return t_thr
    dt = float(ts[j] - ts[j - 1])
    n_fit = max(3, int(round(LINE_FIT_S / dt)))
    pre = slice(max(0, j - n_fit), j)
    post = slice(j, min(ts.size, j + n_fit + 1))
    da, ca = np.polyfit(ts[pre], ys[pre], 1)
    db, cb = np.polyfit(ts[post], ys[post], 1)
    if da - db <= 0:
        return t_thr
    t_meet = (cb - ca) / (da - db)
    return float(np.clip(t_meet, t_thr - dt, t_thr + dt))


def _swing_apex(low: np.ndarray, lo: int, hi: int) -> int:
    """Index of the highest foot position (smallest image ``y``) in ``[lo, hi]``."""
    seg = low[lo : hi + 1]
    return lo + int(np.nanargmin(seg)) if np.any(np.isfinite(seg)) else lo


def _window(n: int, a: int, before: int, after: int) -> np.ndarray:
    """Indices ``a - before .. a + after`` clipped to ``[0, n)``."""
    return np.arange(max(0, a - before), min(n, a + after + 1))


def _foot_stances(
    t: np.ndarray,
    ys: dict[str, np.ndarray],
    track: Side,
    period: float,
    leg: float,
    method: ContactRule = "descent_stop",
    drift: float = 0.0,
) -> list[_Stance]:
    """Stance periods of one foot track with sub-frame contact and toe-off times.

    ``ys`` holds the image ``y`` of the foot's ``"heel"`` and ``"toe"`` and
    its contact signal ``"low"``. ``drift`` (px/s) is how fast a stance foot
    moves along image ``y`` (rear and front views: the belt carries it
    towards or away from the camera); the ground tolerance grows by the
    drift over a typical contact so that whole stances stay in the run.
    """
    dt = float(np.median(np.diff(t)))
    ys = {k: _fill_short_gaps(t, v, 0.25 * period) for k, v in ys.items()}
    low = ys["low"]
    level = _ground_level(low, int(round(2 * period / dt)) + 1)
    tol0 = STANCE_TOL_LEG * leg
    sigma = _noise_sigma(low, level, tol0)
    tol = max(tol0, NOISE_TOL_FACTOR * sigma) + abs(drift) * CONTACT_FRACTION * 2 * period
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(low) & (low >= level - tol)
    runs = _merge_runs(_runs(mask), t, 0.3 * period)
    n_air = max(2, int(np.ceil(0.15 * period / dt)))
    n_ground = max(3, int(np.ceil(0.2 * period / dt)))
    search = max(dt, 0.15 * period)
    back_s = 0.5 * period
    back = int(np.ceil(back_s / dt))
    feet = {"heel": ys["heel"], "toe": ys["toe"]}
    n = t.size
    stances = []
    for a, b in runs:
        if t[b] - t[a] < 0.1 * period:
            continue
        t_ic = t_to = None
        if a > 0 and np.isfinite(low[a - 1]):
            lo = _swing_apex(low, max(0, a - 2 * back), a)
            near = IC_NEAR_LEG * leg + tol - tol0
            eps = max(TOUCH_EPS_LEG * leg, 2.5 * sigma)
            t_ic = (
                _contact_time(t, feet, (lo, a, b), n_air, near, 0.1 * period, eps)
                if method == "hinge"
                else descent_stop_time(
                    t, low, lo, min(b, a + 2 * n_ground), b, trend=drift if drift else None
                )
            )
            if t_ic is not None and np.sum(t > t_ic) < n_ground:
                t_ic = None  # the clip ends before the foot is seen to stay down
        if b < n - 1 and np.isfinite(low[b + 1]):
            if drift:
                # The widened tolerance lets the run outlast the contact: search
                # the lift-off over the second half of the run.
                half = (a + b) // 2
                idx = np.arange(max(0, half - 1), min(n, b + n_air + 1))
                t_to = _kink_time(t[idx], low[idx], t[half], t[b] + search)
            else:
                idx = _window(n, b, n_ground, n_air)
                t_to = _kink_time(t[idx], low[idx], max(t[b] - search, t[a]), t[b] + search)
        stances.append(_Stance(track=track, t_ic=t_ic, t_to=t_to, t_mid=float((t[a] + t[b]) / 2)))
    return stances


# ---------------------------------------------------------------- alternation


def select_periodic(
    times: np.ndarray, period: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Choose the candidate contacts that form the most regular step sequence.

    Dynamic programming over the time-sorted candidates: each kept contact
    scores its weight (1 unless given); consecutive kept contacts ``delta`` apart cost
    ``0.5 * ((delta - k T) / (PERIOD_TOL T))^2 + SKIP_COST * (k - 1)`` with
    ``k = round(delta / T)`` steps between them (a missed contact is allowed
    but costs), and pairs closer than ``0.6 T`` cannot both be kept. Spurious
    candidates (far-leg noise, a glitch splitting a stance) lose to the
    regular sequence whatever the clip, as every tolerance is relative to
    the step period from the autocorrelation.

    Parameters
    ----------
    times : numpy.ndarray
        Candidate contact times, sorted.
    period : float
        Step period in seconds.
    weights : numpy.ndarray, optional
        How much each candidate is trusted (0-1), e.g. less for the far leg of
        a side view; all 1 when omitted.

    Returns
    -------
    tuple of numpy.ndarray
        Indices of the kept candidates and their step numbers (0, 1, ... with
        jumps over missed contacts).
    """
    n = times.size
    if n == 0:
        return np.array([], dtype=int), np.array([], dtype=int)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    best = w.copy()
    prev = np.full(n, -1)
    for j in range(1, n):
        delta = times[j] - times[:j]
        k = np.maximum(1, np.round(delta / period))
        dev = (delta - k * period) / (PERIOD_TOL * period)
        cost = 0.5 * dev**2 + SKIP_COST * (k - 1)
        score = np.where(delta >= 0.6 * period, best[:j] + w[j] - cost, -np.inf)
        i = int(np.argmax(score))
        if score[i] > best[j]:
            best[j], prev[j] = score[i], i
    chain = [int(np.argmax(best))]
    while prev[chain[-1]] >= 0:
        chain.append(int(prev[chain[-1]]))
    idx = np.array(chain[::-1], dtype=int)
    steps = np.concatenate(
        [[0], np.cumsum(np.maximum(1, np.round(np.diff(times[idx]) / period)))]
    ).astype(int)
    return idx, steps


def _span(ds: xr.Dataset) -> tuple[float, float]:
    """First and last frame times."""
    t = _times(ds)
    return float(t[0]), float(t[-1])


def _contact_lead(stances: list[_Stance]) -> float | None:
    """Median time from contact to the middle of the stance run (None without contacts)."""
    offsets = [s.t_mid - s.t_ic for s in stances if s.t_ic is not None]
    return float(np.median(offsets)) if offsets else None


def _alternate(
    stances: list[_Stance],
    period: float,
    t_first: float = -np.inf,
    t_last: float = np.inf,
) -> list[_Stance]:
    """Keep the regular step sequence and assign feet by strict alternation.

    A kept stance whose contact was not timed (its descent was not seen)
    gets one placed at the usual distance before the middle of its run,
    flagged ``estimated``, unless its run touches either end of the clip
    (``t_first``, ``t_last``, within a quarter step): its middle is then
    not the stance's.
    """
    if not stances:
        return []
    found = _contact_lead(stances)
    lead = found if found is not None else 0.0
    key = np.array([s.t_ic if s.t_ic is not None else s.t_mid - lead for s in stances])
    order = np.argsort(key)
    weights = _contest_weights(stances, key, order, period)
    kept_idx, steps = select_periodic(key[order], period, weights)
    kept = [stances[int(order[i])] for i in kept_idx]
    labels = np.array([s.track == "left" for s in kept])
    even = steps % 2 == 0
    left_on_even = np.sum(labels == even) >= np.sum(labels != even)
    out: list[_Stance] = []
    for k, (s, e) in enumerate(zip(kept, even, strict=True)):
        foot: Side = "left" if e == left_on_even else "right"
        t_ic, estimated = s.t_ic, s.estimated
        inside = t_first + 0.25 * period < s.t_mid - lead and s.t_mid + lead < t_last
        if t_ic is None and found is not None and inside:
            t_ic, estimated = s.t_mid - lead, True
        here = _Stance(track=foot, t_ic=t_ic, t_to=s.t_to, t_mid=s.t_mid, estimated=estimated)
        gap = k > 0 and steps[k] - steps[k - 1] > 1
        if gap and t_ic is not None and out[-1].t_ic is not None:
            out.extend(_fill_missed(out[-1], here, int(steps[k] - steps[k - 1]), lead))
        out.append(here)
    return out


def _contest_weights(
    stances: list[_Stance], key: np.ndarray, order: np.ndarray, period: float
) -> np.ndarray:
    """Each sorted candidate's weight: its foot's trust where the other foot's competes.

    Two candidates of different feet closer than 0.6 step cannot both be
    kept; only there does the less trusted foot's candidate weigh less.
    """
    times, tracks = key[order], [stances[int(i)].track for i in order]
    weights = np.ones(times.size)
    if all(s.weight == 1.0 for s in stances):
        return weights  # rear and front views, or both feet trusted alike
    lo = np.searchsorted(times, times - 0.6 * period, side="right")
    hi = np.searchsorted(times, times + 0.6 * period, side="left")
    for i in range(times.size):
        if any(tracks[j] != tracks[i] for j in range(int(lo[i]), int(hi[i]))):
            weights[i] = stances[int(order[i])].weight
    return weights


def _fill_missed(before: _Stance, after: _Stance, n_steps: int, lead: float) -> list[_Stance]:
    """Contacts the trajectories missed between two kept ones, evenly spaced and flagged."""
    assert before.t_ic is not None and after.t_ic is not None
    out: list[_Stance] = []
    for m in range(1, n_steps):
        t_ic = before.t_ic + (after.t_ic - before.t_ic) * m / n_steps
        foot: Side = before.track if m % 2 == 0 else ("right" if before.track == "left" else "left")
        out.append(_Stance(track=foot, t_ic=t_ic, t_to=None, t_mid=t_ic + lead, estimated=True))
    return out


def _nearest_frame(ds: xr.Dataset, time_s: float) -> int:
    """Decode index of the frame nearest to ``time_s``."""
    t = _times(ds)
    i = int(np.argmin(np.abs(t - time_s)))
    return int(ds["frame"].values[i])


def _to_events(ds: xr.Dataset, stances: list[_Stance]) -> list[GaitEvent]:
    """Flatten stances into time-sorted events, keeping toe-offs before the next contact."""
    events: list[GaitEvent] = []
    ic_times = np.array([s.t_ic if s.t_ic is not None else s.t_mid for s in stances])
    for k, s in enumerate(stances):
        if s.t_ic is not None:
            events.append(
                GaitEvent(
                    s.track, "initial_contact", _nearest_frame(ds, s.t_ic), s.t_ic, s.estimated
                )
            )
        next_ic = ic_times[k + 1] if k + 1 < len(stances) else np.inf
        if s.t_to is not None and (s.t_ic is None or s.t_to > s.t_ic) and s.t_to < next_ic:
            events.append(GaitEvent(s.track, "toe_off", _nearest_frame(ds, s.t_to), s.t_to))
    return sorted(events, key=lambda e: e.time_s)


# ---------------------------------------------------------------- side-view timing


def _extreme_time(t: np.ndarray, x: np.ndarray, lo: float, hi: float) -> float | None:
    """Sub-frame time of the maximum of ``x`` in ``[lo, hi]``; None at the window's edge."""
    idx = np.flatnonzero((t >= lo) & (t <= hi) & np.isfinite(x))
    if idx.size < 3:
        return None
    k = int(idx[np.argmax(x[idx])])
    if k in (idx[0], idx[-1]) or not (np.isfinite(x[k - 1]) and np.isfinite(x[k + 1])):
        return None
    a, b, c = x[k - 1], x[k], x[k + 1]
    denom = a - 2 * b + c
    frac = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) if denom != 0 else 0.0
    return float(np.interp(k + frac, np.arange(t.size), t))


def foot_ahead(ds: xr.Dataset, side: Side, facing: int) -> np.ndarray:
    """How far one foot (mean of heel and ankle) is ahead of the mid-hip, in pixels.

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset (side view).
    side : {"left", "right"}
        The foot.
    facing : int
        +1 when the runner faces image right, -1 when facing left.

    Returns
    -------
    numpy.ndarray
        Horizontal distance per frame, + ahead.
    """
    pelvis = midpoint_xy(ds, "hip")[:, 0]
    foot = (keypoint_xy(ds, f"{side}_heel")[:, 0] + keypoint_xy(ds, f"{side}_ankle")[:, 0]) / 2
    return facing * (foot - pelvis)


def anchor_contacts(
    ds: xr.Dataset, stances: list[_Stance], facing: int, period: float
) -> list[_Stance]:
    """Side views: time each contact by the foot's forward extreme plus one common lag.

    In a side view a pose model tracks the foot's horizontal swing, which is
    large and smooth, far better than the last few pixels of its descent,
    which the model often blurs or jumps across at touchdown. The foot's
    most forward position relative to the hip (the initial-contact rule of
    Zeni et al. 2008) is therefore a precise per-step anchor. It is not the
    contact itself: the foot is pulled back briefly before it lands (swing
    retraction). That lag is measured once per clip, as the median over all
    steps of (vertical contact time - anchor), and added to every anchor:
    the vertical signal sets the definition, the horizontal one the
    step-to-step timing. The lag is at least 0, because a foot on the belt
    cannot move forward any more: a vertical contact before the forward
    extreme is a pose artefact (the model's heel point stops falling while
    the foot is still rotating down).

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset (legs as repaired).
    stances : list of _Stance
        Stances of both foot tracks with vertical contact times.
    facing : int
        +1 facing image right, -1 facing left.
    period : float
        Step period in seconds.

    Returns
    -------
    list of _Stance
        The stances with re-timed contacts (unchanged without enough anchors).
    """
    t = _times(ds)
    ahead = {side: foot_ahead(ds, side, facing) for side in SIDES}
    lead = _contact_lead(stances)
    anchors: list[float | None] = []
    for st in stances:
        centre = st.t_ic if st.t_ic is not None else (st.t_mid - lead if lead is not None else None)
        if centre is None:
            anchors.append(None)
            continue
        lo, hi = centre - ANCHOR_BEFORE * period, centre + ANCHOR_AFTER * period
        anchors.append(_extreme_time(t, ahead[st.track], lo, hi))
    lags = [
        st.t_ic - a
        for st, a in zip(stances, anchors, strict=True)
        if a is not None and st.t_ic is not None and not st.estimated
    ]
    if len(lags) < 3:
        return stances
    lag = max(0.0, float(np.median(lags)))
    # A contact the vertical signal missed (placed by the rhythm) is measured
    # once its foot's forward extreme is seen.
    return [
        replace(st, t_ic=a + lag, estimated=False) if a is not None else st
        for st, a in zip(stances, anchors, strict=True)
    ]


# ---------------------------------------------------------------- Zeni


def _parabolic_extrema(t: np.ndarray, y: np.ndarray, min_sep_s: float, maxima: bool) -> list[float]:
    """Sub-frame times of the separated local extrema of ``y``."""
    s = y if maxima else -y
    ok = np.isfinite(s)
    i = np.arange(1, s.size - 1)
    is_pk = ok[i] & ok[i - 1] & ok[i + 1] & (s[i] > s[i - 1]) & (s[i] >= s[i + 1])
    peaks = i[is_pk]
    chosen: list[int] = []
    for p in peaks[np.argsort(-s[peaks])]:
        if all(abs(t[p] - t[q]) >= min_sep_s for q in chosen):
            chosen.append(int(p))
    times = []
    for p in sorted(chosen):
        a, b, c = s[p - 1], s[p], s[p + 1]
        denom = a - 2 * b + c
        frac = 0.5 * (a - c) / denom if denom != 0 else 0.0
        times.append(float(np.interp(p + frac, np.arange(t.size), t)))
    return times


def _zeni_stances(ds: xr.Dataset, facing: int, period: float) -> list[_Stance]:
    """Stances from Zeni et al. (2008) horizontal heel/toe-minus-pelvis extrema."""
    t = _times(ds)
    pelvis = midpoint_xy(ds, "hip")[:, 0]
    stances: list[_Stance] = []
    for side in SIDES:
        heel = facing * (keypoint_xy(ds, f"{side}_heel")[:, 0] - pelvis)
        toe = facing * (keypoint_xy(ds, f"{side}_foot_index")[:, 0] - pelvis)
        ics = _parabolic_extrema(t, heel, 1.4 * period, maxima=True)
        tos = np.array(_parabolic_extrema(t, toe, 1.4 * period, maxima=False))
        for t_ic in ics:
            later = tos[(tos > t_ic) & (tos < t_ic + 1.5 * period)]
            t_to = float(later[0]) if later.size else None
            mid = (t_ic + t_to) / 2 if t_to is not None else t_ic + 0.3 * period
            stances.append(_Stance(track=side, t_ic=t_ic, t_to=t_to, t_mid=mid))
    return stances


# ---------------------------------------------------------------- public API


def detect_events(
    ds: xr.Dataset, view: ViewInfo, *, method: EventMethod = "foot_height"
) -> list[GaitEvent]:
    """Detect initial contacts and toe-offs of both feet.

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset; timing uses its ``time`` coordinate only.
    view : ViewInfo
        The camera view (from :func:`formcheck.view.detect_view` or
        :func:`formcheck.view.resolve_view`).
    method : {"foot_height", "zeni"}
        ``"foot_height"`` (default, every view) or Zeni's horizontal rule
        (side views only; kept for comparison).

    Returns
    -------
    list of GaitEvent
        Time-sorted events; initial contacts alternate strictly between feet
        within each unbroken run of steps.
    """
    validate_dataset(ds)
    if ds.sizes["time"] < 8:
        return []
    fixed = prepare_legs(ds, view)
    period = estimate_step_period(fixed)
    leg = leg_length_px(fixed)
    if not (np.isfinite(period) and np.isfinite(leg) and leg > 0):
        return []
    if method == "zeni":
        facing = view.facing or estimate_facing(fixed)[0] or "right"
        stances = _zeni_stances(fixed, 1 if facing == "right" else -1, period)
        return _to_events(fixed, _alternate(stances, period, *_span(fixed)))
    t = _times(fixed)
    window = int(round(2 * period / float(np.median(np.diff(t))))) + 1
    drift = 0.0
    if view.view in ("rear", "front"):
        moved = stance_drift(fixed)
        drift = moved.median * leg if np.isfinite(moved.median) else 0.0
    stances = [
        s
        for side in SIDES
        for s in _foot_stances(t, _foot_ys(fixed, side, window), side, period, leg, drift=drift)
    ]
    if view.view == "side":
        faces = view.facing or estimate_facing(fixed)[0]
        if faces is not None:
            stances = anchor_contacts(fixed, stances, 1 if faces == "right" else -1, period)
        trust = foot_trust(fixed)
        stances = [replace(st, weight=trust[st.track]) for st in stances]
    return _to_events(fixed, _alternate(stances, period, *_span(fixed)))


TRUST_FLOOR = 0.3
"""Least weight of a foot's contested candidate contacts (see :func:`foot_trust`)."""


def foot_trust(ds: xr.Dataset) -> dict[Side, float]:
    """How far each foot's contacts are trusted in a side view, from the pose confidence.

    From one side the far foot is partly hidden and the pose model places it
    less well (and says so: its heel, ankle and toe confidence is lower).
    Its candidate contacts then weigh less in :func:`select_periodic`, so
    where a near-foot and a far-foot candidate compete for one step, the
    near foot's wins. Each foot's weight is its median confidence over the
    clip relative to the better foot's (at least :data:`TRUST_FLOOR`). It
    only applies where candidates of the two feet compete, closer than
    0.6 step (:func:`_alternate`): an uncontested contact of the far foot
    counts in full, so a runner with uneven step times keeps them.

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset, legs as repaired.

    Returns
    -------
    dict
        Weight (0-1] per foot; 1 for both when the confidence is unknown.
    """
    conf: dict[Side, float] = {}
    for side in SIDES:
        names = [f"{side}_{p}" for p in ("heel", "ankle", "foot_index")]
        values = np.asarray(ds["confidence"].sel(keypoints=names).values, dtype=float)
        # Only where the point is placed: a label the leg repair dropped keeps its
        # (near-leg) confidence but has no position.
        placed = np.isfinite(ds["position"].sel(keypoints=names).values).all(axis=1)
        values = np.where(placed, values, np.nan)
        conf[side] = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
    known = [c for c in conf.values() if np.isfinite(c)]
    top = max(known) if known else np.nan
    if not np.isfinite(top) or top <= 0:
        return dict.fromkeys(SIDES, 1.0)
    return {
        side: float(np.clip(c / top, TRUST_FLOOR, 1.0)) if np.isfinite(c) else 1.0
        for side, c in conf.items()
    }
