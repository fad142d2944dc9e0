"""One run seen by several cameras: a side clip and a rear clip combined.

A side view sees the sagittal plane (overstride, shank angle, knee flexion,
trunk lean); a rear or front view sees the frontal plane (knee valgus, pelvic
drop, step width). Both see cadence. A :class:`Session` holds one analysis
per clip; :func:`combine_metrics` takes each metric from the clip that measured
it best, and :func:`build_session_report` is the report of the whole session.
Everything here is pure: the files are written by
:func:`formcheck.io.outputs.write_session`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from formcheck.errors import FormcheckError
from formcheck.findings import Finding, RuleContext, Rules, default_rules, evaluate
from formcheck.metrics import ASYMMETRY_SUFFIX, Metric
from formcheck.pipeline import Analysis
from formcheck.report import build_report, rule_context

STATUS_RANK = {"ok": 0, "low_confidence": 1, "not_applicable": 2}
"""Better statuses first when two clips measured the same metric."""


@dataclass(frozen=True)
class Session:
    """The analyses of one run, one per camera view.

    Attributes
    ----------
    analyses : mapping of str to Analysis
        Analyses by label (``"side"``, ``"rear"``, ...), in the order given.
    """

    analyses: Mapping[str, Analysis]

    def __post_init__(self) -> None:
        if not self.analyses:
            raise FormcheckError("a session needs at least one analysed clip")

    @property
    def labels(self) -> list[str]:
        """Labels of the clips, in order."""
        return list(self.analyses)

    @property
    def primary_label(self) -> str:
        """The clip whose video facts head the report: a side view if any."""
        for label, analysis in self.analyses.items():
            if analysis.view.view == "side":
                return label
        return next(iter(self.analyses))

    @property
    def primary(self) -> Analysis:
        """The analysis of :attr:`primary_label`."""
        return self.analyses[self.primary_label]


def session_labels(analyses: list[Analysis]) -> list[str]:
    """Unique labels from the views used: ``side``, ``rear``, ``side_2`` ...

    Parameters
    ----------
    analyses : list of Analysis
        The analyses, in order.

    Returns
    -------
    list of str
        One label per analysis.
    """
    labels: list[str] = []
    for analysis in analyses:
        base: str = analysis.view.view
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}_{n}"
        labels.append(label)
    return labels


def make_session(analyses: list[Analysis]) -> Session:
    """Build a session, labelling each analysis by its view.

    Parameters
    ----------
    analyses : list of Analysis
        One analysis per clip of the same run.

    Returns
    -------
    Session
        The session.
    """
    return Session(dict(zip(session_labels(analyses), analyses, strict=True)))


def _quality(metric: Metric) -> tuple[int, int, float]:
    unc = metric.uncertainty if metric.uncertainty is not None else float("inf")
    return (STATUS_RANK.get(metric.status, 3), -int(metric.n_strides or 0), unc)


def metric_sources(session: Session) -> dict[str, str]:
    """For each metric name, the label of the clip it is taken from.

    The best status wins (ok, then low confidence, then not applicable), then
    the clip with more strides, then the smaller uncertainty; on a full tie
    the earlier clip. An asymmetry metric follows its bilateral metric.

    Parameters
    ----------
    session : Session
        The session.

    Returns
    -------
    dict of str to str
        Metric name -> clip label.
    """
    names: list[str] = []
    for analysis in session.analyses.values():
        names.extend(n for n in analysis.metrics if n not in names)
    sources: dict[str, str] = {}
    for name in names:
        candidates = [
            (label, a.metrics[name]) for label, a in session.analyses.items() if name in a.metrics
        ]
        best = min(candidates, key=lambda c: _quality(c[1]))
        sources[name] = best[0]
    for name in names:
        base = name.removesuffix(ASYMMETRY_SUFFIX)
        if (
            name.endswith(ASYMMETRY_SUFFIX)
            and base in sources
            and name in session.analyses[sources[base]].metrics
        ):
            sources[name] = sources[base]
    return sources


def combine_metrics(session: Session) -> dict[str, Metric]:
    """Every metric of the session, each from the clip that measured it best.

    Parameters
    ----------
    session : Session
        The session.

    Returns
    -------
    dict of str to Metric
        Metric name -> metric (see :func:`metric_sources`).
    """
    return {
        name: session.analyses[label].metrics[name]
        for name, label in metric_sources(session).items()
    }


def session_context(session: Session) -> RuleContext:
    """Runner inputs for the rule bands: the first clip that has each.

    Parameters
    ----------
    session : Session
        The session.

    Returns
    -------
    RuleContext
        Height and speed.
    """
    contexts = [rule_context(a) for a in session.analyses.values()]
    height = next((c.height_m for c in contexts if c.height_m), None)
    speed = next((c.speed_m_s for c in contexts if c.speed_m_s), None)
    return RuleContext(height_m=height, speed_m_s=speed)


def session_findings(session: Session, rules: Rules | None = None) -> tuple[Finding, ...]:
    """Ranked findings over the combined metrics.

    Parameters
    ----------
    session : Session
        The session.
    rules : Rules, optional
        The bundled rules when None.

    Returns
    -------
    tuple of Finding
        Best fix first. Each flagged frame belongs to the clip its metric
        came from (:func:`metric_sources`).
    """
    return evaluate(combine_metrics(session), rules or default_rules(), session_context(session))


CADENCE_MISMATCH_SPM = 8.0
"""Clips of one run whose cadences differ by more than this are questioned in the report."""


def session_notes(session: Session) -> list[str]:
    """What the reader of a combined report must know about its clips.

    Every clip's own notes (input, tracking, a chosen view the clip
    contradicts), named by clip; for clips of the same view, that each
    metric comes from the clip that measured it best; and when the clips'
    cadences differ by more than :data:`CADENCE_MISMATCH_SPM`, that they may
    not be the same run.

    Parameters
    ----------
    session : Session
        The session (two or more clips).

    Returns
    -------
    list of str
        Plain sentences, for the report's ``video.warnings``.
    """
    def name(label: str) -> str:
        return f"{label} ({session.analyses[label].video.get('file', '?')})"

    notes = [
        f"{name(label)}: {note}"
        for label, analysis in session.analyses.items()
        for note in analysis.video.get("warnings", [])
    ]
    by_view: dict[str, list[str]] = {}
    for label, analysis in session.analyses.items():
        by_view.setdefault(analysis.view.view, []).append(label)
    for view, labels in by_view.items():
        if len(labels) > 1:
            notes.append(
                f"{len(labels)} {view}-view clips ({', '.join(name(lb) for lb in labels)}): each "
                "metric comes from the clip that measured it best (its source_view, the 'from' "
                "column); every clip's own report is in its folder"
            )
    cadences = {
        label: float(m.value)
        for label, a in session.analyses.items()
        if (m := a.metrics.get("cadence_spm")) is not None
        and m.status == "ok" and m.value is not None
    }
    if len(cadences) > 1 and max(cadences.values()) - min(cadences.values()) > CADENCE_MISMATCH_SPM:
        listed = ", ".join(f"{name(lb)} {v:.0f} spm" for lb, v in cadences.items())
        notes.append(
            f"the clips' cadences differ ({listed}): if they are not the same run, analyse "
            "them separately"
        )
    return notes


def build_session_report(
    session: Session,
    findings: tuple[Finding, ...] | None = None,
    rules: Rules | None = None,
    view_reports: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report of a whole session.

    For one clip this is exactly :func:`formcheck.report.build_report`. For
    several, it is the primary clip's report with the metrics replaced by the
    combined ones (each carrying ``source_view``), the findings evaluated on
    them, and a ``views`` section describing every clip.

    Parameters
    ----------
    session : Session
        The session.
    findings : tuple of Finding, optional
        Already evaluated session findings.
    rules : Rules, optional
        The bundled rules when None.
    view_reports : mapping of str to str, optional
        Label -> relative path of that clip's own report, when written.

    Returns
    -------
    dict
        JSON-ready report (schema ``docs/report-schema.md``).
    """
    rules = rules or default_rules()
    if len(session.analyses) == 1:
        return build_report(session.primary, findings, rules)
    if findings is None:
        findings = session_findings(session, rules)
    report = build_report(session.primary, findings, rules)
    sources = metric_sources(session)
    report["metrics"] = {
        name: {**session.analyses[label].metrics[name].to_dict(), "source_view": label}
        for name, label in sources.items()
    }
    views: dict[str, Any] = {}
    for label, analysis in session.analyses.items():
        single = build_report(analysis, (), rules)
        views[label] = {
            "view": single["view"],
            "direction": single["direction"],
            "setting": single["setting"],
            "video": single["video"],
            "pose_quality": single["pose_quality"],
            "events": single["events"],
            "report": (view_reports or {}).get(label),
        }
    report["views"] = views
    report["primary_view"] = session.primary_label
    report["video"] = {**report["video"], "warnings": session_notes(session)}
    return report


__all__ = [
    "Session",
    "build_session_report",
    "combine_metrics",
    "make_session",
    "metric_sources",
    "session_context",
    "session_findings",
    "session_labels",
]
