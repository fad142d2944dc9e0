"""Parameters of a synthetic treadmill-running clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from formcheck.errors import FormcheckError

View = Literal["side", "rear"]
Facing = Literal["left", "right"]
Style = Literal["a", "b"]

VIEWS: tuple[View, ...] = ("side", "rear")
FACINGS: tuple[Facing, ...] = ("left", "right")
STYLES: tuple[Style, ...] = ("a", "b")


@dataclass(frozen=True)
class SynthParams:
    """Everything that defines a synthetic clip; the clip is a pure function of it.

    Parameters
    ----------
    view : {"side", "rear"}, default "side"
        Camera perpendicular to the belt (``"side"``) or directly behind.
    facing : {"left", "right"}, default "right"
        Side view only: the image direction the runner faces. A runner facing
        right shows the camera their right side (their right leg is the near
        leg); facing left, their left side.
    cadence_spm : float, default 170
        Steps per minute (both feet), 120-240.
    duty_factor : float, default 0.36
        Contact time / stride time, 0.2-0.6 (running is below 0.5).
    overstride_pct_leg : float, default 8.0
        Horizontal distance of the heel ahead of the mid-hip at initial
        contact, in % of leg length, -10 to 30 (and reachable by the leg).
    valgus_left_deg, valgus_right_deg : float, default 0
        Peak frontal-plane projection angle of each knee during stance as seen
        from behind, -25 to 25 (positive = knee medial, valgus).
    trunk_lean_deg : float, default 7
        Forward trunk lean from vertical, -10 to 30.
    fps : float, default 30
        Frame rate, 10-240.
    width, height : int, default 1280, 720
        Upright (display) frame size in pixels, even, 160-3840. Portrait when
        ``height > width``.
    duration_s : float, default 6
        Clip length, 1-600 s.
    style : {"a", "b"}, default "a"
        One of two clearly different runners (body size, colours, hair).
    rotate_metadata : bool, default False
        For portrait clips: store landscape pixels plus a 90 degree display
        rotation, as phones do.
    with_runner : bool, default True
        Draw the runner. False renders the empty treadmill (same scene and
        belt motion), for clips in which nobody runs.
    start_phase : float, default 0.1
        Fraction of the stride (0 = right initial contact) at ``t = 0``, in
        [0, 1).
    seed : int, default 0
        Seeds the cosmetic randomness (belt and background texture). The gait
        itself is deterministic.

    Raises
    ------
    FormcheckError
        If any value is out of range or the requested overstride cannot be
        reached by the leg.
    """

    view: View = "side"
    facing: Facing = "right"
    cadence_spm: float = 170.0
    duty_factor: float = 0.36
    overstride_pct_leg: float = 8.0
    valgus_left_deg: float = 0.0
    valgus_right_deg: float = 0.0
    trunk_lean_deg: float = 7.0
    fps: float = 30.0
    width: int = 1280
    height: int = 720
    duration_s: float = 6.0
    style: Style = "a"
    rotate_metadata: bool = False
    with_runner: bool = True
    start_phase: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        """Validate every field; see :func:`validate_params`."""
        validate_params(self)

    @property
    def portrait(self) -> bool:
        """Whether the upright frame is taller than wide."""
        return self.height > self.width

    @property
    def stride_s(self) -> float:
        """Stride time (two steps) in seconds."""
        return 120.0 / self.cadence_spm

    @property
    def n_frames(self) -> int:
        """Number of frames in the clip."""
        return max(1, round(self.duration_s * self.fps))


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    """Raise if ``value`` is not a finite number in ``[lo, hi]``."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise FormcheckError(f"{name} must be a number; got {value!r}.")
    if not lo <= value <= hi:
        raise FormcheckError(f"{name} must be between {lo} and {hi}; got {value}.")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise if ``value`` is not one of ``choices``."""
    if value not in choices:
        raise FormcheckError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")


def validate_params(p: SynthParams) -> None:
    """Check a :class:`SynthParams` and raise a clear error if it is unusable.

    Parameters
    ----------
    p : SynthParams
        Parameters to check.

    Raises
    ------
    FormcheckError
        On the first invalid value, including an overstride the leg cannot
        reach with the chosen body.
    """
    _check_choice("view", p.view, VIEWS)
    _check_choice("facing", p.facing, FACINGS)
    _check_choice("style", p.style, STYLES)
    _check_range("cadence_spm", p.cadence_spm, 120.0, 240.0)
    _check_range("duty_factor", p.duty_factor, 0.2, 0.6)
    _check_range("overstride_pct_leg", p.overstride_pct_leg, -10.0, 30.0)
    _check_range("valgus_left_deg", p.valgus_left_deg, -25.0, 25.0)
    _check_range("valgus_right_deg", p.valgus_right_deg, -25.0, 25.0)
    _check_range("trunk_lean_deg", p.trunk_lean_deg, -10.0, 30.0)
    _check_range("fps", p.fps, 10.0, 240.0)
    _check_range("duration_s", p.duration_s, 1.0, 600.0)
    _check_range("start_phase", p.start_phase, 0.0, 0.999999)
    for name, size in (("width", p.width), ("height", p.height)):
        if not isinstance(size, int) or isinstance(size, bool):
            raise FormcheckError(f"{name} must be an integer; got {size!r}.")
        _check_range(name, size, 160, 3840)
        if size % 2:
            raise FormcheckError(f"{name} must be even for H.264 (yuv420p); got {size}.")
    if not isinstance(p.rotate_metadata, bool):
        raise FormcheckError(f"rotate_metadata must be True or False; got {p.rotate_metadata!r}.")
    if not isinstance(p.with_runner, bool):
        raise FormcheckError(f"with_runner must be True or False; got {p.with_runner!r}.")
    if not isinstance(p.seed, int) or isinstance(p.seed, bool) or p.seed < 0:
        raise FormcheckError(f"seed must be a non-negative integer; got {p.seed!r}.")
    # Geometry: solving the gait raises FormcheckError if the leg cannot reach.
    from formcheck.synth.kinematics import solve_gait  # noqa: PLC0415 (avoids an import cycle)

    solve_gait(p)
