"""Writing the derived outputs of an analysis: images, CSV, HTML, annotated MP4.

Every file is written atomically (temporary name in the same folder, then
renamed), so a reader never sees a half-written file. The drawing itself is
pure and lives in :mod:`formcheck.annotate` and :mod:`formcheck.html_report`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import xarray as xr

from formcheck import events as _events
from formcheck.annotate import annotate_flagged, annotate_video_frame, blank_frame
from formcheck.errors import FormcheckError
from formcheck.events import GaitEvent
from formcheck.findings import Finding
from formcheck.io.tracks import atomic_path, write_text_atomic
from formcheck.io.video import Frame, iter_frames, probe_video, shares_cores
from formcheck.io.writer import VideoWriter
from formcheck.overlay import PointLookup
from formcheck.pipeline import Analysis

IMAGES_DIR = "images"
VIDEO_FILE = "annotated.mp4"
CSV_FILE = "per_stride.csv"
HTML_FILE = "report.html"
CSV_COLUMNS = ("metric", "unit", "foot", "frame", "time_s", "value", "level")
LIVE_METRICS: Mapping[str, tuple[str, ...]] = {
    "side": ("overstride_pct_leg", "shank_angle_ic_deg", "knee_flexion_ic_deg"),
    "rear": ("knee_valgus_fppa_deg", "pelvic_drop_deg"),
    "front": ("knee_valgus_fppa_deg", "pelvic_drop_deg"),
}


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write bytes to ``path`` atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination.
    data : bytes
        Content.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    dest = Path(path)
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    dest.chmod(0o644)
    return dest


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB image.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.

    Returns
    -------
    bytes
        PNG file content.
    """
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise FormcheckError("could not encode an annotated frame as PNG")
    return bytes(buf)


WEB_JPEG_QUALITY = 85
"""JPEG quality of the flagged frames embedded in report.html."""


def web_images(images: Mapping[str, bytes], quality: int = WEB_JPEG_QUALITY) -> dict[str, bytes]:
    """JPEG copies of the flagged-frame PNGs, for embedding in the HTML report.

    A camera frame as PNG takes about 1 MB (720x1280), so a dozen of them made
    a 12 s clip's report.html 19 MB; as JPEG at quality 85 each is some ten
    times smaller and looks the same on screen. The PNGs on disk stay lossless.

    Parameters
    ----------
    images : mapping of str to bytes
        PNG bytes by relative path.
    quality : int
        JPEG quality (1-100).

    Returns
    -------
    dict of str to bytes
        JPEG bytes by the same paths (an image that does not decode is kept as it is).
    """
    out = {}
    for rel, data in images.items():
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        out[rel] = data
        if img is not None:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
            if ok:
                out[rel] = bytes(buf)
    return out


def per_stride_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per per-stride value of every metric, with its band level.

    Parameters
    ----------
    report : mapping
        The report dict.

    Returns
    -------
    list of dict
        Rows with :data:`CSV_COLUMNS`.
    """
    bands: dict[str, Mapping[str, Any]] = {}
    for f in report.get("findings", {}).get("items", []):
        for o in f.get("observations", []):
            bands[o["metric"]] = o["band"]
    rows = []
    for name, m in report.get("metrics", {}).items():
        band = bands.get(name)
        for r in m.get("per_stride", []):
            rows.append({
                "metric": name,
                "unit": m.get("unit", ""),
                "foot": r.get("foot", ""),
                "frame": r.get("frame", ""),
                "time_s": _round(r.get("time_s")),
                "value": _round(r.get("value")),
                "level": _level(band, r.get("value")) if band else "",
            })
    return rows


def _round(x: Any) -> Any:
    return round(float(x), 4) if isinstance(x, int | float) and math.isfinite(x) else ""


def _level(band: Mapping[str, Any], value: Any) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return ""

    def inside(pair: Sequence[float | None]) -> bool:
        lo = -math.inf if pair[0] is None else pair[0]
        hi = math.inf if pair[1] is None else pair[1]
        return lo <= value <= hi

    return "good" if inside(band["good"]) else "watch" if inside(band["watch"]) else "act"


def write_per_stride_csv(path: str | Path, report: Mapping[str, Any]) -> Path:
    """Write the per-stride CSV atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination ``.csv``.
    report : mapping
        The report dict.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(per_stride_rows(report))
    write_text_atomic(path, buf.getvalue())
    Path(path).chmod(0o644)
    return Path(path)


@dataclass(frozen=True)
class _Timeline:
    """Per-frame facts for the annotated video."""

    in_contact: Mapping[int, tuple[str, ...]]
    contact_now: Mapping[int, tuple[str, ...]]
    live: Sequence[tuple[int, str, str]]


def metric_tracks(analysis: Analysis) -> xr.Dataset:
    """The tracks with legs labelled as the metrics saw them.

    The metrics re-label the legs (side-view swaps, frontal orientation) before
    measuring; drawing from the same labels keeps frames and values consistent.

    Parameters
    ----------
    analysis : Analysis
        The analysis.

    Returns
    -------
    xarray.Dataset
        Re-labelled cleaned tracks.
    """
    return _events.prepare_legs(analysis.tracks, analysis.view)


def _timeline(analysis: Analysis, frames: np.ndarray) -> _Timeline:
    events = sorted(analysis.events, key=lambda e: e.time_s)
    contact: dict[int, list[str]] = {}
    now: dict[int, list[str]] = {}
    for foot in ("left", "right"):
        own = [e for e in events if e.foot == foot]
        for i, e in enumerate(own):
            if e.kind != "initial_contact":
                continue
            now.setdefault(e.frame, []).append(foot)
            to = next((x for x in own[i + 1:] if x.kind == "toe_off"), None)
            end = to.frame if to is not None else e.frame
            for f in frames[(frames >= e.frame) & (frames <= end)]:
                contact.setdefault(int(f), []).append(foot)
    live: list[tuple[int, str, str]] = []
    for name in LIVE_METRICS.get(analysis.view.view, ()):
        m = analysis.metrics.get(name)
        if m is None or m.status == "not_applicable":
            continue
        for r in m.per_stride:
            v = r.get("value")
            if isinstance(v, int | float) and math.isfinite(v):
                foot = r.get("foot", "")
                text = f"{name} ({foot}): {v:.1f} {m.unit}"
                live.append((int(r["frame"]), f"{name}:{foot}", text))
    live.sort()
    return _Timeline(
        in_contact={k: tuple(v) for k, v in contact.items()},
        contact_now={k: tuple(v) for k, v in now.items()},
        live=live,
    )


def _live_lines(analysis: Analysis, tl: _Timeline, frame: int, time_s: float) -> list[str]:
    latest: dict[str, str] = {}
    for f, key, text in tl.live:
        if f > frame:
            break
        latest[key] = text
    cad = analysis.metrics.get("cadence_spm")
    head = [f"t = {time_s:5.2f} s  frame {frame}"]
    if cad is not None and cad.value is not None:
        head.append(f"cadence {cad.value:.0f} steps/min ({cad.status})")
    return head + list(latest.values())


def _frames(analysis: Analysis, video_path: Path | None) -> Iterator[Frame]:
    """Frames of the source clip, or blank frames at the tracks' times when it is missing."""
    if video_path is not None:
        info = probe_video(video_path, analysis.options.limits)
        yield from iter_frames(
            info,
            time_scale=float(analysis.video.get("time_scale", 1.0) or 1.0),
            max_long_side=analysis.options.limits.max_long_side,
        )
        return
    ds = analysis.raw
    w = int(ds.attrs.get("width", analysis.video.get("analysed_width", 640)))
    h = int(ds.attrs.get("height", analysis.video.get("analysed_height", 480)))
    base = blank_frame(w, h)
    for idx, t in zip(ds["frame"].values, ds["time"].values, strict=True):
        yield Frame(index=int(idx), time_s=float(t), image=base)


def render_video_and_frames(
    analysis: Analysis,
    findings: Sequence[Finding],
    out_dir: str | Path,
    video_path: str | Path | None = None,
    *,
    write_video: bool = True,
) -> dict[str, bytes]:
    """Write the annotated MP4 and the flagged-frame PNGs, in one pass over the clip.

    Parameters
    ----------
    analysis : Analysis
        The analysis.
    findings : sequence of Finding
        Ranked findings (their flagged frames are drawn).
    out_dir : str or pathlib.Path
        Output folder; images go to ``out_dir/images``.
    video_path : str or pathlib.Path, optional
        The source clip; when None or missing, skeletons are drawn on a blank
        background.
    write_video : bool
        False to write only the flagged-frame images (decoding stops after
        the last flagged frame).

    Returns
    -------
    dict of str to bytes
        PNG bytes by relative path (``images/frame_....png``).
    """
    out = Path(out_dir)
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    src = Path(video_path) if video_path is not None and Path(video_path).is_file() else None
    tracks = metric_tracks(analysis)
    points_of = PointLookup(tracks)
    frames_coord = np.asarray(tracks["frame"].values, dtype=int)
    tl = _timeline(analysis, frames_coord)
    wanted: dict[int, list[tuple[Finding, Any]]] = {}
    for f in findings:
        for fr in f.frames:
            wanted.setdefault(fr.frame, []).append((f, fr))
    images: dict[str, bytes] = {}
    writer: VideoWriter | None = None
    scale = float(analysis.video.get("time_scale", 1.0) or 1.0)
    try:
        last_t = -math.inf
        for frame in _frames(analysis, src):
            points = points_of(frame.index)
            for finding, fr in wanted.get(frame.index, []):
                img = annotate_flagged(frame.image, points, fr, title=finding.title)
                data = encode_png(img)
                rel = f"{IMAGES_DIR}/{fr.image_name}"
                write_bytes_atomic(out / rel, data)
                images[rel] = data
            if not write_video:
                if not wanted or frame.index >= max(wanted):
                    break
                continue
            img = annotate_video_frame(
                frame.image,
                points,
                in_contact=tl.in_contact.get(frame.index, ()),
                contact_now=tl.contact_now.get(frame.index, ()),
                lines=_live_lines(analysis, tl, frame.index, frame.time_s),
            )
            h, w = img.shape[0] - img.shape[0] % 2, img.shape[1] - img.shape[1] % 2
            if writer is None:
                writer = VideoWriter(
                    out / VIDEO_FILE,
                    w,
                    h,
                    fps=_fps(analysis),
                    preset="veryfast",
                    threads=1 if shares_cores() else 0,
                )
                writer.open()
            t = frame.time_s / scale  # playback seconds
            if t <= last_t:
                continue
            writer.write(np.ascontiguousarray(img[:h, :w]), time_s=t)
            last_t = t
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    return images


def remove_stale_images(out_dir: str | Path, keep: Mapping[str, bytes]) -> list[Path]:
    """Delete flagged-frame PNGs of earlier runs from ``out_dir/images``.

    Re-rendering a report folder (``formcheck report DIR`` or a second
    ``analyze --out DIR``) may flag other frames than before; images that
    the new report does not reference would otherwise linger next to it.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The report folder.
    keep : mapping of str to bytes
        Images of this run, by path relative to ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    folder = Path(out_dir) / IMAGES_DIR
    removed = []
    for path in sorted(folder.glob("*.png")):
        if f"{IMAGES_DIR}/{path.name}" not in keep:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _fps(analysis: Analysis) -> float:
    fps = float(analysis.video.get("playback_fps") or analysis.video.get("fps") or 30.0)
    return fps if math.isfinite(fps) and fps > 0 else 30.0


def report_plots(analysis: Analysis, report: Mapping[str, Any]) -> dict[str, str]:
    """Inline SVG plots for the HTML report.

    Parameters
    ----------
    analysis : Analysis
        The analysis (tracks and events for the gait-cycle curves).
    report : mapping
        The report dict (per-stride values and bands).

    Returns
    -------
    dict of str to str
        Title -> ``<svg>``.
    """
    from formcheck.html_report import knee_cycle_curves, svg_knee_cycles, svg_per_stride

    tracks: xr.Dataset = metric_tracks(analysis)
    events: list[GaitEvent] = list(analysis.events)
    curves = knee_cycle_curves(tracks, events, analysis.view)
    plots = {"Knee angle across the gait cycle": svg_knee_cycles(curves)}
    bands = {o["metric"]: o["band"] for f in report["findings"]["items"] for o in f["observations"]}
    for name, title in (
        ("cadence_spm", "Cadence per step"),
        ("overstride_pct_leg", "Overstride per contact"),
        ("knee_valgus_fppa_deg", "Knee FPPA per stance"),
    ):
        m = report["metrics"].get(name)
        if m and m.get("status") != "not_applicable":
            plots[title] = svg_per_stride(m, bands.get(name))
    return plots


def write_html(path: str | Path, text: str) -> Path:
    """Write the HTML report atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination.
    text : str
        HTML.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    write_text_atomic(path, text)
    Path(path).chmod(0o644)
    return Path(path)


__all__ = [
    "CSV_FILE",
    "HTML_FILE",
    "IMAGES_DIR",
    "VIDEO_FILE",
    "encode_png",
    "metric_tracks",
    "per_stride_rows",
    "render_video_and_frames",
    "report_plots",
    "write_bytes_atomic",
    "write_html",
    "write_per_stride_csv",
]
