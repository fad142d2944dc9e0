"""Names of the 33 MediaPipe pose landmarks and the skeleton that joins them.

The names follow MediaPipe's ``PoseLandmark`` enum in lower case, so the
central dataset can be indexed by label (``ds.position.sel(keypoints="left_knee")``)
instead of by position.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal


class Landmark(IntEnum):
    """MediaPipe pose landmark indices (the subject's own left and right)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


KEYPOINT_NAMES: tuple[str, ...] = tuple(lm.name.lower() for lm in Landmark)
"""Keypoint labels in MediaPipe order, e.g. ``"left_hip"``."""

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")

LEG_JOINTS: tuple[str, ...] = ("hip", "knee", "ankle", "heel", "foot_index")
"""Per-side joint stems of the leg; ``f"{side}_{stem}"`` is a keypoint name."""

SKELETON: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"),
    ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"),
    ("right_ankle", "right_foot_index"),
)
"""Bones drawn in overlays, as pairs of keypoint names."""


def other_side(side: Side) -> Side:
    """Return the opposite side.

    Parameters
    ----------
    side : {"left", "right"}
        A side of the body.

    Returns
    -------
    {"left", "right"}
        The other side.
    """
    return "right" if side == "left" else "left"


def mirror_name(name: str) -> str:
    """Return the keypoint name of the same joint on the other side.

    Parameters
    ----------
    name : str
        A keypoint name such as ``"left_knee"``; names without a side
        (``"nose"``) are returned unchanged.

    Returns
    -------
    str
        The mirrored name, e.g. ``"right_knee"``.
    """
    if name.startswith("left_"):
        return "right_" + name[len("left_") :]
    if name.startswith("right_"):
        return "left_" + name[len("right_") :]
    return name
