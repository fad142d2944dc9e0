"""Squad summary and athlete history as CSV and HTML text (pure; written by the runner).

The squad table has one row per athlete (their latest session) and one
column per key metric, each cell highlighted when a finding flagged it
(``watch`` amber, ``act`` red). The history of an athlete lists every metric
of every session with the change since the session before and whether that
change exceeds the measurement uncertainty (:mod:`formcheck.store.history`).
Every name from users is HTML-escaped, and CSV cells that a spreadsheet
would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Mapping, Sequence

from formcheck.findings import RuleContext, Rules, default_rules, good_bands, metric_label
from formcheck.settings import LEVEL_WORDS, status_word
from formcheck.store.access import FailureRecord, RosterEntry
from formcheck.store.history import (
    BandsFor,
    MetricValue,
    SessionSummary,
    band_extent,
    history_rows,
)

SQUAD_METRICS: tuple[str, ...] = (
    "cadence_spm",
    "overstride_pct_leg",
    "shank_angle_ic_deg",
    "knee_flexion_ic_deg",
    "knee_flexion_midstance_deg",
    "trunk_lean_deg",
    "vertical_oscillation_pct_leg",
    "foot_strike_angle_deg",
    "ground_contact_time_ms",
    "duty_factor_pct",
    "knee_valgus_fppa_deg",
    "pelvic_drop_deg",
    "step_width_pct_leg",
)
"""Metrics shown in the squad table, in this order (when anyone has them)."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:right;white-space:nowrap}
th{background:#f3f3f3;position:sticky;top:0;white-space:normal;min-width:4.5rem}
td.name,th.name,td.text{text-align:left}
.scroll{overflow-x:auto;max-width:100%}
.scroll td.name,.scroll th.name{position:sticky;left:0;background:#fff;z-index:1}
.scroll th.name{background:#f3f3f3;z-index:2}
.watch{background:#fff3cd}
.act{background:#f8d7da;font-weight:600}
td.low{color:#777;font-style:italic}
td.real{font-weight:600}
td.noise{color:#777}
.key span{display:inline-block;padding:.1rem .4rem;margin-right:.5rem}
svg{background:#fafafa;border:1px solid #ddd;margin:.3rem}
"""


def session_bands(rules: Rules) -> BandsFor:
    """Each session's good bands, shifted by the height and speed it was analysed with.

    Parameters
    ----------
    rules : Rules
        The rules the findings use.

    Returns
    -------
    callable
        ``SessionSummary -> {metric: (low, high)}``.
    """

    def bands(session: SessionSummary) -> dict[str, tuple[float, float]]:
        context = RuleContext.from_inputs(session.height_m, session.treadmill_speed_kmh)
        return good_bands(rules, context)

    return bands


def _cell(text: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    s = "" if text is None else str(text)
    return "'" + s if s.startswith(_FORMULA_START) else s


def _num(x: float | None, digits: int = 2) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _value_text(m: MetricValue | None) -> str:
    if m is None or m.value is None or not math.isfinite(m.value):
        return "-"
    unc = f" ± {m.uncertainty:.1f}" if m.uncertainty is not None else ""
    # A flagged two-sided metric shows its sides: its mean can sit inside the band
    # (a valgus right knee beside a varus left one) while one side is out of it.
    sides = (
        f" (L {m.left:.1f}, R {m.right:.1f})"
        if m.level and m.left is not None and m.right is not None
        else ""
    )
    return f"{m.value:.1f}{unc}{sides}"


def squad_columns(latest: Sequence[tuple[RosterEntry, SessionSummary]]) -> list[str]:
    """Key metrics that at least one athlete's latest session measured.

    Parameters
    ----------
    latest : sequence of tuple
        ``(athlete, latest session)`` pairs.

    Returns
    -------
    list of str
        Metric names in :data:`SQUAD_METRICS` order.
    """
    return [
        name
        for name in SQUAD_METRICS
        if any(
            (m := s.metrics.get(name)) is not None
            and m.value is not None
            and m.status != "not_applicable"
            for _, s in latest
        )
    ]


def squad_csv(latest: Sequence[tuple[RosterEntry, SessionSummary]]) -> str:
    """The squad table as CSV.

    Parameters
    ----------
    latest : sequence of tuple
        ``(athlete, latest session)`` pairs.

    Returns
    -------
    str
        Columns ``athlete, date, sessions, views, act, watch``, then per metric
        ``<name>``, ``<name>_uncertainty``, ``<name>_status``, ``<name>_flag``.
    """
    cols = squad_columns(latest)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = ["athlete", "date", "sessions", "views", "act", "watch"]
    for name in cols:
        header += [name, f"{name}_uncertainty", f"{name}_status", f"{name}_flag"]
    w.writerow(header)
    for entry, s in latest:
        flags = s.flags
        row = [_cell(entry.name), s.date.isoformat(), entry.n_sessions, "+".join(s.views)]
        row += [flags["act"], flags["watch"]]
        for name in cols:
            m = s.metrics.get(name)
            row += (
                [_num(m.value), _num(m.uncertainty), m.status, m.level or ""]
                if m is not None
                else ["", "", "", ""]
            )
        w.writerow(row)
    return buf.getvalue()


def _metric_td(m: MetricValue | None) -> str:
    if m is None or m.value is None or m.status == "not_applicable":
        return "<td>-</td>"
    classes = [m.level] if m.level else []
    if m.status == "low_confidence":
        classes.append("low")
    flagged = f"; flagged: {LEVEL_WORDS.get(m.level, m.level)}" if m.level else ""
    title = f"{status_word(m.status, m.reason)}{flagged}"
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td{cls} title="{html.escape(title)}">{html.escape(_value_text(m))}</td>'


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


def _failures_html(failures: Sequence[FailureRecord]) -> str:
    if not failures:
        return ""
    items = "".join(
        f"<li><b>{html.escape(f.athlete or '?')}</b> {html.escape(f.date or '')}: "
        f"{html.escape(f.message)}</li>"
        for f in failures
    )
    return f"<h2>Not analysed ({len(failures)})</h2><ul>{items}</ul>"


def squad_html(
    latest: Sequence[tuple[RosterEntry, SessionSummary]],
    failures: Sequence[FailureRecord] = (),
    history_links: dict[str, str] | None = None,
    report_links: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
) -> str:
    """The squad table as a self-contained HTML page.

    Parameters
    ----------
    latest : sequence of tuple
        ``(athlete, latest session)`` pairs.
    failures : sequence of FailureRecord
        Inputs that could not be analysed, listed below the table.
    history_links : dict of str to str, optional
        Athlete name -> relative link to their history page.
    report_links : dict of str to str, optional
        Athlete name -> relative link to their latest session's report.
    units : dict of str to str, optional
        Metric name -> unit, for the header.

    Returns
    -------
    str
        HTML.
    """
    cols = squad_columns(latest)
    links = history_links or {}
    units = units or {}
    rules = default_rules()
    # Plain names for the coach (the metric key stays in the tooltip and the CSV).
    head = "".join(
        f"<th title='{html.escape(n, quote=True)}'>{html.escape(metric_label(n, rules))}"
        f"<br><small>{html.escape(units.get(n, ''))}</small></th>"
        for n in cols
    )
    rows = []
    for entry, s in latest:
        flags = s.flags
        name = html.escape(entry.name)
        if entry.name in links:
            name = f'<a href="{html.escape(links[entry.name])}">{name}</a>'
        date = s.date.isoformat()
        if entry.name in (report_links or {}):
            date = f'<a href="{html.escape((report_links or {})[entry.name])}">{date}</a>'
        cells = "".join(_metric_td(s.metrics.get(n)) for n in cols)
        rows.append(
            f'<tr><td class="name">{name}</td>'
            f"<td>{date}</td>"
            f"<td>{entry.n_sessions}</td><td class='text'>{html.escape('+'.join(s.views))}</td>"
            f"<td class='{'act' if flags['act'] else ''}'>{flags['act']}</td>"
            f"<td class='{'watch' if flags['watch'] else ''}'>{flags['watch']}</td>{cells}</tr>"
        )
    act, watch = (html.escape(LEVEL_WORDS[k]) for k in ("act", "watch"))
    key = (
        "<p class='key'>Latest session of each athlete; value ± uncertainty (95 % confidence of "
        "the mean over strides; not the pose model's own error). "
        f"<span class='watch'>{watch}</span><span class='act'>{act}"
        "</span> flagged by a finding; <i>grey italics</i>: low confidence.</p>"
    )
    table = (
        "<div class='scroll'><table><thead><tr><th class='name'>athlete</th><th>date</th>"
        f"<th>sessions</th><th>views</th><th>{act}</th><th>{watch}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _page("Squad summary", key + table + _failures_html(failures))


def history_csv(athlete: str, sessions: Sequence[SessionSummary]) -> str:
    """An athlete's history as CSV: one row per session and metric.

    Parameters
    ----------
    athlete : str
        Athlete name.
    sessions : sequence of SessionSummary
        Their sessions.

    Returns
    -------
    str
        Columns ``athlete, date, metric, value, uncertainty, unit, status,
        flag, change, change_uncertainty, verdict, target`` (``target``: a
        real change's direction relative to the good band).
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["athlete", "date", "metric", "value", "uncertainty", "unit", "status", "flag",
         "change", "change_uncertainty", "verdict", "target"]
    )
    for r in history_rows(sessions, session_bands(default_rules())):
        w.writerow(
            [_cell(athlete), r.date.isoformat(), r.metric, _num(r.value), _num(r.uncertainty),
             r.unit, r.status, r.level or "", _num(r.change.delta),
             _num(r.change.uncertainty), r.change.verdict, r.change.target]
        )
    return buf.getvalue()


def _chart(
    name: str,
    unit: str,
    points: list[tuple[str, float, float]],
    good: tuple[float, float] | None = None,
) -> str:
    """A small SVG line chart with uncertainty bars; points are (date, value, unc).

    ``good`` shades the metric's good band (:func:`band_extent`: an open side
    is shaded past the values, so the band shows even when every value is
    outside it).
    """
    w, h, pad = 320, 160, 34
    lo = min(v - u for _, v, u in points)
    hi = max(v + u for _, v, u in points)
    shade = band_extent(good, lo, hi) if good is not None else None
    if shade is not None:
        lo, hi = min(lo, shade[0]), max(hi, shade[1])
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    n = len(points)

    def x(i: int) -> float:
        return pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return h - pad + (lo - v) / (hi - lo) * (h - 2 * pad)

    parts = [f'<svg width="{w}" height="{h}" role="img" aria-label="{html.escape(name)}">']
    label = html.escape(f"{name} ({unit})")
    parts.append(f'<text x="6" y="14" font-size="12">{label}</text>')
    parts.append(f'<text x="2" y="{y(hi) + 4:.0f}" font-size="10">{hi:.3g}</text>')
    parts.append(f'<text x="2" y="{y(lo) + 4:.0f}" font-size="10">{lo:.3g}</text>')
    if shade is not None:
        top, bottom = y(shade[1]), y(shade[0])
        parts.append(
            f'<rect class="good-band" x="{pad}" y="{top:.1f}" width="{w - 2 * pad}" '
            f'height="{max(bottom - top, 0.0):.1f}" fill="#2ca02c" fill-opacity="0.12">'
            "<title>good range</title></rect>"
        )
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v, _) in enumerate(points))
    parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{path}"/>')
    for i, (d, v, u) in enumerate(points):
        parts.append(
            f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(v - u):.1f}" y2="{y(v + u):.1f}" '
            'stroke="#1f77b4"/>'
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#1f77b4"/>'
            f'<text x="{x(i) - 26:.1f}" y="{h - 8}" font-size="9">{html.escape(d)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def history_charts(sessions: Sequence[SessionSummary]) -> str:
    """SVG charts of the key metrics over sessions (value with uncertainty bars, good band).

    Parameters
    ----------
    sessions : sequence of SessionSummary
        One athlete's sessions.

    Returns
    -------
    str
        HTML with one chart per key metric measured in at least one session.
    """
    charts = []
    rules = default_rules()
    ordered = sorted(sessions, key=lambda s: s.date)
    bands = session_bands(rules)(ordered[-1]) if ordered else {}  # the latest target
    for name in SQUAD_METRICS:
        pts = []
        unit = ""
        for s in ordered:
            m = s.metrics.get(name)
            if m is not None and m.value is not None and m.status != "not_applicable":
                pts.append((s.date.isoformat(), m.value, m.uncertainty or 0.0))
                unit = m.unit
        if pts:
            charts.append(_chart(metric_label(name, rules), unit, pts, bands.get(name)))
    return "<div>" + "".join(charts) + "</div>"


def history_html(
    athlete: str,
    sessions: Sequence[SessionSummary],
    squad_href: str | None = None,
    report_hrefs: Mapping[int, str] | None = None,
) -> str:
    """An athlete's history as a self-contained HTML page.

    Parameters
    ----------
    athlete : str
        Athlete name.
    sessions : sequence of SessionSummary
        Their sessions.
    squad_href : str, optional
        Relative link back to the squad page.
    report_hrefs : mapping of int to str, optional
        Session id -> relative link to that session's report; each date of
        the table links to its report.

    Returns
    -------
    str
        Charts of the key metrics, then a table of every metric by session
        with the change since the previous session and its verdict.
    """
    hrefs = report_hrefs or {}
    by_date = {x.date: hrefs[x.id] for x in sessions if x.id in hrefs}
    rows = []
    for r in history_rows(sessions, session_bands(default_rules())):
        when = r.date.isoformat()
        if r.date in by_date:
            when = f"<a href='{html.escape(by_date[r.date], quote=True)}'>{when}</a>"
        m = MetricValue(
            r.value, r.uncertainty, r.unit, r.status, r.level, r.left, r.right, r.reason
        )
        verdict_cls = "real" if r.change.is_real else "noise"
        rows.append(
            f"<tr><td>{when}</td><td class='name'>{html.escape(r.metric)}</td>"
            f"{_metric_td(m)}<td class='text'>{html.escape(r.unit)}</td>"
            f"<td class='text {verdict_cls}'>{html.escape(r.change.text(r.unit))}</td></tr>"
        )
    note = (
        "<p>A change counts only when it is larger than the combined uncertainty of the two "
        "sessions (√(u₁² + u₂²), 95 % confidence); smaller ones are <i>no clear change</i>. "
        "A real change says whether it moved <i>towards</i> the metric's good range, "
        "<i>away from</i> it, or stayed <i>within</i> it; the charts shade the good range "
        "in green.</p>"
    )
    table = (
        "<table><thead><tr><th>date</th><th class='name'>metric</th><th>value</th><th>unit</th>"
        f"<th>change since last session</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    back = (
        f"<p><a href='{html.escape(squad_href, quote=True)}'>&larr; squad summary</a></p>"
        if squad_href
        else ""
    )
    return _page(f"History: {athlete}", back + note + history_charts(sessions) + table)


__all__ = [
    "SQUAD_METRICS",
    "history_charts",
    "history_csv",
    "history_html",
    "squad_columns",
    "squad_csv",
    "squad_html",
]
