"""Cleaning landmark tracks: mask, repair left/right swaps, fill short gaps, low-pass.

The order matters: low-confidence points are masked first; leg labels are
then repaired by trajectory continuity (before filtering, which would smear
a swap into neighbouring frames); short gaps are filled; finally a zero-lag
Butterworth low-pass runs over each gap-free stretch.

Filter choice. Running kinematics from markers are usually low-passed at
6-12 Hz (4th-order zero-lag Butterworth; Winter, *Biomechanics and Motor
Control of Human Movement*). Video pose adds frame-to-frame jitter, so
formcheck uses 8 Hz by default (Pose2Sim and Sports2D default to 6 Hz for
general movement; running feet move faster), capped at 80 % of the Nyquist
frequency of low-frame-rate clips. ``scipy.signal.filtfilt`` needs more
samples than its padding, so runs shorter than that stay unfiltered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import signal

from formcheck.dataset import validate_dataset
from formcheck.landmarks import KEYPOINT_NAMES, mirror_name

SWAP_KEYPOINTS: tuple[str, ...] = ("knee", "ankle", "heel", "foot_index")
"""Leg points whose left/right labels are repaired (the hips barely separate in side view)."""


@dataclass(frozen=True)
class CleaningSettings:
    """Parameters of the cleaning stage.

    Attributes
    ----------
    min_confidence : float
        Points with lower visibility become missing. MediaPipe gives the far
        leg of a side view 0.5-0.8, so the threshold stays low.
    max_gap_s : float
        Longest gap (seconds) filled by interpolation; longer gaps stay NaN.
    cutoff_hz : float
        Low-pass cut-off frequency.
    filter_order : int
        Butterworth order (applied forwards and backwards: zero lag).
    repair_swaps : bool
        Whether to repair leg label swaps by continuity.
    swap_margin : float
        A swap is accepted when its cost is below this fraction of the cost
        of keeping the labels.
    """

    min_confidence: float = 0.3
    max_gap_s: float = 0.15
    cutoff_hz: float = 8.0
    filter_order: int = 4
    repair_swaps: bool = True
    swap_margin: float = 0.7


def clean_tracks(ds: xr.Dataset, settings: CleaningSettings | None = None) -> xr.Dataset:
    """Run the whole cleaning stage on a pose dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Raw pose dataset from :func:`formcheck.pose.estimate_pose`.
    settings : CleaningSettings, optional
        Cleaning parameters.

    Returns
    -------
    xarray.Dataset
        A new dataset with cleaned ``position``; attributes record the
        settings and how many leg-label swaps were repaired.
    """
    validate_dataset(ds)
    settings = settings or CleaningSettings()
    out = mask_low_confidence(ds, settings.min_confidence)
    n_swaps = 0
    if settings.repair_swaps:
        out, n_swaps = repair_leg_swaps(out, settings.swap_margin)
    out = fill_gaps(out, settings.max_gap_s)
    out = lowpass(out, settings.cutoff_hz, settings.filter_order)
    out.attrs.update(
        cleaning_min_confidence=settings.min_confidence,
        cleaning_max_gap_s=settings.max_gap_s,
        cleaning_cutoff_hz=settings.cutoff_hz,
        cleaning_swaps_repaired=n_swaps,
    )
    return out


def mask_low_confidence(ds: xr.Dataset, threshold: float) -> xr.Dataset:
    """Set points whose confidence is below ``threshold`` to NaN.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    threshold : float
        Minimum visibility kept.

    Returns
    -------
    xarray.Dataset
        A copy with low-confidence positions masked.
    """
    out = ds.copy()
    keep = ds["confidence"] >= threshold
    out["position"] = ds["position"].where(keep)
    return out


def _leg_array(ds: xr.Dataset, side: str) -> np.ndarray:
    """``(time, n_leg_points, 2)`` positions of one side's leg points."""
    names = [f"{side}_{stem}" for stem in SWAP_KEYPOINTS]
    da = ds["position"].sel(keypoints=names).isel(individuals=0)
    return np.asarray(da.transpose("time", "keypoints", "space").values, dtype=float)


def _leg_scale(ds: xr.Dataset) -> float:
    """Typical thigh + shank length in pixels (median over frames and sides)."""
    pos = ds["position"].isel(individuals=0)
    lengths = []
    for side in ("left", "right"):
        hip = pos.sel(keypoints=f"{side}_hip")
        knee = pos.sel(keypoints=f"{side}_knee")
        ankle = pos.sel(keypoints=f"{side}_ankle")
        thigh = np.hypot(*(hip - knee).transpose("space", "time").values)
        shank = np.hypot(*(knee - ankle).transpose("space", "time").values)
        lengths.append(thigh + shank)
    value = float(np.nanmedian(np.concatenate(lengths))) if lengths else float("nan")
    return value if np.isfinite(value) and value > 0 else 100.0


def _mean_dist(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance between matching points, ignoring missing ones (NaN if none)."""
    d = np.hypot(*(a - b).T)
    d = d[np.isfinite(d)]
    return float(d.mean()) if d.size else float("nan")


def _predict(track: np.ndarray, t: int) -> np.ndarray:
    """Constant-velocity prediction of frame ``t`` from the two frames before it."""
    prev = track[t - 1]
    if t >= 2:
        prev2 = track[t - 2]
        vel = np.where(np.isfinite(prev2), prev - prev2, 0.0)
        return prev + vel
    return prev


@dataclass(frozen=True)
class LegRepair:
    """Per-frame decisions of the leg tracker.

    Attributes
    ----------
    flip : numpy.ndarray
        True where the two legs' labels must be exchanged.
    drop_left, drop_right : numpy.ndarray
        True where that leg's observation (after any exchange) is a copy of
        the other leg (the pose model put both labels on one leg) and must
        be treated as missing.
    """

    flip: np.ndarray
    drop_left: np.ndarray
    drop_right: np.ndarray


def track_legs(
    left: np.ndarray,
    right: np.ndarray,
    scale: float,
    margin: float = 0.7,
    collapse_frac: float = 0.08,
    jump_frac: float = 0.2,
) -> LegRepair:
    """Follow both legs through the clip and decide swaps and collapses.

    Each leg is followed with a constant-velocity prediction. A frame is
    relabelled when assigning its observations crosswise fits the
    predictions clearly better (cost below ``margin`` times the cost of
    keeping them). When both labels sit on one leg (closer than
    ``collapse_frac`` of the leg length) and one of them has jumped more
    than ``jump_frac`` of the leg length from its prediction, that one is
    dropped.

    Parameters
    ----------
    left, right : numpy.ndarray
        ``(time, points, 2)`` leg points as labelled by the pose model.
    scale : float
        Leg length in pixels, to make the tolerances size-free.
    margin : float
        Fraction in (0, 1]; smaller needs stronger evidence to swap.
    collapse_frac, jump_frac : float
        Tolerances for a collapse, as fractions of the leg length.

    Returns
    -------
    LegRepair
        Flip and drop decisions per frame.
    """
    n = left.shape[0]
    flip = np.zeros(n, dtype=bool)
    drop_l = np.zeros(n, dtype=bool)
    drop_r = np.zeros(n, dtype=bool)
    track_l = left.copy()
    track_r = right.copy()
    for t in range(1, n):
        obs_l, obs_r = left[t], right[t]
        pred_l, pred_r = _predict(track_l, t), _predict(track_r, t)
        keep = _mean_dist(obs_l, pred_l) + _mean_dist(obs_r, pred_r)
        cross = _mean_dist(obs_l, pred_r) + _mean_dist(obs_r, pred_l)
        if np.isfinite(keep) and np.isfinite(cross) and cross < margin * keep:
            flip[t] = True
            obs_l, obs_r = obs_r, obs_l
        if _mean_dist(obs_l, obs_r) < collapse_frac * scale:
            jump_l = _mean_dist(obs_l, pred_l)
            jump_r = _mean_dist(obs_r, pred_r)
            if max(jump_l, jump_r) > jump_frac * scale:
                if jump_l > jump_r:
                    drop_l[t] = True
                    obs_l = np.full_like(obs_l, np.nan)
                else:
                    drop_r[t] = True
                    obs_r = np.full_like(obs_r, np.nan)
        # Carry the prediction through missing observations so tracking continues.
        track_l[t] = np.where(np.isfinite(obs_l), obs_l, pred_l)
        track_r[t] = np.where(np.isfinite(obs_r), obs_r, pred_r)
    return LegRepair(flip=flip, drop_left=drop_l, drop_right=drop_r)


def repair_leg_swaps(ds: xr.Dataset, margin: float = 0.7) -> tuple[xr.Dataset, int]:
    """Repair frames where the pose model exchanged or merged the two legs.

    After frame-by-frame continuity tracking (:func:`track_legs`), the
    global labelling (which continuous track is "left") is chosen to agree
    with the model's labels in most frames, so one early mistake cannot flip
    a whole clip. Observations that merely copy the other leg are masked.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset (low-confidence points may already be NaN).
    margin : float
        See :func:`track_legs`.

    Returns
    -------
    tuple of (xarray.Dataset, int)
        The repaired dataset and the number of frames relabelled or masked.
    """
    left, right = _leg_array(ds, "left"), _leg_array(ds, "right")
    if left.shape[0] < 3:
        return ds.copy(), 0
    rep = track_legs(left, right, _leg_scale(ds), margin)
    flip, drop_l, drop_r = rep.flip, rep.drop_left, rep.drop_right
    if flip.sum() > flip.size / 2:  # the tracks started on wrong labels: labels mostly right
        flip = ~flip
        drop_l, drop_r = drop_r, drop_l
    n_fixed = int(flip.sum() + drop_l.sum() + drop_r.sum())
    if n_fixed == 0:
        return ds.copy(), 0
    out = ds.copy(deep=True)
    kp = list(ds["keypoints"].values)
    names = [f"{side}_{stem}" for side in ("left", "right") for stem in SWAP_KEYPOINTS]
    dst = [kp.index(n) for n in names]
    src = [kp.index(mirror_name(n)) for n in names]
    left_idx = dst[: len(SWAP_KEYPOINTS)]
    right_idx = dst[len(SWAP_KEYPOINTS) :]
    for var in ("position", "confidence", "world_position"):
        if var not in out:
            continue
        da = out[var].transpose("time", "keypoints", ...)
        values = np.array(da.values)
        values[np.ix_(flip, dst)] = values[np.ix_(flip, src)]
        if var != "confidence":
            values[np.ix_(drop_l, left_idx)] = np.nan
            values[np.ix_(drop_r, right_idx)] = np.nan
        out[var] = da.copy(data=values).transpose(*ds[var].dims)
    return out, n_fixed


def fill_gaps(ds: xr.Dataset, max_gap_s: float) -> xr.Dataset:
    """Linearly interpolate gaps no longer than ``max_gap_s`` (in real time).

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    max_gap_s : float
        Longest gap to fill, in seconds (from the last frame before the gap
        to the first after it); longer gaps and gaps at either end stay
        missing.

    Returns
    -------
    xarray.Dataset
        A copy with short gaps filled.
    """
    out = ds.copy()
    t = np.asarray(ds["time"].values, dtype=float)
    pos = ds["position"].transpose("time", ...)
    values = np.array(pos.values, dtype=float, order="C")
    flat = values.reshape(values.shape[0], -1)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        for start, stop in _runs(~np.isfinite(col)):
            if start == 0 or stop == col.size:
                continue
            if t[stop] - t[start - 1] <= max_gap_s + 1e-9:
                col[start:stop] = np.interp(
                    t[start:stop], [t[start - 1], t[stop]], [col[start - 1], col[stop]]
                )
    out["position"] = pos.copy(data=values).transpose(*ds["position"].dims)
    return out


def _runs(finite: np.ndarray) -> list[tuple[int, int]]:
    """Start and stop indices of consecutive True stretches."""
    padded = np.concatenate(([False], finite, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2], strict=True))


def lowpass(ds: xr.Dataset, cutoff_hz: float, order: int = 4) -> xr.Dataset:
    """Zero-lag Butterworth low-pass over each gap-free run of each track.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    cutoff_hz : float
        Cut-off frequency; capped at 80 % of the clip's Nyquist frequency.
    order : int
        Filter order (the forward-backward pass doubles it).

    Returns
    -------
    xarray.Dataset
        A copy with filtered positions.
    """
    out = ds.copy()
    fps = float(ds.attrs.get("fps", float("nan")))
    if not np.isfinite(fps) or fps <= 0 or ds.sizes["time"] < 4:
        return out
    wn = min(cutoff_hz / (fps / 2.0), 0.8)
    b, a = signal.butter(order, wn)
    padlen = 3 * max(len(a), len(b))
    pos = ds["position"].transpose("time", ...)
    values = np.array(pos.values, dtype=float, order="C")
    flat = values.reshape(values.shape[0], -1)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        for start, stop in _runs(np.isfinite(col)):
            if stop - start > padlen:
                col[start:stop] = signal.filtfilt(b, a, col[start:stop])
    out["position"] = pos.copy(data=values).transpose(*ds["position"].dims)
    out.attrs["cleaning_filter"] = f"butterworth order {order}, zero-lag, {wn * fps / 2:.1f} Hz"
    return out


__all__ = [
    "KEYPOINT_NAMES",
    "CleaningSettings",
    "clean_tracks",
    "fill_gaps",
    "lowpass",
    "mask_low_confidence",
    "repair_leg_swaps",
    "track_legs",
]
