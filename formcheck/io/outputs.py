"""Writing an analysis to its output folder (every file atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from formcheck.io.tracks import TRACKS_FILE, save_json, save_tracks
from formcheck.pipeline import Analysis
from formcheck.report import build_report

REPORT_FILE = "report.json"


def write_analysis(analysis: Analysis, out_dir: str | Path) -> dict[str, Any]:
    """Write the raw tracks and the JSON report of one analysis.

    The report is written last, so a folder whose ``report.json`` exists is
    complete.

    Parameters
    ----------
    analysis : Analysis
        The analysis.
    out_dir : str or pathlib.Path
        Output folder (created if needed).

    Returns
    -------
    dict
        The report that was written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_tracks(analysis.raw, out / TRACKS_FILE)
    report = build_report(analysis)
    save_json(out / REPORT_FILE, report)
    return report
