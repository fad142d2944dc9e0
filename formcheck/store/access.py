"""Reading and writing the results database (ORM statements only: bound parameters).

The batch driver is the only writer: it records a session once its report
folder is complete (:func:`record_session`), or the reason it failed
(:func:`record_failure`). Viewers read rosters and histories.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from formcheck.io.paths import slug
from formcheck.store.db import Store, StoreError
from formcheck.store.history import MetricValue, SessionSummary
from formcheck.store.models import (
    Athlete,
    FailureRow,
    FindingRow,
    MetricRow,
    SessionRow,
    VideoRow,
)

MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class VideoRecord:
    """One clip of a finished session."""

    label: str
    view: str
    path: str
    sha256: str


@dataclass(frozen=True)
class SessionRecord:
    """Everything stored about one finished session.

    Attributes
    ----------
    key : str
        Content key of the session (clip hashes + options).
    athlete : str
        Athlete name.
    date : datetime.date
        Session date.
    folder : str
        The complete report folder.
    videos : tuple of VideoRecord
        Its clips.
    report : mapping
        The session's ``report.json`` content (metrics and findings are read
        from it).
    height_m, treadmill_speed_kmh, capture_fps : float or None
        Options used.
    formcheck_version : str
        formcheck release that analysed it.
    seconds : float or None
        Analysis wall time.
    """

    key: str
    athlete: str
    date: dt.date
    folder: str
    videos: tuple[VideoRecord, ...]
    report: Mapping[str, Any]
    height_m: float | None = None
    treadmill_speed_kmh: float | None = None
    capture_fps: float | None = None
    formcheck_version: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class FailureRecord:
    """A session or an input row that could not be analysed."""

    key: str
    athlete: str | None
    date: str | None
    source: str
    message: str
    attempts: int = 1
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class RosterEntry:
    """One athlete in the roster."""

    name: str
    slug: str
    n_sessions: int
    first_date: dt.date | None
    last_date: dt.date | None


def failure_key(source: str) -> str:
    """A stable key for a failure that has no session key (a bad input row).

    Parameters
    ----------
    source : str
        Where the input came from.

    Returns
    -------
    str
        Hex SHA-256 of the source.
    """
    return hashlib.sha256(f"input:{source}".encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def unique_slug(name: str, taken: Iterable[str]) -> str:
    """A folder name for ``name`` that no other athlete has (case-insensitively).

    Parameters
    ----------
    name : str
        Athlete name.
    taken : iterable of str
        Slugs already in use.

    Returns
    -------
    str
        ``slug(name)``, or it with ``-2``, ``-3`` ... appended.
    """
    used = {t.lower() for t in taken}
    base = slug(name)
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def check_athlete_name(name: str) -> str:
    """A cleaned athlete name, or StoreError when unusable.

    Parameters
    ----------
    name : str
        As given by the user.

    Returns
    -------
    str
        Stripped name.
    """
    clean = str(name).strip()
    if not clean:
        raise StoreError("athlete name is empty")
    if len(clean) > MAX_NAME_CHARS or any(ord(c) < 32 for c in clean):
        raise StoreError(
            f"athlete name {clean[:40]!r} is too long or has control characters; shorten it"
        )
    return clean


def _athlete(s: Session, name: str) -> Athlete:
    found = s.scalars(select(Athlete).where(Athlete.name == name)).first()
    if found is not None:
        return found
    athlete = Athlete(name=name, slug=unique_slug(name, s.scalars(select(Athlete.slug))))
    s.add(athlete)
    s.flush()
    return athlete


def athlete_slug(store: Store, name: str) -> str:
    """The folder name of an athlete, registering the athlete when new.

    Parameters
    ----------
    store : Store
        The database.
    name : str
        Athlete name.

    Returns
    -------
    str
        The athlete's unique folder name.
    """
    name = check_athlete_name(name)
    for _ in range(3):
        try:
            with store.sessions.begin() as s:
                return _athlete(s, name).slug
        except IntegrityError:
            continue  # another writer registered the same name or slug first
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write to the database: {exc}") from exc
    raise StoreError(f"cannot register athlete {name!r} in the database")


def completed(store: Store) -> dict[str, str]:
    """Keys of the finished sessions and their report folders.

    Parameters
    ----------
    store : Store
        The database.

    Returns
    -------
    dict of str to str
        Session key -> report folder.
    """
    with store.sessions() as s:
        return dict(s.execute(select(SessionRow.key, SessionRow.folder)).all())


def _metric_levels(report: Mapping[str, Any]) -> dict[str, str]:
    rank = {"watch": 1, "act": 2}
    levels: dict[str, str] = {}
    for item in report.get("findings", {}).get("items", []):
        for obs in item.get("observations", []):
            name, level = obs.get("metric"), obs.get("level")
            if name and level in rank and rank[level] > rank.get(levels.get(name, ""), 0):
                levels[name] = level
    return levels


def metric_rows(report: Mapping[str, Any]) -> list[MetricRow]:
    """Metric rows of a report (not yet attached to a session).

    Parameters
    ----------
    report : mapping
        A ``report.json`` content.

    Returns
    -------
    list of MetricRow
        One per metric, with the finding level that flagged it.
    """
    levels = _metric_levels(report)
    rows = []
    for name, m in report.get("metrics", {}).items():
        rows.append(
            MetricRow(
                name=str(name),
                value=m.get("value"),
                uncertainty=m.get("uncertainty"),
                unit=str(m.get("unit", "")),
                status=str(m.get("status", "")),
                reason=str(m.get("reason", "")),
                left=m.get("left"),
                right=m.get("right"),
                n_strides=int(m.get("n_strides") or 0),
                source_view=m.get("source_view"),
                level=levels.get(str(name)),
            )
        )
    return rows


def finding_rows(report: Mapping[str, Any]) -> list[FindingRow]:
    """Finding rows of a report (not yet attached to a session).

    Parameters
    ----------
    report : mapping
        A ``report.json`` content.

    Returns
    -------
    list of FindingRow
        One per finding, best fix first.
    """
    return [
        FindingRow(
            finding_id=str(f["id"]),
            kind=str(f.get("kind", "")),
            rank=int(f.get("rank", 0)),
            title=str(f.get("title", "")),
            level=str(f.get("level", "")),
            severity=str(f.get("severity", "")),
            side=f.get("side"),
            confidence=str(f.get("confidence", "")),
            metrics=",".join(f.get("metrics", [])),
        )
        for f in report.get("findings", {}).get("items", [])
    ]


def record_session(store: Store, rec: SessionRecord) -> None:
    """Store a finished session, replacing any older one of the same athlete and date.

    In one transaction: the athlete is registered if new, an older session
    of the same athlete and date (or with the same key) is deleted with its
    rows, the session is inserted with its clips, metrics and findings, and
    failures of the same key or athlete and date are cleared.

    Parameters
    ----------
    store : Store
        The database.
    rec : SessionRecord
        The session.
    """
    name = check_athlete_name(rec.athlete)
    try:
        with store.sessions.begin() as s:
            athlete = _athlete(s, name)
            s.execute(
                delete(SessionRow).where(
                    or_(
                        SessionRow.key == rec.key,
                        (SessionRow.athlete_id == athlete.id) & (SessionRow.date == rec.date),
                    )
                )
            )
            row = SessionRow(
                athlete_id=athlete.id,
                date=rec.date,
                key=rec.key,
                folder=rec.folder,
                views=",".join(v.label for v in rec.videos),
                height_m=rec.height_m,
                treadmill_speed_kmh=rec.treadmill_speed_kmh,
                capture_fps=rec.capture_fps,
                formcheck_version=rec.formcheck_version,
                seconds=rec.seconds,
                created_at=_now(),
            )
            row.videos = [
                VideoRow(label=v.label, view=v.view, path=v.path, sha256=v.sha256)
                for v in rec.videos
            ]
            row.metrics = metric_rows(rec.report)
            row.findings = finding_rows(rec.report)
            s.add(row)
            s.execute(
                delete(FailureRow).where(
                    or_(
                        FailureRow.key == rec.key,
                        (FailureRow.athlete == name) & (FailureRow.date == rec.date.isoformat()),
                    )
                )
            )
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record the session of {name} on {rec.date}: {exc}") from exc


def record_failure(store: Store, rec: FailureRecord) -> None:
    """Store (or update) why a session or input row failed.

    Parameters
    ----------
    store : Store
        The database.
    rec : FailureRecord
        The failure; a failure with the same key is updated and its attempt
        count increased.
    """
    try:
        with store.sessions.begin() as s:
            row = s.scalars(select(FailureRow).where(FailureRow.key == rec.key)).first()
            if row is None:
                s.add(
                    FailureRow(
                        key=rec.key,
                        athlete=rec.athlete,
                        date=rec.date,
                        source=rec.source,
                        message=rec.message,
                        attempts=1,
                        updated_at=_now(),
                    )
                )
            else:
                row.athlete, row.date, row.source = rec.athlete, rec.date, rec.source
                row.message, row.attempts, row.updated_at = rec.message, row.attempts + 1, _now()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record a failure in the database: {exc}") from exc


def failures(store: Store) -> list[FailureRecord]:
    """Every recorded failure, newest first.

    Parameters
    ----------
    store : Store
        The database.

    Returns
    -------
    list of FailureRecord
        The failures.
    """
    with store.sessions() as s:
        rows = s.scalars(select(FailureRow).order_by(FailureRow.updated_at.desc())).all()
        return [
            FailureRecord(
                key=r.key,
                athlete=r.athlete,
                date=r.date,
                source=r.source,
                message=r.message,
                attempts=r.attempts,
                updated_at=r.updated_at,
            )
            for r in rows
        ]


def roster(store: Store) -> list[RosterEntry]:
    """Every athlete with a session, with counts and date range, by name.

    Parameters
    ----------
    store : Store
        The database.

    Returns
    -------
    list of RosterEntry
        The roster.
    """
    query = (
        select(
            Athlete.name,
            Athlete.slug,
            func.count(SessionRow.id),
            func.min(SessionRow.date),
            func.max(SessionRow.date),
        )
        .join(SessionRow, SessionRow.athlete_id == Athlete.id)
        .group_by(Athlete.id)
        .order_by(Athlete.name)
    )
    with store.sessions() as s:
        return [RosterEntry(*row) for row in s.execute(query).all()]


def _summary(row: SessionRow) -> SessionSummary:
    return SessionSummary(
        id=row.id,
        date=row.date,
        folder=row.folder,
        views=tuple(v for v in row.views.split(",") if v),
        metrics={
            m.name: MetricValue(
                value=m.value,
                uncertainty=m.uncertainty,
                unit=m.unit,
                status=m.status,
                level=m.level,
                left=m.left,
                right=m.right,
                reason=m.reason or "",
            )
            for m in row.metrics
        },
        findings=tuple((f.rank, f.level, f.title) for f in row.findings),
        height_m=row.height_m,
        treadmill_speed_kmh=row.treadmill_speed_kmh,
    )


def _sessions(s: Session, where: Any) -> Sequence[SessionRow]:
    query = (
        select(SessionRow)
        .join(Athlete, SessionRow.athlete_id == Athlete.id)
        .where(where)
        .options(selectinload(SessionRow.metrics), selectinload(SessionRow.findings))
        .order_by(SessionRow.date)
    )
    return s.scalars(query).all()


def athlete_sessions(store: Store, name: str) -> list[SessionSummary]:
    """One athlete's sessions, oldest first.

    Parameters
    ----------
    store : Store
        The database.
    name : str
        Athlete name.

    Returns
    -------
    list of SessionSummary
        The sessions (empty for an unknown athlete).
    """
    with store.sessions() as s:
        return [_summary(r) for r in _sessions(s, Athlete.name == name)]


def latest_sessions(store: Store) -> list[tuple[RosterEntry, SessionSummary]]:
    """Each athlete's most recent session, by athlete name.

    Parameters
    ----------
    store : Store
        The database.

    Returns
    -------
    list of tuple
        ``(roster entry, latest session)``.
    """
    entries = roster(store)
    if not entries:
        return []
    latest = (
        select(SessionRow.athlete_id, func.max(SessionRow.date).label("last"))
        .group_by(SessionRow.athlete_id)
        .subquery()
    )
    with store.sessions() as s:
        query = (
            select(Athlete.name, SessionRow)
            .join(Athlete, SessionRow.athlete_id == Athlete.id)
            .join(
                latest,
                (latest.c.athlete_id == SessionRow.athlete_id) & (latest.c.last == SessionRow.date),
            )
            .options(selectinload(SessionRow.metrics), selectinload(SessionRow.findings))
        )
        by_name = {name: _summary(row) for name, row in s.execute(query).all()}
    return [(e, by_name[e.name]) for e in entries if e.name in by_name]


__all__ = [
    "FailureRecord",
    "RosterEntry",
    "SessionRecord",
    "VideoRecord",
    "athlete_sessions",
    "athlete_slug",
    "check_athlete_name",
    "completed",
    "failure_key",
    "failures",
    "finding_rows",
    "latest_sessions",
    "metric_rows",
    "record_failure",
    "record_session",
    "roster",
    "unique_slug",
]
