"""An athlete's metrics over sessions, and whether a change is real (pure).

Every metric carries an uncertainty: the 95 % confidence half-width of its
mean over strides. The difference of two sessions' means has the combined
half-width ``sqrt(u1**2 + u2**2)`` (independent errors). A change no larger
than that is "no clear change": the coach should not read anything into it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["increase", "decrease", "no clear change", "not comparable", "first session"]
"""What a change since the previous session means."""

Target = Literal["towards the target", "away from the target", "within the target", ""]
"""Where a real change moved the value relative to the metric's good band ("" unknown)."""

COMPARABLE_STATUS = ("ok", "low_confidence")


@dataclass(frozen=True)
class MetricValue:
    """One metric of one session, as stored.

    Attributes
    ----------
    value : float or None
        Mean over strides.
    uncertainty : float or None
        95 % confidence half-width of the mean.
    unit : str
        Unit of value and uncertainty.
    status : str
        ``ok``, ``low_confidence`` or ``not_applicable``.
    level : str or None
        ``watch`` or ``act`` when a finding flagged it.
    left, right : float or None
        Per-side means of bilateral metrics.
    reason : str
        Why the status (``given by the user`` for an echoed input).
    """

    value: float | None
    uncertainty: float | None
    unit: str
    status: str
    level: str | None = None
    left: float | None = None
    right: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class Change:
    """The change of one metric since the previous session.

    Attributes
    ----------
    delta : float or None
        Current minus previous value.
    uncertainty : float or None
        Combined uncertainty of the difference, ``sqrt(u1**2 + u2**2)``.
    verdict : Verdict
        ``increase``/``decrease`` when ``|delta|`` exceeds the combined
        uncertainty, else ``no clear change``; ``not comparable`` when a value,
        an uncertainty or a matching unit is missing; ``first session`` when
        there is nothing before.
    target : Target
        For an increase or decrease: whether the value moved towards the
        metric's good band, away from it, or stayed within it; empty when the
        metric has no band or the change is not real.
    """

    delta: float | None
    uncertainty: float | None
    verdict: Verdict
    target: Target = ""

    @property
    def is_real(self) -> bool:
        """True when the change exceeds the measurement uncertainty."""
        return self.verdict in ("increase", "decrease")

    def text(self, unit: str = "") -> str:
        """The change in words, e.g. ``+4.1 ± 2.0 deg (increase, away from the target)``.

        Parameters
        ----------
        unit : str
            Unit to print.

        Returns
        -------
        str
            A short description.
        """
        if self.delta is None:
            return self.verdict
        unc = f" ± {self.uncertainty:.1f}" if self.uncertainty is not None else ""
        where = f", {self.target}" if self.target else ""
        return f"{self.delta:+.1f}{unc} {unit}".rstrip() + f" ({self.verdict}{where})"


def target_direction(
    previous: float, current: float, good: tuple[float, float] | None
) -> Target:
    """Whether a value moved towards its good band, away from it, or stayed in it.

    Parameters
    ----------
    previous, current : float
        The two values.
    good : tuple of float or None
        The metric's good band ``(low, high)`` (``inf`` allowed); None when
        it has none.

    Returns
    -------
    Target
        By the distance of each value outside the band: smaller now
        "towards the target", larger "away from the target", both inside
        "within the target"; "" without a band or when the distance is equal.
    """
    if good is None:
        return ""
    lo, hi = good

    def outside(v: float) -> float:
        return max(lo - v, v - hi, 0.0)

    before, after = outside(previous), outside(current)
    if before == after == 0.0:
        return "within the target"
    if after < before:
        return "towards the target"
    if after > before:
        return "away from the target"
    return ""


def band_extent(
    good: tuple[float, float], low: float, high: float, margin: float = 0.25
) -> tuple[float, float]:
    """The part of a good band to shade on a chart whose values span ``low``-``high``.

    A closed band is shaded as it is. An open side (``inf``) is shaded to the
    values' range and at least ``margin`` of that range past the band's finite
    edge, so the band stays visible when every value lies outside it.

    Parameters
    ----------
    good : tuple of float
        The good band ``(low, high)``, ``inf`` allowed on one side.
    low, high : float
        Lowest and highest value plotted (with their uncertainty).
    margin : float
        Least share of the plotted range shaded past a finite edge.

    Returns
    -------
    tuple of float
        ``(bottom, top)`` of the shaded band.
    """
    edges = [e for e in good if math.isfinite(e)]
    span = max(high, *edges) - min(low, *edges) if edges else high - low
    span = span if span > 0 else 1.0
    bottom = good[0] if math.isfinite(good[0]) else min(low, good[1] - margin * span)
    top = good[1] if math.isfinite(good[1]) else max(high, good[0] + margin * span)
    return bottom, top


def combined_uncertainty(u1: float | None, u2: float | None) -> float | None:
    """Uncertainty of a difference of two independent measurements.

    Parameters
    ----------
    u1, u2 : float or None
        The two uncertainties (same unit).

    Returns
    -------
    float or None
        ``sqrt(u1**2 + u2**2)``; None when either is missing or not finite.
    """
    if u1 is None or u2 is None or not (math.isfinite(u1) and math.isfinite(u2)):
        return None
    return math.hypot(u1, u2)


def compare(
    previous: MetricValue | None,
    current: MetricValue,
    good: tuple[float, float] | None = None,
) -> Change:
    """Whether a metric really changed between two sessions.

    Parameters
    ----------
    previous : MetricValue or None
        The earlier session's value; None for the first session.
    current : MetricValue
        The later session's value.
    good : tuple of float, optional
        The metric's good band; a real change then says whether it moved
        towards it (:func:`target_direction`).

    Returns
    -------
    Change
        The difference, its combined uncertainty and the verdict.
    """
    if previous is None:
        return Change(None, None, "first session")
    values = (previous.value, current.value)
    if (
        any(v is None or not math.isfinite(v) for v in values)
        or previous.status not in COMPARABLE_STATUS
        or current.status not in COMPARABLE_STATUS
        or previous.unit != current.unit
    ):
        return Change(None, None, "not comparable")
    assert current.value is not None and previous.value is not None
    delta = current.value - previous.value
    unc = combined_uncertainty(previous.uncertainty, current.uncertainty)
    if unc is None:
        return Change(delta, None, "not comparable")
    if abs(delta) <= unc:
        return Change(delta, unc, "no clear change")
    target = target_direction(previous.value, current.value, good)
    return Change(delta, unc, "increase" if delta > 0 else "decrease", target)


@dataclass(frozen=True)
class SessionSummary:
    """One stored session of an athlete.

    Attributes
    ----------
    id : int
        Database id.
    date : datetime.date
        Session date.
    folder : str
        Report folder.
    views : tuple of str
        Clip labels (``side``, ``rear`` ...).
    metrics : mapping of str to MetricValue
        Metrics by name.
    findings : tuple of tuple
        ``(rank, level, title)`` of each finding, best fix first.
    height_m, treadmill_speed_kmh : float or None
        The runner inputs the session was analysed with (they shift bands).
    """

    id: int
    date: dt.date
    folder: str
    views: tuple[str, ...]
    metrics: Mapping[str, MetricValue]
    findings: tuple[tuple[int, str, str], ...] = field(default=())
    height_m: float | None = None
    treadmill_speed_kmh: float | None = None

    @property
    def flags(self) -> dict[str, int]:
        """Number of findings by level (``act``, ``watch``)."""
        out = {"act": 0, "watch": 0}
        for _, level, _ in self.findings:
            out[level] = out.get(level, 0) + 1
        return out


@dataclass(frozen=True)
class HistoryRow:
    """One metric of one session with its change since the session before."""

    date: dt.date
    metric: str
    value: float | None
    uncertainty: float | None
    unit: str
    status: str
    level: str | None
    change: Change
    left: float | None = None
    right: float | None = None
    reason: str = ""


BandsFor = Callable[[SessionSummary], Mapping[str, tuple[float, float]]]
"""A session's good band by metric name (shifted by that session's runner inputs)."""


def history_rows(
    sessions: Sequence[SessionSummary], bands: BandsFor | None = None
) -> list[HistoryRow]:
    """Every metric of every session, with the change since the last session.

    The previous value of a metric is the one from the latest earlier session
    that has it.

    Parameters
    ----------
    sessions : sequence of SessionSummary
        One athlete's sessions (any order).
    bands : callable, optional
        A session's good band by metric name (``batch.summary.session_bands``):
        changes then say whether they moved towards the later session's band.

    Returns
    -------
    list of HistoryRow
        By date, then metric name in the order first seen.
    """
    rows: list[HistoryRow] = []
    last: dict[str, MetricValue] = {}
    for k, s in enumerate(sorted(sessions, key=lambda s: s.date)):
        good = bands(s) if bands is not None else {}
        for name, m in s.metrics.items():
            measured = m.value is not None and m.status in COMPARABLE_STATUS
            previous = last.get(name)
            change = (
                Change(None, None, "not comparable")
                if k > 0 and previous is None and not measured  # nothing to compare, either side
                else compare(previous, m, good.get(name))
            )
            rows.append(
                HistoryRow(
                    date=s.date,
                    metric=name,
                    value=m.value,
                    uncertainty=m.uncertainty,
                    unit=m.unit,
                    status=m.status,
                    level=m.level,
                    change=change,
                    left=m.left,
                    right=m.right,
                    reason=m.reason,
                )
            )
            if measured:
                last[name] = m
    return rows


def compare_sessions(
    a: SessionSummary, b: SessionSummary, bands: BandsFor | None = None
) -> list[tuple[str, MetricValue | None, MetricValue | None, Change]]:
    """Two sessions side by side: each metric in either, with the change a -> b.

    Parameters
    ----------
    a, b : SessionSummary
        The earlier and the later session.
    bands : callable, optional
        A session's good bands, as for :func:`history_rows` (``b``'s are used).

    Returns
    -------
    list of tuple
        ``(metric, value in a, value in b, change)``.
    """
    names = list(a.metrics) + [n for n in b.metrics if n not in a.metrics]
    good = bands(b) if bands is not None else {}
    out = []
    for name in names:
        ma, mb = a.metrics.get(name), b.metrics.get(name)
        if mb is None:
            change = Change(None, None, "not comparable")
        else:
            change = (
                compare(ma, mb, good.get(name))
                if ma is not None
                else Change(None, None, "not comparable")
            )
        out.append((name, ma, mb, change))
    return out


__all__ = [
    "BandsFor",
    "Change",
    "HistoryRow",
    "MetricValue",
    "SessionSummary",
    "Target",
    "Verdict",
    "band_extent",
    "combined_uncertainty",
    "compare",
    "compare_sessions",
    "history_rows",
    "target_direction",
]
