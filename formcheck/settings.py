"""Settings and ranges that are needed before the numerical stack is loaded.

The front ends build :class:`formcheck.pipeline.AnalysisOptions` and run
pose estimation before any cleaning or metric is computed. Keeping these
definitions free of xarray, pandas and scipy lets that whole phase run
without them (about 140 MB less at its peak, see :mod:`formcheck.pipeline`);
:mod:`formcheck.cleaning` and :mod:`formcheck.metrics` use them from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from formcheck.errors import FormcheckError

STATUS_WORDS: Mapping[str, str] = MappingProxyType(
    {"ok": "measured", "low_confidence": "approximate", "not_applicable": "not measured"}
)
"""The words every front end (app, CLI, HTML report, squad page) shows for a metric status."""

LEVEL_WORDS: Mapping[str, str] = MappingProxyType(
    {"good": "in the good range", "watch": "keep an eye on it", "act": "work on this"}
)
"""The words every front end and finding sentence uses for a band level (JSON keeps the keys)."""

UNCERTAINTY_NOTE = (
    "± is how steady a value is across the strides of this clip (95 % confidence of the "
    "mean); it does not include the pose model's own error: knee angles from 2D video are "
    "typically 7-8 deg off marker-based capture (Van Hooren et al. 2023)."
)
"""What the ± of every metric means, in the words every front end shows under its metrics."""

GIVEN_BY_USER = "given by the user"
"""The reason of a metric that echoes a user input (the treadmill speed) rather than a measure."""


def status_word(status: str, reason: str = "") -> str:
    """The word a front end shows for a metric's status.

    Parameters
    ----------
    status : str
        ``ok``, ``low_confidence`` or ``not_applicable``.
    reason : str, optional
        The metric's reason; an ``ok`` metric that echoes a user input
        (:data:`GIVEN_BY_USER`) reads "given", not "measured".

    Returns
    -------
    str
        The plain word (:data:`STATUS_WORDS`); an unknown status as it is.
    """
    if status == "ok" and reason == GIVEN_BY_USER:
        return "given"
    return STATUS_WORDS.get(status, status)

CADENCE_RANGE_SPM = (120.0, 230.0)
"""Plausible running cadence (steps/min); outside it the clip timing is suspect."""


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
        Whether to repair leg label swaps and collapses (:func:`repair_leg_swaps`).
    outlier_leg : float
        A point farther than this fraction of the leg length from the median
        of its neighbours is an outlier (:func:`reject_outliers`).
    outlier_window_s : float
        Half-width of that median window in seconds (at least 2 frames).
    """

    min_confidence: float = 0.3
    max_gap_s: float = 0.15
    cutoff_hz: float = 8.0
    filter_order: int = 4
    repair_swaps: bool = True
    outlier_leg: float = 0.1
    outlier_window_s: float = 0.04


HEIGHT_RANGE_M = (0.8, 2.5)
"""Runner heights formcheck accepts (metres)."""

SPEED_RANGE_KMH = (1.0, 40.0)
"""Treadmill speeds formcheck accepts (km/h; treadmills reach about 25)."""


def check_runner_inputs(height_m: float | None, speed_kmh: float | None) -> None:
    """Refuse a height or a treadmill speed no runner has, naming the unit expected.

    Parameters
    ----------
    height_m : float or None
        Runner's height in metres.
    speed_kmh : float or None
        Treadmill speed in km/h.

    Raises
    ------
    FormcheckError
        When a value is given but not finite or outside :data:`HEIGHT_RANGE_M`
        or :data:`SPEED_RANGE_KMH`; a height of 80-250 is taken for
        centimetres and says so.
    """
    def outside(value: object, bounds: tuple[float, float]) -> bool:
        ok = isinstance(value, int | float) and math.isfinite(value)
        return not (ok and bounds[0] <= value <= bounds[1])  # type: ignore[operator]

    if height_m is not None and outside(height_m, HEIGHT_RANGE_M):
        lo, hi = HEIGHT_RANGE_M
        cm = (
            f" ({height_m:g} looks like centimetres: {height_m / 100:.2f})"
            if isinstance(height_m, int | float) and 80 <= height_m <= 250
            else ""
        )
        raise FormcheckError(
            f"the runner's height must be given in metres, between {lo:g} and {hi:g} "
            f"(e.g. 1.78), not {height_m!r}{cm}."
        )
    if speed_kmh is not None and outside(speed_kmh, SPEED_RANGE_KMH):
        lo, hi = SPEED_RANGE_KMH
        raise FormcheckError(
            f"the treadmill speed must be given in km/h, between {lo:g} and {hi:g} "
            f"(e.g. 12), not {speed_kmh!r}; leave it out for overground clips."
        )
