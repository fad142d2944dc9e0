"""Findings: metrics judged against evidence-based bands, ranked, with guidance.

The rules are data (``rules.toml``: a target band per metric, its evidence,
severity and patterns where several metrics agree) and so is the guidance
(``guidance.toml``: why it matters, what to do, when to see a clinician, each
piece citing its source). :func:`evaluate` is pure: metrics + rules ->
a tuple of frozen :class:`Finding`, best fix first.

formcheck is a training aid, not a diagnosis: findings describe movement
seen on video, never an injury.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Literal

import numpy as np

from formcheck.errors import RulesError
from formcheck.metrics import ASYMMETRY_SUFFIX, PLAUSIBLE_RANGE, Metric, ci95, values_within
from formcheck.settings import LEVEL_WORDS

Level = Literal["good", "watch", "act"]
Severity = Literal["low", "medium", "high"]
Confidence = Literal["low", "medium", "high"]
Judge = Literal["mean", "sides"]
Direction = Literal["any", "low", "high"]
SideName = Literal["left", "right", "both"]
ONE_CAMERA_LEG = "from one side camera the far leg is partly hidden, so which leg is uncertain"
"""Why a side-view finding on one leg does not name the leg (rules' ``name_side = false``)."""
GuidanceKind = Literal["why", "cue", "drill", "load", "clinician", "general"]
Geometry = Literal[
    "overstride", "shank", "knee", "fppa", "pelvis", "trunk", "hip", "contact", "none"
]

_CONF_ORDER: tuple[Confidence, ...] = ("low", "medium", "high")


# ---------------------------------------------------------------- data types


@dataclass(frozen=True)
class Source:
    """Where a piece of evidence or guidance comes from.

    Attributes
    ----------
    id : str
        Key in ``guidance.toml`` ``[sources]``.
    title : str
        Title of the article or citation of the paper.
    kind : str
        ``"article"``, ``"paper"`` or ``"reference"``.
    author : str
        Author(s), when known.
    """

    id: str
    title: str
    kind: str = "article"
    author: str = ""


@dataclass(frozen=True)
class GuidanceItem:
    """One piece of guidance.

    Attributes
    ----------
    kind : {"why", "cue", "drill", "load", "clinician", "general"}
        What it is.
    text : str
        The advice, in formcheck's words.
    source : Source
        Where it comes from.
    dose : str
        Sets, reps and frequency for drills; empty otherwise.
    title : str
        Short heading (general advice).
    """

    kind: GuidanceKind
    text: str
    source: Source
    dose: str = ""
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict.

        Returns
        -------
        dict
            ``kind``, ``title``, ``text``, ``dose``, ``source`` (title) and ``source_id``.
        """
        return {
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "dose": self.dose,
            "source": self.source.title,
            "source_id": self.source.id,
        }


@dataclass(frozen=True)
class Topic:
    """Guidance for one kind of finding.

    Attributes
    ----------
    id : str
        Topic key.
    why : tuple of GuidanceItem
        Why it matters.
    actions : tuple of GuidanceItem
        Cues, drills and load advice.
    clinician : GuidanceItem
        When to see a clinician.
    """

    id: str
    why: tuple[GuidanceItem, ...]
    actions: tuple[GuidanceItem, ...]
    clinician: GuidanceItem


@dataclass(frozen=True)
class Adjustment:
    """A band shift with a known input: ``per_unit * (input - reference)``, clamped.

    Attributes
    ----------
    input : {"height_m", "speed_m_s"}
        Which runner input drives the shift.
    reference : float
        Input value at which the band applies unshifted.
    per_unit : float
        Shift of both bands per unit of input.
    clamp : tuple of float
        Smallest and largest shift.
    """

    input: Literal["height_m", "speed_m_s"]
    reference: float
    per_unit: float
    clamp: tuple[float, float]


@dataclass(frozen=True)
class Band:
    """Target band of one metric.

    Attributes
    ----------
    good, watch : tuple of float
        Closed intervals ``(low, high)``; ``watch`` contains ``good``.
    shift : float
        Shift already applied (from :class:`Adjustment`), for the record.
    note : str
        How the band was adapted, or empty.
    """

    good: tuple[float, float]
    watch: tuple[float, float]
    shift: float = 0.0
    note: str = ""

    def level(self, value: float) -> Level:
        """Classify a value.

        Parameters
        ----------
        value : float
            A metric value.

        Returns
        -------
        {"good", "watch", "act"}
            The band the value falls in.
        """
        if self.good[0] <= value <= self.good[1]:
            return "good"
        if self.watch[0] <= value <= self.watch[1]:
            return "watch"
        return "act"

    def excess(self, value: float) -> float:
        """Signed distance outside the good band: + above it, - below it, 0 inside.

        Parameters
        ----------
        value : float
            A metric value.

        Returns
        -------
        float
            Distance to the nearest good-band edge.
        """
        if value > self.good[1]:
            return value - self.good[1]
        if value < self.good[0]:
            return value - self.good[0]
        return 0.0

    def describe(self, unit: str) -> str:
        """Human text of the good band, e.g. ``"good <= 8 % leg length"``.

        Parameters
        ----------
        unit : str
            Unit to print.

        Returns
        -------
        str
            The good band in words.
        """
        lo, hi = self.good
        if math.isinf(lo) and math.isinf(hi):
            return "any value"
        if math.isinf(lo):
            return f"good <= {_num(hi)} {unit}".strip()
        if math.isinf(hi):
            return f"good >= {_num(lo)} {unit}".strip()
        return f"good {_num(lo)}-{_num(hi)} {unit}".strip()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (infinite edges become None).

        Returns
        -------
        dict
            ``good``, ``watch``, ``shift``, ``note``.
        """
        return {
            "good": [_finite(v) for v in self.good],
            "watch": [_finite(v) for v in self.watch],
            "shift": self.shift,
            "note": self.note,
        }


@dataclass(frozen=True)
class MetricRule:
    """How one metric is judged.

    Attributes
    ----------
    name : str
        Metric name.
    label : str
        Plain-language name.
    judge : {"mean", "sides"}
        Judge the mean, or each side's mean.
    scored : bool
        Whether the metric can produce a finding.
    good, watch : tuple of float or None
        Unadjusted bands (None when unscored).
    severity : {"low", "medium", "high"}
        Weight in the ranking.
    topic : str
        Guidance topic (for values below the band, or any value).
    topic_high : str
        Guidance topic for values above a two-sided band (defaults to ``topic``).
    geometry : str
        What to draw on flagged frames.
    evidence : str
        Where the band comes from, in words.
    sources : tuple of Source
        Citations for the band.
    adjust : tuple of Adjustment
        Band shifts by runner inputs.
    note : str
        Why an unscored metric is not judged.
    plausible : tuple of float or None
        Values outside this range (the mean or either side) are measurement
        problems, never findings; :data:`formcheck.metrics.PLAUSIBLE_RANGE`
        unless the rule gives its own.
    frames_from : str
        For asymmetry metrics: the metric whose strides illustrate it.
    name_side : bool
        For ``judge = "sides"``: whether a finding on one leg names that leg.
        False for side-view metrics: from one side camera the far leg is
        partly hidden and read less well, so which leg is out of band is
        uncertain (the finding then says "on one leg" and gives both values).
    """

    name: str
    label: str
    judge: Judge
    scored: bool
    good: tuple[float, float] | None
    watch: tuple[float, float] | None
    severity: Severity
    topic: str
    topic_high: str
    geometry: Geometry
    evidence: str
    sources: tuple[Source, ...]
    adjust: tuple[Adjustment, ...] = ()
    note: str = ""
    plausible: tuple[float, float] | None = None
    frames_from: str = ""
    name_side: bool = True


@dataclass(frozen=True)
class PatternRule:
    """Several metrics that together describe one movement pattern.

    Attributes
    ----------
    id : str
        Pattern key.
    title : str
        Headline.
    members : tuple of str
        Metric names, most telling first.
    member_direction : dict
        Metric name -> ``"low"``/``"high"``: only out-of-band values on that
        side count as agreeing (default ``"any"``).
    require_any : tuple of str
        At least one of these must be out of band.
    min_agree : int
        How many members must be out of band.
    severity : {"low", "medium", "high"}
        Weight in the ranking.
    topic : str
        Guidance topic.
    evidence : str
        Why these metrics belong together.
    sources : tuple of Source
        Citations.
    """

    id: str
    title: str
    members: tuple[str, ...]
    member_direction: Mapping[str, Direction]
    require_any: tuple[str, ...]
    min_agree: int
    severity: Severity
    topic: str
    evidence: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Rules:
    """All rules and guidance.

    Attributes
    ----------
    version : str
        Rules version, written into the report.
    metrics : dict of str to MetricRule
        Rules by metric name.
    patterns : tuple of PatternRule
        Composite patterns, in priority order.
    topics : dict of str to Topic
        Guidance topics.
    general : tuple of GuidanceItem
        Advice for everyone (load, warm-up, shoes, rest, clinician).
    sources : dict of str to Source
        Every source.
    severity_weight, level_weight, confidence_weight : dict
        Ranking weights.
    max_flagged_frames : int
        Flagged frames per finding.
    top_fixes : int
        How many findings are the top fixes.
    min_evidence : float
        Least :attr:`Observation.evidence` for an out-of-band observation to
        become a finding (or to count towards a pattern).
    """

    version: str
    metrics: Mapping[str, MetricRule]
    patterns: tuple[PatternRule, ...]
    topics: Mapping[str, Topic]
    general: tuple[GuidanceItem, ...]
    sources: Mapping[str, Source]
    severity_weight: Mapping[str, float]
    level_weight: Mapping[str, float]
    confidence_weight: Mapping[str, float]
    max_flagged_frames: int = 3
    top_fixes: int = 3
    min_evidence: float = 0.8


@dataclass(frozen=True)
class RuleContext:
    """Runner inputs that adapt the bands.

    Attributes
    ----------
    height_m : float or None
        Runner's height.
    speed_m_s : float or None
        Running speed.
    """

    height_m: float | None = None
    speed_m_s: float | None = None

    @classmethod
    def from_inputs(
        cls, height_m: float | None, treadmill_speed_kmh: float | None
    ) -> RuleContext:
        """The context of a run's inputs as the user gives them (belt speed in km/h).

        Parameters
        ----------
        height_m : float or None
            Runner's height in metres.
        treadmill_speed_kmh : float or None
            Belt speed in km/h.

        Returns
        -------
        RuleContext
            Height and speed in m/s (None when not given).
        """
        kmh = treadmill_speed_kmh
        return cls(height_m=height_m, speed_m_s=kmh / 3.6 if kmh else None)


@dataclass(frozen=True)
class Observation:
    """What was seen for one metric.

    Attributes
    ----------
    metric : str
        Metric name.
    label : str
        Plain-language name.
    value : float
        The judged value (the worse side's mean for ``judge = "sides"``).
    unit : str
        Unit.
    side : {"left", "right", "both"} or None
        Side(s) out of band; None for whole-body metrics.
    left, right : float or None
        Per-side means.
    level : {"good", "watch", "act"}
        Band of ``value``.
    band : Band
        The (adapted) band.
    uncertainty : float or None
        95 % half-width from the stride-to-stride spread (of the judged
        side's strides when one side is out of band).
    status : str
        Metric status.
    reason : str
        Metric status reason.
    n_strides : int
        Strides measured.
    n_outside : int
        Strides (of the judged side(s)) outside the good band.
    n_judged : int
        Strides of the judged side(s).
    evidence : float
        Probability (0-1) that the true mean of the judged side(s) lies
        outside the good band, from the stride-to-stride spread (one-sided
        Student t; see :func:`band_evidence`). 0.5 for a mean on the band's
        edge or a single stride; 1 for a whole-clip value without strides.
    side_named : bool
        False when ``side`` is one leg that cannot be told reliably (the
        rule's ``name_side = false``: side-view metrics, where the far leg is
        partly hidden); the sentence then says "on one leg" and the finding
        names no side.
    """

    metric: str
    label: str
    value: float
    unit: str
    side: SideName | None
    left: float | None
    right: float | None
    level: Level
    band: Band
    uncertainty: float | None
    status: str
    reason: str
    n_strides: int
    n_outside: int
    n_judged: int
    evidence: float = 1.0
    side_named: bool = True

    @property
    def named_side(self) -> SideName | None:
        """The side a finding may name: ``side``, unless it is one leg that cannot be told."""
        if self.side in ("left", "right") and not self.side_named:
            return None
        return self.side

    @property
    def consistency(self) -> float:
        """Share of judged strides outside the good band (0-1)."""
        return self.n_outside / self.n_judged if self.n_judged else 0.0

    def sentence(self) -> str:
        """One sentence: value against its band, side and consistency.

        Returns
        -------
        str
            E.g. ``"Foot landing ahead of the hip: 21.8 % leg length on the
            right (good <= 8 % leg length; act), in 8 of 9 contacts."``; when
            both sides are out of band, both sides' values: ``"...: left
            33.1, right 24.1 % leg length (...)"``; for one leg that cannot be
            told (``side_named`` False), ``"...: 21.8 % leg length on one leg
            (right 21.8, left 6.2; ...which leg is uncertain) (...)"``.
        """
        steps = (
            f", in {self.n_outside} of {self.n_judged} foot strikes measured"
            if self.n_judged
            else ""
        )
        level = LEVEL_WORDS.get(self.level, self.level)
        band = f"({self.band.describe(self.unit)}; {level}){steps}."
        if self.side == "both" and self.left is not None and self.right is not None:
            return (
                f"{self.label}: left {_num(self.left)}, right {_num(self.right)} "
                f"{self.unit} {band}"
            )
        unc = f" ± {_num(self.uncertainty)}" if self.uncertainty is not None else ""
        if self.side in ("left", "right") and not self.side_named:
            other = "left" if self.side == "right" else "right"
            out, ok = getattr(self, self.side), getattr(self, other)
            values = f"{self.side} {_num(out)}"
            if ok is not None:
                values += f", {other} {_num(ok)}"
            return (
                f"{self.label}: {_num(self.value)}{unc} {self.unit} on one leg ({values}; "
                f"{ONE_CAMERA_LEG}) {band}"
            )
        side = f" on the {self.side} side" if self.side in ("left", "right") else (
            " on both sides" if self.side == "both" else ""
        )
        return f"{self.label}: {_num(self.value)}{unc} {self.unit}{side} {band}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict.

        Returns
        -------
        dict
            All fields, plus ``consistency`` and ``text``.
        """
        return {
            "metric": self.metric,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "side": self.side,
            "side_named": self.side_named,
            "left": self.left,
            "right": self.right,
            "level": self.level,
            "band": self.band.to_dict(),
            "uncertainty": self.uncertainty,
            "status": self.status,
            "reason": self.reason,
            "n_strides": self.n_strides,
            "n_outside": self.n_outside,
            "n_judged": self.n_judged,
            "consistency": round(self.consistency, 3),
            "evidence": round(self.evidence, 3),
            "text": self.sentence(),
        }


@dataclass(frozen=True)
class FlaggedFrame:
    """A frame that shows a finding.

    Attributes
    ----------
    frame : int
        Decode index of the frame.
    time_s : float
        Time of the frame (s).
    foot : {"left", "right"} or None
        The foot the value belongs to.
    metric : str
        The metric measured there.
    value : float
        Its value at that frame.
    unit : str
        Unit.
    level : {"good", "watch", "act"}
        Band of the value.
    geometry : str
        What to draw (see ``rules.toml``).
    band_text : str
        The good band in words.
    label : str
        The metric's plain-language name (empty: show ``metric``).
    """

    frame: int
    time_s: float
    foot: str | None
    metric: str
    value: float
    unit: str
    level: Level
    geometry: Geometry
    band_text: str
    label: str = ""

    @property
    def image_name(self) -> str:
        """File name of the annotated image of this frame."""
        return f"frame_{self.frame:05d}_{self.metric}.png"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict.

        Returns
        -------
        dict
            All fields plus ``image``.
        """
        return {
            "frame": self.frame,
            "time_s": round(self.time_s, 4),
            "foot": self.foot,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "level": self.level,
            "geometry": self.geometry,
            "band": self.band_text,
            "image": f"images/{self.image_name}",
        }


@dataclass(frozen=True)
class Finding:
    """One ranked finding with its guidance.

    Attributes
    ----------
    id : str
        Metric name or pattern id.
    kind : {"metric", "pattern"}
        A single metric or a pattern of several.
    title : str
        Headline.
    level : {"watch", "act"}
        How far out of band.
    severity : {"low", "medium", "high"}
        Weight from the rules.
    side : {"left", "right", "both"} or None
        Side(s) affected.
    observations : tuple of Observation
        What we saw, metric by metric.
    why : tuple of GuidanceItem
        Why it matters.
    actions : tuple of GuidanceItem
        Cues, drills (with dosing) and load advice.
    clinician : GuidanceItem
        When to see a clinician.
    confidence : {"low", "medium", "high"}
        How sure formcheck is.
    confidence_reasons : tuple of str
        Why confidence is not high.
    frames : tuple of FlaggedFrame
        Frames that show it, worst first.
    evidence : str
        Where the band comes from.
    sources : tuple of Source
        Citations for the band.
    priority : float
        Ranking score (severity x level x confidence).
    rank : int
        1 for the first fix.
    top_fix : bool
        Among the top fixes.
    """

    id: str
    kind: Literal["metric", "pattern"]
    title: str
    level: Literal["watch", "act"]
    severity: Severity
    side: SideName | None
    observations: tuple[Observation, ...]
    why: tuple[GuidanceItem, ...]
    actions: tuple[GuidanceItem, ...]
    clinician: GuidanceItem
    confidence: Confidence
    confidence_reasons: tuple[str, ...]
    frames: tuple[FlaggedFrame, ...]
    evidence: str
    sources: tuple[Source, ...]
    priority: float = 0.0
    rank: int = 0
    top_fix: bool = False
    metrics: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        """What we saw, in one line per observation."""
        return " ".join(o.sentence() for o in self.observations)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (schema in ``docs/report-schema.md``).

        Returns
        -------
        dict
            The finding.
        """
        return {
            "id": self.id,
            "kind": self.kind,
            "rank": self.rank,
            "top_fix": self.top_fix,
            "title": self.title,
            "level": self.level,
            "severity": self.severity,
            "side": self.side,
            "metrics": list(self.metrics),
            "summary": self.summary,
            "observations": [o.to_dict() for o in self.observations],
            "why": [g.to_dict() for g in self.why],
            "actions": [g.to_dict() for g in self.actions],
            "see_clinician": self.clinician.to_dict(),
            "confidence": self.confidence,
            "confidence_reasons": list(self.confidence_reasons),
            "frames": [f.to_dict() for f in self.frames],
            "evidence": self.evidence,
            "sources": [s.title for s in self.sources],
            "priority": round(self.priority, 3),
        }


# ---------------------------------------------------------------- loading


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def _pair(raw: Any, where: str) -> tuple[float, float]:
    if not isinstance(raw, list) or len(raw) != 2:
        raise RulesError(f"{where} must be a [low, high] pair")
    lo, hi = float(raw[0]), float(raw[1])
    if lo > hi:
        raise RulesError(f"{where}: low {lo} is above high {hi}")
    return lo, hi


def _source(sources: Mapping[str, Source], key: str, where: str) -> Source:
    if key not in sources:
        raise RulesError(f"{where} cites unknown source {key!r}")
    return sources[key]


def _item(
    raw: Mapping[str, Any], kind: str, sources: Mapping[str, Source], where: str
) -> GuidanceItem:
    if not raw.get("text"):
        raise RulesError(f"{where}: guidance without text")
    return GuidanceItem(
        kind=raw.get("kind", kind),
        text=str(raw["text"]),
        source=_source(sources, str(raw.get("source", "")), where),
        dose=str(raw.get("dose", "")),
        title=str(raw.get("title", "")),
    )


def _metric_rule(name: str, raw: Mapping[str, Any], sources: Mapping[str, Source]) -> MetricRule:
    scored = bool(raw.get("scored", False))
    good = _pair(raw["good"], f"{name}.good") if scored else None
    watch = _pair(raw["watch"], f"{name}.watch") if scored else None
    if good and watch and not (watch[0] <= good[0] and good[1] <= watch[1]):
        raise RulesError(f"{name}: the watch band must contain the good band")
    adjust = tuple(
        Adjustment(
            input=a["input"],
            reference=float(a["reference"]),
            per_unit=float(a["per_unit"]),
            clamp=_pair(a["clamp"], f"{name}.adjust.clamp"),
        )
        for a in raw.get("adjust", [])
    )
    for a in adjust:
        if a.input not in ("height_m", "speed_m_s"):
            raise RulesError(f"{name}: unknown adjust input {a.input!r}")
    topic = str(raw.get("topic", ""))
    name_side = raw.get("name_side", True)
    if not isinstance(name_side, bool):
        raise RulesError(f"{name}: name_side must be true or false, not {name_side!r}")
    return MetricRule(
        name=name,
        label=str(raw.get("label", name)),
        judge=raw.get("judge", "mean"),
        scored=scored,
        good=good,
        watch=watch,
        severity=raw.get("severity", "low"),
        topic=topic,
        topic_high=str(raw.get("topic_high", topic)),
        geometry=raw.get("geometry", "none"),
        evidence=str(raw.get("evidence", raw.get("note", ""))),
        sources=tuple(_source(sources, s, name) for s in raw.get("sources", [])),
        adjust=adjust,
        note=str(raw.get("note", "")),
        plausible=(
            _pair(raw["plausible"], f"{name}.plausible")
            if "plausible" in raw
            else PLAUSIBLE_RANGE.get(name)
        ),
        frames_from=str(raw.get("frames_from", "")),
        name_side=name_side,
    )


def _pattern_rule(pid: str, raw: Mapping[str, Any], sources: Mapping[str, Source]) -> PatternRule:
    return PatternRule(
        id=pid,
        title=str(raw["title"]),
        members=tuple(raw["members"]),
        member_direction=dict(raw.get("member_direction", {})),
        require_any=tuple(raw.get("require_any", raw["members"])),
        min_agree=int(raw.get("min_agree", 2)),
        severity=raw.get("severity", "medium"),
        topic=str(raw["topic"]),
        evidence=str(raw.get("evidence", "")),
        sources=tuple(_source(sources, s, pid) for s in raw.get("sources", [])),
    )


def parse_rules(rules_doc: Mapping[str, Any], guidance_doc: Mapping[str, Any]) -> Rules:
    """Build and check :class:`Rules`; any malformed value is a :class:`RulesError`.

    Parameters
    ----------
    rules_doc : mapping
        Parsed ``rules.toml``.
    guidance_doc : mapping
        Parsed ``guidance.toml``.

    Returns
    -------
    Rules
        Validated rules.

    Raises
    ------
    RulesError
        If a value has the wrong type or shape, or a band, source, topic or
        pattern member is missing or inconsistent.
    """
    try:
        return _parse_rules(rules_doc, guidance_doc)
    except RulesError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RulesError(f"the rules data are malformed ({type(exc).__name__}: {exc})") from exc


def parse_rules_toml(rules_text: str, guidance_text: str) -> Rules:
    """Parse and check rules and guidance given as TOML text.

    Parameters
    ----------
    rules_text, guidance_text : str
        Contents of ``rules.toml`` and ``guidance.toml``.

    Returns
    -------
    Rules
        Validated rules.

    Raises
    ------
    RulesError
        If either text is not TOML or the data are not valid rules.
    """
    try:
        rules_doc = tomllib.loads(rules_text)
        guidance_doc = tomllib.loads(guidance_text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"the rules are not valid TOML ({exc})") from exc
    return parse_rules(rules_doc, guidance_doc)


def _parse_rules(rules_doc: Mapping[str, Any], guidance_doc: Mapping[str, Any]) -> Rules:
    """Build and check :class:`Rules` from the two parsed TOML documents.

    Parameters
    ----------
    rules_doc : mapping
        Parsed ``rules.toml``.
    guidance_doc : mapping
        Parsed ``guidance.toml``.

    Returns
    -------
    Rules
        Validated rules.

    Raises
    ------
    RulesError
        If a band, source, topic or pattern member is missing or inconsistent.
    """
    sources = {
        key: Source(id=key, title=str(v["title"]), kind=str(v.get("kind", "article")),
                    author=str(v.get("author", "")))
        for key, v in guidance_doc.get("sources", {}).items()
    }
    topics = {
        key: Topic(
            id=key,
            why=tuple(_item(w, "why", sources, f"topic {key}") for w in t.get("why", [])),
            actions=tuple(_item(a, "cue", sources, f"topic {key}") for a in t.get("actions", [])),
            clinician=_item(t["clinician"], "clinician", sources, f"topic {key}"),
        )
        for key, t in guidance_doc.get("topics", {}).items()
    }
    general = tuple(
        _item(g, "general", sources, "general")
        for g in guidance_doc.get("general", {}).get("items", [])
    )
    metrics = {
        name: _metric_rule(name, raw, sources)
        for name, raw in rules_doc.get("metrics", {}).items()
    }
    patterns = tuple(
        _pattern_rule(pid, raw, sources) for pid, raw in rules_doc.get("patterns", {}).items()
    )
    for rule in metrics.values():
        if rule.scored and (rule.topic not in topics or rule.topic_high not in topics):
            raise RulesError(f"{rule.name}: unknown guidance topic {rule.topic!r}")
    for p in patterns:
        if p.topic not in topics:
            raise RulesError(f"pattern {p.id}: unknown guidance topic {p.topic!r}")
        missing = [m for m in p.members if m not in metrics or not metrics[m].scored]
        if missing:
            raise RulesError(f"pattern {p.id}: members without a scored rule: {missing}")
    return Rules(
        version=str(rules_doc.get("version", "")),
        metrics=metrics,
        patterns=patterns,
        topics=topics,
        general=general,
        sources=sources,
        severity_weight=dict(rules_doc.get("severity_weight", {"high": 3, "medium": 2, "low": 1})),
        level_weight=dict(rules_doc.get("level_weight", {"watch": 1, "act": 2})),
        confidence_weight=dict(
            rules_doc.get("confidence_weight", {"high": 1.0, "medium": 0.75, "low": 0.5})
        ),
        max_flagged_frames=int(rules_doc.get("max_flagged_frames", 3)),
        top_fixes=int(rules_doc.get("top_fixes", 3)),
        min_evidence=float(rules_doc.get("min_evidence", 0.8)),
    )


@functools.cache
def _bundled_rules() -> Rules:
    """The bundled rules, parsed once per process (callers get copies)."""
    pkg = resources.files("formcheck")
    return parse_rules_toml(
        pkg.joinpath("rules.toml").read_text(encoding="utf-8"),
        pkg.joinpath("guidance.toml").read_text(encoding="utf-8"),
    )


def default_rules() -> Rules:
    """The rules and guidance bundled with formcheck (package data, read-only).

    The files are parsed once per process (history and squad pages ask for
    the rules several times per page); each call gets its own copy of every
    table, so a caller that changes one cannot change what the next gets.

    Returns
    -------
    Rules
        Parsed ``formcheck/rules.toml`` and ``formcheck/guidance.toml``.
    """
    rules = _bundled_rules()
    return replace(
        rules,
        metrics=dict(rules.metrics),
        topics=dict(rules.topics),
        sources=dict(rules.sources),
        severity_weight=dict(rules.severity_weight),
        level_weight=dict(rules.level_weight),
        confidence_weight=dict(rules.confidence_weight),
    )


# ---------------------------------------------------------------- judging


_UNIT_SUFFIXES = (
    "_pct_leg", "_asymmetry_pct", "_spm", "_deg", "_ms", "_m_s", "_cm", "_pct", "_m"
)
"""Unit endings of metric names, longest first where one ends another."""


def metric_label(name: str, rules: Rules) -> str:
    """The plain-language name of a metric.

    Parameters
    ----------
    name : str
        Metric name.
    rules : Rules
        Rules (their labels).

    Returns
    -------
    str
        The rule's label; for an asymmetry metric without one, "Left-right
        difference in ..." its base metric; else the name without its unit.
    """
    rule = rules.metrics.get(name)
    if rule is not None and rule.label:
        return rule.label
    if name.endswith(ASYMMETRY_SUFFIX):
        base = metric_label(name.removesuffix(ASYMMETRY_SUFFIX), rules)
        return f"Left-right difference: {base[:1].lower()}{base[1:]}"
    stem = name
    for suffix in _UNIT_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem.removesuffix(suffix)
            break
    text = stem.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def good_bands(
    rules: Rules, context: RuleContext | None = None
) -> dict[str, tuple[float, float]]:
    """The good band of every scored metric, by name, as the findings judge it.

    Parameters
    ----------
    rules : Rules
        The rules.
    context : RuleContext, optional
        Runner inputs that shift the bands (:func:`adapted_band`); none when
        omitted.

    Returns
    -------
    dict of str to tuple of float
        ``(low, high)`` per metric that has a scored band.
    """
    ctx = context or RuleContext()
    return {
        n: adapted_band(r, ctx).good
        for n, r in rules.metrics.items()
        if r.scored and r.good is not None and r.watch is not None
    }


def adapted_band(rule: MetricRule, context: RuleContext) -> Band:
    """The rule's band, shifted by the runner's height and speed where known.

    Parameters
    ----------
    rule : MetricRule
        A scored rule.
    context : RuleContext
        Runner inputs.

    Returns
    -------
    Band
        Shifted good and watch bands and a note saying why.
    """
    assert rule.good is not None and rule.watch is not None
    shift = 0.0
    notes = []
    for adj in rule.adjust:
        x = getattr(context, adj.input)
        if x is None or not math.isfinite(x):
            continue
        s = min(max(adj.per_unit * (x - adj.reference), adj.clamp[0]), adj.clamp[1])
        shift += s
        notes.append(f"{s:+.1f} for {adj.input.replace('_', ' ')} {x:.2f}")
    good = (rule.good[0] + shift, rule.good[1] + shift)
    watch = (rule.watch[0] + shift, rule.watch[1] + shift)
    note = ("band shifted " + ", ".join(notes)) if notes else ""
    return Band(good=good, watch=watch, shift=shift, note=note)


_LEVEL_RANK: dict[Level, int] = {"good": 0, "watch": 1, "act": 2}


def _usable(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _rows(metric: Metric, side: str | None) -> list[dict]:
    rows = [r for r in metric.per_stride if _usable(r.get("value"))]
    if side in ("left", "right"):
        rows = [r for r in rows if r.get("foot") == side]
    return rows


def _mean_se(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard error and count of finite values (SE NaN below two values)."""
    v = [float(x) for x in values if _usable(x)]
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = math.fsum(v) / n
    if n < 2:
        return mean, float("nan"), n
    var = math.fsum((x - mean) ** 2 for x in v) / (n - 1)
    return mean, math.sqrt(var / n), n


def band_evidence(excess: float, se: float, n: int) -> float:
    """Probability that a mean measured ``excess`` outside the good band truly lies outside it.

    One-sided Student t with ``n - 1`` degrees of freedom: ``P(T < |excess| /
    se)``. A value just past the band edge with a large stride-to-stride
    spread is about a coin toss (0.5); one far out with a small spread is
    near 1.

    Parameters
    ----------
    excess : float
        Distance of the mean outside the good band (0 inside).
    se : float
        Standard error of the mean.
    n : int
        Number of values behind the mean.

    Returns
    -------
    float
        In [0.5, 1] for a mean outside the band, 0 inside. A single stride
        (``n == 1``) says nothing about the stride-to-stride spread: 0.5, a
        coin toss, so one stride alone never makes a finding. 1 when the
        metric has no per-stride values (``n == 0``: a whole-clip measure) or
        ``se`` is not finite, and the mean is outside.
    """
    from scipy import stats  # noqa: PLC0415 (heavy import, only when judging)

    if excess == 0:
        return 0.0
    if n == 1:
        return 0.5
    if n < 2 or not math.isfinite(se):
        return 1.0
    if se <= 0:
        return 1.0
    return float(stats.t.cdf(abs(excess) / se, n - 1))


def _asymmetry_evidence(value: float, band: Band, base: Metric | None) -> float:
    """Evidence for an asymmetry (``|L - R| / mean(|L|, |R|) x 100``) outside its band.

    Its standard error follows from the two sides' per-stride spreads in
    the base metric: ``100 / D * sqrt(SE_L^2 + SE_R^2)``, ``D`` the mean of
    the side magnitudes.
    """
    excess = band.excess(value)
    if excess == 0:
        return 0.0
    if base is None:
        return 1.0
    sides = [_mean_se([r["value"] for r in _rows(base, s)]) for s in ("left", "right")]
    (ml, sl, nl), (mr, sr, nr) = sides
    denom = (abs(ml) + abs(mr)) / 2
    if min(nl, nr) < 2 or not denom or not math.isfinite(sl + sr):
        return 1.0
    se = 100.0 / denom * math.hypot(sl, sr)
    return band_evidence(excess, se, min(nl, nr))


def worst_side(sides: Mapping[str, float], band: Band) -> str:
    """The side furthest outside the band: the worse level, then the larger excess.

    Parameters
    ----------
    sides : mapping of str to float
        Per-side means (at least one).
    band : Band
        The (adapted) band.

    Returns
    -------
    str
        The key of ``sides`` a per-side judgement rests on.
    """
    return max(sides, key=lambda s: (_LEVEL_RANK[band.level(sides[s])], abs(band.excess(sides[s]))))


def _plausible(metric: Metric, rule: MetricRule) -> bool:
    """Whether the value and each side's value lie in the rule's plausible range.

    A side outside it (a tester's side clip forced to a rear view read one
    knee at -80 deg) means the pose or the view failed for that leg, so the
    other leg's value from the same strides is not judged either.
    """
    return rule.plausible is None or values_within(metric, rule.plausible)


def observe(
    metric: Metric, rule: MetricRule, context: RuleContext, base: Metric | None = None
) -> Observation | None:
    """Judge one metric against its band.

    Parameters
    ----------
    metric : Metric
        The measured metric.
    rule : MetricRule
        Its rule.
    context : RuleContext
        Runner inputs for adaptive bands.
    base : Metric, optional
        For an asymmetry metric, the bilateral metric it compares
        (``frames_from``), whose per-side spread sets the evidence.

    Returns
    -------
    Observation or None
        None when the rule is unscored, the metric is not applicable, has no
        value, or its value is implausible (a measurement problem).
    """
    if not rule.scored or metric.status == "not_applicable" or not _usable(metric.value):
        return None
    if not _plausible(metric, rule):
        return None
    band = adapted_band(rule, context)
    uncertainty = metric.uncertainty
    sides: dict[str, float] = {}
    if rule.judge == "sides":
        sides = {
            s: float(v)
            for s, v in (("left", metric.left), ("right", metric.right))
            if v is not None and math.isfinite(v)
        }
        # A leg seen in one stride only cannot be judged beside a leg seen in several:
        # it would otherwise veto (or name) a finding the other leg's strides support.
        counts = {side_: len(_rows(metric, side_)) for side_ in sides}
        if max(counts.values(), default=0) >= 2:
            sides = {side_: v for side_, v in sides.items() if counts[side_] != 1}
    if sides:
        out = [s for s, v in sides.items() if band.level(v) != "good"]
        value = sides[worst_side(sides, band)]
        side: SideName | None = "both" if len(out) == 2 else (out[0] if out else None)  # type: ignore[assignment]
        judged = _rows(metric, None if side == "both" or side is None else side)
        if side in ("left", "right"):  # the spread of the side that is judged
            uncertainty = ci95(np.array([float(r["value"]) for r in judged], dtype=float))
    else:
        value = float(metric.value)  # type: ignore[arg-type]
        side = None
        judged = _rows(metric, None)
    n_outside = sum(1 for r in judged if band.level(float(r["value"])) != "good")
    if base is not None:
        evidence = _asymmetry_evidence(float(value), band, base)
    elif side == "both":
        # Both sides out of band: the weaker side's evidence.
        evidence = min(
            band_evidence(band.excess(m), se, n)
            for m, se, n in (
                _mean_se([r["value"] for r in _rows(metric, s)]) for s in ("left", "right")
            )
        )
    else:
        _, se, n = _mean_se([r["value"] for r in judged])
        evidence = band_evidence(band.excess(float(value)), se, n)
    return Observation(
        metric=metric.name,
        label=rule.label,
        value=float(value),
        unit=metric.unit,
        side=side,
        left=metric.left,
        right=metric.right,
        level=band.level(value),
        band=band,
        uncertainty=uncertainty,
        status=metric.status,
        reason=metric.reason,
        n_strides=metric.n_strides,
        n_outside=n_outside,
        n_judged=len(judged),
        evidence=evidence,
        side_named=rule.name_side or side not in ("left", "right"),
    )


def _lower(conf: Confidence, steps: int = 1) -> Confidence:
    return _CONF_ORDER[max(0, _CONF_ORDER.index(conf) - steps)]


def assess_confidence(obs: Observation) -> tuple[Confidence, tuple[str, ...]]:
    """How sure we are about one out-of-band observation, and why not more.

    Parameters
    ----------
    obs : Observation
        An observation outside its good band.

    Returns
    -------
    tuple
        ``(confidence, reasons)``.
    """
    conf: Confidence = "high"
    reasons: list[str] = []
    if obs.status == "low_confidence":
        conf = _lower(conf)
        reasons.append(f"{obs.label}: {obs.reason or 'measured with low confidence'}")
    if obs.n_strides < 3:
        conf = _lower(conf)
        reasons.append(f"{obs.label}: only {obs.n_strides} foot strikes measured")
    if obs.uncertainty is not None and obs.band.level(
        obs.value - math.copysign(obs.uncertainty, obs.band.excess(obs.value))
    ) == "good":
        conf = _lower(conf)
        reasons.append(f"{obs.label}: the stride-to-stride spread reaches back into the good band")
    if obs.n_judged and obs.consistency < 0.5:
        conf = _lower(conf)
        reasons.append(
            f"{obs.label}: only {obs.n_outside} of {obs.n_judged} foot strikes were outside "
            "the good band"
        )
    return conf, tuple(reasons)


def flag_frames(
    metric: Metric, rule: MetricRule, obs: Observation, limit: int
) -> tuple[FlaggedFrame, ...]:
    """The frames that show a finding best: the strides furthest outside the band.

    Parameters
    ----------
    metric : Metric
        The metric (``per_stride`` rows carry frames and values).
    rule : MetricRule
        Its rule.
    obs : Observation
        The judged observation (its side and band).
    limit : int
        Most frames to return.

    Returns
    -------
    tuple of FlaggedFrame
        Worst first; only strides outside the good band of the judged side(s).
    """
    side = obs.side if obs.side in ("left", "right") else None
    rows = [r for r in _rows(metric, side) if obs.band.level(float(r["value"])) != "good"]
    direction = math.copysign(1.0, obs.band.excess(obs.value) or 1.0)
    rows = [r for r in rows if obs.band.excess(float(r["value"])) * direction > 0]
    rows.sort(key=lambda r: -abs(obs.band.excess(float(r["value"]))))
    text = obs.band.describe(obs.unit)
    return tuple(
        FlaggedFrame(
            frame=int(r["frame"]),
            time_s=float(r.get("time_s", float("nan"))),
            foot=r.get("foot"),
            metric=metric.name,
            value=float(r["value"]),
            unit=metric.unit,
            level=obs.band.level(float(r["value"])),
            geometry=rule.geometry,
            band_text=text,
            label=rule.label,
        )
        for r in rows[:limit]
    )


def typical_frames(metric: Metric, rule: MetricRule, unit_text: str) -> tuple[FlaggedFrame, ...]:
    """One typical stride per side (the one nearest its side's mean), to compare sides.

    Parameters
    ----------
    metric : Metric
        The bilateral metric behind an asymmetry.
    rule : MetricRule
        The asymmetry rule (its geometry is used).
    unit_text : str
        Band text to show on the frames.

    Returns
    -------
    tuple of FlaggedFrame
        Left then right, where measured.
    """
    out = []
    for side, mean in (("left", metric.left), ("right", metric.right)):
        rows = _rows(metric, side)
        if not rows or not _usable(mean):
            continue
        r = min(rows, key=lambda row: abs(float(row["value"]) - float(mean)))  # type: ignore[arg-type]
        out.append(
            FlaggedFrame(
                frame=int(r["frame"]), time_s=float(r.get("time_s", float("nan"))), foot=side,
                metric=metric.name, value=float(r["value"]), unit=metric.unit, level="good",
                geometry=rule.geometry, band_text=unit_text,
            )
        )
    return tuple(out)


def _topic_for(rule: MetricRule, obs: Observation) -> str:
    return rule.topic_high if obs.band.excess(obs.value) > 0 else rule.topic


def _agrees(obs: Observation, direction: Direction) -> bool:
    if obs.level == "good":
        return False
    excess = obs.band.excess(obs.value)
    return direction == "any" or (direction == "high") == (excess > 0)


def _merge_sides(sides: Sequence[SideName | None]) -> SideName | None:
    named = {s for s in sides if s is not None}
    if not named:
        return None
    if named == {"left"} or named == {"right"}:
        return next(iter(named))
    return "both"


def _metric_finding(
    obs: Observation, metric: Metric, rule: MetricRule, rules: Rules,
    base: Metric | None = None,
) -> Finding:
    topic = rules.topics[_topic_for(rule, obs)]
    conf, reasons = assess_confidence(obs)
    if obs.named_side in ("left", "right"):
        side = f" ({obs.named_side} side)"
    else:
        side = " (one leg)" if obs.side in ("left", "right") else ""
    direction = "high" if obs.band.excess(obs.value) > 0 else "low"
    return Finding(
        id=metric.name,
        kind="metric",
        title=f"{rule.label} is {direction}{side}",
        level=obs.level,  # type: ignore[arg-type]
        severity=rule.severity,
        side=obs.named_side,
        observations=(obs,),
        why=topic.why,
        actions=topic.actions,
        clinician=topic.clinician,
        confidence=conf,
        confidence_reasons=reasons,
        frames=(
            typical_frames(base, rule, f"{metric.name} {obs.band.describe(obs.unit)}")
            if base is not None
            else flag_frames(metric, rule, obs, rules.max_flagged_frames)
        ),
        evidence=rule.evidence + (f" ({obs.band.note})" if obs.band.note else ""),
        sources=rule.sources,
        metrics=(metric.name,),
    )


def _pattern_finding(
    pattern: PatternRule,
    agreeing: Sequence[Observation],
    metrics: Mapping[str, Metric],
    rules: Rules,
) -> Finding:
    topic = rules.topics[pattern.topic]
    confs = [assess_confidence(o) for o in agreeing]
    # Several measures agreeing is itself evidence: the pattern is as sure as
    # its surest member.
    conf: Confidence = max((c for c, _ in confs), key=_CONF_ORDER.index)
    reasons = tuple(r for _, rs in confs for r in rs)
    level: Literal["watch", "act"] = "act" if any(o.level == "act" for o in agreeing) else "watch"
    lead = agreeing[0]
    lead_rule = rules.metrics[lead.metric]
    return Finding(
        id=pattern.id,
        kind="pattern",
        title=pattern.title,
        level=level,
        severity=pattern.severity,
        side=_merge_sides([o.named_side for o in agreeing]),
        observations=tuple(agreeing),
        why=topic.why,
        actions=topic.actions,
        clinician=topic.clinician,
        confidence=conf,
        confidence_reasons=reasons,
        frames=flag_frames(metrics[lead.metric], lead_rule, lead, rules.max_flagged_frames),
        evidence=pattern.evidence,
        sources=pattern.sources,
        metrics=tuple(o.metric for o in agreeing),
    )


def _rank(findings: Sequence[Finding], rules: Rules) -> tuple[Finding, ...]:
    def score(f: Finding) -> float:
        evidence = max((o.evidence for o in f.observations), default=1.0)
        return (
            rules.severity_weight.get(f.severity, 1.0)
            * rules.level_weight.get(f.level, 1.0)
            * rules.confidence_weight.get(f.confidence, 0.5)
            * evidence
        )

    scored = sorted(findings, key=lambda f: (-score(f), f.id))
    return tuple(
        replace(f, priority=score(f), rank=i, top_fix=i <= rules.top_fixes)
        for i, f in enumerate(scored, start=1)
    )


def evaluate(
    metrics: Mapping[str, Metric], rules: Rules, context: RuleContext | None = None
) -> tuple[Finding, ...]:
    """Judge every metric, combine agreeing ones into patterns, rank the result.

    Parameters
    ----------
    metrics : mapping of str to Metric
        Metrics by name (from :func:`formcheck.metrics.compute_metrics`).
    rules : Rules
        From :func:`default_rules` or :func:`parse_rules`.
    context : RuleContext, optional
        Runner height and speed, to adapt bands.

    Returns
    -------
    tuple of Finding
        Ranked findings, best fix first. A metric that is not applicable, has
        no value, is unscored, is inside its good band, or is outside it with
        less than ``rules.min_evidence`` (the stride-to-stride spread leaves
        it as likely inside) yields none. Findings rank by severity x level x
        confidence x evidence, so a noisy one does not outrank a clear one.
    """
    context = context or RuleContext()
    observations: dict[str, Observation] = {}
    for name, rule in rules.metrics.items():
        metric = metrics.get(name)
        if metric is None:
            continue
        base = metrics.get(rule.frames_from) if rule.frames_from else None
        obs = observe(metric, rule, context, base)
        if obs is not None:
            observations[name] = obs
    findings: list[Finding] = []
    absorbed: set[str] = set()
    for pattern in rules.patterns:
        agreeing = [
            observations[m]
            for m in pattern.members
            if m in observations and m not in absorbed
            and _agrees(observations[m], pattern.member_direction.get(m, "any"))
            and observations[m].evidence >= rules.min_evidence
        ]
        names = {o.metric for o in agreeing}
        if len(agreeing) >= pattern.min_agree and names & set(pattern.require_any):
            findings.append(_pattern_finding(pattern, agreeing, metrics, rules))
            absorbed |= names
    for name, obs in observations.items():
        if name in absorbed or obs.level == "good" or obs.evidence < rules.min_evidence:
            continue
        rule = rules.metrics[name]
        base = metrics.get(rule.frames_from) if rule.frames_from else None
        findings.append(_metric_finding(obs, metrics[name], rule, rules, base))
    return _rank(findings, rules)


def findings_summary(findings: Sequence[Finding], rules: Rules) -> dict[str, Any]:
    """The ``findings`` block of the report.

    Parameters
    ----------
    findings : sequence of Finding
        Ranked findings from :func:`evaluate`.
    rules : Rules
        The rules used.

    Returns
    -------
    dict
        ``rules_version``, ``items`` (ranked findings), ``top_fixes`` (their
        ids), ``general_advice`` and ``not_scored`` (metric -> why).
    """
    return {
        "rules_version": rules.version,
        "items": [f.to_dict() for f in findings],
        "top_fixes": [f.id for f in findings if f.top_fix],
        "general_advice": [g.to_dict() for g in rules.general],
        "not_scored": {name: r.note for name, r in rules.metrics.items() if not r.scored},
    }


__all__ = [
    "Band",
    "FlaggedFrame",
    "Finding",
    "GuidanceItem",
    "Observation",
    "RuleContext",
    "Rules",
    "RulesError",
    "Source",
    "adapted_band",
    "assess_confidence",
    "default_rules",
    "evaluate",
    "findings_summary",
    "flag_frames",
    "good_bands",
    "metric_label",
    "observe",
    "parse_rules",
]
