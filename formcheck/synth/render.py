"""Draw the synthetic runner on a gym-like treadmill scene (pure, no I/O).

The figure is a shaded, 3D-looking humanoid: limbs are capsules drawn as
nested anti-aliased strokes (dark rim to bright core, offset towards the
light), the torso and shoes are shaded convex hulls of 3D outlines, the head
has hair and a face. Parts are painted back to front by camera depth, and
parts on the far side of the body are darkened. MediaPipe detects this figure
reliably; a flat stick figure it does not.

The static scene (wall, floor, treadmill) is rendered once per clip; each
frame copies it, scrolls the belt texture at belt speed and draws the runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from formcheck.landmarks import SIDES
from formcheck.synth.kinematics import Camera, Gait, frame_times, joints_3d, solve_gait
from formcheck.synth.params import SynthParams

Colour = tuple[int, int, int]
_SHIFT = 4
"""Sub-pixel bits for cv2 drawing (coordinates are multiplied by 16)."""
_LIGHT = np.array([-0.45, -0.89])
"""Image-space direction towards the light (upper left)."""


@dataclass(frozen=True)
class Palette:
    """Colours (RGB) of one runner style."""

    skin: Colour
    shirt: Colour
    shorts: Colour
    shoe: Colour
    sole: Colour
    hair: Colour
    ponytail: bool


def palette_for_style(style: Literal["a", "b"]) -> Palette:
    """Return the colours of runner style ``"a"`` or ``"b"``.

    Parameters
    ----------
    style : {"a", "b"}
        Runner style.

    Returns
    -------
    Palette
        Colours; style ``"a"`` is a light-skinned runner in a blue shirt with
        short dark hair, ``"b"`` a dark-skinned runner in a red shirt with a
        black ponytail.
    """
    if style == "a":
        return Palette(
            skin=(222, 170, 135), shirt=(40, 95, 200), shorts=(38, 38, 46),
            shoe=(235, 235, 240), sole=(200, 50, 45), hair=(70, 45, 25), ponytail=False,
        )  # fmt: skip
    return Palette(
        skin=(125, 82, 58), shirt=(215, 65, 50), shorts=(55, 70, 110),
        shoe=(225, 230, 40), sole=(30, 30, 30), hair=(20, 18, 18), ponytail=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Scene:
    """The pre-rendered static scene and the belt's moving-texture map.

    Attributes
    ----------
    background : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB image of everything static.
    belt_index : tuple of numpy.ndarray
        Row and column indices of the visible belt pixels.
    belt_x_mm : numpy.ndarray
        World ``x`` (mm, integer) of each belt pixel.
    belt_texture : numpy.ndarray
        ``(period_mm, 3)`` uint8 colours of the belt along its length.
    belt_speed_mm : float
        Belt speed in mm/s.
    """

    background: np.ndarray
    belt_index: tuple[np.ndarray, np.ndarray]
    belt_x_mm: np.ndarray
    belt_texture: np.ndarray
    belt_speed_mm: float


# ---------------------------------------------------------------------------
# colour and primitive helpers


def _scale(colour: Colour | np.ndarray, factor: float) -> Colour:
    """Multiply a colour by ``factor`` and clip to 0-255."""
    c = np.clip(np.asarray(colour, dtype=float) * factor, 0, 255)
    return (int(c[0]), int(c[1]), int(c[2]))


def _fix(pts: np.ndarray) -> np.ndarray:
    """Pixel coordinates to cv2 fixed-point integers."""
    return np.round(np.asarray(pts) * (1 << _SHIFT)).astype(np.int32)


def draw_capsule(img: np.ndarray, p0: np.ndarray, p1: np.ndarray, radius: float, colour: Colour) -> None:
    """Draw a cylinder-shaded capsule between two pixel points (in place).

    Parameters
    ----------
    img : numpy.ndarray
        RGB image to draw on.
    p0, p1 : numpy.ndarray
        End points (pixels).
    radius : float
        Capsule radius (pixels).
    colour : tuple of int
        Mid-tone colour; the rim is darker and the core brighter.
    """
    d = p1 - p0
    norm = float(np.hypot(d[0], d[1]))
    perp = np.array([-d[1], d[0]]) / norm if norm > 1e-6 else np.array([0.0, -1.0])
    if perp @ _LIGHT < 0:
        perp = -perp
    for frac, bright, off in ((1.0, 0.55, 0.0), (0.82, 0.78, 0.12), (0.6, 0.98, 0.22), (0.32, 1.16, 0.34)):
        thick = max(1, int(round(2 * radius * frac)))
        shift = perp * radius * off
        a, b = _fix(p0 + shift), _fix(p1 + shift)
        cv2.line(
            img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), _scale(colour, bright), thick, cv2.LINE_AA, _SHIFT
        )


def draw_shaded_hull(img: np.ndarray, pts: np.ndarray, colour: Colour) -> None:
    """Fill the convex hull of ``pts`` with nested, light-offset shading (in place).

    Parameters
    ----------
    img : numpy.ndarray
        RGB image.
    pts : numpy.ndarray
        ``(n, 2)`` pixel points.
    colour : tuple of int
        Mid-tone colour.
    """
    hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(float)
    centre = hull.mean(axis=0)
    size = float(np.sqrt(max(cv2.contourArea(hull.astype(np.float32)), 1.0)))
    for frac, bright in ((1.0, 0.6), (0.86, 0.8), (0.66, 0.97), (0.4, 1.1)):
        shifted = centre + (hull - centre) * frac + _LIGHT * size * 0.18 * (1.0 - frac)
        cv2.fillConvexPoly(img, _fix(shifted), _scale(colour, bright), cv2.LINE_AA, _SHIFT)


def draw_ball(img: np.ndarray, centre: np.ndarray, radius: float, colour: Colour) -> None:
    """Draw a sphere-shaded disc (in place)."""
    for frac, bright in ((1.0, 0.6), (0.85, 0.8), (0.62, 0.98), (0.35, 1.12)):
        c = _fix(centre + _LIGHT * radius * (1.0 - frac) * 0.6)
        cv2.circle(img, (int(c[0]), int(c[1])), int(round(radius * frac * (1 << _SHIFT))),
                   _scale(colour, bright), -1, cv2.LINE_AA, _SHIFT)  # fmt: skip


# ---------------------------------------------------------------------------
# static scene


def _box_faces(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> list[np.ndarray]:
    """The six faces of an axis-aligned box, as (4, 3) corner arrays."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    return [
        np.array([[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]]),  # top
        np.array([[x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1]]),  # bottom
        np.array([[x0, y0, z0], [x0, y1, z0], [x0, y1, z1], [x0, y0, z1]]),  # back (-x)
        np.array([[x1, y0, z0], [x1, y1, z0], [x1, y1, z1], [x1, y0, z1]]),  # front (+x)
        np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0]]),  # -z
        np.array([[x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]]),  # +z
    ]


_FACE_SHADE = (1.15, 0.5, 0.8, 0.8, 0.7, 0.7)
"""Brightness of box faces (top, bottom, back, front, sides) under overhead light."""


def _treadmill_boxes() -> list[tuple[tuple[float, float, float], tuple[float, float, float], Colour]]:
    """Boxes (lo, hi, colour) of the treadmill, in metres (belt top at y = 0)."""
    dark, grey, rail, console = (48, 50, 56), (95, 98, 105), (175, 178, 185), (40, 42, 50)
    return [
        ((-0.98, -0.2, -0.42), (1.0, -0.005, 0.42), dark),  # deck body
        ((-0.98, -0.2, 0.25), (1.0, 0.012, 0.42), grey),  # left side cover
        ((-0.98, -0.2, -0.42), (1.0, 0.012, -0.25), grey),  # right side cover
        ((1.0, -0.2, -0.42), (1.3, 0.13, 0.42), dark),  # motor hood
        ((1.12, 0.1, 0.36), (1.18, 1.2, 0.42), rail),  # left upright
        ((1.12, 0.1, -0.42), (1.18, 1.2, -0.36), rail),  # right upright
        ((1.02, 1.12, -0.36), (1.24, 1.38, 0.36), console),  # console
        ((0.5, 0.96, 0.38), (1.15, 1.0, 0.42), rail),  # left handrail (ahead of the hips)
        ((0.5, 0.96, -0.42), (1.15, 1.0, -0.38), rail),  # right handrail
    ]


def _fill_world_quad(img: np.ndarray, cam: Camera, quad: np.ndarray, colour: Colour) -> None:
    """Project and fill a 3D quad if it is in front of the camera."""
    if np.any(cam.depth(quad) <= 0.05):
        return
    cv2.fillConvexPoly(img, _fix(cam.project(quad)), colour, cv2.LINE_AA, _SHIFT)


def render_scene(params: SynthParams, gait: Gait) -> Scene:
    """Render the static background once and map the belt pixels.

    Parameters
    ----------
    params : SynthParams
        Clip parameters (size, view, seed).
    gait : Gait
        Solved gait (camera, belt speed).

    Returns
    -------
    Scene
        Background image and belt texture mapping.
    """
    cam = gait.camera
    h, w = params.height, params.width
    rng = np.random.default_rng(params.seed)
    img = np.empty((h, w, 3), dtype=np.uint8)
    floor_y = -0.2
    wall_dist = 2.6  # wall behind the runner, seen by the camera
    # Where the floor meets the wall (image row), from a point on that line.
    if cam.view == "rear":
        junction = np.array([[wall_dist + 1.5, floor_y, 0.0]])
    else:
        far_z = wall_dist if cam.facing == "right" else -wall_dist
        junction = np.array([[0.0, floor_y, far_z]])
    row = int(np.clip(cam.project(junction)[0, 1], 0, h))
    wall_top, wall_bot = np.array([205, 200, 188]), np.array([176, 170, 160])
    ramp = np.linspace(0.0, 1.0, max(row, 1))[:, None]
    img[:row] = (wall_top * (1 - ramp) + wall_bot * ramp).astype(np.uint8)[:, None, :]
    floor_a, floor_b = np.array([120, 104, 88]), np.array([92, 78, 66])
    ramp = np.linspace(0.0, 1.0, max(h - row, 1))[:, None]
    img[row:] = (floor_a * (1 - ramp) + floor_b * ramp).astype(np.uint8)[:, None, :]
    # Wall decoration: a skirting board, a stripe and two posters / a window.
    cv2.rectangle(img, (0, row - max(2, h // 90)), (w, row), (150, 145, 138), -1)
    stripe = int(row * 0.42)
    cv2.rectangle(img, (0, stripe), (w, stripe + max(3, h // 60)), (70, 120, 160), -1)
    for k in range(3):
        cx = int(w * (0.12 + 0.38 * k + rng.uniform(-0.04, 0.04)))
        cy = int(row * 0.2)
        pw, ph = int(w * 0.09), int(row * 0.16)
        colour = tuple(int(c) for c in rng.integers(60, 200, size=3))
        cv2.rectangle(img, (cx - pw, cy - ph), (cx + pw, cy + ph), (235, 235, 230), -1, cv2.LINE_AA)
        cv2.rectangle(img, (cx - pw + 4, cy - ph + 4), (cx + pw - 4, cy + ph - 4), colour, -1, cv2.LINE_AA)
    # Floor planks (subtle lines).
    for k in range(1, 8):
        y = row + int((h - row) * (k / 8.0) ** 1.6)
        cv2.line(img, (0, y), (w, y), (100, 86, 72), 1, cv2.LINE_AA)
    # Rubber mat under the treadmill.
    mat = np.array([[-1.3, floor_y, -0.7], [1.6, floor_y, -0.7], [1.6, floor_y, 0.7], [-1.3, floor_y, 0.7]])
    _fill_world_quad(img, cam, mat, (45, 45, 48))
    # Treadmill faces, far to near, with back-face culling.
    faces: list[tuple[float, np.ndarray, Colour]] = []
    cam_pos = _camera_position(cam)
    for lo, hi, colour in _treadmill_boxes():
        centre = (np.array(lo) + np.array(hi)) / 2
        for face, shade in zip(_box_faces(lo, hi), _FACE_SHADE, strict=True):
            fc = face.mean(axis=0)
            normal = np.sign(fc - centre) * (np.abs(fc - centre) > 1e-9)
            if normal @ (cam_pos - fc) <= 0:
                continue
            faces.append((float(cam.depth(fc)), face, _scale(colour, shade)))
    faces.sort(key=lambda f: -f[0])
    for _, face, colour in faces:
        _fill_world_quad(img, cam, face, colour)
    # Belt surface: pixels inside the belt quad, with their world x.
    belt = np.array([[-0.95, 0.0, -0.25], [0.98, 0.0, -0.25], [0.98, 0.0, 0.25], [-0.95, 0.0, 0.25]])
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.fillConvexPoly(mask, _fix(cam.project(belt)), 255, cv2.LINE_8, _SHIFT)
    rows, cols = np.nonzero(mask)
    below = rows.astype(float) + 0.5 - cam.cy
    keep = below > 1e-3
    rows, cols, below = rows[keep], cols[keep], below[keep]
    depth = cam.focal_px * cam.height_m / below
    lateral = (cols.astype(float) + 0.5 - cam.cx) * depth / cam.focal_px
    if cam.view == "rear":
        x_world = depth - cam.distance_m
    else:
        x_world = lateral * cam.direction
    period = 1200
    xs = np.arange(period) / 1000.0
    base = 52 + 6 * np.sin(2 * np.pi * xs / 0.05) + rng.normal(0, 4, period)
    base += 40 * (np.mod(xs, 0.3) < 0.018)  # transverse seams every 30 cm
    texture = np.clip(np.stack([base, base, base * 1.05], axis=-1), 0, 255).astype(np.uint8)
    return Scene(
        background=img,
        belt_index=(rows, cols),
        belt_x_mm=np.round(x_world * 1000).astype(np.int64),
        belt_texture=texture,
        belt_speed_mm=gait.belt_speed * 1000.0,
    )


def _camera_position(cam: Camera) -> np.ndarray:
    """World position of the camera centre."""
    if cam.view == "rear":
        return np.array([-cam.distance_m, cam.height_m, 0.0])
    z = -cam.distance_m if cam.facing == "right" else cam.distance_m
    return np.array([0.0, cam.height_m, z])


# ---------------------------------------------------------------------------
# the runner


def _ellipse_ring(centre: np.ndarray, axis_up: np.ndarray, half_x: float, half_z: float, n: int = 10) -> np.ndarray:
    """Points of a horizontal-ish ellipse around ``centre`` (perpendicular to ``axis_up``)."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    fwd = np.array([axis_up[1], -axis_up[0], 0.0])  # forward, perpendicular to the trunk axis
    lat = np.array([0.0, 0.0, 1.0])
    return centre + np.cos(ang)[:, None] * half_x * fwd + np.sin(ang)[:, None] * half_z * lat


def _shoe_points(heel: np.ndarray, toe: np.ndarray, half_width: float) -> np.ndarray:
    """3D outline points of a shoe from its heel (back-bottom) and toe tip (sole front)."""
    along = toe - heel
    length = float(np.linalg.norm(along))
    along /= length
    up = np.array([-along[1], along[0], 0.0])
    lat = np.array([0.0, 0.0, 1.0])
    prof = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.03], [0.95, 0.055], [0.8, 0.07],
                     [0.45, 0.085], [0.15, 0.095], [-0.02, 0.08], [-0.03, 0.03]])  # fmt: skip
    prof[:, 0] *= length
    pts = []
    for side_off in (-half_width, half_width):
        for px, py in prof:
            taper = 0.75 if px < 0.2 * length else 1.0
            pts.append(heel + px * along + py * up + side_off * taper * lat)
    return np.array(pts)


def _shade_for_depth(depth: float, ref: float) -> float:
    """Brightness factor: parts farther than the body centre are darker."""
    return float(np.clip(1.0 - 1.4 * (depth - ref), 0.7, 1.08))


def draw_runner(img: np.ndarray, cam: Camera, gait: Gait, joints: dict[str, np.ndarray], palette: Palette) -> None:
    """Draw the runner for one instant (in place).

    Parameters
    ----------
    img : numpy.ndarray
        RGB frame (upright).
    cam : Camera
        Camera.
    gait : Gait
        Solved gait (body sizes).
    joints : dict of str to numpy.ndarray
        World joints ``(3,)`` of this instant (from :func:`joints_3d`).
    palette : Palette
        Colours.
    """
    body = gait.body
    px_per_m = cam.focal_px / cam.distance_m
    ref = cam.distance_m
    items: list[tuple[float, int, object]] = []

    def depth(*names: str) -> float:
        return float(np.mean([cam.depth(joints[n]) for n in names]))

    def proj(p: np.ndarray) -> np.ndarray:
        return cam.project(p)

    def radius(r_m: float, at: np.ndarray) -> float:
        return r_m * cam.focal_px / float(cam.depth(at))

    # Legs: thigh, shank, shoe, shorts sleeve, as one group per leg.
    leg_r = (0.072, 0.052) if body.height_m > 1.7 else (0.066, 0.047)
    for side in SIDES:
        hip, knee, ankle = joints[f"{side}_hip"], joints[f"{side}_knee"], joints[f"{side}_ankle"]
        heel, toe = joints[f"{side}_heel"], joints[f"{side}_foot_index"]
        dep = depth(f"{side}_hip", f"{side}_knee", f"{side}_ankle")
        k = _shade_for_depth(dep, ref)

        def leg(img: np.ndarray, hip=hip, knee=knee, ankle=ankle, heel=heel, toe=toe, k=k) -> None:
            skin = _scale(palette.skin, k)
            draw_capsule(img, proj(knee), proj(ankle), radius(leg_r[1], knee), skin)
            draw_capsule(img, proj(hip), proj(knee), radius(leg_r[0], hip), skin)
            sleeve_end = hip + 0.42 * (knee - hip)
            draw_capsule(img, proj(hip), proj(sleeve_end), radius(leg_r[0] + 0.012, hip), _scale(palette.shorts, k))
            shoe = proj(_shoe_points(heel, toe, 0.045))
            draw_shaded_hull(img, shoe, _scale(palette.shoe, k))
            lift = 0.012 * np.array([-(toe - heel)[1], (toe - heel)[0], 0.0]) / np.linalg.norm(toe - heel)
            sole = proj(np.array([heel + lift, toe + lift]))
            cv2.polylines(
                img, [_fix(sole)], False, _scale(palette.sole, k), max(1, int(0.02 * px_per_m)), cv2.LINE_AA, _SHIFT
            )

        items.append((dep, 0, leg))

    # Arms.
    arm_r = (0.045, 0.038) if body.height_m > 1.7 else (0.04, 0.034)
    for side in SIDES:
        sh, el, wr = joints[f"{side}_shoulder"], joints[f"{side}_elbow"], joints[f"{side}_wrist"]
        dep = depth(f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist")
        k = _shade_for_depth(dep, ref)

        def arm(img: np.ndarray, sh=sh, el=el, wr=wr, k=k, side=side) -> None:
            skin = _scale(palette.skin, k)
            draw_capsule(img, proj(el), proj(wr), radius(arm_r[1], el), skin)
            draw_capsule(img, proj(sh), proj(el), radius(arm_r[0], sh), skin)
            sleeve = sh + 0.35 * (el - sh)
            draw_capsule(img, proj(sh), proj(sleeve), radius(arm_r[0] + 0.012, sh), _scale(palette.shirt, k))
            draw_ball(img, proj(wr + 0.05 * (wr - el) / np.linalg.norm(wr - el)), radius(0.045, wr), skin)

        items.append((dep, 2, arm))

    # Torso (shorts then shirt) and head.
    mid_hip = 0.5 * (joints["left_hip"] + joints["right_hip"])
    pelvis = mid_hip + np.array([-0.025, 0.0, 0.0])  # the hip joints sit forward of the pelvis centre
    mid_sh = 0.5 * (joints["left_shoulder"] + joints["right_shoulder"])
    axis = (mid_sh - mid_hip) / np.linalg.norm(mid_sh - mid_hip)
    scale = body.height_m / 1.78
    t_dep = float(cam.depth(mid_hip)) + (0.03 if cam.view == "rear" else 0.0)

    def torso(img: np.ndarray) -> None:
        shorts = np.concatenate([
            _ellipse_ring(pelvis - 0.06 * axis, axis, 0.11 * scale, 0.17 * scale),
            _ellipse_ring(pelvis + 0.13 * axis, axis, 0.105 * scale, 0.155 * scale),
        ])  # fmt: skip
        draw_shaded_hull(img, proj(shorts), palette.shorts)
        shirt = np.concatenate([
            _ellipse_ring(pelvis + 0.09 * axis, axis, 0.11 * scale, 0.16 * scale),
            _ellipse_ring(pelvis + 0.3 * axis, axis, 0.115 * scale, 0.165 * scale),
            _ellipse_ring(mid_sh - 0.06 * axis, axis, 0.12 * scale, 0.19 * scale),
            _ellipse_ring(mid_sh + 0.03 * axis, axis, 0.07 * scale, 0.14 * scale),
        ])  # fmt: skip
        draw_shaded_hull(img, proj(shirt), palette.shirt)

    items.append((t_dep, 1, torso))
    head_c = joints["head_center"]
    r_head = body.head_radius_m
    h_dep = float(cam.depth(head_c))
    forward = np.array([1.0, 0.0, 0.0])

    def head(img: np.ndarray) -> None:
        draw_capsule(img, proj(mid_sh), proj(joints["neck"] + 0.05 * axis), radius(0.052 * scale, mid_sh), palette.skin)
        hc = proj(head_c)
        rp = radius(r_head, head_c)
        if cam.view == "rear":
            draw_ball(img, hc, rp, palette.skin)
            for side in SIDES:
                draw_ball(img, proj(joints[f"{side}_ear"]), rp * 0.22, palette.skin)
            draw_ball(img, proj(head_c + np.array([-0.01, 0.015, 0.0])), rp * 0.97, palette.hair)
            if palette.ponytail:
                p0 = head_c + np.array([-r_head, 0.02, 0.0])
                draw_capsule(img, proj(p0), proj(p0 + np.array([-0.05, -0.16, 0.0])), rp * 0.28, palette.hair)
            return
        if palette.ponytail:
            p0 = head_c + np.array([-r_head * 0.9, 0.03, 0.0])
            draw_capsule(img, proj(p0), proj(p0 + np.array([-0.07, -0.15, 0.0])), rp * 0.28, palette.hair)
        draw_ball(img, hc, rp, palette.skin)
        hair_c = proj(head_c + np.array([-0.022, 0.022, 0.0]))
        draw_ball(img, hair_c, rp * 0.93, palette.hair)
        face_c = proj(head_c + r_head * np.array([0.32, -0.2, 0.0]))
        draw_ball(img, face_c, rp * 0.7, palette.skin)
        draw_ball(img, proj(joints["nose"] + 0.004 * forward), rp * 0.2, _scale(palette.skin, 0.95))
        near = "right" if cam.facing == "right" else "left"
        draw_ball(img, proj(joints[f"{near}_ear"]), rp * 0.2, _scale(palette.skin, 0.9))
        eye = proj(joints[f"{near}_eye"])
        cv2.circle(img, (int(eye[0]), int(eye[1])), max(1, int(rp * 0.09)), (30, 25, 25), -1, cv2.LINE_AA)

    items.append((h_dep - 0.2, 3, head))
    for _, _, fn in sorted(items, key=lambda it: (-it[0], it[1])):
        fn(img)  # type: ignore[operator]


def _upright_to_stored(frame: np.ndarray, rotate: bool) -> np.ndarray:
    """Turn an upright frame into stored pixels (rotated 90 deg clockwise if ``rotate``)."""
    return np.ascontiguousarray(np.rot90(frame, k=-1)) if rotate else frame


def render_frame(
    scene: Scene,
    gait: Gait,
    joints: dict[str, np.ndarray],
    time_s: float,
    palette: Palette,
    with_runner: bool = True,
) -> np.ndarray:
    """Render one upright RGB frame.

    Parameters
    ----------
    scene : Scene
        Pre-rendered background (from :func:`render_scene`).
    gait : Gait
        Solved gait.
    joints : dict of str to numpy.ndarray
        World joints of this instant, ``(3,)`` each.
    time_s : float
        Time, for the belt texture.
    palette : Palette
        Runner colours.
    with_runner : bool, default True
        Draw the runner (False: the empty treadmill).

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    """
    img = scene.background.copy()
    period = scene.belt_texture.shape[0]
    offset = int(round(scene.belt_speed_mm * time_s))
    img[scene.belt_index] = scene.belt_texture[np.mod(scene.belt_x_mm + offset, period)]
    if with_runner:
        draw_runner(img, gait.camera, gait, joints, palette)
    return img


def render_frames(params: SynthParams, stored: bool = False) -> Iterator[np.ndarray]:
    """Yield the clip's RGB frames in order.

    Parameters
    ----------
    params : SynthParams
        Clip parameters.
    stored : bool, default False
        If True and ``params.rotate_metadata`` applies (portrait), yield the
        pixels as stored in the file (landscape, upright image rotated 90 deg
        clockwise); otherwise yield upright frames.

    Yields
    ------
    numpy.ndarray
        ``uint8`` RGB frames.
    """
    gait = solve_gait(params)
    scene = render_scene(params, gait)
    palette = palette_for_style(params.style)
    times = frame_times(params)
    joints = joints_3d(gait, times)
    rotate = stored and params.rotate_metadata and params.portrait
    for i, t in enumerate(times):
        frame_joints = {name: arr[i] for name, arr in joints.items()}
        img = render_frame(scene, gait, frame_joints, float(t), palette, params.with_runner)
        yield _upright_to_stored(img, rotate)
