"""The coach page: a squad's roster, one athlete's history, two sessions side by side.

Everything shown is read from the results database that ``formcheck batch``
writes (:mod:`formcheck.store`); the page only lays it out. A change counts
when it exceeds the combined uncertainty of the two sessions
(:func:`formcheck.store.history.compare`), the same rule as the history pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from formcheck.batch.summary import SQUAD_METRICS, session_bands
from formcheck.errors import FormcheckError
from formcheck.findings import default_rules
from formcheck.settings import LEVEL_WORDS, UNCERTAINTY_NOTE, status_word
from formcheck.store.access import athlete_sessions, failures, roster
from formcheck.store.db import DB_FILE, Store, StoreError, default_url, open_store
from formcheck.store.history import (
    MetricValue,
    SessionSummary,
    band_extent,
    compare_sessions,
    history_rows,
)

DB_ENV = "FORMCHECK_DB"
"""Environment variable with the batch output folder or database URL to open."""


def database_url(source: str) -> str:
    """The database URL for what the coach typed: a URL, a ``.db`` file or a batch folder.

    Parameters
    ----------
    source : str
        SQLAlchemy URL, path of a SQLite file, or a ``formcheck batch`` output folder.

    Returns
    -------
    str
        SQLAlchemy URL.

    Raises
    ------
    StoreError
        If a folder has no ``formcheck.db`` or a file does not exist.
    """
    text = source.strip()
    if "://" in text:
        return text
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / DB_FILE).is_file():
            raise StoreError(f"{path} has no {DB_FILE}: is it a 'formcheck batch' output folder?")
        return default_url(path)
    if path.is_file():
        return f"sqlite:///{path.resolve().as_posix()}"
    raise StoreError(f"no such folder or database file: {path}")


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return open_store(url, migrate=False)


def history_frame(sessions: list[SessionSummary]) -> pd.DataFrame:
    """One athlete's history as a table: every metric of every session and its change.

    Parameters
    ----------
    sessions : list of SessionSummary
        The athlete's sessions.

    Returns
    -------
    pandas.DataFrame
        Columns ``date, metric, value, uncertainty, low, high, unit, status,
        flag, reason, change, verdict`` (``flag`` in plain words).
    """
    rows = []
    for r in history_rows(sessions, session_bands(default_rules())):
        unc = r.uncertainty or 0.0
        rows.append(
            {
                "date": pd.Timestamp(r.date),
                "metric": r.metric,
                "value": r.value,
                "uncertainty": r.uncertainty,
                "low": None if r.value is None else r.value - unc,
                "high": None if r.value is None else r.value + unc,
                "unit": r.unit,
                "status": r.status,
                "flag": LEVEL_WORDS.get(r.level, r.level) if r.level else "",
                "reason": r.reason,
                "change": r.change.text(r.unit),
                "verdict": r.change.verdict,
            }
        )
    return pd.DataFrame(rows)


def history_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The history frame as a coach reads it: dates, one decimal, status words, '-' for none.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`history_frame`.

    Returns
    -------
    pandas.DataFrame
        Columns ``date, metric, value, ±, unit, status, flag, change``, all text.
    """
    def num(x: object) -> str:
        return "-" if x is None or pd.isna(x) else f"{float(x):.1f}"  # type: ignore[arg-type]

    if frame.empty:
        return frame
    return pd.DataFrame(
        {
            "date": [d.date().isoformat() for d in frame["date"]],
            "metric": frame["metric"],
            "value": [num(v) for v in frame["value"]],
            "±": [num(v) for v in frame["uncertainty"]],
            "unit": frame["unit"],
            "status": [
                status_word(x, y) for x, y in zip(frame["status"], frame["reason"], strict=True)
            ],
            "flag": frame["flag"],
            "change": frame["change"],
        }
    )


def metric_chart(
    frame: pd.DataFrame, metric: str, good: tuple[float, float] | None = None
) -> alt.LayerChart:
    """Value over sessions with uncertainty bars for one metric.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`history_frame`.
    metric : str
        Metric name.
    good : tuple of float, optional
        The metric's good band (the latest session's), shaded when given.

    Returns
    -------
    altair.LayerChart
        Line and points, with a vertical bar of ± uncertainty per session,
        over the good range shaded green.
    """
    data = frame[(frame["metric"] == metric) & frame["value"].notna()]
    unit = str(data["unit"].iloc[0]) if len(data) else ""
    base = alt.Chart(data).encode(x=alt.X("date:T", title="session"))
    line = base.mark_line(point=True).encode(
        y=alt.Y("value:Q", title=f"{metric} ({unit})", scale=alt.Scale(zero=False)),
        tooltip=["date:T", "value:Q", "uncertainty:Q", "change:N"],
    )
    bars = base.mark_rule().encode(y="low:Q", y2="high:Q")
    layers: list[alt.Chart] = [bars, line]
    if good is not None and len(data):
        # The good range, shaded; an open side (<= 8, >= 15) reaches past the values.
        lo, hi = band_extent(good, float(data["low"].min()), float(data["high"].max()))
        band = alt.Chart(pd.DataFrame({"lo": [lo], "hi": [hi]})).mark_rect(
            color="#2ca02c", opacity=0.12
        ).encode(y="lo:Q", y2="hi:Q")
        layers.insert(0, band)
    return alt.LayerChart(layer=layers, height=220)


def _roster_frame(store: Store) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "athlete": e.name,
                "sessions": e.n_sessions,
                "first": e.first_date,
                "last": e.last_date,
            }
            for e in roster(store)
        ]
    )


def _session_column(session: SessionSummary) -> None:
    st.markdown(f"**{session.date.isoformat()}** ({' + '.join(session.views)})")
    if session.findings:
        for rank, level, title in session.findings[:5]:
            st.markdown(f"{rank}. {title} *({level})*")
    else:
        st.markdown("No findings: every metric in its target band.")
    st.caption(f"report: {session.folder}/report.html")


def _comparison(a: SessionSummary, b: SessionSummary) -> pd.DataFrame:
    rows = []
    for name, ma, mb, change in compare_sessions(a, b, session_bands(default_rules())):
        unit = mb.unit if mb is not None else ma.unit if ma is not None else ""
        rows.append(
            {
                "metric": name,
                a.date.isoformat(): _fmt(ma),
                b.date.isoformat(): _fmt(mb),
                "change": change.text(unit),
                "verdict": change.verdict,
            }
        )
    return pd.DataFrame(rows)


def _fmt(m: MetricValue | None) -> str:
    if m is None or m.value is None:
        return "-"
    unc = f" ± {m.uncertainty:.1f}" if m.uncertainty is not None else ""
    return f"{m.value:.1f}{unc} {m.unit}"


def _history(store: Store, name: str) -> None:
    sessions = athlete_sessions(store, name)
    frame = history_frame(sessions)
    measured = [m for m in SQUAD_METRICS if m in set(frame["metric"][frame["value"].notna()])]
    picked = st.multiselect("Metrics", measured, default=measured[:4], key="coach_metrics")
    cols = st.columns(2)
    target = session_bands(default_rules())(sessions[-1]) if sessions else {}
    for i, metric in enumerate(picked):
        chart = metric_chart(frame, metric, target.get(metric))
        cols[i % 2].altair_chart(chart, width="stretch")
    with st.expander("Every metric of every session"):
        st.dataframe(history_table(frame), hide_index=True, width="stretch")
        st.caption(UNCERTAINTY_NOTE)
    st.subheader("Compare two sessions", anchor=False)
    if len(sessions) < 2:
        st.info(f"{name} has one session so far; a second one can be compared with it.")
        return
    dates = [s.date.isoformat() for s in sessions]
    left, right = st.columns(2)
    first = left.selectbox("Earlier session", dates, index=len(dates) - 2, key="coach_a")
    second = right.selectbox("Later session", dates, index=len(dates) - 1, key="coach_b")
    a = sessions[dates.index(first)]
    b = sessions[dates.index(second)]
    with left:
        _session_column(a)
    with right:
        _session_column(b)
    st.dataframe(_comparison(a, b), hide_index=True, width="stretch")
    st.caption(
        "A change counts only when it is larger than the combined uncertainty of the two "
        "sessions (√(u₁² + u₂²)); smaller ones are 'no clear change'. A real change says "
        "whether it moved towards the metric's good range (shaded green in the charts), away "
        "from it, or stayed within it."
    )


def coach_page(db: str | None = None) -> None:
    """Lay out the coach page.

    Parameters
    ----------
    db : str, optional
        Batch output folder, SQLite file or database URL; asked for on the
        page (pre-filled from ``FORMCHECK_DB``) when None.
    """
    st.title("Squad history")
    source = db or st.text_input(
        "Batch output folder or database URL",
        value=os.environ.get(DB_ENV, ""),
        help="The --out folder of 'formcheck batch' (or its --db URL).",
    )
    if not source:
        st.info("Run `formcheck batch CLIPS --out DIR`, then enter DIR here.")
        return
    try:
        store = _store(database_url(source))
        frame = _roster_frame(store)
        failed = failures(store)
    except FormcheckError as exc:
        st.error(str(exc))
        return
    if frame.empty:
        st.info("No analysed sessions in this database yet.")
        return
    st.subheader("Roster", anchor=False)
    st.dataframe(frame, hide_index=True, width="stretch")
    if failed:
        with st.expander(f"{len(failed)} clips could not be analysed"):
            for f in failed:
                st.markdown(f"- **{f.athlete or '?'}** {f.date or ''}: {f.message}")
    name = st.selectbox("Athlete", frame["athlete"].tolist(), key="coach_athlete")
    st.subheader(f"History of {name}", anchor=False)
    _history(store, str(name))


__all__ = ["DB_ENV", "coach_page", "database_url", "history_frame", "metric_chart"]
