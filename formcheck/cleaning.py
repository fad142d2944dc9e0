"""Cleaning landmark tracks: mask, repair left/right swaps, fill short gaps, low-pass.

The order matters: low-confidence points are masked first; leg labels are
then repaired by trajectory continuity; short glitches (points far from the
running median of their own track) are masked (before filtering, which would smear
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

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import signal

from formcheck.dataset import leg_length_px, validate_dataset, variable_frame_rate
from formcheck.landmarks import KEYPOINT_NAMES, LEG_JOINTS, mirror_name
from formcheck.settings import CleaningSettings

SWAP_KEYPOINTS: tuple[str, ...] = LEG_JOINTS
"""Leg points whose left/right labels are repaired together (hip to toe)."""
LABEL_PRIOR_LEG = 0.05
"""Cost, in leg lengths per frame, of declaring a frame's labels exchanged."""
OUTLIER_CHUNK = 256
"""Frames whose running medians :func:`reject_outliers` computes at once (bounds memory)."""
COST_CHUNK = 1024
"""Frames whose leg-continuity costs :func:`transition_costs` computes at once (bounds memory)."""
COLLAPSE_LEG = 0.1
"""Mean knee-to-toe gap (leg lengths) below which both labels sit on one leg."""
POSITION_ORDER = ("time", "keypoints", "individuals", "space")
"""Memory order of the working positions: each point's x and y side by side."""
CONFIDENCE_ORDER = ("time", "keypoints", "individuals")
"""Dimension order of the working confidences."""


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
        A new dataset with cleaned ``position`` and ``confidence`` (without
        the raw ``world_position``); attributes record the settings and how
        many leg-label swaps were repaired.

    Notes
    -----
    The stages run on one float64 copy of the positions, changed in place
    (each public stage function copies once and runs the same in-place
    step), so a 20-minute clip holds one working copy instead of one per
    stage. Raw tracks may be float32 (the model's precision); the cleaned
    positions are computed as from float64 input. The result keeps
    positions and confidences in float32, the model's own precision (a
    position's rounding is at most 1e-4 px at 1920 px).
    """
    validate_dataset(ds)
    settings = settings or CleaningSettings()
    # The model's 3D world landmarks are neither cleaned nor used downstream; the
    # raw dataset keeps them, and a long clip's cleaned copy is spared their size.
    out = _with_arrays(
        ds.drop_vars("world_position", errors="ignore"),
        _position_buffer(ds),
        # The cleaned confidences keep the model's own precision (float32): later
        # stages only compare and exchange them. The mask reads the input's.
        np.array(ds["confidence"].transpose(*CONFIDENCE_ORDER).values, dtype=np.float32),
    )
    buffer = _buffer_of(out)
    _mask_in_place(
        buffer, ds["confidence"].transpose(*CONFIDENCE_ORDER).values, settings.min_confidence
    )
    n_swaps = 0
    if settings.repair_swaps and out.sizes["time"] >= 3:
        left, right = (_leg_view(buffer, out, side) for side in ("left", "right"))
        repair = track_legs(left, right, leg_scale_px(out))
        del left, right
        n_swaps = _repair_in_place(out, repair)
    fps = float(out.attrs.get("fps", float("nan")))
    n_outliers = _reject_outliers_in_place(
        buffer, fps, leg_scale_px(out), settings.outlier_leg, settings.outlier_window_s
    )
    times = np.asarray(out["time"].values, dtype=float)
    _fill_gaps_in_place(buffer, times, settings.max_gap_s)
    label = _lowpass_in_place(buffer, times, fps, settings.cutoff_hz, settings.filter_order)
    if label is not None:
        out.attrs["cleaning_filter"] = label
    # Stored in the model's precision (float32: 1e-4 px at 1920 px), half the
    # memory of the working copy for every later stage of a long clip.
    out = _with_arrays(out, buffer.astype(np.float32))
    del buffer
    out.attrs.update(
        cleaning_min_confidence=settings.min_confidence,
        cleaning_max_gap_s=settings.max_gap_s,
        cleaning_cutoff_hz=settings.cutoff_hz,
        cleaning_swaps_repaired=n_swaps,
        cleaning_outliers_removed=n_outliers,
    )
    return out


def _position_buffer(ds: xr.Dataset) -> np.ndarray:
    """A float64, C-ordered copy of the positions in :data:`POSITION_ORDER`."""
    da = ds["position"].transpose(*POSITION_ORDER)
    return np.array(da.values, dtype=float, order="C")


def _with_arrays(
    ds: xr.Dataset, position: np.ndarray, confidence: np.ndarray | None = None
) -> xr.Dataset:
    """A shallow copy of ``ds`` whose positions (and confidences) are these arrays, not copied.

    ``position`` is in :data:`POSITION_ORDER`, ``confidence`` in
    :data:`CONFIDENCE_ORDER`; the dataset's own dimension order is kept (as a
    transposed view), so in-place changes to the arrays show in the dataset.
    """
    out = ds.copy()
    out["position"] = xr.Variable(POSITION_ORDER, position).transpose(*ds["position"].dims)
    if confidence is not None:
        out["confidence"] = xr.Variable(CONFIDENCE_ORDER, confidence).transpose(
            *ds["confidence"].dims
        )
    return out


def _buffer_of(ds: xr.Dataset) -> np.ndarray:
    """The :data:`POSITION_ORDER` array behind a dataset made by :func:`_with_arrays`."""
    values = ds["position"].transpose(*POSITION_ORDER).values
    if not values.flags.c_contiguous:  # pragma: no cover - guards the no-copy contract
        raise AssertionError("positions are not the working buffer")
    return values


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
    buffer = _position_buffer(ds)
    _mask_in_place(buffer, ds["confidence"].transpose(*CONFIDENCE_ORDER).values, threshold)
    return _with_arrays(ds, buffer)


def _mask_in_place(buffer: np.ndarray, confidence: np.ndarray, threshold: float) -> None:
    """NaN every point of ``buffer`` whose ``confidence`` is below ``threshold`` (or NaN)."""
    buffer[~(confidence >= threshold)] = np.nan


def reject_outliers(ds: xr.Dataset, tol_leg: float, half_window_s: float) -> tuple[xr.Dataset, int]:
    """Mask short glitches: points far from the running median of their own track.

    MediaPipe sometimes throws a foot point 0.3-0.5 leg lengths away for one
    or two frames, with high confidence, often right at initial contact. A
    low-pass filter would smear such a spike over neighbouring frames and
    delay or advance the contact. A Hampel-type rule removes it: each value
    is compared with the median of its own series over the window
    ``t +/- half_window``, and where the deviations of a pair of values
    together (their Euclidean norm) exceed ``tol_leg`` leg lengths, both
    values are masked (the gaps are then filled). For smooth motion,
    monotone or through a turning point, the window median is the value
    itself or very close to it, so real motion is kept; any glitch shorter
    than the half-window is caught.

    Known limitation (issue 3): the pairs are consecutive values of the
    dataset's ``(space, keypoints)`` order, flattened (the x of keypoints 0
    and 1, ..., then y values), not each point's own x and y. Judging each
    point's own x and y, or each value alone, measured worse on the
    synthetic set and the robustness clips (more missed contacts,
    overstride of a variable-frame-rate clip 2.7-3.4 instead of 5.5 % leg,
    truth 8), because this fixed tolerance over a few frames is close to
    the real foot motion at 30 fps. The pairing stays until the rule is
    redesigned to allow for motion.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    tol_leg : float
        Tolerance in leg lengths.
    half_window_s : float
        Half-width of the median window in seconds (at least 2 frames).

    Returns
    -------
    tuple of (xarray.Dataset, int)
        A copy with outliers masked, and the number of value pairs masked.
    """
    buffer = _position_buffer(ds)
    fps = float(ds.attrs.get("fps", float("nan")))
    n_bad = _reject_outliers_in_place(buffer, fps, leg_scale_px(ds), tol_leg, half_window_s)
    return _with_arrays(ds, buffer), n_bad


def _reject_outliers_in_place(
    buffer: np.ndarray, fps: float, scale: float, tol_leg: float, half_window_s: float
) -> int:
    """The rule of :func:`reject_outliers` on a :data:`POSITION_ORDER` buffer; pairs masked."""
    n = buffer.shape[0]
    if not np.isfinite(fps) or fps <= 0 or n < 5:
        return 0
    half = max(2, int(round(half_window_s * fps)))
    bad = np.zeros((n, buffer[0].size // 2), dtype=bool)  # one flag per pair of values
    limit = tol_leg * scale
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        # In chunks, each padded with NaN only where it meets the clip's ends:
        # nanmedian copies its input, and a 20-minute clip's windows (or even a
        # padded copy of the whole track) at once would take a lot of memory.
        # Every chunk is judged before any value is masked.
        for start in range(0, n, OUTLIER_CHUNK):
            stop = min(start + OUTLIER_CHUNK, n)
            lo, hi = max(0, start - half), min(n, stop + half)
            edges = ((half - (start - lo), half - (hi - stop)), (0, 0), (0, 0))
            part = np.pad(_value_pairs(buffer[lo:hi]), edges, constant_values=np.nan)
            windows = np.lib.stride_tricks.sliding_window_view(part, 2 * half + 1, axis=0)
            med = np.nanmedian(windows, axis=-1)
            dev = np.linalg.norm(_value_pairs(buffer[start:stop]) - med, axis=-1)
            bad[start:stop] = dev > limit
    # Each flagged pair masks both its values, back in the buffer's order.
    flags = np.repeat(bad, 2, axis=1).reshape(n, buffer.shape[-1], *buffer.shape[1:-1])
    buffer[np.moveaxis(flags, 1, -1)] = np.nan
    return int(bad.sum())


def _value_pairs(block: np.ndarray) -> np.ndarray:
    """``(time, pairs, 2)``: a :data:`POSITION_ORDER` block's values in the dataset's
    ``(space, keypoints, individuals)`` order, two by two (a copy of the block)."""
    moved = np.ascontiguousarray(np.moveaxis(block, -1, 1))
    return moved.reshape(block.shape[0], -1, 2)


def _leg_array(ds: xr.Dataset, side: str) -> np.ndarray:
    """``(time, n_leg_points, 2)`` positions of one side's leg points (hip to toe)."""
    names = [f"{side}_{stem}" for stem in SWAP_KEYPOINTS]
    da = ds["position"].sel(keypoints=names).isel(individuals=0)
    return np.asarray(da.transpose("time", "keypoints", "space").values, dtype=float)


def _leg_view(buffer: np.ndarray, ds: xr.Dataset, side: str) -> np.ndarray:
    """:func:`_leg_array` of the first individual from a :data:`POSITION_ORDER` buffer,
    as a read-only view when the leg points are evenly spaced keypoints (no copy)."""
    index = ds.indexes["keypoints"]
    rows = [int(index.get_loc(f"{side}_{stem}")) for stem in SWAP_KEYPOINTS]
    step = rows[1] - rows[0] if len(rows) > 1 else 1
    if step > 0 and rows == list(range(rows[0], rows[-1] + 1, step)):
        legs = buffer[:, rows[0] : rows[-1] + 1 : step, 0, :]
        legs.flags.writeable = False
        return legs
    return buffer[:, rows, 0, :]


def leg_scale_px(ds: xr.Dataset) -> float:
    """Typical thigh + shank length in pixels (median over frames and sides).

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    float
        Median of ``|hip-knee| + |knee-ankle|``; 100 when the legs are never seen.
    """
    value = leg_length_px(ds)
    return value if np.isfinite(value) and value > 0 else 100.0


def _last_valid(a: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """int32 like ``(time, points, 2)`` ``a``: each value's last finite frame not
    ``missing`` so far (-1: none yet)."""
    valid = np.isfinite(a)
    if missing is not None:
        valid &= ~missing[:, None, None]
    frames = np.arange(a.shape[0], dtype=np.int32)[:, None, None]
    last = np.where(valid, frames, np.int32(-1))
    np.maximum.accumulate(last, axis=0, out=last)
    return last


def _held(a: np.ndarray, last: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Frames ``lo:hi`` of ``(time, points, 2)`` ``a``, each value carried forward from
    its last valid frame (``last`` from :func:`_last_valid`)."""
    idx = last[lo:hi]
    points = np.arange(a.shape[1])[None, :, None]
    coords = np.arange(a.shape[2])[None, None, :]
    held = a[np.maximum(idx, 0), points, coords]
    held[idx < 0] = np.nan
    return held


def _dist_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum over points (axis -2) of the finite point distances, and their count."""
    d = np.linalg.norm(a - b, axis=-1)
    ok = np.isfinite(d)
    return np.where(ok, d, 0.0).sum(axis=-1), ok.sum(axis=-1)


def _mean_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean over points (axis -2) of point distances, missing points ignored (0 if none)."""
    total, count = _dist_sum(a, b)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def collapsed_frames(left: np.ndarray, right: np.ndarray, scale: float) -> np.ndarray:
    """Frames where both legs' labels sit on one physical leg.

    In running the two legs are never together from knee to toe: when the
    swing foot passes the stance foot it is well above it and its knee well
    ahead. Knee, ankle, heel and toe closer than :data:`COLLAPSE_LEG` leg
    lengths on average mean the pose model put both labels on one leg (in
    side views usually the far leg's labels on the near leg).

    Parameters
    ----------
    left, right : numpy.ndarray
        ``(time, points, 2)`` leg points hip to toe (the hip is ignored).
    scale : float
        Leg length in pixels.

    Returns
    -------
    numpy.ndarray
        Boolean per frame.
    """
    n = left.shape[0]
    collapsed = np.zeros(n, dtype=bool)
    for start in range(0, n, COST_CHUNK):  # per frame, so in chunks: small temporaries
        total, count = _dist_sum(
            left[start : start + COST_CHUNK, 1:], right[start : start + COST_CHUNK, 1:]
        )
        gap = np.where(count >= 2, total / np.maximum(count, 1), np.inf)
        collapsed[start : start + COST_CHUNK] = gap < COLLAPSE_LEG * scale
    return collapsed


def transition_costs(
    left: np.ndarray, right: np.ndarray, scale: float, missing: np.ndarray | None = None
) -> np.ndarray:
    """Second-order continuity costs of every labelling of three consecutive frames.

    ``cost[t, a, b, c]`` (leg lengths) is the distance of frame ``t``'s
    observations from the constant-velocity prediction out of frames
    ``t-2`` and ``t-1``, summed over both legs, when those three frames are
    labelled ``a``, ``b``, ``c`` (0 = labels as given, 1 = exchanged).
    Missing points are carried forward (a gap predicts no motion).

    Parameters
    ----------
    left, right : numpy.ndarray
        ``(time, points, 2)`` leg points as labelled by the pose model.
    scale : float
        Leg length in pixels.
    missing : numpy.ndarray, optional
        Boolean per frame: frames whose observations count as missing (as if
        every point were NaN), for example those :func:`collapsed_frames` finds.

    Returns
    -------
    numpy.ndarray
        ``(time, 2, 2, 2)``; rows 0 and 1 are zero.
    """
    n = left.shape[0]
    cost = np.zeros((n, 2, 2, 2))
    if n < 3:
        return cost
    # Only indices of the last valid frames are kept for the whole clip; the
    # carried-forward values and the observations are made chunk by chunk.
    last = (_last_valid(left, missing), _last_valid(right, missing))
    # Frame t's cost needs frames t-2..t only: computed in chunks of frames so a
    # long clip's temporaries stay small.
    for start in range(2, n, COST_CHUNK):
        stop = min(start + COST_CHUNK, n)
        # held[s][i] is frame start - 2 + i; obs[s] = what "left" sees in state s.
        held = (_held(left, last[0], start - 2, stop), _held(right, last[1], start - 2, stop))
        obs = (left[start:stop], right[start:stop])
        if missing is not None and missing[start:stop].any():
            gone = missing[start:stop, None, None]
            obs = (np.where(gone, np.nan, obs[0]), np.where(gone, np.nan, obs[1]))
        for a in (0, 1):
            for b in (0, 1):
                pred_l = 2 * held[b][1:-1] - held[a][:-2]
                pred_r = 2 * held[1 - b][1:-1] - held[1 - a][:-2]
                for c in (0, 1):
                    cost[start:stop, a, b, c] = (
                        _mean_dist(obs[c], pred_l) + _mean_dist(obs[1 - c], pred_r)
                    ) / scale
    return cost


def viterbi_labels(cost: np.ndarray, prior: float = LABEL_PRIOR_LEG) -> np.ndarray:
    """Cheapest per-frame label sequence under second-order continuity costs.

    Parameters
    ----------
    cost : numpy.ndarray
        ``(time, 2, 2, 2)`` from :func:`transition_costs`.
    prior : float
        Cost per frame of declaring the labels exchanged, so that the model's
        labels win wherever continuity cannot tell.

    Returns
    -------
    numpy.ndarray
        Boolean per frame, True where left and right must be exchanged.
    """
    n = cost.shape[0]
    if n < 3:
        return np.zeros(n, dtype=bool)
    pair_prior = prior * np.array([[0.0, 1.0], [1.0, 2.0]])
    acc = pair_prior.copy()  # acc[b, c]: best cost with frames (t-1, t) = (b, c)
    back = np.zeros((n, 2, 2), dtype=np.int8)
    for t in range(2, n):
        total = acc[:, :, None] + cost[t]  # [a, b, c]
        back[t] = np.argmin(total, axis=0)
        acc = total.min(axis=0) + prior * np.array([0.0, 1.0])[None, :]
    states = np.zeros(n, dtype=np.int8)
    b, c = np.unravel_index(int(np.argmin(acc)), acc.shape)
    states[-2], states[-1] = b, c
    for t in range(n - 1, 1, -1):
        states[t - 2] = back[t, states[t - 1], states[t]]
    return states.astype(bool)


def _run_bounds(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and stop (exclusive) of the True runs of ``mask``."""
    return _runs(mask)


def resolve_collapses(
    left: np.ndarray,
    right: np.ndarray,
    collapsed: np.ndarray,
    exchanged: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decide which label of each collapsed stretch is the copy.

    Over each run of collapsed frames, each label's observations are compared
    with the straight line between its own positions just before and just
    after the run; the label that strays further belongs to the other leg
    and is dropped for the run.

    Parameters
    ----------
    left, right : numpy.ndarray
        ``(time, points, 2)`` leg points after swap repair.
    collapsed : numpy.ndarray
        Boolean per frame from :func:`collapsed_frames`.
    exchanged : numpy.ndarray, optional
        Boolean per frame: frames whose ``left`` and ``right`` are to be
        read exchanged (the swap repair's decision), so that the repaired
        arrays need not be built for the whole clip.

    Returns
    -------
    tuple of numpy.ndarray
        ``(drop_left, drop_right)`` boolean per frame.
    """
    n = left.shape[0]
    drop_l = np.zeros(n, dtype=bool)
    drop_r = np.zeros(n, dtype=bool)
    for start, stop in _run_bounds(collapsed):
        # The run and its two neighbouring frames, relabelled where exchanged.
        lo, hi = max(start - 1, 0), min(stop + 1, n)
        legs = (left[lo:hi], right[lo:hi])
        if exchanged is not None:
            swap = exchanged[lo:hi, None, None]
            legs = (np.where(swap, legs[1], legs[0]), np.where(swap, legs[0], legs[1]))
        before, after = start - 1, stop
        dev = []
        for arr in legs:
            ends = [i - lo for i in (before, after) if 0 <= i < n]
            if not ends:
                dev.append(0.0)
                continue
            run = arr[start - lo : stop - lo]
            idx = np.arange(start, stop)
            if len(ends) == 2:
                w = ((idx - before) / (after - before))[:, None, None]
                ref = (1 - w) * arr[ends[0]][None] + w * arr[ends[1]][None]
            else:
                ref = np.broadcast_to(arr[ends[0]], run.shape)
            d = _mean_dist(run[:, 1:], ref[:, 1:])
            dev.append(float(np.mean(d)))
        if dev[0] >= dev[1]:
            drop_l[start:stop] = True
        else:
            drop_r[start:stop] = True
    return drop_l, drop_r


@dataclass(frozen=True)
class LegRepair:
    """Per-frame decisions of the leg-label repair.

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


def track_legs(left: np.ndarray, right: np.ndarray, scale: float) -> LegRepair:
    """Decide label exchanges and collapses for a whole clip.

    1. Frames where both labels sit on one leg (:func:`collapsed_frames`) are
       set aside, so they do not pull the continuity decision.
    2. A Viterbi path over the whole clip (:func:`viterbi_labels`) chooses,
       per frame, labels as given or exchanged so that every leg joint (hip
       to toe) moves as smoothly as possible (second-order continuity), with
       a small per-frame cost for disagreeing with the model.
    3. In each collapsed stretch, the label that does not continue its own
       trajectory is dropped (:func:`resolve_collapses`).

    Parameters
    ----------
    left, right : numpy.ndarray
        ``(time, points, 2)`` leg points (hip, knee, ankle, heel, toe) as
        labelled by the pose model.
    scale : float
        Leg length in pixels, to make the costs size-free.

    Returns
    -------
    LegRepair
        Exchange and drop decisions per frame.
    """
    collapsed = collapsed_frames(left, right, scale)
    flip = viterbi_labels(transition_costs(left, right, scale, missing=collapsed))
    drop_l, drop_r = resolve_collapses(left, right, collapsed, exchanged=flip)
    return LegRepair(flip=flip, drop_left=drop_l, drop_right=drop_r)


def repair_leg_swaps(ds: xr.Dataset) -> tuple[xr.Dataset, int]:
    """Repair frames where the pose model exchanged or merged the two legs.

    The single leg-identity repair of formcheck (see :func:`track_legs`):
    every later stage (view, events, metrics) sees its labels.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset (low-confidence points may already be NaN).

    Returns
    -------
    tuple of (xarray.Dataset, int)
        The repaired dataset and the number of frames relabelled or masked.
    """
    left, right = _leg_array(ds, "left"), _leg_array(ds, "right")
    if left.shape[0] < 3:
        return ds.copy(), 0
    rep = track_legs(left, right, leg_scale_px(ds))
    return apply_leg_repair(ds, rep)


def apply_leg_repair(ds: xr.Dataset, rep: LegRepair) -> tuple[xr.Dataset, int]:
    """Exchange and mask leg points as decided by :func:`track_legs`.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    rep : LegRepair
        Per-frame decisions.

    Returns
    -------
    tuple of (xarray.Dataset, int)
        The repaired copy and the number of frames changed.
    """
    if not np.any(rep.flip | rep.drop_left | rep.drop_right):
        return ds.copy(), 0
    out = ds.copy()  # shallow: each repaired variable below gets a new array of its own
    for var in ("position", "confidence", "world_position"):
        if var in out:
            da = out[var].transpose("time", "keypoints", ...)
            out[var] = da.copy(data=np.array(da.values)).transpose(*ds[var].dims)
    return out, _repair_in_place(out, rep)


def _repair_in_place(ds: xr.Dataset, rep: LegRepair) -> int:
    """Apply ``rep`` to the arrays behind ``ds`` (which must own them); frames changed."""
    flip, drop_l, drop_r = rep.flip, rep.drop_left, rep.drop_right
    n_fixed = int(np.sum(flip | drop_l | drop_r))
    if n_fixed == 0:
        return 0
    kp = list(ds["keypoints"].values)
    names = [f"{side}_{stem}" for side in ("left", "right") for stem in SWAP_KEYPOINTS]
    dst = np.array([kp.index(n) for n in names])
    src = np.array([kp.index(mirror_name(n)) for n in names])
    k = len(SWAP_KEYPOINTS)
    left_idx, right_idx = dst[1:k], dst[k + 1 :]  # the hips are never dropped
    for var in ("position", "confidence", "world_position"):
        if var not in ds:
            continue
        values = ds[var].transpose("time", "keypoints", ...).values
        if not np.shares_memory(values, ds[var].values):  # pragma: no cover - contract guard
            raise AssertionError(f"'{var}' is not a view of its array")
        values[np.ix_(flip, dst)] = values[np.ix_(flip, src)]
        if var != "confidence":
            values[np.ix_(drop_l, left_idx)] = np.nan
            values[np.ix_(drop_r, right_idx)] = np.nan
    return n_fixed


def orient_frontal_legs(ds: xr.Dataset, view: str) -> xr.Dataset:
    """Name the legs by image side in rear and front views.

    The runner's left leg is on the image left from behind and on the image
    right from the front, whatever the pose model said (models often label a
    back view as if it were a front view).

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset.
    view : str
        ``"rear"``, ``"front"``; any other view returns ``ds`` unchanged.

    Returns
    -------
    xarray.Dataset
        ``ds`` or a copy with all leg labels exchanged.
    """
    if view not in ("rear", "front"):
        return ds
    pos = ds["position"].isel(individuals=0)
    dx = (pos.sel(keypoints="left_hip") - pos.sel(keypoints="right_hip")).sel(space="x").values
    dx = dx[np.isfinite(dx)]
    want = -1.0 if view == "rear" else 1.0
    if not dx.size or np.sign(np.median(dx)) != -want:
        return ds
    n = ds.sizes["time"]
    none = np.zeros(n, dtype=bool)
    return apply_leg_repair(ds, LegRepair(np.ones(n, dtype=bool), none, none))[0]


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
    buffer = _position_buffer(ds)
    _fill_gaps_in_place(buffer, np.asarray(ds["time"].values, dtype=float), max_gap_s)
    return _with_arrays(ds, buffer)


def _fill_gaps_in_place(buffer: np.ndarray, t: np.ndarray, max_gap_s: float) -> None:
    """The interpolation of :func:`fill_gaps` on a :data:`POSITION_ORDER` buffer."""
    flat = buffer.reshape(buffer.shape[0], -1)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        for start, stop in _runs(~np.isfinite(col)):
            if start == 0 or stop == col.size:
                continue
            if t[stop] - t[start - 1] <= max_gap_s + 1e-9:
                col[start:stop] = np.interp(
                    t[start:stop], [t[start - 1], t[stop]], [col[start - 1], col[stop]]
                )


def _runs(finite: np.ndarray) -> list[tuple[int, int]]:
    """Start and stop indices of consecutive True stretches."""
    padded = np.concatenate(([False], finite, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _filter_run(
    t: np.ndarray, y: np.ndarray, b: np.ndarray, a: np.ndarray, step: float | None
) -> np.ndarray:
    """Zero-lag filter one gap-free run; on a uniform grid of ``step`` when given.

    A digital filter assumes equal sample intervals. With a variable frame
    rate the run is interpolated onto a uniform grid, filtered there and
    read back at its own frame times.
    """
    if step is None:
        return signal.filtfilt(b, a, y)
    grid = np.arange(t[0], t[-1] + step / 2, step)
    padlen = 3 * max(len(a), len(b))
    if grid.size <= padlen:
        return y
    smooth = signal.filtfilt(b, a, np.interp(grid, t, y))
    return np.interp(t, grid, smooth)


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

    Notes
    -----
    Clips with a variable frame rate (:func:`formcheck.dataset.variable_frame_rate`)
    are filtered on a uniform time grid at the clip's short (10th
    percentile) frame interval, so the cut-off is the same number of hertz
    everywhere, and read back at the real frame times.
    """
    buffer = _position_buffer(ds)
    t = np.asarray(ds["time"].values, dtype=float)
    label = _lowpass_in_place(buffer, t, float(ds.attrs.get("fps", float("nan"))), cutoff_hz, order)
    out = _with_arrays(ds, buffer)
    if label is not None:
        out.attrs["cleaning_filter"] = label
    return out


def _lowpass_in_place(
    buffer: np.ndarray, t: np.ndarray, fps: float, cutoff_hz: float, order: int
) -> str | None:
    """The filter of :func:`lowpass` on a :data:`POSITION_ORDER` buffer; its description.

    Returns None (and leaves the buffer alone) when the clip has no frame
    rate or fewer than 4 frames.
    """
    if not np.isfinite(fps) or fps <= 0 or buffer.shape[0] < 4:
        return None
    step: float | None = None
    if variable_frame_rate(t):
        dt = np.diff(t)
        step = float(max(np.percentile(dt, 10), np.median(dt) / 4))
        fps = 1.0 / step
    wn = min(cutoff_hz / (fps / 2.0), 0.8)
    b, a = signal.butter(order, wn)
    padlen = 3 * max(len(a), len(b))
    flat = buffer.reshape(buffer.shape[0], -1)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        for start, stop in _runs(np.isfinite(col)):
            if stop - start > padlen:
                col[start:stop] = _filter_run(t[start:stop], col[start:stop], b, a, step)
    grid = f", on a uniform {1000 * step:.1f} ms grid" if step else ""
    return f"butterworth order {order}, zero-lag, {wn * fps / 2:.1f} Hz{grid}"


__all__ = [
    "KEYPOINT_NAMES",
    "CleaningSettings",
    "clean_tracks",
    "fill_gaps",
    "lowpass",
    "mask_low_confidence",
    "apply_leg_repair",
    "collapsed_frames",
    "leg_scale_px",
    "orient_frontal_legs",
    "reject_outliers",
    "repair_leg_swaps",
    "track_legs",
    "transition_costs",
    "viterbi_labels",
]
