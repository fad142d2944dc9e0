"""A 3D treadmill-running gait with exact contact events, and its pinhole projection.

Pure numpy: no I/O, no drawing.

World frame (metres)
--------------------
``x`` forward (running direction), ``y`` up with the belt surface at ``y = 0``,
``z`` lateral, positive towards the runner's **left**. The pelvis stays at
``x = 0`` (treadmill) and oscillates vertically twice per stride, lowest at
each midstance. The belt moves backwards at ``belt_speed``.

Gait
----
Stride time ``T = 120 / cadence``. Right initial contacts (IC) are at
``t = (k - start_phase) T``, left ones half a stride later; toe-off (TO) is
``IC + duty T``. In stance the foot rolls: about the heel (toes up at IC,
rotating flat), flat, then about the toe (heel rising); the pivot moves
backwards at belt speed and has height exactly 0, so the foot touches the belt
for exactly ``[IC, TO]``. In swing the heel follows a Hermite path with a lift
that is strictly positive inside the swing, so no foot point touches the belt.
The knee comes from two-link inverse kinematics (bending forward), rotated
medially about the hip-ankle axis during stance to create valgus.

Derived quantities
------------------
The hip height is chosen so the knee flexion at IC is a plausible function of
the overstride (straighter knee when overstriding), and the belt speed as the
fastest for which the knee stays at least 20 deg flexed in late stance. The
heel lands exactly ``overstride_pct_leg`` % of leg length ahead of the pelvis
in 3D for both feet; in a side view perspective makes the *projected* value
of the near foot about 2% (relative) larger and of the far foot 2% smaller,
and the truth reports those projected values. The medial knee rotation per
leg is solved so the projected rear- or front-view FPPA peaks at exactly the
requested value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from scipy.optimize import brentq

from formcheck.errors import FormcheckError
from formcheck.landmarks import KEYPOINT_NAMES, SIDES, Side

if TYPE_CHECKING:
    from formcheck.synth.params import SynthParams

EventKind = Literal["initial_contact", "toe_off"]

CAMERA_DISTANCE_M = 3.5
"""Distance from the camera to the runner's midplane (side) or pelvis (rear, front)."""

HEEL_ROCKER_END = 0.18
"""Fraction of stance at which the foot becomes flat after rolling about the heel."""

TOE_ROCKER_START = 0.55
"""Fraction of stance at which the heel starts to rise (rolling about the toe)."""

FPPA_SAMPLES = 2001
"""Samples per stance used to locate the peak of the projected FPPA."""

KNEE_FLEXION_TO_DEG = 20.0
"""Knee flexion at toe-off used to derive the belt speed."""


@dataclass(frozen=True)
class Body:
    """Segment lengths and motion amplitudes of one synthetic runner (metres, degrees)."""

    height_m: float
    thigh_m: float
    shank_m: float
    ankle_height_m: float
    heel_to_ankle_m: float
    foot_length_m: float
    hip_half_width_m: float
    foot_half_width_m: float
    shoulder_half_width_m: float
    trunk_m: float
    neck_m: float
    head_radius_m: float
    upper_arm_m: float
    forearm_m: float
    foot_angle_ic_deg: float
    foot_angle_to_deg: float
    swing_lift_m: float
    vertical_amplitude_m: float
    arm_swing_deg: float
    elbow_flexion_deg: float

    @property
    def leg_length_m(self) -> float:
        """Hip-to-ankle length of the straight leg (thigh + shank)."""
        return self.thigh_m + self.shank_m


def body_for_style(style: Literal["a", "b"]) -> Body:
    """Return the body of runner style ``"a"`` (tall) or ``"b"`` (shorter, slimmer).

    Parameters
    ----------
    style : {"a", "b"}
        Runner style.

    Returns
    -------
    Body
        Segment lengths and motion amplitudes.
    """
    if style == "a":
        return Body(
            height_m=1.78, thigh_m=0.445, shank_m=0.435, ankle_height_m=0.085,
            heel_to_ankle_m=0.065, foot_length_m=0.275, hip_half_width_m=0.09,
            foot_half_width_m=0.07, shoulder_half_width_m=0.19, trunk_m=0.50,
            neck_m=0.10, head_radius_m=0.105, upper_arm_m=0.30, forearm_m=0.27,
            foot_angle_ic_deg=10.0, foot_angle_to_deg=32.0, swing_lift_m=0.30,
            vertical_amplitude_m=0.035, arm_swing_deg=32.0, elbow_flexion_deg=88.0,
        )  # fmt: skip
    return Body(
        height_m=1.64, thigh_m=0.40, shank_m=0.40, ankle_height_m=0.08,
        heel_to_ankle_m=0.06, foot_length_m=0.25, hip_half_width_m=0.085,
        foot_half_width_m=0.065, shoulder_half_width_m=0.17, trunk_m=0.46,
        neck_m=0.09, head_radius_m=0.10, upper_arm_m=0.27, forearm_m=0.245,
        foot_angle_ic_deg=6.0, foot_angle_to_deg=28.0, swing_lift_m=0.26,
        vertical_amplitude_m=0.03, arm_swing_deg=28.0, elbow_flexion_deg=80.0,
    )  # fmt: skip


@dataclass(frozen=True)
class Camera:
    """A level pinhole camera looking at the runner from the side, behind or in front.

    Attributes
    ----------
    view : {"side", "rear", "front"}
        Camera placement.
    facing : {"left", "right"}
        Side view: image direction of the runner's forward ``+x``.
    distance_m : float
        Distance to the runner's midplane (side) or to the pelvis (rear, front).
    height_m : float
        Camera height above the belt (the runner's mean hip height).
    focal_px, cx, cy : float
        Intrinsics; the principal point is shifted vertically so the runner is
        centred while the camera stays level.
    width, height : int
        Upright image size.
    """

    view: Literal["side", "rear", "front"]
    facing: Literal["left", "right"]
    distance_m: float
    height_m: float
    focal_px: float
    cx: float
    cy: float
    width: int
    height: int

    def to_camera(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (image-rightward, upward, depth) camera coordinates of world points.

        Parameters
        ----------
        points : numpy.ndarray
            Array ``(..., 3)`` of world ``x, y, z``.

        Returns
        -------
        tuple of numpy.ndarray
            Lateral (image right), vertical (world up, relative to camera height)
            and depth (along the optical axis), each of shape ``(...)``.
        """
        x, y, z = points[..., 0], points[..., 1], points[..., 2]
        up = y - self.height_m
        if self.view == "rear":
            # Camera behind the runner looking along +x; runner's left (+z) is image left.
            return -z, up, x + self.distance_m
        if self.view == "front":
            # Camera in front looking along -x; runner's left (+z) is image right.
            return z, up, self.distance_m - x
        if self.facing == "right":
            # A runner facing image right shows the camera their right (-z) side.
            return x, up, self.distance_m + z
        # Facing image left: the camera is on the runner's left (+z) side.
        return -x, up, self.distance_m - z

    def depth(self, points: np.ndarray) -> np.ndarray:
        """Depth of world points along the optical axis (metres)."""
        return self.to_camera(points)[2]

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project world points to upright pixel coordinates (x right, y down).

        Parameters
        ----------
        points : numpy.ndarray
            Array ``(..., 3)`` of world points, all in front of the camera.

        Returns
        -------
        numpy.ndarray
            Array ``(..., 2)`` of pixel coordinates.
        """
        lat, up, dep = self.to_camera(points)
        u = self.cx + self.focal_px * lat / dep
        v = self.cy - self.focal_px * up / dep
        return np.stack([u, v], axis=-1)

    @property
    def direction(self) -> int:
        """Image x direction of running: +1 facing right, -1 facing left, 0 rear or front."""
        if self.view in ("rear", "front"):
            return 0
        return 1 if self.facing == "right" else -1


@dataclass(frozen=True)
class Gait:
    """The solved gait: timing, geometry and camera for one :class:`SynthParams`.

    Attributes
    ----------
    body : Body
        Runner body.
    camera : Camera
        Camera used for projection and truth.
    stride_s, contact_s : float
        Stride time and contact time.
    first_ic_s : dict
        A reference IC time per foot (may be negative); ICs repeat every stride.
    belt_speed : float
        Belt speed (m/s).
    hip_mean_m, hip_amplitude_m : float
        Pelvis height oscillation ``mean - amplitude * cos(...)``.
    heel_x_ic : dict
        Heel ``x`` relative to the pelvis at IC per foot (metres).
    valgus_rot_rad : dict
        Peak medial rotation of the knee about the hip-ankle axis per leg.
    trunk_lean_rad : float
        Forward trunk lean.
    leg_length_px : float
        Leg length projected at the runner's midplane depth.
    """

    body: Body
    camera: Camera
    stride_s: float
    contact_s: float
    first_ic_s: dict[Side, float]
    belt_speed: float
    hip_mean_m: float
    hip_amplitude_m: float
    heel_x_ic: dict[Side, float]
    valgus_rot_rad: dict[Side, float]
    trunk_lean_rad: float
    leg_length_px: float


@dataclass(frozen=True)
class GaitEvent:
    """An exact gait event.

    Attributes
    ----------
    foot : {"left", "right"}
        Foot concerned.
    kind : {"initial_contact", "toe_off"}
        Event type.
    time_s : float
        Exact time in seconds from the first frame.
    """

    foot: Side
    kind: EventKind
    time_s: float


class Simulation(NamedTuple):
    """Ground-truth motion sampled at the frame times.

    Attributes
    ----------
    times : numpy.ndarray
        Frame times ``i / fps`` (s).
    joints3d : dict of str to numpy.ndarray
        World positions ``(n, 3)`` per keypoint name (all 33 MediaPipe names).
    joints_px : dict of str to numpy.ndarray
        Upright pixel positions ``(n, 2)`` per keypoint name.
    events : list of GaitEvent
        Events inside ``[0, times[-1]]``, sorted by time.
    """

    times: np.ndarray
    joints3d: dict[str, np.ndarray]
    joints_px: dict[str, np.ndarray]
    events: list[GaitEvent]


# ---------------------------------------------------------------------------
# small helpers


def _rot2(angle: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Rotate 2D vectors ``vec`` (..., 2) counter-clockwise by ``angle`` (rad)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * vec[..., 0] - s * vec[..., 1], s * vec[..., 0] + c * vec[..., 1]], axis=-1)


def _smoothstep(u: np.ndarray) -> np.ndarray:
    """Quintic (minimum-jerk) step from 0 to 1 on ``[0, 1]``."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


def _hermite(u: np.ndarray, p0: float, p1: float, m0: float, m1: float) -> np.ndarray:
    """Cubic Hermite curve on ``[0, 1]`` with end values and end slopes (per unit u)."""
    u2, u3 = u * u, u * u * u
    return (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * m1


def _knee_distance(body: Body, flexion_deg: float) -> float:
    """Hip-ankle distance for a given knee flexion (law of cosines)."""
    a, b = body.thigh_m, body.shank_m
    return float(np.sqrt(a * a + b * b + 2 * a * b * np.cos(np.radians(flexion_deg))))


def _side_sign(side: Side) -> float:
    """+1 for the left side (``+z``), -1 for the right."""
    return 1.0 if side == "left" else -1.0


def knee_flexion_at_ic_deg(overstride_pct_leg: float) -> float:
    """Knee flexion at IC used to place the hip: straighter when overstriding.

    Parameters
    ----------
    overstride_pct_leg : float
        Requested overstride.

    Returns
    -------
    float
        Target 3D knee flexion at IC in degrees (8-30).
    """
    return float(np.clip(20.0 - 0.5 * overstride_pct_leg, 8.0, 30.0))


# ---------------------------------------------------------------------------
# camera and gait solving


def make_camera(params: SynthParams, body: Body, hip_mean_m: float) -> Camera:
    """Build the camera for ``params``: level, at hip height, runner centred.

    Parameters
    ----------
    params : SynthParams
        Clip parameters (view, facing, size, style).
    body : Body
        Runner body (its height sets the vertical framing).
    hip_mean_m : float
        Mean pelvis height, used as the camera height.

    Returns
    -------
    Camera
        The camera. The runner's standing height fills ~76% (style a) or ~70%
        (style b) of a landscape frame, a little less in portrait.
    """
    fill = 0.76 if params.height <= params.width else 0.72
    fill *= body.height_m / 1.78  # style b is a smaller person at the same distance
    focal = fill * params.height * CAMERA_DISTANCE_M / body.height_m
    mid_body = 0.5 * body.height_m
    cy = 0.5 * params.height - focal * (hip_mean_m - mid_body) / CAMERA_DISTANCE_M
    return Camera(
        view=params.view,
        facing=params.facing,
        distance_m=CAMERA_DISTANCE_M,
        height_m=hip_mean_m,
        focal_px=focal,
        cx=0.5 * params.width,
        cy=cy,
        width=params.width,
        height=params.height,
    )


def _foot_offsets(body: Body) -> dict[str, np.ndarray]:
    """Foot points in the foot frame: origin at the heel (back-bottom), x along the sole."""
    return {
        "heel": np.array([0.0, 0.0]),
        "foot_index": np.array([body.foot_length_m, 0.0]),
        "ankle": np.array([body.heel_to_ankle_m, body.ankle_height_m]),
    }


def solve_gait(params: SynthParams) -> Gait:
    """Solve hip height, belt speed, heel placement and valgus rotation.

    Parameters
    ----------
    params : SynthParams
        Clip parameters.

    Returns
    -------
    Gait
        The solved gait.

    Raises
    ------
    FormcheckError
        If the requested overstride or valgus cannot be produced by the leg.
    """
    body = body_for_style(params.style)
    a_len = body.leg_length_m
    stride = params.stride_s
    contact = params.duty_factor * stride
    th_ic = np.radians(body.foot_angle_ic_deg)
    off = _foot_offsets(body)
    dz = body.hip_half_width_m - body.foot_half_width_m
    amp = body.vertical_amplitude_m

    # Hip height at IC from the target knee flexion at IC.
    heel_x_nom = params.overstride_pct_leg / 100.0 * a_len
    ankle_ic = _rot2(np.asarray(th_ic), off["ankle"])
    dx_ic = heel_x_nom + ankle_ic[0]
    d_ic = _knee_distance(body, knee_flexion_at_ic_deg(params.overstride_pct_leg))
    dy_sq = d_ic**2 - dx_ic**2 - dz**2
    if dy_sq < (0.6 * a_len) ** 2:
        raise FormcheckError(
            f"overstride_pct_leg={params.overstride_pct_leg} cannot be reached by the leg; "
            "use a value between -10 and 30."
        )
    hip_ic = float(ankle_ic[1] + np.sqrt(dy_sq))
    # The pelvis is at this height at IC, or at its highest in early stance when
    # duty > 0.5 (no flight phase: the pelvis still rises after IC).
    s_early = np.linspace(0.0, 0.25, 51)
    c_min = float(np.min(np.cos(2 * np.pi * params.duty_factor * (2 * s_early - 1))))
    hip_mean = hip_ic + amp * c_min

    camera = make_camera(params, body, hip_mean)
    heel_x_ic: dict[Side, float] = {"left": heel_x_nom, "right": heel_x_nom}
    first_ic: dict[Side, float] = {
        "right": -params.start_phase * stride,
        "left": -params.start_phase * stride + 0.5 * stride,
    }
    gait = Gait(
        body=body,
        camera=camera,
        stride_s=stride,
        contact_s=contact,
        first_ic_s=first_ic,
        belt_speed=1.0,
        hip_mean_m=hip_mean,
        hip_amplitude_m=amp,
        heel_x_ic=heel_x_ic,
        valgus_rot_rad={"left": 0.0, "right": 0.0},
        trunk_lean_rad=float(np.radians(params.trunk_lean_deg)),
        leg_length_px=camera.focal_px * a_len / camera.distance_m,
    )
    gait = replace(gait, belt_speed=_solve_belt_speed(gait))
    _check_reach(gait)
    targets: dict[Side, float] = {"left": params.valgus_left_deg, "right": params.valgus_right_deg}
    rot: dict[Side, float] = {side: _solve_valgus(gait, side, targets[side]) for side in SIDES}
    return replace(gait, valgus_rot_rad=rot)


def _solve_belt_speed(gait: Gait) -> float:
    """Fastest belt for which the knee stays >= 20 deg flexed in the second half of stance."""
    d_max = _knee_distance(gait.body, KNEE_FLEXION_TO_DEG)

    def excess(speed: float) -> float:
        g = replace(gait, belt_speed=speed)
        worst = -np.inf
        for side in SIDES:
            t = g.first_ic_s[side] + g.contact_s * np.linspace(0.5, 1.0, 101)
            d = np.linalg.norm(foot_points(g, side, t)["ankle"] - hip_joint(g, side, t), axis=-1)
            worst = max(worst, float(np.max(d)))
        return worst - d_max

    lo, hi = 0.3, 12.0
    if excess(lo) > 0:
        raise FormcheckError(
            "These parameters leave no room for the stance leg; lower overstride_pct_leg "
            "or use a duty_factor nearer 0.36."
        )
    if excess(hi) < 0:
        return hi
    return float(brentq(excess, lo, hi, xtol=1e-9))


def _stride_samples(gait: Gait, side: Side, n: int) -> np.ndarray:
    """``n`` times covering one stride of ``side`` starting at an IC."""
    return gait.first_ic_s[side] + gait.stride_s * np.linspace(0.0, 1.0, n, endpoint=False)


def _check_reach(gait: Gait) -> None:
    """Raise if the ankle ever leaves the reach of the leg."""
    limit = gait.body.leg_length_m * (1.0 - 1e-6)
    for side in SIDES:
        t = _stride_samples(gait, side, 600)
        foot = foot_points(gait, side, t)
        hip = hip_joint(gait, side, t)
        if float(np.max(np.linalg.norm(foot["ankle"] - hip, axis=-1))) > limit:
            raise FormcheckError(
                "These parameters stretch the leg beyond its length; lower overstride_pct_leg or raise duty_factor."
            )


def _stance_fraction(gait: Gait, side: Side, t: np.ndarray) -> np.ndarray:
    """Fraction of stance in [0, 1] (NaN in swing)."""
    since = np.mod(t - gait.first_ic_s[side], gait.stride_s)
    s = since / gait.contact_s
    return np.where(s <= 1.0, s, np.nan)


def _solve_valgus(gait: Gait, side: Side, target_deg: float) -> float:
    """Medial knee rotation whose peak projected frontal-view FPPA equals ``target_deg``."""
    if target_deg == 0.0 or gait.camera.view not in ("rear", "front"):
        return 0.0
    t = gait.first_ic_s[side] + gait.contact_s * np.linspace(0.0, 1.0, FPPA_SAMPLES)

    def peak_minus_target(rot: float) -> float:
        g = replace(gait, valgus_rot_rad={**gait.valgus_rot_rad, side: rot})
        fppa = projected_fppa_deg(g, side, t)
        peak = float(np.max(fppa)) if target_deg > 0 else float(np.min(fppa))
        return peak - target_deg

    lo, hi = (0.0, np.radians(85.0)) if target_deg > 0 else (np.radians(-85.0), 0.0)
    f_lo, f_hi = peak_minus_target(lo), peak_minus_target(hi)
    if f_lo * f_hi > 0:
        raise FormcheckError(
            f"A knee angle of {target_deg} deg cannot be produced with these parameters; use a smaller valgus."
        )
    return float(brentq(peak_minus_target, lo, hi, xtol=1e-12, rtol=1e-12))


# ---------------------------------------------------------------------------
# joint trajectories


def hip_height(gait: Gait, t: np.ndarray) -> np.ndarray:
    """Pelvis height: lowest at each midstance, twice per stride."""
    t_mid = gait.first_ic_s["right"] + 0.5 * gait.contact_s
    return gait.hip_mean_m - gait.hip_amplitude_m * np.cos(4.0 * np.pi * (t - t_mid) / gait.stride_s)


def hip_joint(gait: Gait, side: Side, t: np.ndarray) -> np.ndarray:
    """Hip joint centre ``(n, 3)``; the pelvis stays at ``x = 0``."""
    t = np.asarray(t, dtype=float)
    z = _side_sign(side) * gait.body.hip_half_width_m
    return np.stack([np.zeros_like(t), hip_height(gait, t), np.full_like(t, z)], axis=-1)


def foot_points(gait: Gait, side: Side, t: np.ndarray) -> dict[str, np.ndarray]:
    """Heel, toe tip (``foot_index``) and ankle of one foot, ``(n, 3)`` each.

    Parameters
    ----------
    gait : Gait
        Solved gait.
    side : {"left", "right"}
        Foot.
    t : numpy.ndarray
        Times (s).

    Returns
    -------
    dict of str to numpy.ndarray
        ``"heel"``, ``"foot_index"``, ``"ankle"`` world positions and
        ``"angle"`` (n,) the sole angle in rad (toes up positive).

    Notes
    -----
    In stance the pivot point (heel, then toe) has height exactly ``0.0``.
    """
    body = gait.body
    t = np.asarray(t, dtype=float)
    stride, contact = gait.stride_s, gait.contact_s
    th_ic = np.radians(body.foot_angle_ic_deg)
    th_to = np.radians(body.foot_angle_to_deg)
    foot_len = body.foot_length_m
    v = gait.belt_speed
    heel_ic = gait.heel_x_ic[side]
    off = _foot_offsets(body)

    since = np.mod(t - gait.first_ic_s[side], stride)
    stance = since <= contact
    s = np.clip(since / contact, 0.0, 1.0)
    u = np.clip((since - contact) / (stride - contact), 0.0, 1.0)

    # --- stance: roll about the heel, flat, roll about the toe
    r1 = np.clip(1.0 - s / HEEL_ROCKER_END, 0.0, 1.0)
    r3 = np.clip((s - TOE_ROCKER_START) / (1.0 - TOE_ROCKER_START), 0.0, 1.0)
    ang_st = np.where(s <= TOE_ROCKER_START, th_ic * r1**2, -th_to * r3**2)
    toe_pivot = s > TOE_ROCKER_START
    pivot_x = heel_ic - v * since + np.where(toe_pivot, foot_len, 0.0)
    pivot_foot = np.where(toe_pivot[:, None], off["foot_index"], off["heel"])

    # --- swing: Hermite heel path with a strictly positive lift
    toe_x_to = heel_ic + foot_len - v * contact
    heel_x_to = toe_x_to - foot_len * np.cos(th_to)
    heel_y_to = foot_len * np.sin(th_to)
    heel_x_sw = _hermite(u, heel_x_to, heel_ic, 0.0, 0.0)
    lift = body.swing_lift_m * 6.75 * u * (1.0 - u) ** 2 + 0.10 * 4.0 * u * (1.0 - u)
    heel_y_sw = heel_y_to * (1.0 - _smoothstep(u)) + lift
    ang_sw = -th_to + (th_to + th_ic) * _smoothstep(u)

    angle = np.where(stance, ang_st, ang_sw)
    z = np.full_like(t, _side_sign(side) * body.foot_half_width_m)
    out: dict[str, np.ndarray] = {"angle": angle}
    for name, p in off.items():
        rel_st = _rot2(ang_st, p - pivot_foot)
        x_st = pivot_x + rel_st[:, 0]
        y_st = rel_st[:, 1]
        # exact zeros for the pivot point itself
        y_st = np.where(np.all(p == pivot_foot, axis=-1), 0.0, y_st)
        rel_sw = _rot2(ang_sw, np.broadcast_to(p, (t.size, 2)))
        x_sw = heel_x_sw + rel_sw[:, 0]
        y_sw = heel_y_sw + rel_sw[:, 1]
        out[name] = np.stack([np.where(stance, x_st, x_sw), np.where(stance, y_st, y_sw), z], axis=-1)
    return out


def valgus_rotation(gait: Gait, side: Side, t: np.ndarray) -> np.ndarray:
    """Medial knee rotation (rad): ``peak * sin^2(pi s)`` over stance, 0 in swing."""
    s = _stance_fraction(gait, side, np.asarray(t, dtype=float))
    return np.where(np.isnan(s), 0.0, gait.valgus_rot_rad[side] * np.sin(np.pi * np.nan_to_num(s)) ** 2)


def knee_joint(gait: Gait, side: Side, hip: np.ndarray, ankle: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Two-link inverse kinematics: knee forward, rotated medially by ``rot``.

    Parameters
    ----------
    gait : Gait
        Solved gait (segment lengths).
    side : {"left", "right"}
        Leg, to know which way is medial.
    hip, ankle : numpy.ndarray
        ``(n, 3)`` joint centres.
    rot : numpy.ndarray
        ``(n,)`` medial rotation of the knee about the hip-ankle axis (rad).

    Returns
    -------
    numpy.ndarray
        ``(n, 3)`` knee joint centres.
    """
    a, b = gait.body.thigh_m, gait.body.shank_m
    vec = ankle - hip
    d = np.linalg.norm(vec, axis=-1)
    d = np.minimum(d, (a + b) * (1.0 - 1e-12))
    p = vec / d[:, None]
    fwd = np.array([1.0, 0.0, 0.0])
    n = fwd - (p @ fwd)[:, None] * p
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    m = np.cross(p, n)
    medial = np.array([0.0, 0.0, -_side_sign(side)])
    m *= np.sign(m @ medial)[:, None]
    along = (a * a - b * b + d * d) / (2.0 * d)
    h = np.sqrt(np.maximum(a * a - along * along, 0.0))
    bend = np.cos(rot)[:, None] * n + np.sin(rot)[:, None] * m
    return hip + along[:, None] * p + h[:, None] * bend


def leg_joints(gait: Gait, side: Side, t: np.ndarray) -> dict[str, np.ndarray]:
    """Hip, knee, ankle, heel and toe of one leg, ``(n, 3)`` each, keyed by stem."""
    t = np.asarray(t, dtype=float)
    foot = foot_points(gait, side, t)
    hip = hip_joint(gait, side, t)
    knee = knee_joint(gait, side, hip, foot["ankle"], valgus_rotation(gait, side, t))
    return {"hip": hip, "knee": knee, "ankle": foot["ankle"], "heel": foot["heel"], "foot_index": foot["foot_index"]}


def _arm_joints(gait: Gait, side: Side, t: np.ndarray, shoulder: np.ndarray) -> dict[str, np.ndarray]:
    """Elbow, wrist and hand points of one arm swinging opposite its leg."""
    body = gait.body
    phase = 2.0 * np.pi * (t - gait.first_ic_s[side]) / gait.stride_s
    swing = -np.cos(phase - 0.3)  # -1 (arm back) around its own leg's IC
    amp = np.radians(body.arm_swing_deg)
    alpha = gait.trunk_lean_rad + np.radians(4.0) + amp * swing
    beta = np.radians(body.elbow_flexion_deg) + np.radians(12.0) * swing
    sgn = _side_sign(side)
    up = np.stack([np.sin(alpha), -np.cos(alpha), np.full_like(t, 0.12 * sgn)], axis=-1)
    up /= np.linalg.norm(up, axis=-1, keepdims=True)
    fore = np.stack([np.sin(alpha + beta), -np.cos(alpha + beta), np.full_like(t, -0.2 * sgn)], axis=-1)
    fore /= np.linalg.norm(fore, axis=-1, keepdims=True)
    elbow = shoulder + body.upper_arm_m * up
    wrist = elbow + body.forearm_m * fore
    hand = wrist + 0.07 * fore
    return {
        "elbow": elbow,
        "wrist": wrist,
        "pinky": hand + np.array([0.0, 0.0, 0.02 * sgn]),
        "index": hand + np.array([0.0, 0.0, -0.02 * sgn]),
        "thumb": wrist + 0.04 * fore + np.array([0.0, 0.02, -0.03 * sgn]),
    }


def joints_3d(gait: Gait, t: np.ndarray) -> dict[str, np.ndarray]:
    """World positions of all 33 MediaPipe keypoints at times ``t``.

    Parameters
    ----------
    gait : Gait
        Solved gait.
    t : numpy.ndarray
        Times (s), shape ``(n,)``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``(n, 3)`` per keypoint name, plus ``"head_center"`` and ``"neck"``
        used for drawing. Joints are joint centres; ``heel`` is the back-bottom
        of the shoe and ``foot_index`` the toe tip of the sole.
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    body = gait.body
    out: dict[str, np.ndarray] = {}
    for side in SIDES:
        for stem, arr in leg_joints(gait, side, t).items():
            out[f"{side}_{stem}"] = arr
    mid_hip = 0.5 * (out["left_hip"] + out["right_hip"])
    lean = gait.trunk_lean_rad
    trunk_dir = np.array([np.sin(lean), np.cos(lean), 0.0])
    mid_sh = mid_hip + body.trunk_m * trunk_dir
    for side in SIDES:
        sh = mid_sh + np.array([0.0, 0.0, _side_sign(side) * body.shoulder_half_width_m])
        out[f"{side}_shoulder"] = sh
        for stem, arr in _arm_joints(gait, side, t, sh).items():
            out[f"{side}_{stem}"] = arr
    head_lean = 0.5 * lean
    neck_dir = np.array([np.sin(head_lean), np.cos(head_lean), 0.0])
    head_c = mid_sh + (body.neck_m + body.head_radius_m) * neck_dir + np.array([0.015, 0.0, 0.0])
    r = body.head_radius_m
    out["head_center"] = head_c
    out["neck"] = mid_sh + 0.5 * body.neck_m * neck_dir
    out["nose"] = head_c + r * np.array([0.95, -0.12, 0.0])
    for side in SIDES:
        sgn = _side_sign(side)
        out[f"{side}_eye_inner"] = head_c + r * np.array([0.8, 0.2, 0.18 * sgn])
        out[f"{side}_eye"] = head_c + r * np.array([0.78, 0.2, 0.32 * sgn])
        out[f"{side}_eye_outer"] = head_c + r * np.array([0.72, 0.2, 0.45 * sgn])
        out[f"{side}_ear"] = head_c + r * np.array([-0.05, 0.0, 0.85 * sgn])
        out[f"mouth_{side}"] = head_c + r * np.array([0.8, -0.45, 0.25 * sgn])
    missing = set(KEYPOINT_NAMES) - set(out)
    assert not missing, missing
    return out


def project_joints(camera: Camera, joints3d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Project every joint to upright pixels (``(n, 2)`` each)."""
    return {name: camera.project(arr) for name, arr in joints3d.items()}


def projected_fppa_deg(gait: Gait, side: Side, t: np.ndarray) -> np.ndarray:
    """Frontal-view FPPA of one leg from its projected joints, signed (+ = valgus).

    Uses the camera's view (rear or front) for the medial direction; a side
    camera is treated as rear.
    """
    leg = leg_joints(gait, side, t)
    cam = gait.camera
    view: Literal["rear", "front"] = "front" if cam.view == "front" else "rear"
    return fppa_deg(
        cam.project(leg["hip"]), cam.project(leg["knee"]), cam.project(leg["ankle"]), side, view
    )


def fppa_deg(
    hip: np.ndarray,
    knee: np.ndarray,
    ankle: np.ndarray,
    side: Side,
    view: Literal["rear", "front"] = "rear",
) -> np.ndarray:
    """Frontal-plane projection angle from rear- or front-view pixels (docs/METRICS.md).

    ``180 - interior hip-knee-ankle angle``, positive when the knee lies medial
    to the hip-ankle line. In a rear view the runner's left leg is on the
    image's left, so medial is ``+x`` for the left leg and ``-x`` for the right;
    in a front view the other way round.

    Parameters
    ----------
    hip, knee, ankle : numpy.ndarray
        ``(n, 2)`` pixel positions.
    side : {"left", "right"}
        Leg.
    view : {"rear", "front"}, default "rear"
        Camera position.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` angles in degrees.
    """
    flex = knee_flexion_deg(hip, knee, ankle)
    frac = (knee[..., 1] - hip[..., 1]) / (ankle[..., 1] - hip[..., 1])
    line_x = hip[..., 0] + frac * (ankle[..., 0] - hip[..., 0])
    medial = 1.0 if side == "left" else -1.0
    if view == "front":
        medial = -medial
    return np.sign((knee[..., 0] - line_x) * medial) * flex


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """``180 - interior hip-knee-ankle angle`` in degrees from 2D points."""
    u = hip - knee
    w = ankle - knee
    cos = np.sum(u * w, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(w, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def shank_angle_deg(knee: np.ndarray, ankle: np.ndarray, direction: int) -> np.ndarray:
    """Angle of knee->ankle from image vertical, + when the ankle is ahead (docs/METRICS.md).

    Parameters
    ----------
    knee, ankle : numpy.ndarray
        ``(..., 2)`` pixel positions (y down).
    direction : int
        +1 when the runner faces image right, -1 when facing left.

    Returns
    -------
    numpy.ndarray
        Angles in degrees.
    """
    dx = (ankle[..., 0] - knee[..., 0]) * direction
    dy = ankle[..., 1] - knee[..., 1]
    return np.degrees(np.arctan2(dx, dy))


# ---------------------------------------------------------------------------
# events and sampling


def frame_times(params: SynthParams) -> np.ndarray:
    """Frame times ``i / fps`` for ``i in range(n_frames)``."""
    return np.arange(params.n_frames, dtype=float) / params.fps


def gait_events(gait: Gait, t_start: float, t_end: float) -> list[GaitEvent]:
    """All exact IC and TO events with ``t_start <= time <= t_end``, sorted by time.

    Parameters
    ----------
    gait : Gait
        Solved gait.
    t_start, t_end : float
        Time window (s).

    Returns
    -------
    list of GaitEvent
        Events sorted by time.
    """
    events: list[GaitEvent] = []
    stride = gait.stride_s
    for side in SIDES:
        t0 = gait.first_ic_s[side]
        k_lo = int(np.floor((t_start - t0 - gait.contact_s) / stride)) - 1
        k_hi = int(np.ceil((t_end - t0) / stride)) + 1
        for k in range(k_lo, k_hi + 1):
            ic = t0 + k * stride
            to = ic + gait.contact_s
            if t_start <= ic <= t_end:
                events.append(GaitEvent(side, "initial_contact", float(ic)))
            if t_start <= to <= t_end:
                events.append(GaitEvent(side, "toe_off", float(to)))
    events.sort(key=lambda e: (e.time_s, e.foot, e.kind))
    return events


def simulate(params: SynthParams) -> Simulation:
    """Sample the exact ground-truth motion at the frame times (no video).

    Parameters
    ----------
    params : SynthParams
        Clip parameters.

    Returns
    -------
    Simulation
        ``(times, joints3d, joints_px, events)``; joints in world metres and
        upright display pixels.
    """
    gait = solve_gait(params)
    times = frame_times(params)
    j3 = joints_3d(gait, times)
    jpx = project_joints(gait.camera, j3)
    events = gait_events(gait, 0.0, float(times[-1]))
    return Simulation(times, j3, jpx, events)
