"""Writing an analysis to its output folder (every file atomically).

The folder holds ``tracks.nc`` (raw pose), ``images/`` (annotated flagged
frames), ``annotated.mp4``, ``per_stride.csv``, ``report.html``,
``outputs.json`` (what was written and from which clip) and, written last,
``report.json``: a folder whose ``report.json`` exists is complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from formcheck.html_report import render_html
from formcheck.io.exports import (
    CSV_FILE,
    HTML_FILE,
    VIDEO_FILE,
    remove_stale_images,
    render_video_and_frames,
    report_plots,
    web_images,
    write_html,
    write_per_stride_csv,
)
from formcheck.io.tracks import TRACKS_FILE, load_json, save_json, save_tracks
from formcheck.pipeline import Analysis
from formcheck.report import analysis_findings, build_report
from formcheck.session import (
    Session,
    build_session_report,
    metric_sources,
    session_findings,
)

REPORT_FILE = "report.json"
MANIFEST_FILE = "outputs.json"
MAX_EMBEDDED_VIDEO_BYTES = 40 * 1024**2
"""Larger annotated videos are linked from the HTML report, not embedded."""


def source_video(out_dir: str | Path) -> Path | None:
    """The source clip recorded by an earlier :func:`write_analysis`, if it still exists.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        An output folder.

    Returns
    -------
    pathlib.Path or None
        The clip, or None when unknown or gone.
    """
    manifest = Path(out_dir) / MANIFEST_FILE
    if not manifest.is_file():
        return None
    data = load_json(manifest)
    path = data.get("source_video") if isinstance(data, dict) else None
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    return Path(path) if Path(path).is_file() else None


def write_analysis(
    analysis: Analysis,
    out_dir: str | Path,
    *,
    video_path: str | Path | None = None,
    write_tracks: bool = True,
    write_video: bool = True,
) -> dict[str, Any]:
    """Write every output of one analysis; ``report.json`` last.

    Parameters
    ----------
    analysis : Analysis
        The analysis.
    out_dir : str or pathlib.Path
        Output folder (created if needed).
    video_path : str or pathlib.Path, optional
        The source clip, for annotated frames and video. Without it the
        skeleton is drawn on a blank background.
    write_tracks : bool
        Also (re)write ``tracks.nc``; False when re-rendering from it.
    write_video : bool
        Also write the annotated video (the slowest output: it decodes and
        encodes the whole clip again); without it the folder has no video
        and an old one is removed.

    Returns
    -------
    dict
        The report that was written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The folder is incomplete until the new report.json lands: drop an old one first,
    # so a crash midway never leaves a stale report beside half-new files.
    (out / REPORT_FILE).unlink(missing_ok=True)
    if write_tracks:
        save_tracks(analysis.raw, out / TRACKS_FILE)
    findings = analysis_findings(analysis)
    report = build_report(analysis, findings)
    images = render_video_and_frames(
        analysis, findings, out, video_path, write_video=write_video
    )
    if not write_video:
        (out / VIDEO_FILE).unlink(missing_ok=True)
    remove_stale_images(out, images)
    write_per_stride_csv(out / CSV_FILE, report)
    video_file = out / VIDEO_FILE
    embed = video_file.is_file() and video_file.stat().st_size <= MAX_EMBEDDED_VIDEO_BYTES
    html = render_html(
        report,
        images=web_images(images),
        plots=report_plots(analysis, report),
        video=video_file.read_bytes() if embed else None,
        video_href=VIDEO_FILE if video_file.is_file() and not embed else None,
    )
    write_html(out / HTML_FILE, html)
    has_src = video_path is not None and Path(video_path).is_file()
    src = Path(video_path).resolve() if has_src and video_path is not None else None
    save_json(out / MANIFEST_FILE, {
        "source_video": str(src) if src else None,
        "files": [
            TRACKS_FILE,
            *([VIDEO_FILE] if write_video else []),
            CSV_FILE,
            HTML_FILE,
            *sorted(images),
            REPORT_FILE,
        ],
    })
    save_json(out / REPORT_FILE, report)
    return report


def write_session(
    session: Session,
    out_dir: str | Path,
    *,
    video_paths: Mapping[str, str | Path | None] | None = None,
    write_tracks: bool = True,
    write_video: bool = True,
) -> dict[str, Any]:
    """Write the outputs of a session of one or more clips; ``report.json`` last.

    One clip: exactly :func:`write_analysis`. Several: each clip's own
    complete report folder in ``out_dir/<label>/``, then the combined
    report at the top (``report.json``, ``report.html``, ``per_stride.csv``
    and the flagged frames of the combined findings in ``images/``, each
    drawn on the clip its metric came from).

    Parameters
    ----------
    session : Session
        The session.
    out_dir : str or pathlib.Path
        Output folder.
    video_paths : mapping of str to path, optional
        Label -> source clip.
    write_tracks : bool
        Also (re)write each clip's ``tracks.nc``.
    write_video : bool
        Also write each clip's annotated video.

    Returns
    -------
    dict
        The combined report that was written.
    """
    paths = dict(video_paths or {})
    out = Path(out_dir)
    if len(session.analyses) == 1:
        label = session.primary_label
        return write_analysis(
            session.primary,
            out,
            video_path=paths.get(label),
            write_tracks=write_tracks,
            write_video=write_video,
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_FILE).unlink(missing_ok=True)  # incomplete until rewritten last
    for label, analysis in session.analyses.items():
        write_analysis(
            analysis,
            out / label,
            video_path=paths.get(label),
            write_tracks=write_tracks,
            write_video=write_video,
        )
    findings = session_findings(session)
    sources = metric_sources(session)
    report = build_session_report(
        session,
        findings,
        view_reports={label: f"{label}/{REPORT_FILE}" for label in session.labels},
    )
    images: dict[str, bytes] = {}
    for label, analysis in session.analyses.items():
        own = tuple(
            replace(f, frames=tuple(fr for fr in f.frames if sources.get(fr.metric) == label))
            for f in findings
        )
        if any(f.frames for f in own):
            images.update(
                render_video_and_frames(
                    analysis, own, out, paths.get(label), write_video=False
                )
            )
    remove_stale_images(out, images)
    write_per_stride_csv(out / CSV_FILE, report)
    primary_video = out / session.primary_label / VIDEO_FILE
    html = render_html(
        report,
        images=web_images(images),
        plots=report_plots(session.primary, report),
        video=None,
        video_href=f"{session.primary_label}/{VIDEO_FILE}" if primary_video.is_file() else None,
    )
    write_html(out / HTML_FILE, html)
    save_json(out / MANIFEST_FILE, {
        "session": session.labels,
        "source_videos": {
            label: str(Path(p).resolve()) if p is not None and Path(p).is_file() else None
            for label, p in paths.items()
        },
        "files": [CSV_FILE, HTML_FILE, *sorted(images), REPORT_FILE],
    })
    save_json(out / REPORT_FILE, report)
    return report
