"""What a batch analyses: clips found in a folder tree or listed in a manifest (pure).

Folder input: ``athlete/date/clip.mp4`` at any depth below the input folder.
The date is the deepest folder whose name is a date (``2025-03-14``,
``20250314``, ``2025_03_14``); the athlete is the folder just above it (the
input folder itself when the date folders sit directly inside it). The view
comes from a word in the clip's name or the folders below the date (``side``,
``rear``/``back``/``behind``, ``front``), else the default.

Manifest input: a CSV with columns ``athlete, date, view, path`` and
optional ``height`` (m), ``treadmill_speed`` (km/h), ``capture_fps``.
Paths are relative to the manifest's folder and may not leave it.

Clips of the same athlete and date are one session (a side and a rear clip
combine into one report). A row that cannot be used becomes an
:class:`InputProblem`, recorded like a failed video, and the rest go on.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Literal

from formcheck.errors import FormcheckError
from formcheck.io.paths import safe_child
from formcheck.settings import HEIGHT_RANGE_M, SPEED_RANGE_KMH

ViewChoice = Literal["auto", "side", "rear", "front"]
VIEW_WORDS: dict[str, ViewChoice] = {
    "side": "side",
    "lateral": "side",
    "sagittal": "side",
    "rear": "rear",
    "back": "rear",
    "behind": "rear",
    "posterior": "rear",
    "front": "front",
    "anterior": "front",
    "auto": "auto",
    "": "auto",
}
"""Words naming a camera view (in a file name or a manifest's view column)."""
_DATE = re.compile(r"^(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})$")
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "athlete": ("athlete", "name", "runner"),
    "date": ("date", "session_date"),
    "view": ("view", "camera"),
    "path": ("path", "video", "file", "clip"),
    "height": ("height", "height_m"),
    "speed": ("treadmill_speed", "treadmill_speed_kmh", "speed", "speed_kmh"),
    "capture_fps": ("capture_fps", "fps"),
}
REQUIRED_COLUMNS = ("athlete", "date", "path")
RANGES: dict[str, tuple[float, float]] = {
    "height": HEIGHT_RANGE_M,
    "speed": SPEED_RANGE_KMH,
    "capture_fps": (1.0, 2000.0),
}
"""Plausible ranges of the optional manifest numbers (m, km/h, fps)."""


class InputError(FormcheckError):
    """An input row or file cannot be used."""


@dataclass(frozen=True)
class ClipInput:
    """One clip to analyse.

    Attributes
    ----------
    athlete : str
        Athlete name as given.
    date : datetime.date
        Session date.
    view : {"auto", "side", "rear", "front"}
        Camera view (``auto`` detects it).
    view_hint : bool
        Whether ``view`` was read from a word in the file or folder names (a
        guess that a confident detection overrules), not given by the user.
    path : pathlib.Path
        The clip (absolute).
    height_m, treadmill_speed_kmh, capture_fps : float or None
        Optional analysis inputs.
    source : str
        Where it came from (relative path or manifest row), for messages.
    """

    athlete: str
    date: dt.date
    view: ViewChoice
    path: Path
    view_hint: bool = False
    height_m: float | None = None
    treadmill_speed_kmh: float | None = None
    capture_fps: float | None = None
    source: str = ""


@dataclass(frozen=True)
class InputProblem:
    """An input that cannot be analysed, and why (one plain sentence)."""

    source: str
    message: str
    athlete: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class SessionInput:
    """The clips of one athlete on one date."""

    athlete: str
    date: dt.date
    clips: tuple[ClipInput, ...]


@dataclass(frozen=True)
class Defaults:
    """Values for clips whose input does not give them (the CLI options)."""

    view: ViewChoice = "auto"
    height_m: float | None = None
    treadmill_speed_kmh: float | None = None
    capture_fps: float | None = None


def parse_date(text: str) -> dt.date:
    """A session date from ``YYYY-MM-DD`` (or ``YYYYMMDD``, ``YYYY_MM_DD``, ``YYYY.MM.DD``).

    Parameters
    ----------
    text : str
        The date text.

    Returns
    -------
    datetime.date
        The date.

    Raises
    ------
    InputError
        If it is not such a date.
    """
    match = _DATE.match(str(text).strip())
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    raise InputError(f"{str(text)[:40]!r} is not a date; write it as YYYY-MM-DD (2025-03-14)")


def _is_date(text: str) -> bool:
    try:
        parse_date(text)
    except InputError:
        return False
    return True


def view_from_words(parts: Iterable[str], default: ViewChoice = "auto") -> ViewChoice:
    """The view named by words in file or folder names, else ``default``.

    Parameters
    ----------
    parts : iterable of str
        Names to look in (``"jane_side_01.mp4"``, ``"rear"``...).
    default : {"auto", "side", "rear", "front"}
        When no view word (or conflicting ones) is found.

    Returns
    -------
    {"auto", "side", "rear", "front"}
        The view.
    """
    found = {
        VIEW_WORDS[w]
        for part in parts
        for w in re.split(r"[^a-z]+", PurePath(part).stem.lower())
        if w and w in VIEW_WORDS and w != "auto"
    }
    return found.pop() if len(found) == 1 else default


def clip_from_folder(root: Path, path: Path, defaults: Defaults) -> ClipInput:
    """A clip found under ``root``, its athlete and date read from its folders.

    Parameters
    ----------
    root : pathlib.Path
        The input folder.
    path : pathlib.Path
        A clip under it.
    defaults : Defaults
        Options for the clip.

    Returns
    -------
    ClipInput
        The clip.

    Raises
    ------
    InputError
        If no folder above the clip is named by a date, or no athlete folder.
    """
    rel = path.relative_to(root)
    folders = rel.parts[:-1]
    dated = [i for i, name in enumerate(folders) if _is_date(name)]
    if not dated:
        raise InputError(
            f"{rel.as_posix()}: no date folder above the clip; arrange clips as "
            "athlete/YYYY-MM-DD/clip.mp4"
        )
    i = dated[-1]
    athlete = folders[i - 1] if i > 0 else root.resolve().name
    if not athlete.strip():
        raise InputError(f"{rel.as_posix()}: no athlete folder above the date folder")
    named = view_from_words([rel.name, *folders[i + 1 :]])
    return ClipInput(
        athlete=athlete.strip(),
        date=parse_date(folders[i]),
        view=defaults.view if named == "auto" else named,
        view_hint=named != "auto",
        path=path.resolve(),
        height_m=defaults.height_m,
        treadmill_speed_kmh=defaults.treadmill_speed_kmh,
        capture_fps=defaults.capture_fps,
        source=rel.as_posix(),
    )


def clips_from_folder(
    root: Path, videos: Sequence[Path], defaults: Defaults
) -> tuple[list[ClipInput], list[InputProblem]]:
    """Every clip of a folder input, and the ones that cannot be placed.

    Parameters
    ----------
    root : pathlib.Path
        The input folder.
    videos : sequence of pathlib.Path
        Clips found under it.
    defaults : Defaults
        Options for every clip.

    Returns
    -------
    tuple
        ``(clips, problems)``.
    """
    clips, problems = [], []
    for video in videos:
        try:
            clips.append(clip_from_folder(root, video, defaults))
        except InputError as exc:
            rel = video.relative_to(root).as_posix()
            problems.append(InputProblem(source=rel, message=str(exc)))
    return clips, problems


def manifest_columns(header: Sequence[str]) -> dict[str, str]:
    """Map the manifest's own column names to formcheck's.

    Parameters
    ----------
    header : sequence of str
        Column names as written (any case, spaces allowed).

    Returns
    -------
    dict of str to str
        formcheck column -> manifest column.

    Raises
    ------
    InputError
        If a required column (athlete, date, path) is missing.
    """
    norm = {re.sub(r"[\s-]+", "_", h.strip().lower()): h for h in header if h}
    found = {}
    for key, aliases in COLUMN_ALIASES.items():
        match = next((norm[a] for a in aliases if a in norm), None)
        if match is not None:
            found[key] = match
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise InputError(
            f"the manifest has no {', '.join(missing)} column; its columns must be "
            "athlete, date, view, path (optional: height, treadmill_speed, capture_fps)"
        )
    return found


def _number(row: Mapping[str, str], columns: Mapping[str, str], key: str) -> float | None:
    text = (row.get(columns[key]) or "").strip() if key in columns else ""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    lo, hi = RANGES[key]
    if not (math.isfinite(value) and lo <= value <= hi):
        raise InputError(f"{key} {text[:20]!r} is not a number between {lo:g} and {hi:g}")
    return value


def clip_from_row(
    row: Mapping[str, str], columns: Mapping[str, str], base: Path, defaults: Defaults
) -> ClipInput:
    """One manifest row as a clip.

    Parameters
    ----------
    row : mapping of str to str
        The row.
    columns : mapping of str to str
        From :func:`manifest_columns`.
    base : pathlib.Path
        The manifest's folder: paths are relative to it and may not leave it.
    defaults : Defaults
        Values for empty optional cells.

    Returns
    -------
    ClipInput
        The clip.

    Raises
    ------
    InputError
        For an empty athlete, a bad date, view or number, or a path that is
        absolute, leaves the manifest's folder or does not exist.
    """
    athlete = (row.get(columns["athlete"]) or "").strip()
    if not athlete:
        raise InputError("the athlete cell is empty")
    date = parse_date(row.get(columns["date"]) or "")
    view_text = (row.get(columns["view"]) or "").strip().lower() if "view" in columns else ""
    if view_text not in VIEW_WORDS:
        raise InputError(f"view {view_text[:20]!r} is not side, rear, front or auto")
    view = VIEW_WORDS[view_text] if view_text else defaults.view
    rel = (row.get(columns["path"]) or "").strip()
    try:
        path = safe_child(base, rel)
    except FormcheckError as exc:
        raise InputError(
            f"path {rel[:80]!r} refused: {exc}. Give clip paths relative to the manifest's folder"
        ) from exc
    if not path.is_file():
        raise InputError(f"no such clip: {rel[:80]!r} (relative to {base})")
    height, speed, fps = (_number(row, columns, k) for k in ("height", "speed", "capture_fps"))
    return ClipInput(
        athlete=athlete,
        date=date,
        view=view,
        path=path,
        height_m=height if height is not None else defaults.height_m,
        treadmill_speed_kmh=speed if speed is not None else defaults.treadmill_speed_kmh,
        capture_fps=fps if fps is not None else defaults.capture_fps,
    )


def clips_from_manifest(
    rows: Sequence[Mapping[str, str]], header: Sequence[str], base: Path, defaults: Defaults
) -> tuple[list[ClipInput], list[InputProblem]]:
    """Every usable row of a manifest, and a problem for each other row.

    Parameters
    ----------
    rows : sequence of mapping
        The data rows (``csv.DictReader``), in file order.
    header : sequence of str
        Column names.
    base : pathlib.Path
        The manifest's folder.
    defaults : Defaults
        Values for empty optional cells.

    Returns
    -------
    tuple
        ``(clips, problems)``.

    Raises
    ------
    InputError
        If required columns are missing (nothing can be read).
    """
    columns = manifest_columns(header)
    clips, problems = [], []
    for n, row in enumerate(rows, start=2):
        source = f"manifest line {n}"
        try:
            clip = clip_from_row(row, columns, base, defaults)
        except InputError as exc:
            problems.append(
                InputProblem(
                    source=source,
                    message=f"{source}: {exc}",
                    athlete=(row.get(columns["athlete"]) or "").strip()[:200] or None,
                    date=(row.get(columns["date"]) or "").strip()[:32] or None,
                )
            )
            continue
        clips.append(replace(clip, source=f"{source} ({(row.get(columns['path']) or '').strip()})"))
    return clips, problems


def group_sessions(clips: Sequence[ClipInput]) -> list[SessionInput]:
    """Group clips by athlete and date; side clips first within a session.

    Parameters
    ----------
    clips : sequence of ClipInput
        The clips.

    Returns
    -------
    list of SessionInput
        Sessions by athlete then date; the same file listed twice in a
        session is kept once.
    """
    order = {"side": 0, "auto": 1, "rear": 2, "front": 3}
    groups: dict[tuple[str, dt.date], list[ClipInput]] = {}
    for clip in clips:
        bucket = groups.setdefault((clip.athlete, clip.date), [])
        if all(c.path != clip.path for c in bucket):
            bucket.append(clip)

    def clip_order(c: ClipInput) -> tuple[int, str]:
        return order[c.view], str(c.path)

    return [
        SessionInput(athlete, date, tuple(sorted(group, key=clip_order)))
        for (athlete, date), group in sorted(groups.items())
    ]


__all__ = [
    "ClipInput",
    "Defaults",
    "InputError",
    "InputProblem",
    "SessionInput",
    "ViewChoice",
    "clip_from_folder",
    "clip_from_row",
    "clips_from_folder",
    "clips_from_manifest",
    "group_sessions",
    "manifest_columns",
    "parse_date",
    "view_from_words",
]
