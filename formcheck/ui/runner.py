"""Running an analysis for the app: once per clip and settings, exactly as the CLI does.

The steps are the CLI's ``analyze`` command: :func:`formcheck.pipeline.analyze`
per clip, :func:`formcheck.session.make_session`, then
:func:`formcheck.io.outputs.write_session` into a temporary output folder.
What the app adds is a :class:`ResultStore`: each clip's pose tracks are
kept under the SHA-256 of its bytes plus the options pose depends on, its
analysis under the hash plus all options, and each written result under its
clips, so a widget click, a re-upload of the same file, a sample chosen twice
or a new height or speed never runs pose estimation again (a new height,
speed or view re-runs only :func:`formcheck.pipeline.analyze_tracks`).
Nothing here imports Streamlit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck import pipeline
from formcheck.errors import FormcheckError
from formcheck.io.model import PoseModel
from formcheck.io.outputs import write_session
from formcheck.io.workspace import annotated_video_rel, new_output_folder, staged_uploads
from formcheck.pipeline import Analysis, AnalysisOptions
from formcheck.session import Session, make_session, session_labels
from formcheck.ui.present import clean_error

ClipProgress = Callable[[int, int, str, int, int], None]
"""Called with (clip number from 1, clips, clip name, frames done, frames expected)."""


@dataclass(frozen=True)
class ClipRequest:
    """One clip to analyse.

    Attributes
    ----------
    name : str
        Name to show (the sample's or the uploaded file's name).
    digest : str
        SHA-256 of the clip's bytes.
    options : AnalysisOptions
        Analysis options.
    path : pathlib.Path or None
        The clip on disk (a sample); None for an upload.
    data : bytes or memoryview or None
        The uploaded bytes (not part of the key).
    """

    name: str
    digest: str
    options: AnalysisOptions
    path: Path | None = None
    data: bytes | memoryview | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        """Cache key of the analysis: content hash plus options."""
        return f"{self.digest}:{self.options!r}"

    @property
    def pose_key(self) -> str:
        """Cache key of the pose tracks: content hash plus what pose estimation depends on.

        The view, height and speed only matter after pose, so changing them
        re-runs :func:`formcheck.pipeline.analyze_tracks` on the cached tracks.
        """
        o = self.options
        return f"{self.digest}:{o.model_path!r}:{o.capture_fps!r}:{o.limits!r}:{o.pose!r}"


def session_key(clips: Sequence[ClipRequest]) -> str:
    """Cache key of a written result: the clips' keys and names, in order.

    Parameters
    ----------
    clips : sequence of ClipRequest
        The clips.

    Returns
    -------
    str
        Hex digest.
    """
    text = "\n".join(f"{c.key}|{c.name}" for c in clips)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AppResult:
    """A finished, written analysis of one or more clips.

    Attributes
    ----------
    key : str
        :func:`session_key` of its clips.
    report : dict
        The (combined) report, as written to ``report.json``.
    session : Session
        The analyses, by label.
    names : mapping of str to str
        Label -> clip name.
    folder : tempfile.TemporaryDirectory
        The output folder; removed when the last reference to it goes.
    """

    key: str
    report: dict[str, Any]
    session: Session
    names: Mapping[str, str]
    folder: tempfile.TemporaryDirectory[str] = field(repr=False, compare=False)

    @property
    def out_dir(self) -> Path:
        """The output folder."""
        return Path(self.folder.name)

    @property
    def labels(self) -> list[str]:
        """Clip labels, in order."""
        return self.session.labels

    def video_rel(self, label: str) -> str:
        """Relative path of a clip's annotated video in :attr:`out_dir`."""
        return annotated_video_rel(label, len(self.labels))


class _Lru:
    """A small thread-safe least-recently-used mapping."""

    def __init__(self, size: int) -> None:
        self._size = max(1, int(size))
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class ResultStore:
    """Analyses and written results of one app server, least recently used dropped first.

    Parameters
    ----------
    max_analyses : int
        Clip analyses kept (pose tracks and metrics, small).
    max_results : int
        Written results kept (each an output folder with an annotated video).
    """

    def __init__(self, max_analyses: int = 24, max_results: int = 8) -> None:
        self._poses = _Lru(max_analyses)
        self._analyses = _Lru(max_analyses)
        self._results = _Lru(max_results)

    def pose(self, key: str) -> Analysis | None:
        """A cached analysis whose pose tracks match a pose key, if any."""
        found: Analysis | None = self._poses.get(key)
        return found

    def put_pose(self, key: str, analysis: Analysis) -> None:
        """Keep an analysis for its pose tracks."""
        self._poses.put(key, analysis)

    def analysis(self, key: str) -> Analysis | None:
        """The cached analysis of a clip key, if any."""
        found: Analysis | None = self._analyses.get(key)
        return found

    def put_analysis(self, key: str, analysis: Analysis) -> None:
        """Keep an analysis."""
        self._analyses.put(key, analysis)

    def result(self, key: str) -> AppResult | None:
        """The cached result of a session key, if any."""
        found: AppResult | None = self._results.get(key)
        return found

    def put_result(self, result: AppResult) -> None:
        """Keep a result."""
        self._results.put(result.key, result)


def _analyse_clip(
    clip: ClipRequest,
    path: Path,
    store: ResultStore,
    model: Callable[[], PoseModel],
    progress: Callable[[int, int], None] | None,
) -> Analysis:
    cached = store.analysis(clip.key)
    if cached is None:
        posed = store.pose(clip.pose_key)
        if posed is None:
            cached = pipeline.analyze(path, clip.options, model=model(), on_progress=progress)
            store.put_pose(clip.pose_key, cached)
        else:  # same clip, other view/height/speed: no pose estimation
            cached = pipeline.analyze_tracks(posed.raw, posed.video, clip.options)
        store.put_analysis(clip.key, cached)
    # The staged file's name means nothing to the user: show the name they know.
    return dataclasses.replace(cached, video={**cached.video, "file": clip.name})


def run_analysis(
    clips: Sequence[ClipRequest],
    store: ResultStore,
    model: Callable[[], PoseModel],
    *,
    on_progress: ClipProgress | None = None,
    on_writing: Callable[[], None] | None = None,
) -> AppResult:
    """Analyse clips of one run and write their (combined) report, reusing the store.

    Uploaded clips are written to a temporary folder that is removed before
    this returns (or raises).

    Parameters
    ----------
    clips : sequence of ClipRequest
        One clip, or a side and a rear clip of the same run.
    store : ResultStore
        Cache of analyses and results.
    model : callable
        Returns the pose model (called only when pose estimation runs).
    on_progress : callable, optional
        Pose progress, see :data:`ClipProgress`.
    on_writing : callable, optional
        Called once pose is done, before the outputs are written.

    Returns
    -------
    AppResult
        The written result.

    Raises
    ------
    FormcheckError
        For every problem with a clip; temporary paths in the message are
        replaced by the clip's name.
    """
    if not clips:
        raise FormcheckError("choose a clip first")
    key = session_key(clips)
    found = store.result(key)
    if found is not None:
        return found
    uploads = [(c.data, c.name) for c in clips if c.path is None and c.data is not None]
    with staged_uploads(uploads) as staged:
        staged_iter = iter(staged)
        paths = [c.path if c.path is not None else next(staged_iter) for c in clips]
        names = {str(p): c.name for p, c in zip(paths, clips, strict=True)}
        names.update({p.name: c.name for p, c in zip(paths, clips, strict=True)})
        try:
            analyses = []
            for i, (clip, path) in enumerate(zip(clips, paths, strict=True), start=1):
                tick = _tick(on_progress, i, len(clips), clip.name)
                analyses.append(_analyse_clip(clip, path, store, model, tick))
            if on_writing is not None:
                on_writing()
            result = _write(key, analyses, paths, [c.name for c in clips])
        except FormcheckError as exc:
            raise type(exc)(clean_error(str(exc), names)) from exc
    store.put_result(result)
    return result


def _tick(
    on_progress: ClipProgress | None, number: int, total_clips: int, name: str
) -> Callable[[int, int], None] | None:
    if on_progress is None:
        return None

    def tick(done: int, total: int) -> None:
        on_progress(number, total_clips, name, done, total)

    return tick


def _write(
    key: str, analyses: list[Analysis], paths: list[Path], names: list[str]
) -> AppResult:
    session: Session = make_session(analyses)
    labels = session_labels(analyses)
    folder = new_output_folder()
    report = write_session(
        session, folder.name, video_paths=dict(zip(labels, paths, strict=True))
    )
    return AppResult(
        key=key,
        report=report,
        session=session,
        names=dict(zip(labels, names, strict=True)),
        folder=folder,
    )


__all__ = ["AppResult", "ClipProgress", "ClipRequest", "ResultStore", "run_analysis", "session_key"]
