"""Laying out a result: findings with guidance, flagged frames, video, metrics, charts.

Layout only: every number and sentence comes from the report (via
:mod:`formcheck.ui.present`) or from files of the output folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from formcheck.errors import FormcheckError
from formcheck.findings import Rules, default_rules
from formcheck.io.exports import CSV_FILE, HTML_FILE
from formcheck.io.frames import FrameReader
from formcheck.io.outputs import REPORT_FILE
from formcheck.io.workspace import output_file, read_output, zip_folder
from formcheck.report import DISCLAIMER
from formcheck.settings import LEVEL_WORDS, UNCERTAINTY_NOTE, status_word
from formcheck.ui import charts
from formcheck.ui.present import (
    LEVEL_TEXT,
    FlaggedView,
    MetricCard,
    clip_summaries,
    flagged_frames,
    metric_band,
    metric_cards,
    metric_label,
    report_context,
    report_notes,
)
from formcheck.ui.runner import AppResult

TABS = ("What to work on", "Flagged frames", "Video", "Metrics", "Charts")
LEVEL_BADGE = {
    level: (LEVEL_WORDS[level].capitalize(), colour)
    for level, colour in (("act", "red"), ("watch", "orange"))
}
CARD_BADGE = {"good": "green", "watch": "orange", "act": "red"}
CONFIDENCE_TEXT = {
    "high": "high confidence",
    "medium": "medium confidence",
    "low": "low confidence",
}
CARDS_PER_ROW = 3


@st.cache_resource(show_spinner=False)
def cached_rules() -> Rules:
    """The bundled rules (labels and bands)."""
    return default_rules()


def _file_stem(result: AppResult) -> str:
    name = result.names.get(result.session.primary_label, "formcheck")
    stem = Path(name).stem.replace('"', "").replace("'", "").strip() or "formcheck"
    return f"{stem}_formcheck"


def _header(result: AppResult) -> None:
    st.header("Your results", divider="gray")
    for summary in clip_summaries(result.report, result.names):
        st.markdown(f"**{summary.name}**: {summary.text}")
        for warning in summary.warnings:
            st.warning(warning, icon=":material/warning:")
    for note in report_notes(result.report):
        st.warning(note[:1].upper() + note[1:], icon=":material/info:")
    if "views" not in result.report and result.report.get("options", {}).get("view") == "auto":
        st.caption(
            "Wrong camera view? Choose it under Run details and press the button again: "
            "the clip is not processed again."
        )
    st.info(DISCLAIMER, icon=":material/health_and_safety:")


def _downloads(result: AppResult) -> None:
    out, stem = result.out_dir, _file_stem(result)

    def reader(rel: str) -> Any:
        return lambda: read_output(out, rel)

    row = st.container(horizontal=True)
    row.download_button(
        "Report (HTML)", reader(HTML_FILE), f"{stem}_report.html", "text/html",
        icon=":material/description:", on_click="ignore", key="fc_dl_html",
    )
    row.download_button(
        "Data (JSON)", reader(REPORT_FILE), f"{stem}_report.json", "application/json",
        icon=":material/data_object:", on_click="ignore", key="fc_dl_json",
    )
    row.download_button(
        "Per-stride values (CSV)", reader(CSV_FILE), f"{stem}_per_stride.csv", "text/csv",
        icon=":material/table:", on_click="ignore", key="fc_dl_csv",
    )
    for label in result.labels:
        rel = result.video_rel(label)
        if not (out / rel).is_file():
            continue
        suffix = f" ({label})" if len(result.labels) > 1 else ""
        row.download_button(
            f"Annotated video{suffix}", reader(rel), f"{stem}_{label}_annotated.mp4",
            "video/mp4", icon=":material/movie:", on_click="ignore", key=f"fc_dl_video_{label}",
        )
    row.download_button(
        "Everything (ZIP)", lambda: zip_folder(out), f"{stem}.zip", "application/zip",
        icon=":material/folder_zip:", on_click="ignore", key="fc_dl_zip",
    )


# ----------------------------------------------------------------------- findings


def _guidance(items: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for g in items:
        title = f"**{g['title']}**: " if g.get("title") else ""
        dose = f" *({g['dose']})*" if g.get("dose") else ""
        source = f"  \n  <small>Source: {g['source']}</small>" if g.get("source") else ""
        lines.append(f"- {title}{g.get('text', '')}{dose}{source}")
    return "\n".join(lines)


def _finding(item: Mapping[str, Any]) -> None:
    with st.container(border=True):
        st.subheader(f"{item['rank']}. {item['title']}", anchor=False)
        row = st.container(horizontal=True)
        text, colour = LEVEL_BADGE.get(str(item.get("level")), ("Note", "gray"))
        row.badge(text, color=colour)  # type: ignore[arg-type]
        if item.get("side") in ("left", "right", "both"):
            side = "both sides" if item["side"] == "both" else f"{item['side']} side"
            row.badge(side, color="gray")
        row.badge(CONFIDENCE_TEXT.get(str(item.get("confidence")), "confidence ?"), color="blue")
        st.markdown("**What we saw**")
        st.markdown("\n".join(f"- {o['text']}" for o in item.get("observations", [])))
        if item.get("confidence_reasons"):
            st.caption("Less certain because: " + "; ".join(item["confidence_reasons"]))
        if item.get("why"):
            st.markdown("**Why it matters**")
            st.markdown(_guidance(item["why"]), unsafe_allow_html=True)
        if item.get("actions"):
            st.markdown("**What to do**")
            st.markdown(_guidance(item["actions"]), unsafe_allow_html=True)
        clinician = item.get("see_clinician")
        if clinician:
            st.markdown("**When to see a clinician**")
            st.markdown(_guidance([clinician]), unsafe_allow_html=True)
        if item.get("sources"):
            st.caption("Sources: " + "; ".join(item["sources"]))


def _findings(report: Mapping[str, Any]) -> None:
    block = report.get("findings", {})
    items = block.get("items", [])
    if not items:
        st.success(
            "Nothing we measure is outside its target range. Keep doing what you are doing, "
            "and see the advice for every runner below.",
            icon=":material/check_circle:",
        )
    top = [i for i in items if i.get("top_fix")]
    rest = [i for i in items if not i.get("top_fix")]
    if top:
        st.markdown(f"**Your top {len(top)} fix{'es' if len(top) > 1 else ''}**, most useful first")
    for item in top:
        _finding(item)
    if rest:
        with st.expander(f"{len(rest)} more finding{'s' if len(rest) > 1 else ''}"):
            for item in rest:
                _finding(item)
    general = block.get("general_advice", [])
    if general:
        with st.expander("Advice for every runner", icon=":material/directions_run:"):
            st.markdown(_guidance(general), unsafe_allow_html=True)


# ----------------------------------------------------------------- flagged frames


def _step(key: str, delta: int, n: int) -> None:
    st.session_state[key] = (int(st.session_state.get(key, 0)) + delta) % n


def _open_in_video(flag: FlaggedView, label: str) -> None:
    st.session_state["fc_tab"] = TABS[2]
    st.session_state["fc_video_label"] = label
    st.session_state[f"fc_scrub_{label}"] = flag.frame


def _flagged(result: AppResult, rules: Rules) -> None:
    flags = flagged_frames(result.report, rules)
    if not flags:
        st.success("No frames flagged: nothing is outside its target range.")
        return
    n = len(flags)
    if int(st.session_state.get("fc_flag", 0)) >= n:
        st.session_state["fc_flag"] = 0
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button(
        "Previous", icon=":material/chevron_left:", key="fc_flag_prev",
        on_click=_step, args=("fc_flag", -1, n),
    )
    idx = row.selectbox(
        "Flagged frame", range(n), key="fc_flag", label_visibility="collapsed", width="stretch",
        format_func=lambda i: f"{i + 1} of {n}: {flags[i].title} (frame {flags[i].frame})",
    )
    row.button(
        "Next", icon=":material/chevron_right:", icon_position="right", key="fc_flag_next",
        on_click=_step, args=("fc_flag", 1, n),
    )
    flag = flags[int(idx)]
    # The caption sits between the buttons and the image: the image's hover toolbar
    # would otherwise cover the Next button.
    st.caption(flag.caption)
    try:
        st.image(read_output(result.out_dir, flag.image), width="stretch", output_format="PNG")
    except FormcheckError as exc:
        st.error(str(exc))
    label = flag.view or result.session.primary_label
    st.button(
        "See this moment in the video", icon=":material/movie:", key="fc_flag_open",
        on_click=_open_in_video, args=(flag, label),
    )


# --------------------------------------------------------------------------- video


def _reader(path: Path) -> FrameReader:
    """The frame reader of this session, reopened when the clip changes."""
    held = st.session_state.get("fc_reader")
    if held is not None and held.path == path:
        reader: FrameReader = held
        return reader
    if held is not None:
        held.close()
    reader = FrameReader(path)
    st.session_state["fc_reader"] = reader
    return reader


def _scrubber(result: AppResult, label: str) -> None:
    try:
        path = output_file(result.out_dir, result.video_rel(label))
        reader = _reader(path)
    except FormcheckError as exc:
        st.error(str(exc))
        return
    n = len(reader)
    key = f"fc_scrub_{label}"
    st.session_state[key] = min(max(int(st.session_state.get(key, 0)), 0), n - 1)
    row = st.container(horizontal=True, vertical_alignment="bottom")
    row.button(
        "Frame", icon=":material/chevron_left:", key=f"fc_prev_frame_{label}",
        on_click=_step, args=(key, -1, n), help="Previous frame",
    )
    index = row.slider("Frame", 0, n - 1, key=key, width="stretch")
    row.button(
        "Frame", icon=":material/chevron_right:", icon_position="right",
        key=f"fc_next_frame_{label}", on_click=_step, args=(key, 1, n), help="Next frame",
    )
    try:
        frame = reader.read(int(index))
    except FormcheckError as exc:
        st.error(str(exc))
        return
    st.caption(
        f"Frame {frame.index} of {n - 1}, {frame.time_s:.2f} s "
        "(left leg orange, right leg blue)"
    )
    st.image(frame.image, width="stretch")


def _video(result: AppResult) -> None:
    labels = result.labels
    label = labels[0]
    if len(labels) > 1:
        label = st.segmented_control(
            "Clip", labels, default=result.session.primary_label, required=True,
            key="fc_video_label", format_func=lambda lb: f"{lb.replace('_', ' ')} clip",
        ) or labels[0]
    st.markdown("**Frame by frame**: drag the slider or step one frame at a time.")
    _scrubber(result, label)
    st.markdown("**Play the annotated video**")
    rel = result.video_rel(label)
    if (result.out_dir / rel).is_file():
        st.video(str(result.out_dir / rel))


# ------------------------------------------------------------------------- metrics


def _card(card: MetricCard) -> None:
    with st.container(border=True, height="stretch"):
        # The unit goes with the label: a long unit after the value ("% leg length") was
        # cut off in a narrow card.
        label = f"{card.label} ({card.unit})" if card.unit else card.label
        st.metric(label, card.value, help=card.band_note or None)
        row = st.container(horizontal=True)
        if card.level is not None:
            row.badge(LEVEL_TEXT[card.level], color=CARD_BADGE[card.level])  # type: ignore[arg-type]
        row.badge(status_word(card.status, card.reason), color="gray")
        if card.source_view:
            row.badge(f"from the {card.source_view} clip", color="blue")
        parts = []
        if card.uncertainty != "-":
            parts.append(f"± {card.uncertainty} {card.unit}")
        if card.band:
            parts.append(f"target: {card.band}")
        if card.sides:
            worse = f" (shown: the {card.judged_side} side, the worse)" if card.judged_side else ""
            parts.append(card.sides + worse)
        if card.n_strides:
            parts.append(f"{card.n_strides} foot strikes")
        st.caption(" · ".join(parts))
        if card.status == "low_confidence" and card.reason:
            st.caption(f"Approximate: {card.reason}")


def _card_grid(cards: Sequence[MetricCard]) -> None:
    for start in range(0, len(cards), CARDS_PER_ROW):
        cols = st.columns(CARDS_PER_ROW)
        for col, card in zip(cols, cards[start:start + CARDS_PER_ROW], strict=False):
            with col:
                _card(card)


def _metrics(report: Mapping[str, Any], rules: Rules) -> None:
    cards = metric_cards(report, rules)
    measured = [c for c in cards if c.status != "not_applicable"]
    _card_grid([c for c in measured if not c.is_asymmetry])
    st.caption(UNCERTAINTY_NOTE)
    asym = [c for c in measured if c.is_asymmetry]
    if asym:
        st.markdown("**Left-right differences** (0 % = both sides the same)")
        _card_grid(asym)
    missing = [c for c in cards if c.status == "not_applicable"]
    if missing:
        with st.expander(f"Not measured from this clip ({len(missing)})"):
            st.markdown("\n".join(f"- **{c.label}**: {c.reason}" for c in missing))
    unscored = report.get("findings", {}).get("not_scored", {})
    if unscored:
        with st.expander("Shown for information only"):
            st.markdown(
                "\n".join(f"- **{metric_label(n, rules)}**: {why}" for n, why in unscored.items())
            )


# -------------------------------------------------------------------------- charts


def _charts(result: AppResult, rules: Rules) -> None:
    st.markdown("**Knee angle over the gait cycle**, left against right (mean and spread)")
    for label, analysis in result.session.analyses.items():
        curves = charts.cycle_curves(analysis)
        table = charts.cycle_table(curves)
        if len(result.labels) > 1:
            st.caption(f"{label} clip")
        if table.empty:
            st.caption("Not enough full strides in this clip to draw gait cycles.")
            continue
        st.altair_chart(charts.cycle_chart(table, curves.label), width="stretch")
    report = result.report
    names = [
        n for n, m in report.get("metrics", {}).items()
        if m.get("status") != "not_applicable" and m.get("per_stride")
    ]
    if not names:
        return
    flagged = [m for i in report.get("findings", {}).get("items", []) for m in i["metrics"]]
    default = next((n for n in flagged if n in names), names[0])
    st.markdown("**Per-stride values**")
    name = st.selectbox(
        "Metric", names, index=names.index(default), key="fc_chart_metric",
        format_func=lambda n: metric_label(n, rules),
    )
    metric = report["metrics"][name]
    table = charts.stride_table(metric)
    edges = charts.band_edges(metric_band(name, rules, report_context(report)), table["value"])
    st.altair_chart(
        charts.stride_chart(table, metric_label(name, rules), str(metric.get("unit", "")), edges),
        width="stretch",
    )
    st.caption("The green area is the target range." if edges else "")


def show_results(result: AppResult) -> None:
    """Lay out one result.

    Parameters
    ----------
    result : AppResult
        A written analysis.
    """
    rules = cached_rules()
    _header(result)
    _downloads(result)
    tabs = st.tabs(TABS, key="fc_tab", on_change="rerun")
    views = (
        lambda: _findings(result.report),
        lambda: _flagged(result, rules),
        lambda: _video(result),
        lambda: _metrics(result.report, rules),
        lambda: _charts(result, rules),
    )
    for tab, view in zip(tabs, views, strict=True):
        if tab.open is False:
            continue
        with tab:
            view()
