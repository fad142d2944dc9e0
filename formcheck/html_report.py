"""The self-contained HTML report (pure: report dict + images -> one HTML string).

Images are embedded as base64 data URIs and plots as inline SVG, so the one
file can be mailed or opened offline. Plots are drawn with matplotlib's
object API (``matplotlib.figure.Figure``), which touches neither pyplot's
global state nor ``rcParams``.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from formcheck.dataset import INDIVIDUAL
from formcheck.events import GaitEvent
from formcheck.metrics import knee_flexion_deg
from formcheck.settings import LEVEL_WORDS, UNCERTAINTY_NOTE, status_word
from formcheck.view import ViewInfo

LEFT_HEX = "#ff8c00"
RIGHT_HEX = "#00aaff"
LEVEL_HEX = {"good": "#3cbe5a", "watch": "#f5be28", "act": "#e63c32"}
CYCLE_POINTS = 101


@dataclass(frozen=True)
class CycleCurves:
    """Knee angle across the gait cycle, per leg (initial contact to next contact).

    Attributes
    ----------
    label : str
        Y-axis label (knee flexion for a side view, FPPA for rear/front).
    pct : numpy.ndarray
        0-100 % of the gait cycle.
    left, right : tuple of numpy.ndarray
        One resampled curve per cycle of each leg.
    """

    label: str
    pct: np.ndarray
    left: tuple[np.ndarray, ...]
    right: tuple[np.ndarray, ...]


def _xy(ds: xr.Dataset, name: str) -> np.ndarray:
    da = ds["position"].sel(keypoints=name, individuals=INDIVIDUAL)
    return np.asarray(da.transpose("time", "space").values, dtype=float)


def knee_angle_series(ds: xr.Dataset, view: ViewInfo, side: str) -> np.ndarray:
    """Per-frame knee angle of one leg.

    Parameters
    ----------
    ds : xarray.Dataset
        Cleaned (leg-repaired) tracks.
    view : ViewInfo
        The view: side -> knee flexion; rear/front -> signed FPPA.
    side : {"left", "right"}
        The leg.

    Returns
    -------
    numpy.ndarray
        Degrees per frame (NaN where a joint is missing).
    """
    hip, knee, ankle = (_xy(ds, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
    angle = knee_flexion_deg(hip, knee, ankle)
    if view.view in ("rear", "front"):
        other = "right" if side == "left" else "left"
        medial = np.sign(_xy(ds, f"{other}_hip")[:, 0] - hip[:, 0])
        axis = ankle - hip
        frac = np.sum((knee - hip) * axis, axis=-1) / np.sum(axis * axis, axis=-1)
        on_line = hip + frac[:, None] * axis
        angle = angle * np.sign(medial * (knee[:, 0] - on_line[:, 0]))
    return angle


def knee_cycle_curves(ds: xr.Dataset, events: Sequence[GaitEvent], view: ViewInfo) -> CycleCurves:
    """Knee angle of each leg resampled over each of its gait cycles.

    Parameters
    ----------
    ds : xarray.Dataset
        Cleaned (leg-repaired) tracks.
    events : sequence of GaitEvent
        Gait events.
    view : ViewInfo
        Camera view.

    Returns
    -------
    CycleCurves
        Curves per leg (empty tuples when a leg has fewer than two contacts).
    """
    t = np.asarray(ds["time"].values, dtype=float)
    pct = np.linspace(0.0, 100.0, CYCLE_POINTS)
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for side in ("left", "right"):
        angle = knee_angle_series(ds, view, side)
        ics = sorted(e.time_s for e in events if e.kind == "initial_contact" and e.foot == side)
        cycles = []
        for a, b in zip(ics, ics[1:], strict=False):
            if b - a > 2.0:  # a missed contact: not one cycle
                continue
            m = (t >= a) & (t <= b) & np.isfinite(angle)
            if m.sum() < 5:
                continue
            cycles.append(np.interp(a + (b - a) * pct / 100.0, t[m], angle[m]))
        out[side] = tuple(cycles)
    label = "knee flexion (deg)" if view.view == "side" else "knee FPPA (deg, + valgus)"
    return CycleCurves(label=label, pct=pct, left=out["left"], right=out["right"])


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.find("<svg"):]


def _figure(width: float = 6.4, height: float = 3.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def svg_knee_cycles(curves: CycleCurves) -> str:
    """Inline SVG: knee angle across the gait cycle, left and right.

    Parameters
    ----------
    curves : CycleCurves
        From :func:`knee_cycle_curves`.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    fig = _figure()
    ax = fig.add_subplot()
    for side, colour, cycles in (("left", LEFT_HEX, curves.left), ("right", RIGHT_HEX, curves.right)):
        for c in cycles:
            ax.plot(curves.pct, c, color=colour, alpha=0.2, lw=0.8)
        if cycles:
            ax.plot(curves.pct, np.nanmean(np.vstack(cycles), axis=0), color=colour, lw=2.2,
                    label=f"{side} (mean of {len(cycles)} cycles)")
    ax.set_xlabel("gait cycle (% from initial contact)")
    ax.set_ylabel(curves.label)
    ax.grid(alpha=0.3)
    if curves.left or curves.right:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no complete gait cycle found", ha="center", transform=ax.transAxes)
    return _svg(fig)


def svg_per_stride(metric: Mapping[str, Any], band: Mapping[str, Any] | None = None) -> str:
    """Inline SVG: one metric's per-stride values over time, by foot, with its band.

    Parameters
    ----------
    metric : mapping
        A report metric (``per_stride`` rows with ``time_s``, ``value``, ``foot``).
    band : mapping, optional
        ``{"good": [lo, hi], "watch": [lo, hi]}`` (None edges are open).

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    fig = _figure(6.4, 2.6)
    ax = fig.add_subplot()
    rows = [r for r in metric.get("per_stride", []) if r.get("value") is not None]
    for side, colour in (("left", LEFT_HEX), ("right", RIGHT_HEX)):
        pts = [(r["time_s"], r["value"]) for r in rows if r.get("foot") == side]
        if pts:
            x, y = zip(*pts, strict=True)
            ax.plot(x, y, "o-", color=colour, ms=4, lw=1, label=side)
    if band:
        lo, hi = band["good"]
        y0, y1 = ax.get_ylim()
        ax.axhspan(lo if lo is not None else y0 - 1e3, hi if hi is not None else y1 + 1e3,
                   color=LEVEL_HEX["good"], alpha=0.12, label="good band")
        ax.set_ylim(y0, y1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{metric.get('name', '')} ({metric.get('unit', '')})")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "not measured in this clip", ha="center", transform=ax.transAxes)
    return _svg(fig)


def data_uri(data: bytes, mime: str) -> str:
    """Base64 data URI.

    Parameters
    ----------
    data : bytes
        File content.
    mime : str
        MIME type, e.g. ``"image/png"``.

    Returns
    -------
    str
        ``data:<mime>;base64,...``.
    """
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:auto;
padding:1rem 1.5rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem} .muted{color:#666;font-size:.9rem}
.notes{background:#eef4fb;border-left:5px solid #4a90d9;padding:.5rem 1rem;margin:1rem 0}
.disclaimer{background:#fff4e5;border-left:5px solid #f5a623;padding:.7rem 1rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:1rem 1.2rem;margin:1rem 0}
.badge{display:inline-block;border-radius:4px;padding:0 .45rem;color:#fff;font-size:.8rem;
margin-right:.3rem;vertical-align:middle}
.frames{display:flex;flex-wrap:wrap;gap:.6rem} .frames figure{margin:0;flex:1 1 300px}
.frames img{width:100%;border-radius:4px} figcaption{font-size:.8rem;color:#555}
table{border-collapse:collapse;width:100%;font-size:.85rem} td,th{border-bottom:1px solid #eee;
padding:.25rem .4rem;text-align:left} .src{color:#666;font-size:.8rem;font-style:italic}
video{width:100%;background:#000;border-radius:6px} svg{max-width:100%;height:auto}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _badge(text: str, colour: str) -> str:
    return f'<span class="badge" style="background:{colour}">{_e(text)}</span>'


def _guidance_list(items: Sequence[Mapping[str, Any]]) -> str:
    lis = []
    for g in items:
        kind = g.get("kind", "")
        dose = f" <b>Dose:</b> {_e(g['dose'])}" if g.get("dose") else ""
        title = f"<b>{_e(g['title'])}.</b> " if g.get("title") else ""
        lis.append(
            f"<li>{_badge(kind, '#777')}{title}{_e(g['text'])}{dose} "
            f'<span class="src">Source: {_e(g["source"])}</span></li>'
        )
    return "<ul>" + "".join(lis) + "</ul>"


def image_mime(data: bytes) -> str:
    """MIME type of PNG or JPEG bytes, from their signature.

    Parameters
    ----------
    data : bytes
        Image file content.

    Returns
    -------
    str
        ``"image/jpeg"`` for JPEG bytes, else ``"image/png"``.
    """
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


def _finding_card(f: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    side = f" &middot; {_e(f['side'])} side" if f.get("side") in ("left", "right") else (
        " &middot; both sides" if f.get("side") == "both" else ""
    )
    conf_colour = {"high": "#2a7", "medium": "#c90", "low": "#c33"}.get(f["confidence"], "#777")
    reasons = "".join(f"<li>{_e(r)}</li>" for r in f.get("confidence_reasons", []))
    obs = "".join(f"<li>{_e(o['text'])}</li>" for o in f.get("observations", []))
    figs = []
    for fr in f.get("frames", []):
        data = images.get(fr["image"])
        if data is None:
            continue
        foot = f", {fr['foot']} foot" if fr.get("foot") else ""
        figs.append(
            f'<figure><img alt="frame {fr["frame"]}" src="{data_uri(data, image_mime(data))}">'
            f"<figcaption>Frame {fr['frame']} ({fr['time_s']:.2f} s{_e(foot)}): "
            f"{fr['value']:.1f} {_e(fr['unit'])}, {_e(fr['band'])}</figcaption></figure>"
        )
    sources = "; ".join(_e(s) for s in f.get("sources", []))
    clin = f["see_clinician"]
    return f"""
<div class="card" id="finding-{_e(f['id'])}">
<h3>{f['rank']}. {_e(f['title'])}</h3>
<p>{_badge(LEVEL_WORDS.get(f['level'], f['level']), LEVEL_HEX.get(f['level'], '#777'))}{_badge('severity ' + f['severity'], '#555')}
{_badge('confidence ' + f['confidence'], conf_colour)}{side}</p>
<h4>What we saw</h4><ul>{obs}</ul>
{'<p class="muted">Confidence is lowered because:</p><ul class="muted">' + reasons + '</ul>' if reasons else ''}
<div class="frames">{''.join(figs)}</div>
<h4>Why it matters</h4>{_guidance_list(f.get('why', []))}
<h4>What to do</h4>{_guidance_list(f.get('actions', []))}
<h4>When to see a clinician</h4><p>{_e(clin['text'])} <span class="src">Source: {_e(clin['source'])}</span></p>
<p class="muted"><b>Band evidence:</b> {_e(f.get('evidence', ''))} <span class="src">({sources})</span></p>
</div>"""


def _metrics_table(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for name, m in metrics.items():
        def fmt(v: Any) -> str:
            return "-" if v is None else f"{v:.1f}"

        unc = f" &plusmn; {m['uncertainty']:.1f}" if m.get("uncertainty") is not None else ""
        status = str(m.get("status", ""))
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{fmt(m.get('value'))}{unc} {_e(m.get('unit', ''))}</td>"
            f"<td>{fmt(m.get('left'))}</td><td>{fmt(m.get('right'))}</td><td>{m.get('n_strides', 0)}</td>"
            f"<td title='{_e(status)}'>{_e(status_word(status, str(m.get('reason', ''))))}</td>"
            f"<td class='muted'>{_e(m.get('reason', ''))}</td></tr>"
        )
    return (
        "<table><tr><th>metric</th><th>value</th><th>left</th><th>right</th><th>n</th>"
        "<th>status</th><th>note</th></tr>" + "".join(rows) + "</table>"
    )


def render_html(
    report: Mapping[str, Any],
    *,
    images: Mapping[str, bytes] | None = None,
    plots: Mapping[str, str] | None = None,
    video: bytes | None = None,
    video_href: str | None = None,
) -> str:
    """Render the report as one self-contained HTML page.

    Parameters
    ----------
    report : mapping
        The report dict (:func:`formcheck.report.build_report`), with ``findings``.
    images : mapping of str to bytes, optional
        PNG or JPEG bytes by the ``image`` path each flagged frame names
        (``images/...``; :func:`formcheck.io.exports.web_images` makes the
        smaller JPEGs).
    plots : mapping of str to str, optional
        Section title -> inline ``<svg>`` markup.
    video : bytes, optional
        The annotated H.264 MP4, embedded as a data URI.
    video_href : str, optional
        A relative link to the video instead of embedding it.

    Returns
    -------
    str
        The HTML document.
    """
    images = images or {}
    plots = plots or {}
    block = report.get("findings") or {}
    items = block.get("items", [])
    v = report.get("video", {})
    title = f"formcheck report: {v.get('file', '')}"
    top = [f for f in items if f.get("top_fix")]
    top_html = (
        "<ol>" + "".join(
            f'<li><a href="#finding-{_e(f["id"])}">{_e(f["title"])}</a> '
            f"({_e(LEVEL_WORDS.get(f['level'], f['level']))}, confidence {_e(f['confidence'])})</li>"
            for f in top
        ) + "</ol>"
        if top else "<p>No metric is outside its target band. Keep building up gradually.</p>"
    )
    cards = "".join(_finding_card(f, images) for f in items)
    plot_html = "".join(f"<h3>{_e(k)}</h3>{svg}" for k, svg in plots.items())
    if video is not None:
        src = data_uri(video, "video/mp4")
    else:
        src = _e(video_href) if video_href else ""
    video_html = (
        f'<video id="annotated" controls muted playsinline preload="auto" src="{src}"></video>'
        if src else "<p>No annotated video (it was not written for this report).</p>"
    )
    general = _guidance_list(block.get("general_advice", []))
    warnings = v.get("warnings") or []
    notes_html = (
        '<div class="notes" id="clip-notes"><b>About this clip.</b><ul>'
        + "".join(f"<li>{_e(w)}</li>" for w in warnings)
        + "</ul></div>"
        if warnings else ""
    )
    disclaimer = _e(report.get("disclaimer", ""))
    facing = f", facing {report['direction']}" if report.get("direction") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>Running form report</h1>
<p class="muted">{_e(v.get('file', ''))} &middot; {v.get('frames', 0)} frames &middot;
{v.get('duration_s', 0.0):.1f} s &middot; {v.get('fps', 0.0):.1f} fps &middot; view {_e(report.get('view', ''))}{_e(facing)}
&middot; formcheck {_e(report.get('formcheck_version', ''))}, rules {_e(block.get('rules_version', ''))}</p>
<div class="disclaimer"><b>Training aid, not a diagnosis.</b> {disclaimer}</div>
{notes_html}
<h2>Top fixes</h2>{top_html}
<h2>Findings</h2>{cards or '<p>None.</p>'}
<h2>Annotated video</h2>{video_html}
<h2>Plots</h2>{plot_html}
<h2>All metrics</h2>{_metrics_table(report.get('metrics', {}))}
<p class="muted">{_e(UNCERTAINTY_NOTE)}</p>
<h2>Looking after your knees</h2>{general}
<div class="disclaimer">{disclaimer}</div>
</body></html>
"""


__all__ = [
    "CycleCurves",
    "data_uri",
    "knee_angle_series",
    "knee_cycle_curves",
    "render_html",
    "svg_knee_cycles",
    "svg_per_stride",
]
