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
* **Front vs rear**: the face is visible in a front view (high visibility of
  nose and eyes, nose between the shoulders) and hidden from behind (low
  visibility). The left/right label order is *not* used: pose models often
  label a back view as if it were a front view.
* **Treadmill vs overground**: horizontal travel of the mid-hip over the clip
  relative to leg length, and change of body size (walking towards or away
  from the camera).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import xarray as xr

from formcheck.dataset import INDIVIDUAL, keypoint_xy, leg_length_px, validate_dataset

ViewName = Literal["side", "rear", "front", "unknown"]
Facing = Literal["left", "right"]
Setting = Literal["treadmill", "overground"]
ViewOverride = Literal["auto", "side", "rear", "front"]

SIDE_MAX_WIDTH_RATIO = 0.3
"""Width/torso ratio below which the clip is a side view."""
FRONTAL_MIN_WIDTH_RATIO = 0.45
"""Width/torso ratio above which the clip is a rear or front view."""
FACE_VISIBLE_MIN = 0.7
"""Median face visibility above which the face is taken as visible (front view)."""
FACE_HIDDEN_MAX = 0.4
"""Median face visibility below which the face is taken as hidden (rear view)."""
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
    """

    view: ViewName
    facing: Facing | None
    setting: Setting
    confidence: float
    reason: str


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
    torso = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2, axis=1)
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


def _nose_between_shoulders(ds: xr.Dataset) -> float:
    """Fraction of frames with the nose horizontally between the shoulders."""
    nose = keypoint_xy(ds, "nose")[:, 0]
    ls, rs = keypoint_xy(ds, "left_shoulder")[:, 0], keypoint_xy(ds, "right_shoulder")[:, 0]
    ok = np.isfinite(nose) & np.isfinite(ls) & np.isfinite(rs)
    if not np.any(ok):
        return float("nan")
    lo, hi = np.minimum(ls[ok], rs[ok]), np.maximum(ls[ok], rs[ok])
    return float(np.mean((nose[ok] > lo) & (nose[ok] < hi)))


def detect_setting(ds: xr.Dataset) -> tuple[Setting, str]:
    """Tell a treadmill clip from an overground one.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.

    Returns
    -------
    setting : {"treadmill", "overground"}
        ``"overground"`` when the mid-hip travels more than
        :data:`OVERGROUND_MIN_TRAVEL` leg lengths across the image, or the
        torso changes size by more than :data:`OVERGROUND_MIN_SCALE_CHANGE`.
    reason : str
        The measured travel and size change.
    """
    mid_hip = (keypoint_xy(ds, "left_hip") + keypoint_xy(ds, "right_hip")) / 2
    x = mid_hip[:, 0][np.isfinite(mid_hip[:, 0])]
    leg = leg_length_px(ds)
    if x.size < 2 or not np.isfinite(leg) or leg <= 0:
        return "treadmill", "too few hip points to measure travel; assuming a treadmill"
    travel = float(np.percentile(x, 95) - np.percentile(x, 5)) / leg
    torso = np.linalg.norm(
        (keypoint_xy(ds, "left_shoulder") + keypoint_xy(ds, "right_shoulder")) / 2 - mid_hip, axis=1
    )
    torso = torso[np.isfinite(torso)]
    quarter = max(1, torso.size // 4)
    scale = (
        abs(float(np.median(torso[-quarter:]) / np.median(torso[:quarter])) - 1.0)
        if torso.size >= 4
        else 0.0
    )
    moving = travel > OVERGROUND_MIN_TRAVEL or scale > OVERGROUND_MIN_SCALE_CHANGE
    setting: Setting = "overground" if moving else "treadmill"
    return setting, f"hip travel {travel:.2f} leg lengths, body size change {scale:.0%}"


def _classify(ratio: float, face_vis: float, nose_between: float) -> tuple[ViewName, float]:
    """Map the scale-free cues to a view and a confidence."""
    if not np.isfinite(ratio):
        return "unknown", 0.0
    if ratio < SIDE_MAX_WIDTH_RATIO:
        return "side", float(np.clip(1.0 - ratio / SIDE_MAX_WIDTH_RATIO / 2, 0.5, 1.0))
    frontal_conf = float(
        np.clip(
            (ratio - SIDE_MAX_WIDTH_RATIO) / (FRONTAL_MIN_WIDTH_RATIO - SIDE_MAX_WIDTH_RATIO),
            0.3,
            1.0,
        )
    )
    vis = face_vis if np.isfinite(face_vis) else 0.5
    between = nose_between if np.isfinite(nose_between) else 0.5
    if vis >= FACE_VISIBLE_MIN and between >= 0.5:
        return "front", frontal_conf
    if vis <= FACE_HIDDEN_MAX:
        return "rear", frontal_conf
    # Ambiguous face visibility: lean on it, but with less confidence.
    mid = (FACE_VISIBLE_MIN + FACE_HIDDEN_MAX) / 2
    return ("front" if vis > mid and between >= 0.5 else "rear"), frontal_conf * 0.6


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
    between = _nose_between_shoulders(ds)
    view, conf = _classify(ratio, face_vis, between)
    setting, setting_reason = detect_setting(ds)
    facing: Facing | None = None
    reason = (
        f"shoulder/hip width is {ratio:.2f} of torso length, face visibility "
        f"{face_vis:.2f}, nose between the shoulders in {between:.0%} of frames; "
        f"{setting_reason}"
    )
    if view == "side":
        facing, agree = estimate_facing(ds)
        conf = conf * (0.5 + 0.5 * agree) if facing else conf * 0.5
        reason += f"; nose and toes point {facing or 'nowhere clear'} ({agree:.0%} of frames)"
    return ViewInfo(view=view, facing=facing, setting=setting, confidence=conf, reason=reason)


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
    )
