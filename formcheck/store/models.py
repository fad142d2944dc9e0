"""The database tables of a squad's results (SQLAlchemy 2.x declarative models).

One row per athlete; one row per analysed session (a date's side and rear
clips of one athlete), holding its clips, metrics and findings; one row per
failed session. A session row exists only once its report folder is
complete, so a row *is* the "done" mark. The schema is versioned with
Alembic (``formcheck/store/migrations``); change a model only together with
a new migration.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names fixed by convention, so migrations can refer to them."""


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Athlete(Base):
    """An athlete, by the name the coach uses, with a unique folder name."""

    __tablename__ = "athletes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    sessions: Mapped[list[SessionRow]] = relationship(
        back_populates="athlete", cascade="all, delete-orphan", passive_deletes=True
    )


class SessionRow(Base):
    """One analysed session: one athlete, one date, one or more clips."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("athlete_id", "date", name="uq_sessions_athlete_date"),
        Index("ix_sessions_athlete_date", "athlete_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    athlete_id: Mapped[int] = mapped_column(
        ForeignKey("athletes.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    folder: Mapped[str] = mapped_column(Text)
    views: Mapped[str] = mapped_column(String(100))
    height_m: Mapped[float | None] = mapped_column(Float)
    treadmill_speed_kmh: Mapped[float | None] = mapped_column(Float)
    capture_fps: Mapped[float | None] = mapped_column(Float)
    formcheck_version: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

    athlete: Mapped[Athlete] = relationship(back_populates="sessions")
    videos: Mapped[list[VideoRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    metrics: Mapped[list[MetricRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    findings: Mapped[list[FindingRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="FindingRow.rank"
    )


class VideoRow(Base):
    """One clip of a session, identified by its content hash."""

    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("session_id", "label", name="uq_videos_session_label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(32))
    view: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)


class MetricRow(Base):
    """One metric of a session (the combined value when it has several clips)."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("session_id", "name", name="uq_metrics_session_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    uncertainty: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    left: Mapped[float | None] = mapped_column(Float)
    right: Mapped[float | None] = mapped_column(Float)
    n_strides: Mapped[int] = mapped_column(Integer, default=0)
    source_view: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(10))


class FindingRow(Base):
    """One ranked finding of a session."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("session_id", "finding_id", name="uq_findings_session_finding"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    finding_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10))
    side: Mapped[str | None] = mapped_column(String(10))
    confidence: Mapped[str] = mapped_column(String(10))
    metrics: Mapped[str] = mapped_column(Text)


class FailureRow(Base):
    """A session (or an input row) that could not be analysed, and why."""

    __tablename__ = "failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    athlete: Mapped[str | None] = mapped_column(String(200), index=True)
    date: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


__all__ = ["Athlete", "Base", "FailureRow", "FindingRow", "MetricRow", "SessionRow", "VideoRow"]
