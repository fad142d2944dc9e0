"""A whole batch run: find the clips, plan the sessions, run them, store, summarise.

``run_batch(config)`` is what ``formcheck batch`` calls:

1. lock the output folder and remove temporary folders of killed runs;
2. open (and migrate) the database;
3. read the inputs (folder tree or CSV manifest), group clips into sessions,
   hash every clip and skip sessions whose content key is already stored
   with a complete report folder (resume);
4. run the other sessions on the chosen engine; each result is stored as it
   arrives (the session row is the "done" mark, written after the folder);
5. write the squad summary and each athlete's history from the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from formcheck.batch.engines import EngineOptions, run_tasks
from formcheck.batch.inputs import (
    ClipInput,
    Defaults,
    InputProblem,
    SessionInput,
    clips_from_folder,
    clips_from_manifest,
    group_sessions,
)
from formcheck.batch.summary import history_csv, history_html, squad_csv, squad_html
from formcheck.batch.tasks import ClipTask, SessionTask, TaskResult, session_key
from formcheck.errors import FormcheckError
from formcheck.io.batch_files import (
    batch_lock,
    file_sha256,
    find_videos,
    read_manifest,
    remove_stale_temp,
)
from formcheck.io.outputs import REPORT_FILE
from formcheck.io.paths import VIDEO_SUFFIXES, safe_child
from formcheck.io.tracks import write_text_atomic
from formcheck.io.video import header_duration_s
from formcheck.metrics import UNITS
from formcheck.store.access import (
    FailureRecord,
    SessionRecord,
    VideoRecord,
    athlete_sessions,
    athlete_slug,
    completed,
    failure_key,
    failures,
    latest_sessions,
    record_failure,
    record_session,
    roster,
)
from formcheck.store.db import Store, default_url, open_store

ATHLETES_DIR = "athletes"
SQUAD_CSV = "squad.csv"
SQUAD_HTML = "squad.html"
HISTORY_CSV = "history.csv"
HISTORY_HTML = "history.html"


@dataclass(frozen=True)
class BatchConfig:
    """Everything a batch run needs.

    Attributes
    ----------
    input : pathlib.Path
        A folder (``athlete/date/clip.mp4``) or a CSV manifest.
    out : pathlib.Path
        Output folder.
    db_url : str or None
        SQLAlchemy URL; ``sqlite:///<out>/formcheck.db`` when None.
    defaults : Defaults
        View, height, speed and capture fps for clips that do not give them.
    engine : EngineOptions
        Engine, workers, Ray address.
    model_path : str or None
        Pose model file; the bundled one when None.
    write_video : bool
        Write each session's annotated video (about half of a session's time
        after pose); the report folders are complete without it.
    """

    input: Path
    out: Path
    db_url: str | None = None
    defaults: Defaults = field(default_factory=Defaults)
    engine: EngineOptions = field(default_factory=EngineOptions)
    model_path: str | None = None
    write_video: bool = True


@dataclass(frozen=True)
class BatchProgress:
    """Counts of videos so far in this run."""

    total: int
    done: int
    failed: int
    skipped: int


@dataclass(frozen=True)
class Plan:
    """Sessions to run, sessions already done, and inputs that cannot be used."""

    tasks: tuple[SessionTask, ...]
    skipped: tuple[SessionTask, ...]
    problems: tuple[InputProblem, ...]


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    out : pathlib.Path
        Output folder.
    db_url : str
        Database used (password hidden).
    sessions_done, sessions_skipped, sessions_failed : int
        Sessions written now, already done before, not written.
    videos_done, videos_failed, videos_skipped : int
        Videos analysed now, failed (including unusable inputs), skipped.
    errors : tuple of tuple
        ``(source, message)`` of every failure of this run.
    squad_csv, squad_html : pathlib.Path
        The squad summary files.
    """

    out: Path
    db_url: str
    sessions_done: int
    sessions_skipped: int
    sessions_failed: int
    videos_done: int
    videos_failed: int
    videos_skipped: int
    errors: tuple[tuple[str, str], ...]
    squad_csv: Path
    squad_html: Path


ProgressFn = Callable[[BatchProgress], None]


def discover(config: BatchConfig) -> tuple[list[ClipInput], list[InputProblem]]:
    """The clips of the input, and the inputs that cannot be used.

    Parameters
    ----------
    config : BatchConfig
        The run.

    Returns
    -------
    tuple
        ``(clips, problems)``.

    Raises
    ------
    FormcheckError
        If the input is neither a folder nor a readable CSV manifest.
    """
    src = config.input
    if src.is_dir():
        videos = find_videos(src, exclude=[config.out])
        if not videos:
            raise FormcheckError(
                f"no clips ({', '.join(VIDEO_SUFFIXES)}) found under {src}; arrange them as "
                "athlete/YYYY-MM-DD/clip.mp4"
            )
        return clips_from_folder(src.resolve(), [v.resolve() for v in videos], config.defaults)
    if src.suffix.lower() == ".csv" or src.is_file():
        header, rows = read_manifest(src)
        return clips_from_manifest(rows, header, src.resolve().parent, config.defaults)
    raise FormcheckError(f"no such folder or manifest: {src}")


def _clip_task(clip: ClipInput) -> ClipTask:
    return ClipTask(
        path=str(clip.path),
        view=clip.view,
        view_hint=clip.view_hint,
        sha256=file_sha256(clip.path),
        height_m=clip.height_m,
        treadmill_speed_kmh=clip.treadmill_speed_kmh,
        capture_fps=clip.capture_fps,
        source=clip.source,
        duration_s=header_duration_s(clip.path),
    )


def _session_task(
    session: SessionInput, store: Store, out: Path, model_path: str | None, write_video: bool
) -> SessionTask:
    clips = tuple(_clip_task(c) for c in session.clips)
    date = session.date.isoformat()
    folder = safe_child(out, ATHLETES_DIR, athlete_slug(store, session.athlete), date)
    return SessionTask(
        key=session_key(session.athlete, date, clips, model_path),
        athlete=session.athlete,
        date=date,
        folder=str(folder),
        clips=clips,
        model_path=model_path,
        write_video=write_video,
    )


def plan(
    sessions: Sequence[SessionInput],
    store: Store,
    out: Path,
    model_path: str | None = None,
    write_video: bool = True,
) -> Plan:
    """Tasks for the sessions not already done (by content key and complete folder).

    Parameters
    ----------
    sessions : sequence of SessionInput
        Grouped inputs.
    store : Store
        The database (athletes are registered here to fix their folders).
    out : pathlib.Path
        Output folder.
    model_path : str or None
        Pose model file.
    write_video : bool
        Whether the tasks write annotated videos.

    Returns
    -------
    Plan
        Tasks to run, tasks skipped, and sessions that cannot be planned
        (unreadable clip, unusable athlete name).
    """
    done = completed(store)
    tasks, skipped, problems = [], [], []
    for session in sessions:
        try:
            task = _session_task(session, store, out, model_path, write_video)
        except FormcheckError as exc:
            problems.append(
                InputProblem(
                    source=", ".join(c.source for c in session.clips),
                    message=str(exc),
                    athlete=session.athlete,
                    date=session.date.isoformat(),
                )
            )
            continue
        finished = done.get(task.key) == task.folder
        if finished and (Path(task.folder) / REPORT_FILE).is_file():
            skipped.append(task)
        else:
            tasks.append(task)
    return Plan(tuple(tasks), tuple(skipped), tuple(problems))


@dataclass
class _Recorder:
    """Stores each result as it arrives and keeps the run's counts (driver only)."""

    store: Store
    tasks: dict[str, SessionTask]
    total: int
    skipped: int
    on_progress: ProgressFn | None
    done: int = 0
    failed: int = 0
    sessions_done: int = 0
    sessions_failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, p: InputProblem) -> None:
        record_failure(
            self.store,
            FailureRecord(failure_key(p.source), p.athlete, p.date, p.source, p.message),
        )
        self.errors.append((p.source, p.message))
        self.failed += 1

    def progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(BatchProgress(self.total, self.done, self.failed, self.skipped))

    def __call__(self, result: TaskResult) -> None:
        task = self.tasks[result.key]
        sources = {c.path: c.source for c in task.clips}
        if result.ok and result.report is not None:
            first = task.clips[0]
            record_session(
                self.store,
                SessionRecord(
                    key=task.key,
                    athlete=task.athlete,
                    date=dt.date.fromisoformat(task.date),
                    folder=task.folder,
                    videos=tuple(
                        VideoRecord(c.label, c.view or "", c.path, c.sha256)
                        for c in result.clips
                        if c.error is None and c.label is not None
                    ),
                    report=result.report,
                    height_m=first.height_m,
                    treadmill_speed_kmh=first.treadmill_speed_kmh,
                    capture_fps=first.capture_fps,
                    formcheck_version=result.formcheck_version,
                    seconds=result.seconds,
                ),
            )
            self.sessions_done += 1
            for c in result.clips:
                if c.error is not None:
                    key = hashlib.sha256(f"clip:{task.key}:{c.sha256}".encode()).hexdigest()
                    record_failure(
                        self.store,
                        FailureRecord(key, task.athlete, task.date, sources[c.path], c.error),
                    )
                    self.errors.append((sources[c.path], c.error))
        else:
            message = result.error or "failed"
            source = ", ".join(sources.values())
            record_failure(
                self.store, FailureRecord(task.key, task.athlete, task.date, source, message)
            )
            self.errors.append((source, message))
            self.sessions_failed += 1
        self.done += result.n_done
        self.failed += result.n_failed
        self.progress()


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def write_summaries(store: Store, out: Path) -> tuple[Path, Path]:
    """Write the squad summary and every athlete's history from the database.

    Parameters
    ----------
    store : Store
        The database.
    out : pathlib.Path
        Output folder.

    Returns
    -------
    tuple of pathlib.Path
        The squad CSV and HTML files.
    """
    latest = latest_sessions(store)
    history_links, report_links = {}, {}
    for entry in roster(store):
        folder = safe_child(out, ATHLETES_DIR, entry.slug)
        sessions = athlete_sessions(store, entry.name)
        write_text_atomic(folder / HISTORY_CSV, history_csv(entry.name, sessions))
        reports = {x.id: _relative(Path(x.folder) / "report.html", folder) for x in sessions}
        page = history_html(entry.name, sessions, _relative(out / SQUAD_HTML, folder), reports)
        write_text_atomic(folder / HISTORY_HTML, page)
        history_links[entry.name] = _relative(folder / HISTORY_HTML, out)
    for entry, session in latest:
        report_links[entry.name] = _relative(Path(session.folder) / "report.html", out)
    csv_path, html_path = out / SQUAD_CSV, out / SQUAD_HTML
    write_text_atomic(csv_path, squad_csv(latest))
    write_text_atomic(
        html_path,
        squad_html(latest, failures(store), history_links, report_links, dict(UNITS)),
    )
    return csv_path, html_path


def run_batch(config: BatchConfig, on_progress: ProgressFn | None = None) -> BatchSummary:
    """Run a whole batch (see the module docstring).

    Parameters
    ----------
    config : BatchConfig
        The run.
    on_progress : callable, optional
        Called with a :class:`BatchProgress` after planning and after each
        session.

    Returns
    -------
    BatchSummary
        Counts, errors and summary files.

    Raises
    ------
    FormcheckError
        If the input, the output folder, the database or the engine cannot
        be used at all (a bad video is not such an error: it is recorded).
    """
    out = config.out.resolve()
    url = config.db_url or default_url(out)
    # The input is read before anything is made in --out, so a wrong input leaves nothing.
    clips, problems = discover(config)
    with batch_lock(out):
        remove_stale_temp(out / ATHLETES_DIR)
        store = open_store(url)
        try:
            the_plan = plan(
                group_sessions(clips), store, out, config.model_path, config.write_video
            )
            recorder = _Recorder(
                store=store,
                tasks={t.key: t for t in the_plan.tasks},
                total=sum(len(t.clips) for t in the_plan.tasks) + len(problems)
                + len(the_plan.problems),
                skipped=sum(len(t.clips) for t in the_plan.skipped),
                on_progress=on_progress,
            )
            for p in (*problems, *the_plan.problems):
                recorder.problem(p)
            recorder.progress()
            run_tasks(the_plan.tasks, config.engine, recorder)
            csv_path, html_path = write_summaries(store, out)
        finally:
            store.close()
    return BatchSummary(
        out=out,
        db_url=make_url(url).render_as_string(hide_password=True),
        sessions_done=recorder.sessions_done,
        sessions_skipped=len(the_plan.skipped),
        sessions_failed=recorder.sessions_failed + len(the_plan.problems),
        videos_done=recorder.done,
        videos_failed=recorder.failed,
        videos_skipped=recorder.skipped,
        errors=tuple(recorder.errors),
        squad_csv=csv_path,
        squad_html=html_path,
    )


__all__ = [
    "BatchConfig",
    "BatchProgress",
    "BatchSummary",
    "Plan",
    "discover",
    "plan",
    "run_batch",
    "write_summaries",
]
