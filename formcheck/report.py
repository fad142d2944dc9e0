"""The report as data: one JSON-ready dict built from an analysis.

The CLI, the app, the HTML export and the batch runner all render this same
dict. Its schema is documented in ``docs/report-schema.md``; changes keep old
keys or bump :data:`REPORT_SCHEMA_VERSION`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import xarray as xr

import formcheck
from formcheck.findings import (
    Finding,
    RuleContext,
    Rules,
    default_rules,
    evaluate,
    findings_summary,
)
from formcheck.landmarks import KEYPOINT_NAMES
from formcheck.pipeline import Analysis

REPORT_SCHEMA_VERSION = "1.2"
DISCLAIMER = (
    "formcheck is a training aid, not a diagnosis. If pain persists after rest, or a knee "
    "is swollen, hot or gives way, see a physiotherapist or doctor."
)


def pose_quality(raw: xr.Dataset, tracks: xr.Dataset) -> dict[str, Any]:
    """Summarise how well the pose model saw the runner.

    Parameters
    ----------
    raw : xarray.Dataset
        Raw pose dataset (attributes ``n_frames`` and ``detected_frames``).
    tracks : xarray.Dataset
        Cleaned dataset (cleaning attributes).

    Returns
    -------
    dict
        Detection rate, frames with and without a person, median visibility
        per joint, and the number of leg-label repairs.
    """
    n = int(raw.attrs.get("n_frames", raw.sizes["time"]))
    detected = int(raw.attrs.get("detected_frames", 0))
    conf = raw["confidence"].isel(individuals=0)
    visibility = {}
    for name in KEYPOINT_NAMES:
        values = np.asarray(conf.sel(keypoints=name).values, dtype=float)
        values = values[np.isfinite(values)]
        visibility[name] = round(float(np.median(values)), 3) if values.size else None
    return {
        "frames": n,
        "frames_with_runner": detected,
        "frames_without_runner": n - detected,
        "detection_rate": round(detected / n, 4) if n else 0.0,
        "median_visibility": visibility,
        "leg_label_repairs": int(tracks.attrs.get("cleaning_swaps_repaired", 0)),
        "filter": str(tracks.attrs.get("cleaning_filter", "none")),
        "model": str(raw.attrs.get("model", "")),
    }


def rule_context(analysis: Analysis) -> RuleContext:
    """Runner inputs that adapt the finding bands (height, speed).

    Parameters
    ----------
    analysis : Analysis
        The analysis.

    Returns
    -------
    RuleContext
        Height from the options; speed from the treadmill speed when given.
    """
    opts = analysis.options
    return RuleContext.from_inputs(opts.height_m, opts.treadmill_speed_kmh)


def analysis_findings(analysis: Analysis, rules: Rules | None = None) -> tuple[Finding, ...]:
    """Ranked findings of an analysis.

    Parameters
    ----------
    analysis : Analysis
        The analysis.
    rules : Rules, optional
        The bundled rules when None.

    Returns
    -------
    tuple of Finding
        Best fix first.
    """
    return evaluate(analysis.metrics, rules or default_rules(), rule_context(analysis))


def build_report(
    analysis: Analysis,
    findings: tuple[Finding, ...] | None = None,
    rules: Rules | None = None,
) -> dict[str, Any]:
    """Turn an analysis into the report dict.

    Parameters
    ----------
    analysis : Analysis
        Result of :func:`formcheck.pipeline.analyze`.
    findings : tuple of Finding, optional
        Already evaluated findings; evaluated with ``rules`` when None.
    rules : Rules, optional
        The bundled rules when None.

    Returns
    -------
    dict
        JSON-ready report (schema ``docs/report-schema.md``).
    """
    rules = rules or default_rules()
    if findings is None:
        findings = analysis_findings(analysis, rules)
    view = analysis.view
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "formcheck_version": formcheck.__version__,
        "video": analysis.video,
        "pose_quality": pose_quality(analysis.raw, analysis.tracks),
        "view": view.view,
        "direction": view.facing,
        "setting": view.setting,
        "view_detail": {
            "used": asdict(view),
            "detected": asdict(analysis.detected_view),
            "override": analysis.options.view,
        },
        "options": {
            "capture_fps": analysis.options.capture_fps,
            "height_m": analysis.options.height_m,
            "treadmill_speed_kmh": analysis.options.treadmill_speed_kmh,
            "view": analysis.options.view,
        },
        "events": [
            {"foot": e.foot, "kind": e.kind, "frame": int(e.frame), "time_s": round(e.time_s, 4)}
            for e in analysis.events
        ],
        "metrics": {name: m.to_dict() for name, m in analysis.metrics.items()},
        "findings": findings_summary(findings, rules),
        "disclaimer": DISCLAIMER,
    }
