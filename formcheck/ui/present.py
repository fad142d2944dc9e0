"""What the app shows, as plain data: pure functions from the report dict.

No Streamlit here and nothing is measured: values, statuses and findings come
from the report; target bands come from the same rules the findings use
(:func:`formcheck.findings.adapted_band`), so a card and a finding never
disagree. Everything here is testable without a browser.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from formcheck.findings import (
    Band,
    MetricRule,
    RuleContext,
    Rules,
    adapted_band,
    metric_label,
    worst_side,
)
from formcheck.metrics import ASYMMETRY_SUFFIX, ci95
from formcheck.settings import LEVEL_WORDS

Level = Literal["good", "watch", "act"]
DEFAULT_MAX_UPLOAD_MB = 500
"""Largest upload the app accepts unless ``FORMCHECK_MAX_UPLOAD_MB`` says otherwise."""
UPLOAD_LIMIT_ENV = "FORMCHECK_MAX_UPLOAD_MB"
LEVEL_TEXT: Mapping[str, str] = LEVEL_WORDS
SAMPLE_DESCRIPTIONS: Mapping[str, str] = {
    "side_overstride": "Side view: a runner who overstrides",
    "side_normal": "Side view: a runner with typical form",
    "rear_valgus_right": "Rear view: a right knee that drifts inward",
}
"""Friendly names of the bundled sample clips (others get their file name)."""


def upload_limit_mb(env: Mapping[str, str] | None = None) -> int:
    """The upload size limit in MB: ``FORMCHECK_MAX_UPLOAD_MB``, else 500.

    Parameters
    ----------
    env : mapping, optional
        Environment (``os.environ`` when None).

    Returns
    -------
    int
        A positive number of megabytes; an unusable value falls back to the
        default.
    """
    raw = (os.environ if env is None else env).get(UPLOAD_LIMIT_ENV, "").strip()
    try:
        value = int(float(raw)) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        return DEFAULT_MAX_UPLOAD_MB
    return value if value >= 1 else DEFAULT_MAX_UPLOAD_MB


def sample_title(stem: str) -> str:
    """A friendly name for a sample clip.

    Parameters
    ----------
    stem : str
        File name without suffix.

    Returns
    -------
    str
        Description, or the stem with spaces.
    """
    return SAMPLE_DESCRIPTIONS.get(stem, stem.replace("_", " "))


def display_name(name: str, fallback: str = "clip") -> str:
    """A safe name to show for an uploaded file (never used as a path).

    Parameters
    ----------
    name : str
        The name the browser sent.
    fallback : str
        Used when nothing printable is left.

    Returns
    -------
    str
        The last path component, printable characters only, at most 80 long.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable()).strip()
    return clean[:80] or fallback


def fmt(value: Any, digits: int = 1) -> str:
    """A number for display (``-`` for missing or not finite).

    Parameters
    ----------
    value : Any
        A number or None.
    digits : int
        Decimals.

    Returns
    -------
    str
        Formatted text.
    """
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def report_context(report: Mapping[str, Any]) -> RuleContext:
    """Runner inputs for the bands, from the report's options.

    Parameters
    ----------
    report : mapping
        The report dict.

    Returns
    -------
    RuleContext
        Height and speed (km/h turned into m/s).
    """
    opts = report.get("options") or {}
    return RuleContext.from_inputs(opts.get("height_m"), opts.get("treadmill_speed_kmh"))


def metric_band(name: str, rules: Rules, context: RuleContext) -> Band | None:
    """The target band of a metric, adapted to the runner, when it has one.

    Parameters
    ----------
    name : str
        Metric name.
    rules : Rules
        Rules.
    context : RuleContext
        Runner inputs.

    Returns
    -------
    Band or None
        None for unscored metrics.
    """
    rule = rules.metrics.get(name)
    if rule is None or not rule.scored or rule.good is None or rule.watch is None:
        return None
    return adapted_band(rule, context)


def _plausible(rule: MetricRule, value: float) -> bool:
    return rule.plausible is None or rule.plausible[0] <= value <= rule.plausible[1]


def _worst(levels: Sequence[Level]) -> Level:
    order: tuple[Level, ...] = ("good", "watch", "act")
    return max(levels, key=order.index)


def metric_level(
    metric: Mapping[str, Any], rule: MetricRule | None, band: Band | None
) -> Level | None:
    """Where a metric's value lies in its band, judged as the findings judge it.

    Parameters
    ----------
    metric : mapping
        One metric of the report.
    rule : MetricRule or None
        Its rule.
    band : Band or None
        Its adapted band.

    Returns
    -------
    {"good", "watch", "act"} or None
        None when there is no band or no usable value; for ``judge = "sides"``
        the worse side.
    """
    value = metric.get("value")
    if rule is None or band is None or metric.get("status") == "not_applicable":
        return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if not _plausible(rule, value):
        return None
    sides = [metric.get(s) for s in ("left", "right")]
    usable = [float(v) for v in sides if isinstance(v, int | float) and math.isfinite(v)]
    if rule.judge == "sides" and usable:
        return _worst([band.level(v) for v in usable])
    return band.level(float(value))


@dataclass(frozen=True)
class MetricCard:
    """One metric as a card shows it.

    Attributes
    ----------
    name, label : str
        Metric name and plain-language name.
    value, uncertainty, unit : str
        Display texts (``-`` when missing).
    band : str
        The good band in words, or empty.
    level : {"good", "watch", "act"} or None
        Where the value lies in the band.
    status : str
        ``ok``, ``low_confidence`` or ``not_applicable``.
    reason : str
        Why the status (empty when ok).
    sides : str
        ``L 19.9 / R 32.3`` for bilateral metrics, else empty.
    judged_side : str
        For metrics judged per side (``judge = "sides"``): ``"left"`` or
        ``"right"`` when ``value`` and ``uncertainty`` are that side's (the
        worse one, as the findings judge it), else empty (the mean of both).
    n_strides : int
        Strides measured.
    source_view : str
        Clip label it came from (combined sessions), else empty.
    band_note : str
        How the band was adapted to height or speed, or empty.
    """

    name: str
    label: str
    value: str
    uncertainty: str
    unit: str
    band: str
    level: Level | None
    status: str
    reason: str
    sides: str
    n_strides: int
    source_view: str
    band_note: str
    judged_side: str = ""

    @property
    def is_asymmetry(self) -> bool:
        """Whether this is a left-right difference metric."""
        return self.name.endswith(ASYMMETRY_SUFFIX)


def metric_card(
    name: str, metric: Mapping[str, Any], rules: Rules, context: RuleContext
) -> MetricCard:
    """Build the card of one metric.

    Parameters
    ----------
    name : str
        Metric name.
    metric : mapping
        The metric from the report.
    rules : Rules
        Rules (labels, bands).
    context : RuleContext
        Runner inputs for the bands.

    Returns
    -------
    MetricCard
        Display data.
    """
    unit = str(metric.get("unit", ""))
    band = metric_band(name, rules, context)
    left, right = metric.get("left"), metric.get("right")
    sides = f"L {fmt(left)} / R {fmt(right)}" if left is not None or right is not None else ""
    rule = rules.metrics.get(name)
    judged = worse_side(metric, band) if rule is not None and rule.judge == "sides" else None
    value, uncertainty = metric.get("value"), metric.get("uncertainty")
    if judged is not None:  # the mean of a valgus and a varus knee would read as good
        value = metric.get(judged)
        values = [r.get("value") for r in metric.get("per_stride") or [] if r.get("foot") == judged]
        uncertainty = ci95(np.array([v for v in values if v is not None], dtype=float))
    return MetricCard(
        name=name,
        label=metric_label(name, rules),
        value=fmt(value),
        uncertainty=fmt(uncertainty),
        unit=unit,
        band=band.describe(unit) if band is not None else "",
        level=metric_level(metric, rule, band),
        status=str(metric.get("status", "")),
        reason=app_words(str(metric.get("reason", ""))),
        sides=sides,
        n_strides=int(metric.get("n_strides") or 0),
        source_view=str(metric.get("source_view", "")),
        band_note=band.note if band is not None else "",
        judged_side=judged or "",
    )


def worse_side(metric: Mapping[str, Any], band: Band | None) -> str | None:
    """The side a per-side judgement rests on: the one furthest outside the band.

    Parameters
    ----------
    metric : mapping
        One bilateral metric of the report (``left``, ``right``).
    band : Band or None
        Its adapted band.

    Returns
    -------
    str or None
        ``"left"`` or ``"right"``; None without a band, a usable value on
        both sides, or when both are inside the good band (the mean then
        stands for both).
    """
    if band is None:
        return None
    sides = {
        s: float(v)
        for s in ("left", "right")
        if isinstance(v := metric.get(s), int | float) and math.isfinite(v)
    }
    if len(sides) < 2 or all(band.level(v) == "good" for v in sides.values()):
        return None
    return worst_side(sides, band)


def metric_cards(report: Mapping[str, Any], rules: Rules) -> list[MetricCard]:
    """Cards of every metric in the report, in report order.

    Parameters
    ----------
    report : mapping
        The report dict.
    rules : Rules
        Rules.

    Returns
    -------
    list of MetricCard
        One per metric.
    """
    context = report_context(report)
    return [metric_card(n, m, rules, context) for n, m in report.get("metrics", {}).items()]


@dataclass(frozen=True)
class FlaggedView:
    """One flagged frame as the review shows it.

    Attributes
    ----------
    rank : int
        Rank of its finding.
    title : str
        Finding headline.
    level : str
        Level of this frame's value.
    frame : int
        Frame index in its clip.
    time_s : float
        Time in its clip.
    foot : str
        Foot, or empty.
    metric_label : str
        What was measured.
    value : str
        Value with unit.
    band : str
        The good band in words.
    image : str
        Relative path of the annotated PNG in the output folder.
    view : str
        Label of the clip the frame belongs to (combined sessions), or empty.
    """

    rank: int
    title: str
    level: str
    frame: int
    time_s: float
    foot: str
    metric_label: str
    value: str
    band: str
    image: str
    view: str

    @property
    def caption(self) -> str:
        """One line under the image."""
        foot = f", {self.foot} foot" if self.foot else ""
        view = f" ({self.view} clip)" if self.view else ""
        return (
            f"Frame {self.frame} at {self.time_s:.2f} s{view}{foot}: {self.metric_label} "
            f"{self.value} ({self.band}; {LEVEL_TEXT.get(self.level, self.level)})"
        )


def flagged_frames(report: Mapping[str, Any], rules: Rules) -> list[FlaggedView]:
    """Every flagged frame of every finding, best fix first, worst frame first.

    Parameters
    ----------
    report : mapping
        The report dict.
    rules : Rules
        Rules (metric labels).

    Returns
    -------
    list of FlaggedView
        Frames with an image.
    """
    metrics = report.get("metrics", {})
    out = []
    for item in report.get("findings", {}).get("items", []):
        for fr in item.get("frames", []):
            if not fr.get("image"):
                continue
            name = str(fr.get("metric", ""))
            out.append(
                FlaggedView(
                    rank=int(item.get("rank", 0)),
                    title=str(item.get("title", "")),
                    level=str(fr.get("level", "")),
                    frame=int(fr.get("frame", 0)),
                    time_s=float(fr.get("time_s") or 0.0),
                    foot=str(fr.get("foot") or ""),
                    metric_label=metric_label(name, rules),
                    value=f"{fmt(fr.get('value'))} {fr.get('unit', '')}".strip(),
                    band=str(fr.get("band", "")),
                    image=str(fr["image"]),
                    view=str(metrics.get(name, {}).get("source_view", "")),
                )
            )
    return out


def progress_text(
    done: int, total: int, elapsed_s: float, clip: str = "", step: str = ""
) -> tuple[float, str]:
    """Fraction and text of the pose progress bar.

    Parameters
    ----------
    done : int
        Frames done.
    total : int
        Frames expected (0 when unknown).
    elapsed_s : float
        Seconds since the first frame started.
    clip : str
        Clip name.
    step : str
        ``"clip 1 of 2"`` for sessions, or empty.

    Returns
    -------
    tuple of (float, str)
        Bar fraction in [0, 1] and its text, e.g. ``"Finding the runner in
        run.mp4: frame 120 of 210, about 6 s left"``.
    """
    head = f"Finding the runner in {clip}" if clip else "Finding the runner"
    if step:
        head += f" ({step})"
    if total <= 0:
        return 0.0, f"{head}: frame {done}"
    frac = min(max(done / total, 0.0), 1.0)
    text = f"{head}: frame {min(done, total)} of {total}"
    if 0 < done < total and elapsed_s > 0:
        text += f", {time_left(elapsed_s / done * (total - done))}"
    return frac, text


def time_left(seconds: float) -> str:
    """Remaining time in words.

    Parameters
    ----------
    seconds : float
        Estimated seconds left.

    Returns
    -------
    str
        ``"about 6 s left"``, ``"about 2 min 10 s left"``.
    """
    s = max(0, int(math.ceil(seconds)))
    if s < 60:
        return f"about {s} s left"
    return f"about {s // 60} min {s % 60:02d} s left"


def clean_error(message: str, replacements: Mapping[str, str]) -> str:
    """An error message with temporary file paths replaced by what the user knows.

    Parameters
    ----------
    message : str
        The FormcheckError text.
    replacements : mapping of str to str
        Temporary path or file name -> the name the user uploaded.

    Returns
    -------
    str
        The message; longest keys are replaced first.
    """
    for old in sorted(replacements, key=len, reverse=True):
        if old:
            message = message.replace(old, replacements[old])
    message = re.sub(r"'?/[^\s']*formcheck-upload-[^\s']*'?", "the upload", message)
    return app_words(re.sub(r"\[Errno -?\d+\] ", "", message))


APP_WORDS: tuple[tuple[str, str], ...] = (
    ("(--height)", "(your height, under Run details)"),
    ("(--speed)", "(the treadmill speed, under Run details)"),
    ("(--view auto)", "(view: auto, under Run details)"),
    ("--capture-fps", "the slow-motion rate under Run details"),
)
"""CLI options named in reasons and notes, and what the app calls them."""


def app_words(text: str) -> str:
    """A reason, note or error with the CLI's option names put as the app's controls.

    Parameters
    ----------
    text : str
        Text written for the CLI (e.g. "needs the runner's height (--height)").

    Returns
    -------
    str
        The same text pointing at the app's Run details.
    """
    for cli, app in APP_WORDS:
        text = text.replace(cli, app)
    return text


VIEW_TEXT: Mapping[str, str] = {
    "side": "side view",
    "rear": "rear view",
    "front": "front view",
    "unknown": "view not recognised",
}
LOW_DETECTION = 0.8
"""Below this share of frames with the runner, the app warns."""


@dataclass(frozen=True)
class ClipSummary:
    """One clip of a result, in words.

    Attributes
    ----------
    label : str
        Session label (``side``, ``rear``...).
    name : str
        The clip's name.
    text : str
        View, setting, length, frame rate and detection rate.
    warnings : tuple of str
        What may make its numbers less reliable.
    """

    label: str
    name: str
    text: str
    warnings: tuple[str, ...]


def _clip_summary(label: str, name: str, part: Mapping[str, Any]) -> ClipSummary:
    video = part.get("video") or {}
    pq = part.get("pose_quality") or {}
    view = VIEW_TEXT.get(str(part.get("view")), str(part.get("view")))
    facing = f", runner facing {part['direction']}" if part.get("direction") else ""
    rate = float(pq.get("detection_rate") or 0.0)
    text = (
        f"{view}{facing}, {part.get('setting', '')}; {fmt(video.get('duration_s'))} s at "
        f"{fmt(video.get('capture_fps') or video.get('fps'), 0)} fps; runner found in "
        f"{rate:.0%} of frames"
    )
    warnings = []
    if rate < LOW_DETECTION:
        warnings.append(
            f"The runner was found in only {rate:.0%} of the frames of {name}: keep the whole "
            "body in frame for more reliable numbers."
        )
    if part.get("view") == "unknown":
        warnings.append(
            f"The camera view of {name} was not recognised: film square from the side or "
            "straight from behind, or choose the view under Run details."
        )
    return ClipSummary(label=label, name=name, text=text, warnings=tuple(warnings))


def clip_summaries(report: Mapping[str, Any], names: Mapping[str, str]) -> list[ClipSummary]:
    """A summary of each clip of a result.

    Parameters
    ----------
    report : mapping
        The (combined) report.
    names : mapping of str to str
        Clip label -> clip name.

    Returns
    -------
    list of ClipSummary
        One per clip, in order; a combined report also warns when both clips
        show the same view.
    """
    views = report.get("views")
    if not isinstance(views, Mapping):
        label = next(iter(names), "clip")
        return [_clip_summary(label, names.get(label, ""), report)]
    out = [_clip_summary(lb, names.get(lb, lb), part) for lb, part in views.items()]
    seen = [str(part.get("view")) for part in views.values()]
    if len(set(seen)) < len(seen):
        out[-1] = dataclasses.replace(out[-1], warnings=(*out[-1].warnings, (
            "Two clips show the same view: for a combined report use one clip from the side "
            "and one from behind."
        )))
    return out


def report_notes(report: Mapping[str, Any]) -> tuple[str, ...]:
    """The notes the report carries about its clip(s), as the HTML report and CLI show them.

    Parameters
    ----------
    report : mapping
        The (combined) report.

    Returns
    -------
    tuple of str
        ``video.warnings``: downscaling, the part analysed, slow-motion tag,
        tracking jumps, a chosen view the clip contradicts; in a combined
        report every clip's notes and whether the clips look like one run.
    """
    video = report.get("video") or {}
    notes = video.get("warnings") if isinstance(video, Mapping) else None
    return tuple(app_words(str(n)) for n in notes) if isinstance(notes, list | tuple) else ()


__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "UPLOAD_LIMIT_ENV",
    "ClipSummary",
    "FlaggedView",
    "clip_summaries",
    "report_notes",
    "MetricCard",
    "app_words",
    "clean_error",
    "display_name",
    "flagged_frames",
    "fmt",
    "metric_band",
    "metric_card",
    "metric_cards",
    "metric_label",
    "metric_level",
    "progress_text",
    "report_context",
    "sample_title",
    "time_left",
    "upload_limit_mb",
]
