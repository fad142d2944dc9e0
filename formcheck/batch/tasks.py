"""The unit of batch work: analyse one session's clips and write its report folder.

:func:`run_session_task` is what every engine runs (a local process pool or a
Ray cluster). It never raises for a bad clip: a :class:`FormcheckError` or
any unexpected exception becomes an error message in the
:class:`TaskResult`. A session whose clips partly fail is written with the
clips that worked; a session whose clips all fail is not written. The folder
is written atomically; the caller marks the session done in the database
only after the task returns.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import formcheck
from formcheck.errors import FormcheckError

ENGINE_CRASH = "the worker process stopped while analysing this session"


@dataclass(frozen=True)
class ClipTask:
    """One clip of a session task.

    Attributes
    ----------
    path : str
        Absolute path of the clip (visible from every worker).
    view : str
        ``auto``, ``side``, ``rear`` or ``front``.
    sha256 : str
        Content hash of the clip.
    view_hint : bool
        Whether ``view`` is a guess from the clip's name (see
        :class:`formcheck.batch.inputs.ClipInput`).
    height_m, treadmill_speed_kmh, capture_fps : float or None
        Analysis inputs.
    source : str
        Where the clip came from, for messages.
    duration_s : float
        Length from the file's header (NaN when unknown), for scheduling.
    """

    path: str
    view: str
    sha256: str
    view_hint: bool = False
    height_m: float | None = None
    treadmill_speed_kmh: float | None = None
    capture_fps: float | None = None
    source: str = ""
    duration_s: float = math.nan


@dataclass(frozen=True)
class SessionTask:
    """Everything a worker needs to analyse one session.

    Attributes
    ----------
    key : str
        Content key (see :func:`session_key`).
    athlete : str
        Athlete name.
    date : str
        ISO date.
    folder : str
        Absolute report folder to create.
    clips : tuple of ClipTask
        The clips, side first.
    model_path : str or None
        Pose model file; the bundled one when None.
    write_video : bool
        Write the annotated video into the report folder.
    """

    key: str
    athlete: str
    date: str
    folder: str
    clips: tuple[ClipTask, ...]
    model_path: str | None = None
    write_video: bool = True

    @property
    def video_seconds(self) -> float:
        """Seconds of video to analyse (clips of unknown length count 0)."""
        return sum(c.duration_s for c in self.clips if math.isfinite(c.duration_s))


@dataclass(frozen=True)
class ClipOutcome:
    """What happened to one clip."""

    path: str
    sha256: str
    label: str | None
    view: str | None
    error: str | None = None


@dataclass(frozen=True)
class TaskResult:
    """The result of one session task.

    Attributes
    ----------
    key : str
        The task's key.
    clips : tuple of ClipOutcome
        One per clip, in task order.
    report : dict or None
        The written ``report.json`` content; None when nothing was written.
    error : str or None
        Why the session was not written (None when it was).
    seconds : float
        Wall time of the task.
    formcheck_version : str
        The worker's formcheck release.
    """

    key: str
    clips: tuple[ClipOutcome, ...]
    report: dict[str, Any] | None
    error: str | None
    seconds: float
    formcheck_version: str = formcheck.__version__

    @property
    def ok(self) -> bool:
        """True when the session folder was written."""
        return self.report is not None

    @property
    def n_done(self) -> int:
        """Clips analysed."""
        return sum(c.error is None for c in self.clips) if self.ok else 0

    @property
    def n_failed(self) -> int:
        """Clips that failed."""
        return len(self.clips) - self.n_done


def session_key(athlete: str, date: str, clips: tuple[ClipTask, ...], model: str | None) -> str:
    """A key that changes whenever the session's content or options change.

    Parameters
    ----------
    athlete : str
        Athlete name.
    date : str
        ISO date.
    clips : tuple of ClipTask
        The clips (their content hash, view and options count; their paths
        do not, so a moved clip is still recognised).
    model : str or None
        Pose model file, None for the bundled model.

    Returns
    -------
    str
        Hex SHA-256.
    """
    payload = {
        "athlete": athlete,
        "date": date,
        "clips": sorted(
            # A view guessed from a name can give way to the detection, one the user gave
            # cannot: the same clip and view are two jobs then.
            [c.sha256, c.view, c.view_hint, c.height_m, c.treadmill_speed_kmh, c.capture_fps]
            for c in clips
        ),
        "model": model,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def failed_result(task: SessionTask, message: str, seconds: float = 0.0) -> TaskResult:
    """A result saying the whole task failed with ``message``.

    Parameters
    ----------
    task : SessionTask
        The task.
    message : str
        Why.
    seconds : float
        Time spent.

    Returns
    -------
    TaskResult
        Every clip failed with the message.
    """
    return TaskResult(
        key=task.key,
        clips=tuple(ClipOutcome(c.path, c.sha256, None, None, message) for c in task.clips),
        report=None,
        error=message,
        seconds=seconds,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, FormcheckError):
        return str(exc)
    return f"unexpected failure ({type(exc).__name__}: {exc})"


def _analyse_clips(task: SessionTask) -> tuple[list[Any], list[ClipTask], list[ClipOutcome]]:
    """Analyse each clip; a failure is recorded and the others go on."""
    from formcheck.io.model import load_model
    from formcheck.pipeline import AnalysisOptions, analyze

    model = load_model(task.model_path)
    analyses, used, outcomes = [], [], []
    for clip in task.clips:
        options = AnalysisOptions(
            model_path=task.model_path,
            view=clip.view,  # type: ignore[arg-type]
            view_hint=clip.view_hint,
            capture_fps=clip.capture_fps,
            height_m=clip.height_m,
            treadmill_speed_kmh=clip.treadmill_speed_kmh,
            # The batch engine already keeps every core busy with one clip per
            # process; splitting a clip across cores as well would only add
            # threads competing for the same cores.
            workers=1,
        )
        try:
            analyses.append(analyze(Path(clip.path), options, model=model))
        except Exception as exc:  # noqa: BLE001 - one bad clip never stops the batch
            outcomes.append(ClipOutcome(clip.path, clip.sha256, None, None, _describe(exc)))
            continue
        used.append(clip)
        outcomes.append(ClipOutcome(clip.path, clip.sha256, None, None))
    return analyses, used, outcomes


def run_session_task(task: SessionTask) -> TaskResult:
    """Analyse a session's clips and write its report folder atomically.

    Parameters
    ----------
    task : SessionTask
        The session.

    Returns
    -------
    TaskResult
        The written report, or why nothing was written; per-clip errors.
    """
    from formcheck.io.batch_files import atomic_dir
    from formcheck.io.outputs import REPORT_FILE, write_session
    from formcheck.io.tracks import load_json
    from formcheck.session import make_session, session_labels

    start = time.perf_counter()
    try:
        analyses, used, outcomes = _analyse_clips(task)
        if not analyses:
            if len(outcomes) == 1:
                errors = outcomes[0].error
            else:
                pairs = zip(task.clips, outcomes, strict=True)
                errors = "; ".join(f"{c.source}: {o.error}" for c, o in pairs)
            return TaskResult(task.key, tuple(outcomes), None, errors, time.perf_counter() - start)
        session = make_session(analyses)
        labels = session_labels(analyses)
        folder = Path(task.folder)
        with atomic_dir(folder) as tmp:
            write_session(
                session,
                tmp,
                video_paths={lb: c.path for lb, c in zip(labels, used, strict=True)},
                write_video=task.write_video,
            )
        report = load_json(folder / REPORT_FILE)
    except Exception as exc:  # noqa: BLE001 - recorded as this session's error
        return failed_result(task, _describe(exc), time.perf_counter() - start)
    by_path = {c.path: (lb, a.view.view) for lb, c, a in zip(labels, used, analyses, strict=True)}
    final = tuple(
        ClipOutcome(o.path, o.sha256, *by_path[o.path], None) if o.error is None else o
        for o in outcomes
    )
    return TaskResult(task.key, final, report, None, time.perf_counter() - start)


__all__ = [
    "ENGINE_CRASH",
    "ClipOutcome",
    "ClipTask",
    "SessionTask",
    "TaskResult",
    "failed_result",
    "run_session_task",
    "session_key",
]
