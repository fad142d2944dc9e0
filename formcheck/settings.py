"""Settings and ranges that are needed before the numerical stack is loaded.

The front ends build :class:`formcheck.pipeline.AnalysisOptions` and run
pose estimation before any cleaning or metric is computed. Keeping these
definitions free of xarray, pandas and scipy lets that whole phase run
without them (about 140 MB less at its peak, see :mod:`formcheck.pipeline`);
:mod:`formcheck.cleaning` and :mod:`formcheck.metrics` use them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

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
