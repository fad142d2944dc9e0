"""Charts of the main signals (Altair): knee angle over the gait cycle, per-stride values.

The data come from the analysis (:func:`formcheck.html_report.knee_cycle_curves`,
the same curves as the HTML report) and from the report's per-stride values;
this module only shapes them into tables and charts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from formcheck.findings import Band
from formcheck.html_report import LEFT_HEX, RIGHT_HEX, CycleCurves, knee_cycle_curves
from formcheck.io.exports import metric_tracks
from formcheck.pipeline import Analysis

LEG_COLOURS = alt.Scale(domain=["left", "right"], range=[LEFT_HEX, RIGHT_HEX])
GOOD_HEX = "#3cbe5a"


def cycle_curves(analysis: Analysis) -> CycleCurves:
    """Knee angle per leg over each gait cycle of a clip.

    Parameters
    ----------
    analysis : Analysis
        One clip's analysis.

    Returns
    -------
    CycleCurves
        Curves per leg, as in the HTML report.
    """
    return knee_cycle_curves(metric_tracks(analysis), list(analysis.events), analysis.view)


def cycle_table(curves: CycleCurves) -> pd.DataFrame:
    """Mean and spread of the knee angle per leg and % of the gait cycle.

    Parameters
    ----------
    curves : CycleCurves
        Resampled cycles.

    Returns
    -------
    pandas.DataFrame
        Columns ``pct``, ``leg``, ``mean``, ``low``, ``high`` (mean +/- one
        standard deviation across cycles), ``cycles``; empty when no leg has
        a full cycle.
    """
    frames = []
    for leg, cycles in (("left", curves.left), ("right", curves.right)):
        if not cycles:
            continue
        stack = np.vstack(cycles)
        mean = np.nanmean(stack, axis=0)
        sd = np.nanstd(stack, axis=0)
        frames.append(pd.DataFrame({
            "pct": curves.pct,
            "leg": leg,
            "mean": mean,
            "low": mean - sd,
            "high": mean + sd,
            "cycles": len(cycles),
        }))
    if not frames:
        return pd.DataFrame(columns=["pct", "leg", "mean", "low", "high", "cycles"])
    return pd.concat(frames, ignore_index=True)


def cycle_chart(table: pd.DataFrame, label: str) -> alt.LayerChart | alt.FacetChart:
    """Knee angle over the gait cycle, left against right, mean and spread.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`cycle_table`.
    label : str
        Y-axis title.

    Returns
    -------
    altair chart
        The layered chart.
    """
    base = alt.Chart(table).encode(
        x=alt.X("pct:Q", title="% of gait cycle (foot strike to next foot strike)"),
        color=alt.Color("leg:N", scale=LEG_COLOURS, title="Leg"),
    )
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("low:Q", title=label), y2="high:Q")
    line = base.mark_line(strokeWidth=2.5).encode(
        y="mean:Q",
        tooltip=[
            alt.Tooltip("leg:N", title="Leg"),
            alt.Tooltip("pct:Q", title="% cycle", format=".0f"),
            alt.Tooltip("mean:Q", title="mean (deg)", format=".1f"),
            alt.Tooltip("cycles:Q", title="cycles"),
        ],
    )
    return alt.layer(band, line).properties(height=320)


def stride_table(metric: Mapping[str, Any]) -> pd.DataFrame:
    """Per-stride values of one metric.

    Parameters
    ----------
    metric : mapping
        A metric of the report.

    Returns
    -------
    pandas.DataFrame
        Columns ``time_s``, ``frame``, ``value``, ``foot`` (finite values only).
    """
    rows = [
        {
            "time_s": float(r["time_s"]),
            "frame": int(r.get("frame", 0)),
            "value": float(r["value"]),
            "foot": str(r.get("foot") or "both"),
        }
        for r in metric.get("per_stride", [])
        if isinstance(r.get("value"), int | float) and math.isfinite(r["value"])
        and isinstance(r.get("time_s"), int | float)
    ]
    return pd.DataFrame(rows, columns=["time_s", "frame", "value", "foot"])


def band_edges(band: Band | None, values: pd.Series) -> tuple[float, float] | None:
    """The good band clipped to the plotted range (open edges end past the data).

    Parameters
    ----------
    band : Band or None
        The metric's band.
    values : pandas.Series
        Plotted values.

    Returns
    -------
    tuple of float or None
        ``(low, high)`` to shade, or None.
    """
    if band is None or values.empty:
        return None
    lo, hi = float(values.min()), float(values.max())
    pad = max(hi - lo, 1.0) * 0.25
    low = band.good[0] if math.isfinite(band.good[0]) else min(lo, band.good[1]) - pad
    high = band.good[1] if math.isfinite(band.good[1]) else max(hi, band.good[0]) + pad
    return (low, high) if high > low else None


def stride_chart(
    table: pd.DataFrame, title: str, unit: str, edges: tuple[float, float] | None
) -> alt.LayerChart | alt.FacetChart:
    """Per-stride values over time, by foot, over the shaded good band.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`stride_table`.
    title : str
        Metric name for the axis.
    unit : str
        Unit.
    edges : tuple of float or None
        Good band to shade.

    Returns
    -------
    altair chart
        The layered chart.
    """
    y_title = f"{title} ({unit})" if unit else title
    palette = {"left": LEFT_HEX, "right": RIGHT_HEX, "both": "#888888"}
    feet = [f for f in palette if f in set(table["foot"])] or ["both"]
    colour = alt.Color(
        "foot:N",
        scale=alt.Scale(domain=feet, range=[palette[f] for f in feet]),
        title="Foot",
    )
    points = alt.Chart(table).mark_line(point=alt.OverlayMarkDef(size=70), strokeWidth=1.5).encode(
        x=alt.X("time_s:Q", title="time in the clip (s)"),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=colour,
        tooltip=[
            alt.Tooltip("foot:N", title="Foot"),
            alt.Tooltip("time_s:Q", title="time (s)", format=".2f"),
            alt.Tooltip("frame:Q", title="frame"),
            alt.Tooltip("value:Q", title=unit or "value", format=".1f"),
        ],
    )
    layers: list[Any] = []
    if edges is not None:
        shade = pd.DataFrame({"low": [edges[0]], "high": [edges[1]]})
        layers.append(
            alt.Chart(shade).mark_rect(opacity=0.12, color=GOOD_HEX).encode(
                y="low:Q", y2="high:Q"
            )
        )
    layers.append(points)
    return alt.layer(*layers).properties(height=300)


__all__ = [
    "band_edges",
    "cycle_chart",
    "cycle_curves",
    "cycle_table",
    "stride_chart",
    "stride_table",
]
