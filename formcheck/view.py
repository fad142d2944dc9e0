"""Camera view, running direction and setting of a clip, from the pose alone.

A single camera sees one plane, so every metric depends on the view: sagittal
measures need a side view, frontal ones a rear or front view. This module
guesses the view from body proportions and face landmarks and lets the user
override it.

Cues (all scale-free, medians over the frames where the points exist):

* **Side vs rear/front**: shoulder and hip *width* in the image relative to
  the torso length (mid-shoulder to mid-hip). Seen from the side both
  shoulders project onto nearly the same point (ratio about 0-0.3); from
  behind or in front they are a shoulder-width apart (ratio about 0.6-1.0).
* **Facing (side views)**: nose ahead of the ears, toes (``foot_index``) ahead
  of the heels. Each cue votes with the sign of its median offset.
* **Front vs rear**: pose models often take a runner seen from behind for
  one seen from the front: they report a face on the back of the head and
  label the legs as if the runner faced the camera, so neither the face nor
  the left/right label order can be trusted (only a face reported *hidden*
  says rear). Motion can: a camera above the belt sees the ground rise
  towards the horizon with distance, and the belt carries each stance foot
  backwards, towards a rear camera (the ankle moves *down* the image during
  stance) or away from a front camera (it moves *up*). :func:`stance_drift`
  measures that speed over every stance; when it is clear
  (:data:`DRIFT_MIN_Z`, :data:`DRIFT_MIN_SPEED`) it decides. Otherwise the
  stance toes lying well below the heels (:func:`stance_toe_drop`: nearer
  the camera) say front, then a weak but consistent drift decides, and
  with no evidence at all the clip is taken as the rear view the filming
  guide asks for, with low confidence. Overground, a runner seen from
  behind shrinks over the clip and one seen from the front grows.
* **Treadmill vs overground**: horizontal travel of the mid-hip over the clip
  relative to leg length, and change of body size (walking towards or away
  from the camera).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np
import xarray as xr

from formcheck.dataset import (
    INDIVIDUAL,
    keypoint_xy,
    leg_length_px,
    midpoint_xy,
    torso_length_px,
    validate_dataset,
)
from formcheck.landmarks import SIDES, Side

ViewName = Literal["side", "rear", "front", "unknown"]
Facing = Literal["left", "right"]
Setting = Literal["treadmill", "overground"]
ViewOverride = Literal["auto", "side", "rear", "front"]

SIDE_MAX_WIDTH_RATIO = 0.3
"""Width/torso ratio below which the clip is a side view."""
FRONTAL_MIN_WIDTH_RATIO = 0.45
"""Width/torso ratio above which the clip is a rear or front view."""
FACE_HIDDEN_MAX = 0.4
"""Median face visibility below which the face is taken as hidden (rear view)."""
DRIFT_MIN_Z = 3.0
"""Robust z-score of the stance-foot drift above which it decides front vs rear..."""
DRIFT_MIN_SPEED = 0.1
"""...when it is also at least this fast (leg lengths per second; a camera at hip
height a few metres away sees about 0.5)."""
DRIFT_MIN_STANCES = 6
"""Fewer stances than this give no stance-drift evidence."""
DRIFT_WEAK_Z = 1.0
"""A drift below :data:`DRIFT_MIN_Z` but at least this one way (and at least
:data:`DRIFT_MIN_SPEED`) still decides, with low confidence, when nothing clearer
does (a 30 fps rear clip has 3-4 usable frames per stance)."""
TOE_DROP_FRONT_MIN = 0.08
"""Median stance toe-below-heel offset (leg lengths) from which the toes point at the camera."""
TOE_LOWER_FRONT_MIN = 0.8
"""Least fraction of stances with the toe below the heel for the toe cue to say front."""
HIP_MEAN_WINDOW_S = 0.7
"""Running-mean window (s) of the hip height; the hip is below it during stance."""
DRIFT_TRIM = 0.2
"""Fraction of each stance left out at either end when measuring the drift (foot
labels and pose points are least reliable around contact and toe-off)."""
OVERGROUND_MIN_TRAVEL = 1.0
"""Mid-hip horizontal travel, in leg lengths, above which the runner moves over ground."""
OVERGROUND_MIN_SCALE_CHANGE = 0.25
"""Relative change of torso length over the clip above which the runner moves in depth."""


@dataclass(frozen=True)
class ViewInfo:
    """What the camera sees.

    Attributes
    ----------
    view : {"side", "rear", "front", "unknown"}
        Camera position relative to the runner.
    facing : {"left", "right"} or None
        Image direction the runner faces (side views only).
    setting : {"treadmill", "overground"}
        Whether the runner stays in place or crosses the frame.
    confidence : float
        Confidence of the view call in [0, 1]; 1 when set by the user.
    reason : str
        The cues behind the call, in one sentence.
    kind_confidence : float or None
        Confidence of side against rear/front alone (the shoulders' and hips'
        width), before front against rear; None means ``confidence``.
    """

    view: ViewName
    facing: Facing | None
    setting: Setting
    confidence: float
    reason: str
    kind_confidence: float | None = None


def _conf(ds: xr.Dataset, name: str) -> np.ndarray:
    """Return the per-frame visibility of one keypoint."""
    da = ds["confidence"].sel(keypoints=name, individuals=INDIVIDUAL)
    return np.asarray(da.values, dtype=float)


def _nanmedian(a: np.ndarray) -> float:
    """Median ignoring NaN; NaN when nothing is finite."""
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def width_ratio(ds: xr.Dataset) -> float:
    """Median shoulder/hip width in the image relative to torso length.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    float
        ``mean(shoulder width, hip width) / torso length``; about 0-0.3 in
        side views and 0.6-1.0 in rear and front views. NaN if the torso is
        never seen.
    """
    ls, rs = keypoint_xy(ds, "left_shoulder"), keypoint_xy(ds, "right_shoulder")
    lh, rh = keypoint_xy(ds, "left_hip"), keypoint_xy(ds, "right_hip")
    torso = torso_length_px(ds)
    width = (np.abs(ls[:, 0] - rs[:, 0]) + np.abs(lh[:, 0] - rh[:, 0])) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nanmedian(width / torso)


def estimate_facing(ds: xr.Dataset) -> tuple[Facing | None, float]:
    """Image direction the runner faces in a side view.

    Two cues vote: nose ahead of the mid-ear point, and toes ahead of the
    heels (both feet). Each votes with the sign of its median horizontal
    offset, weighted by that offset relative to its own spread.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    facing : {"left", "right"} or None
        None when the cues are missing or cancel out.
    agreement : float
        Fraction of frames whose cues agree with the answer, in [0, 1].
    """
    ears = (keypoint_xy(ds, "left_ear") + keypoint_xy(ds, "right_ear")) / 2
    offsets = [keypoint_xy(ds, "nose")[:, 0] - ears[:, 0]]
    offsets += [
        keypoint_xy(ds, f"{side}_foot_index")[:, 0] - keypoint_xy(ds, f"{side}_heel")[:, 0]
        for side in ("left", "right")
    ]
    stacked = np.stack(offsets, axis=1)
    frame_vote = np.nansum(np.sign(stacked), axis=1)
    seen = np.any(np.isfinite(stacked), axis=1)
    if not np.any(seen) or np.sum(frame_vote[seen]) == 0:
        return None, 0.0
    total = float(np.sum(frame_vote[seen]))
    facing: Facing = "right" if total > 0 else "left"
    agree = float(np.mean(np.sign(frame_vote[seen]) == np.sign(total)))
    return facing, agree


def _face_visibility(ds: xr.Dataset) -> float:
    """Median visibility of the nose and inner eyes."""
    names = ("nose", "left_eye_inner", "right_eye_inner")
    vis = np.stack([_conf(ds, n) for n in names], axis=1)
    seen = np.isfinite(vis)
    per_frame = np.where(seen, vis, 0.0).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    return _nanmedian(np.where(seen.any(axis=1), per_frame, np.nan))


@dataclass(frozen=True)
class StanceDrift:
    """Vertical image speed of the stance ankle, one value per stance.

    Attributes
    ----------
    median : float
        Median speed in leg lengths per second, + down the image (NaN when
        there are no stances).
    z : float
        ``median / (1.4826 MAD / sqrt(n))``, a robust z-score of the median.
    n : int
        Number of stances measured.
    """

    median: float
    z: float
    n: int


def _stance_runs(t: np.ndarray, hip_y: np.ndarray) -> list[tuple[int, int]]:
    """Runs of frames (start, stop) where the mid-hip is lower than its running mean.

    The pelvis is lowest at midstance and highest in flight, so these runs
    are the stances (of alternating feet), whatever the view.
    """
    ok = np.isfinite(hip_y)
    if ok.sum() < 10:
        return []
    h = np.interp(t, t[ok], hip_y[ok])
    dt = float(np.median(np.diff(t)))
    size = max(3, int(round(HIP_MEAN_WINDOW_S / dt)))
    kernel = np.ones(size) / size
    padded = np.pad(h, size // 2, mode="edge")
    mean = np.convolve(padded, kernel, mode="valid")[: h.size]
    low = np.concatenate([[False], h > mean, [False]])
    edges = np.flatnonzero(np.diff(low.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 3]


def _stance_feet(ds: xr.Dataset) -> tuple[np.ndarray, float, list[tuple[int, int, Side]]]:
    """Times, leg length and each stance as ``(first, stop, stance leg)``.

    Stances are :func:`_stance_runs` of the mid-hip height; the stance leg
    is the one whose ankle is lower in the image (stances where either ankle
    is missing are left out).
    """
    t = np.asarray(ds["time"].values, dtype=float)
    leg = leg_length_px(ds)
    out: list[tuple[int, int, Side]] = []
    if t.size < 10 or not np.isfinite(leg) or leg <= 0:
        return t, leg, out
    hip_y = midpoint_xy(ds, "hip")[:, 1]
    left, right = (keypoint_xy(ds, f"{side}_ankle")[:, 1] for side in SIDES)
    for a, b in _stance_runs(t, hip_y):
        lo, hi = _nanmedian(left[a:b]), _nanmedian(right[a:b])
        if np.isfinite(lo) and np.isfinite(hi):
            out.append((a, b, "left" if lo > hi else "right"))
    return t, leg, out


def stance_drift(ds: xr.Dataset) -> StanceDrift:
    """How fast the stance ankle moves up or down the image during stance.

    For each stance (:func:`_stance_feet`), the slope of a line fitted to
    the stance ankle's ``y`` over the middle of the stance
    (:data:`DRIFT_TRIM` left out at either end) is its speed. On a
    treadmill filmed from behind by a camera above the belt, the belt
    carries the stance foot towards the camera: down the image, positive.
    From the front it moves away: up, negative. From the side it stays
    level (about 0).

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset.

    Returns
    -------
    StanceDrift
        Median speed (leg lengths per second), its robust z-score and the
        number of stances.
    """
    t, leg, stances = _stance_feet(ds)
    ankle_y = {side: keypoint_xy(ds, f"{side}_ankle")[:, 1] for side in SIDES}
    slopes = []
    for a, b, side in stances:
        y = ankle_y[side]
        cut = int(round(DRIFT_TRIM * (b - a)))
        lo, hi = (a + cut, b - cut) if b - a - 2 * cut >= 3 else (a, b)
        sel = np.arange(lo, hi)[np.isfinite(y[lo:hi])]
        if sel.size >= 3:
            slopes.append(float(np.polyfit(t[sel], y[sel], 1)[0]) / leg)
    v = np.asarray(slopes)
    if v.size == 0:
        return StanceDrift(float("nan"), 0.0, 0)
    med = float(np.median(v))
    mad = 1.4826 * float(np.median(np.abs(v - med)))
    z = med / (mad / np.sqrt(v.size)) if mad > 0 else float(np.sign(med)) * np.inf
    return StanceDrift(med, float(z), int(v.size))


class ToeDrop(NamedTuple):
    """How far below the heel the stance toe lies (:func:`stance_toe_drop`).

    Attributes
    ----------
    median : float
        Median over stances, leg lengths, + = toe lower (NaN when none).
    lower : float
        Fraction of stances with the toe lower than the heel.
    n : int
        Number of stances measured.
    """

    median: float
    lower: float
    n: int


def stance_toe_drop(ds: xr.Dataset) -> ToeDrop:
    """How far below the heel the stance foot's toe lies in the image.

    A camera above the ground sees nearer ground points lower in the image.
    From the front the toe is nearer than the heel, so it lies below it;
    from behind it is farther (and mostly hidden behind the heel), so it
    lies above it or, as the pose model draws it, about level. On the
    rendered accuracy clips MediaPipe puts the stance toe 0.18 leg lengths
    below the heel from the front and between 0.01 above and 0.04 below it
    from behind, where its face and leg labels cannot tell the two views
    apart.

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset.

    Returns
    -------
    ToeDrop
        Median over stances of the toe's height below the heel, the
        fraction of stances where the toe is lower, and the number of
        stances (NaN, 0.0, 0 when there are none).
    """
    _, leg, stances = _stance_feet(ds)
    below = {
        side: keypoint_xy(ds, f"{side}_foot_index")[:, 1] - keypoint_xy(ds, f"{side}_heel")[:, 1]
        for side in SIDES
    }
    drops = []
    for a, b, side in stances:
        d = _nanmedian(below[side][a:b])
        if np.isfinite(d):
            drops.append(d / leg)
    v = np.asarray(drops)
    if v.size == 0:
        return ToeDrop(float("nan"), 0.0, 0)
    return ToeDrop(float(np.median(v)), float(np.mean(v > 0)), int(v.size))


def size_change(ds: xr.Dataset) -> float:
    """Relative change of torso length from the first to the last quarter of the clip.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    float
        ``median(last quarter) / median(first quarter) - 1``: positive when
        the runner comes closer, negative when moving away, 0 if unknown.
    """
    torso = torso_length_px(ds)
    torso = torso[np.isfinite(torso)]
    if torso.size < 4:
        return 0.0
    quarter = max(1, torso.size // 4)
    return float(np.median(torso[-quarter:]) / np.median(torso[:quarter])) - 1.0


def belt_moves(drift: StanceDrift) -> bool:
    """Whether the stance feet clearly ride a belt (rear and front views).

    Parameters
    ----------
    drift : StanceDrift
        From :func:`stance_drift`.

    Returns
    -------
    bool
        True when at least :data:`DRIFT_MIN_STANCES` stances drift one way
        (robust z at least :data:`DRIFT_MIN_Z`, speed at least
        :data:`DRIFT_MIN_SPEED`): on the ground a stance foot stays put.
    """
    return (
        drift.n >= DRIFT_MIN_STANCES
        and abs(drift.z) >= DRIFT_MIN_Z
        and abs(drift.median) >= DRIFT_MIN_SPEED
    )


def detect_setting(ds: xr.Dataset, frontal: bool | None = None) -> tuple[Setting, str]:
    """Tell a treadmill clip from an overground one.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    frontal : bool, optional
        False for a side view: a runner seen from the side who crosses no
        ground does not change distance either, so a size change alone is a
        zoom. None (unknown) and True judge the size change as below.

    Returns
    -------
    setting : {"treadmill", "overground"}
        ``"overground"`` when the mid-hip travels more than
        :data:`OVERGROUND_MIN_TRAVEL` leg lengths across the image, or the
        torso changes size by more than :data:`OVERGROUND_MIN_SCALE_CHANGE`
        while no belt carries the stance feet (:func:`belt_moves`): a phone
        zooming in or out changes the runner's size too, but on a treadmill
        the stance feet still ride the belt. (A camera moving along with an
        overground runner also makes the stance feet drift; such a clip reads
        as a treadmill, which only changes whether step length is trusted.)
    reason : str
        The measured travel and size change.
    """
    mid_hip = midpoint_xy(ds, "hip")
    x = mid_hip[:, 0][np.isfinite(mid_hip[:, 0])]
    leg = leg_length_px(ds)
    if x.size < 2 or not np.isfinite(leg) or leg <= 0:
        return "treadmill", "too few hip points to measure travel; assuming a treadmill"
    travel = float(np.percentile(x, 95) - np.percentile(x, 5)) / leg
    scale = abs(size_change(ds))
    sized = scale > OVERGROUND_MIN_SCALE_CHANGE
    still = travel <= OVERGROUND_MIN_TRAVEL
    belt = sized and still and (frontal is False or belt_moves(stance_drift(ds)))
    moving = travel > OVERGROUND_MIN_TRAVEL or (sized and not belt)
    setting: Setting = "overground" if moving else "treadmill"
    cue = "a side view crossing no ground" if frontal is False else "the stance feet ride a belt"
    why = f"; {cue} (a zoom, not a change of distance)" if belt else ""
    return setting, f"hip travel {travel:.2f} leg lengths, body size change {scale:.0%}{why}"


def _is_frontal(ratio: float) -> tuple[bool, float]:
    """Whether the width ratio says rear/front (else side) and the confidence of that."""
    if ratio < SIDE_MAX_WIDTH_RATIO:
        return False, float(np.clip(1.0 - ratio / SIDE_MAX_WIDTH_RATIO / 2, 0.5, 1.0))
    conf = (ratio - SIDE_MAX_WIDTH_RATIO) / (FRONTAL_MIN_WIDTH_RATIO - SIDE_MAX_WIDTH_RATIO)
    return True, float(np.clip(conf, 0.3, 1.0))


def _front_or_rear(
    drift: StanceDrift,
    toe: ToeDrop,
    face_vis: float,
    setting: Setting,
    scale: float,
) -> tuple[ViewName, float, str]:
    """Front or rear; view, confidence, reason.

    In order: a hidden face (rear); a runner moving in depth over ground;
    a clear belt motion (:func:`belt_moves`); stance toes clearly below the
    heels (:func:`stance_toe_drop`: front); a weak but consistent belt
    motion (:data:`DRIFT_WEAK_Z`); otherwise rear, the filming guide's view.
    A face the pose model reports decides nothing: it reports one on the
    back of the head as readily (median visibility 1.00 on every rendered
    rear clip of the accuracy benchmark).
    """
    vis = face_vis if np.isfinite(face_vis) else 0.5
    if vis <= FACE_HIDDEN_MAX:  # before the size change: a zoom can fake one
        return "rear", 1.0, "the face is hidden"
    if setting == "overground" and abs(scale) > OVERGROUND_MIN_SCALE_CHANGE:
        view: ViewName = "rear" if scale < 0 else "front"
        return view, 1.0, f"the runner {'moves away' if scale < 0 else 'comes closer'}"
    moved = (
        f"the stance ankle moves {'down' if drift.median > 0 else 'up'} the image at "
        f"{abs(drift.median):.2f} leg lengths/s over {drift.n} stances (z {drift.z:+.1f})"
        if drift.n
        else "no stances to measure the belt motion"
    )
    if belt_moves(drift):
        view = "rear" if drift.z > 0 else "front"
        return view, float(min(1.0, abs(drift.z) / (2 * DRIFT_MIN_Z))), moved
    drop, lower, n_toe = toe
    if n_toe >= DRIFT_MIN_STANCES and drop >= TOE_DROP_FRONT_MIN and lower >= TOE_LOWER_FRONT_MIN:
        return "front", 0.5, (
            f"{moved}, unclear; the stance toes lie {drop:.2f} leg lengths below the heels "
            "(they point at the camera)"
        )
    weak = abs(drift.z) >= DRIFT_WEAK_Z and abs(drift.median) >= DRIFT_MIN_SPEED
    if drift.n >= DRIFT_MIN_STANCES and weak:
        view = "rear" if drift.z > 0 else "front"
        return view, 0.3, f"{moved}, weak but one way"
    return "rear", 0.3, f"{moved}, unclear; taken as the filming guide's rear view"


def detect_view(ds: xr.Dataset) -> ViewInfo:
    """Guess the camera view, facing direction and setting of a clip.

    Parameters
    ----------
    ds : xarray.Dataset
        A cleaned pose dataset.

    Returns
    -------
    ViewInfo
        The view with a confidence and a one-sentence reason.
    """
    validate_dataset(ds)
    ratio = width_ratio(ds)
    face_vis = _face_visibility(ds)
    frontal_guess = _is_frontal(ratio)[0] if np.isfinite(ratio) else None
    setting, setting_reason = detect_setting(ds, frontal_guess)
    facing: Facing | None = None
    reason = (
        f"shoulder/hip width is {ratio:.2f} of torso length, face visibility "
        f"{face_vis:.2f}; {setting_reason}"
    )
    if not np.isfinite(ratio):
        return ViewInfo("unknown", None, setting, 0.0, reason)
    frontal, conf = _is_frontal(ratio)
    if frontal:
        view, certainty, why = _front_or_rear(
            stance_drift(ds), stance_toe_drop(ds), face_vis, setting, size_change(ds)
        )
        return ViewInfo(
            view, None, setting, conf * certainty, f"{reason}; {view}: {why}", kind_confidence=conf
        )
    facing, agree = estimate_facing(ds)
    conf = conf * (0.5 + 0.5 * agree) if facing else conf * 0.5
    reason += f"; nose and toes point {facing or 'nowhere clear'} ({agree:.0%} of frames)"
    return ViewInfo(view="side", facing=facing, setting=setting, confidence=conf, reason=reason)


OVERRIDE_DOUBT_CONFIDENCE = 0.6
"""A chosen view is questioned when a detection this confident disagrees on side vs frontal."""


FRONT_REAR_SURE = 0.5
"""Front-against-rear certainty below which per-side frontal metrics are in doubt."""


def front_rear_doubt(view: ViewInfo) -> str | None:
    """Why left and right may be swapped in a detected rear or front view, or None.

    Seen from behind the runner's left leg is on the image's left, from the
    front on its right, so a wrong front/rear call puts every per-side value
    (which knee drifts in, which hip drops) on the other leg.

    Parameters
    ----------
    view : ViewInfo
        The view the analysis used.

    Returns
    -------
    str or None
        A sentence for the frontal metrics' reasons when the front/rear
        part of a detected view is unsure (``confidence / kind_confidence``
        below :data:`FRONT_REAR_SURE`); None otherwise, and for a view the
        user set.
    """
    if view.view not in ("rear", "front") or not view.kind_confidence:
        return None
    if view.confidence / view.kind_confidence >= FRONT_REAR_SURE:
        return None
    other = "front" if view.view == "rear" else "rear"
    return (
        "whether the camera was behind or in front of the runner is unsure (taken as "
        f"{view.view}); if it was {other}, left and right are swapped: pass --view "
        f"{view.view} or --view {other} to settle it"
    )


def override_note(detected: ViewInfo, override: ViewOverride) -> str | None:
    """A note when the user's view choice contradicts a confident detection.

    Side against rear/front is the reliable part of the detection (the
    shoulders' and hips' width against the torso, its own confidence
    :attr:`ViewInfo.kind_confidence`); rear against front is not
    questioned. A view a batch guessed from a clip's name gives way to such
    a detection instead (:attr:`formcheck.pipeline.AnalysisOptions.view_hint`).

    Parameters
    ----------
    detected : ViewInfo
        What :func:`detect_view` found.
    override : {"auto", "side", "rear", "front"}
        The user's choice (as given to :func:`resolve_view`).

    Returns
    -------
    str or None
        One sentence for the report's notes, or None when the view was
        detected, the two agree, or the detection is unsure.
    """
    if override == "auto" or detected.view == "unknown":
        return None
    if (override == "side") == (detected.view == "side"):
        return None  # agreed, or rear vs front: not sure enough to question the user
    kind = detected.confidence if detected.kind_confidence is None else detected.kind_confidence
    if kind < OVERRIDE_DOUBT_CONFIDENCE:
        return None
    return (
        f"the view was set to {override}, but the clip looks like a {detected.view} view "
        f"(confidence {kind:.2f}); check the clip, or let formcheck detect the view "
        "(--view auto)"
    )


def resolve_view(detected: ViewInfo, override: ViewOverride) -> ViewInfo:
    """Apply the user's view choice to the detected view.

    Parameters
    ----------
    detected : ViewInfo
        The result of :func:`detect_view`.
    override : {"auto", "side", "rear", "front"}
        ``"auto"`` keeps the detected view; anything else replaces it.

    Returns
    -------
    ViewInfo
        ``detected`` unchanged for ``"auto"``; otherwise the chosen view with
        confidence 1. The facing direction is kept for side views (metrics
        estimate it from the data when it is None).
    """
    if override == "auto":
        return detected
    facing = detected.facing if override == "side" else None
    return replace(
        detected,
        view=override,
        facing=facing,
        confidence=1.0,
        reason=f"set by the user (detected {detected.view}: {detected.reason})",
        kind_confidence=None,
    )
