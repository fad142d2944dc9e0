"""Drawing findings on frames (pure: image in, new image out).

:func:`annotate_flagged` draws the skeleton plus the geometry a metric was
measured from (heel-to-hip distance, shank against vertical, thigh and shank
for FPPA, ...), the value and its band. :func:`annotate_video_frame` draws
the skeleton, contact markers and live metric values on a video frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from formcheck.findings import FlaggedFrame, Level
from formcheck.overlay import LEFT_COLOUR, RIGHT_COLOUR, draw_skeleton
from formcheck.settings import LEVEL_WORDS

Point = tuple[float, float]
Colour = tuple[int, int, int]

LEVEL_COLOUR: Mapping[Level, Colour] = {
    "good": (60, 190, 90),
    "watch": (245, 190, 40),
    "act": (230, 60, 50),
}
GEOMETRY_COLOUR: Colour = (255, 255, 0)
REFERENCE_COLOUR: Colour = (255, 255, 255)
CONTACT_COLOUR: Colour = (255, 60, 200)


def _scale(image: np.ndarray) -> float:
    return max(image.shape[:2]) / 1280.0


def _pt(p: Point) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def _thick(image: np.ndarray, k: float = 1.0) -> int:
    return max(1, int(round(3 * k * _scale(image))))


def dashed_line(
    image: np.ndarray, a: Point, b: Point, colour: Colour, thickness: int, dash: int = 10
) -> np.ndarray:
    """Draw a dashed line on a copy of ``image``.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    a, b : tuple of float
        End points (pixels).
    colour : tuple of int
        RGB colour.
    thickness : int
        Line thickness.
    dash : int
        Dash length in pixels.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    out = image.copy()
    pa, pb = np.asarray(a, float), np.asarray(b, float)
    length = float(np.hypot(*(pb - pa)))
    n = max(1, int(length // dash))
    for i in range(0, n, 2):
        p0 = pa + (pb - pa) * (i / n)
        p1 = pa + (pb - pa) * (min(i + 1, n) / n)
        cv2.line(out, _pt(tuple(p0)), _pt(tuple(p1)), colour, thickness, cv2.LINE_AA)
    return out


def text_box(
    image: np.ndarray,
    lines: Sequence[str],
    origin: tuple[int, int] = (10, 10),
    *,
    accent: Colour | None = None,
    scale: float | None = None,
) -> np.ndarray:
    """Draw lines of text on a dark translucent box, on a copy of ``image``.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    lines : sequence of str
        Text lines (ASCII).
    origin : tuple of int
        Top-left corner of the box.
    accent : tuple of int, optional
        Colour of a bar on the box's left edge.
    scale : float, optional
        Font scale; from the image size when None.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    out = image.copy()
    if not lines:
        return out
    fs = scale or 0.7 * _scale(image) + 0.15
    th = max(1, int(round(fs * 2)))
    sizes = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, fs, th)[0] for t in lines]
    line_h = max(h for _, h in sizes) + int(12 * fs)
    w = max(w for w, _ in sizes) + int(24 * fs)
    h = line_h * len(lines) + int(10 * fs)
    x0, y0 = origin
    x1, y1 = min(out.shape[1] - 1, x0 + w), min(out.shape[0] - 1, y0 + h)
    roi = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = (roi * 0.35).astype(np.uint8)
    if accent is not None:
        cv2.rectangle(out, (x0, y0), (x0 + max(3, int(6 * fs)), y1), accent, -1)
    for i, t in enumerate(lines):
        y = y0 + line_h * (i + 1) - int(4 * fs)
        cv2.putText(out, t, (x0 + int(14 * fs), y), cv2.FONT_HERSHEY_SIMPLEX, fs,
                    (255, 255, 255), th, cv2.LINE_AA)
    return out


def _label_at(image: np.ndarray, text: str, at: Point, colour: Colour) -> np.ndarray:
    out = image.copy()
    fs = 0.6 * _scale(image) + 0.1
    th = max(1, int(round(fs * 2)))
    x, y = _pt(at)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), th + 3, cv2.LINE_AA)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, fs, colour, th, cv2.LINE_AA)
    return out


def _side_points(points: Mapping[str, Point], foot: str | None, stems: Sequence[str]) -> list[Point] | None:
    side = foot if foot in ("left", "right") else "right"
    names = [f"{side}_{s}" for s in stems]
    if not all(n in points for n in names):
        return None
    return [points[n] for n in names]


def draw_overstride(image: np.ndarray, points: Mapping[str, Point], foot: str | None) -> np.ndarray:
    """Heel-to-hip horizontal distance at contact: a plumb line from the hip and the gap.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        The contact foot.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    pts = _side_points(points, foot, ("hip", "heel"))
    if pts is None:
        return image.copy()
    hip, heel = pts
    t = _thick(image)
    out = dashed_line(image, hip, (hip[0], heel[1]), REFERENCE_COLOUR, t)
    cv2.arrowedLine(out, _pt((hip[0], heel[1])), _pt(heel), GEOMETRY_COLOUR, t + 1, cv2.LINE_AA, tipLength=0.15)
    cv2.circle(out, _pt(heel), t + 4, GEOMETRY_COLOUR, t, cv2.LINE_AA)
    return out


def draw_shank(image: np.ndarray, points: Mapping[str, Point], foot: str | None) -> np.ndarray:
    """The shank (knee to ankle) against the vertical through the knee.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        The contact foot.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    pts = _side_points(points, foot, ("knee", "ankle"))
    if pts is None:
        return image.copy()
    knee, ankle = pts
    t = _thick(image)
    length = float(np.hypot(ankle[0] - knee[0], ankle[1] - knee[1]))
    out = dashed_line(image, knee, (knee[0], knee[1] + length), REFERENCE_COLOUR, t)
    cv2.line(out, _pt(knee), _pt(ankle), GEOMETRY_COLOUR, t + 2, cv2.LINE_AA)
    ang = float(np.degrees(np.arctan2(ankle[0] - knee[0], ankle[1] - knee[1])))
    start, end = sorted((90.0, 90.0 - ang))
    r = int(length * 0.45)
    cv2.ellipse(out, _pt(knee), (r, r), 0.0, start, end, GEOMETRY_COLOUR, t, cv2.LINE_AA)
    return out


def draw_knee_angle(image: np.ndarray, points: Mapping[str, Point], foot: str | None) -> np.ndarray:
    """Thigh and shank of one leg, with the thigh line extended past the knee.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        The leg.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    pts = _side_points(points, foot, ("hip", "knee", "ankle"))
    if pts is None:
        return image.copy()
    hip, knee, ankle = (np.asarray(p, float) for p in pts)
    t = _thick(image)
    thigh = max(float(np.linalg.norm(knee - hip)), 1e-6)
    ext = knee + (knee - hip) * (float(np.linalg.norm(ankle - knee)) / thigh)
    out = dashed_line(image, tuple(knee), tuple(ext), REFERENCE_COLOUR, t)
    cv2.line(out, _pt(tuple(hip)), _pt(tuple(knee)), GEOMETRY_COLOUR, t + 2, cv2.LINE_AA)
    cv2.line(out, _pt(tuple(knee)), _pt(tuple(ankle)), GEOMETRY_COLOUR, t + 2, cv2.LINE_AA)
    return out


def draw_fppa(image: np.ndarray, points: Mapping[str, Point], foot: str | None) -> np.ndarray:
    """FPPA: thigh and shank lines and the hip-ankle line the knee is compared to.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        The stance leg.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    pts = _side_points(points, foot, ("hip", "knee", "ankle"))
    if pts is None:
        return image.copy()
    hip, _, ankle = pts
    out = draw_knee_angle(image, points, foot)
    return dashed_line(out, hip, ankle, LEVEL_COLOUR["watch"], _thick(image), dash=6)


def draw_pelvis(image: np.ndarray, points: Mapping[str, Point], foot: str | None) -> np.ndarray:
    """The hip-to-hip line against the horizontal.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        Stance foot (unused; both hips are drawn).

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    if "left_hip" not in points or "right_hip" not in points:
        return image.copy()
    a, b = points["left_hip"], points["right_hip"]
    t = _thick(image)
    half = abs(b[0] - a[0]) * 0.8 + 20
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    out = dashed_line(image, (mid[0] - half, mid[1]), (mid[0] + half, mid[1]), REFERENCE_COLOUR, t)
    cv2.line(out, _pt(a), _pt(b), GEOMETRY_COLOUR, t + 2, cv2.LINE_AA)
    return out


def draw_trunk(image: np.ndarray, points: Mapping[str, Point], foot: str | None) -> np.ndarray:
    """The shoulder-midpoint to hip-midpoint line against the vertical.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        Unused.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    names = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    if not all(n in points for n in names):
        return image.copy()
    sh = ((points[names[0]][0] + points[names[1]][0]) / 2, (points[names[0]][1] + points[names[1]][1]) / 2)
    hp = ((points[names[2]][0] + points[names[3]][0]) / 2, (points[names[2]][1] + points[names[3]][1]) / 2)
    t = _thick(image)
    out = dashed_line(image, hp, (hp[0], sh[1]), REFERENCE_COLOUR, t)
    cv2.line(out, _pt(hp), _pt(sh), GEOMETRY_COLOUR, t + 2, cv2.LINE_AA)
    return out


def draw_contact(image: np.ndarray, points: Mapping[str, Point], foot: str | None) -> np.ndarray:
    """A ring around the contact foot's heel and toe.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        The contact foot.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    out = image.copy()
    if foot not in ("left", "right"):
        return out
    t = _thick(image)
    for stem in ("heel", "foot_index", "ankle"):
        p = points.get(f"{foot}_{stem}")
        if p is not None:
            cv2.circle(out, _pt(p), int(14 * _scale(image)) + 4, CONTACT_COLOUR, t, cv2.LINE_AA)
            break
    return out


def draw_overstride_and_shank(
    image: np.ndarray, points: Mapping[str, Point], foot: str | None
) -> np.ndarray:
    """Both overstride measures: heel-to-hip distance and shank against vertical.

    Parameters
    ----------
    image : numpy.ndarray
        RGB frame.
    points : mapping
        Keypoint pixels by name.
    foot : str or None
        The contact foot.

    Returns
    -------
    numpy.ndarray
        A new image.
    """
    return draw_shank(draw_overstride(image, points, foot), points, foot)


_DRAWERS = {
    "overstride": draw_overstride_and_shank,
    "shank": draw_shank,
    "knee": draw_knee_angle,
    "fppa": draw_fppa,
    "pelvis": draw_pelvis,
    "trunk": draw_trunk,
    "contact": draw_contact,
    "hip": draw_trunk,
}


def annotate_flagged(
    image: np.ndarray, points: Mapping[str, Point], flagged: FlaggedFrame, *, title: str = ""
) -> np.ndarray:
    """One flagged frame: skeleton, the measured geometry, the value and its band.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB frame.
    points : mapping
        Keypoint pixels by name (see :func:`formcheck.overlay.frame_points`).
    flagged : FlaggedFrame
        The frame, metric, value, band and geometry to draw.
    title : str
        Headline (e.g. the finding's title).

    Returns
    -------
    numpy.ndarray
        A new annotated image.
    """
    out = draw_skeleton(image, dict(points))
    drawer = _DRAWERS.get(flagged.geometry)
    if drawer is not None:
        out = drawer(out, points, flagged.foot)
    out = draw_contact(out, points, flagged.foot) if flagged.geometry != "contact" else out
    foot = f" ({flagged.foot} foot)" if flagged.foot else ""
    lines = [t for t in (
        title,
        f"{flagged.label or flagged.metric}: {flagged.value:.1f} {flagged.unit}{foot}",
        f"{flagged.band_text} -> {LEVEL_WORDS.get(flagged.level, flagged.level)}",
        f"frame {flagged.frame}, t = {flagged.time_s:.2f} s",
    ) if t]
    return text_box(out, _ascii(lines), accent=LEVEL_COLOUR[flagged.level])


def annotate_video_frame(
    image: np.ndarray,
    points: Mapping[str, Point],
    *,
    in_contact: Sequence[str] = (),
    contact_now: Sequence[str] = (),
    lines: Sequence[str] = (),
) -> np.ndarray:
    """One frame of the annotated video: skeleton, contact markers, live values.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB frame.
    points : mapping
        Keypoint pixels by name.
    in_contact : sequence of str
        Feet on the ground in this frame (small marker).
    contact_now : sequence of str
        Feet whose initial contact is this frame (large marker).
    lines : sequence of str
        Live metric values to show.

    Returns
    -------
    numpy.ndarray
        A new annotated image.
    """
    out = draw_skeleton(image, dict(points))
    t = _thick(image)
    for foot in in_contact:
        p = points.get(f"{foot}_heel") or points.get(f"{foot}_ankle")
        if p is not None:
            colour = LEFT_COLOUR if foot == "left" else RIGHT_COLOUR
            cv2.rectangle(out, (_pt(p)[0] - 6 * t, _pt(p)[1] + 3 * t),
                          (_pt(p)[0] + 6 * t, _pt(p)[1] + 5 * t), colour, -1)
    for foot in contact_now:
        out = draw_contact(out, points, foot)
    return text_box(out, _ascii(list(lines)))


def _ascii(lines: Sequence[str]) -> list[str]:
    """OpenCV's Hershey fonts draw ASCII only."""
    table = str.maketrans({"±": "+/-", "°": " deg", "–": "-", "—": "-", "≤": "<=", "≥": ">="})
    return [s.translate(table).encode("ascii", "replace").decode("ascii") for s in lines]


def blank_frame(width: int, height: int) -> np.ndarray:
    """A dark frame to draw on when the source clip is not available.

    Parameters
    ----------
    width, height : int
        Frame size.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` uint8 RGB.
    """
    return np.full((height, width, 3), 40, dtype=np.uint8)


__all__ = [
    "annotate_flagged",
    "annotate_video_frame",
    "blank_frame",
    "dashed_line",
    "draw_contact",
    "draw_fppa",
    "draw_knee_angle",
    "draw_overstride",
    "draw_pelvis",
    "draw_shank",
    "draw_trunk",
    "text_box",
]
