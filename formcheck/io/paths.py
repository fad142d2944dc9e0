"""Safe output paths: names from users never lead outside the output folder.

Athlete names, dates and manifest paths come from people and spreadsheets.
:func:`safe_child` joins them under a base folder and refuses anything that
would escape it (``..``, absolute paths, NUL bytes, drive letters, links
pointing out); :func:`slug` turns a free-form name into a plain folder name.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from formcheck.errors import FormcheckError

MAX_SLUG_CHARS = 64
"""Longest folder name :func:`slug` makes."""
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class UnsafePathError(FormcheckError):
    """A name or path would lead outside the folder it must stay in."""


def _check_part(part: str, base: Path) -> list[str]:
    """The components of one relative part, or UnsafePathError."""
    if not isinstance(part, str) or part == "":
        raise UnsafePathError(f"empty path component under {base}")
    if "\x00" in part or any(ord(c) < 32 for c in part):
        raise UnsafePathError(f"path {part!r} contains control characters; rename it")
    win = PureWindowsPath(part)
    if PurePosixPath(part).is_absolute() or win.is_absolute() or win.drive or win.root:
        raise UnsafePathError(
            f"path {part!r} is absolute; give it relative to {base} (no leading / or drive)"
        )
    pieces = [p for p in re.split(r"[\\/]+", part) if p not in ("", ".")]
    if any(p == ".." for p in pieces):
        raise UnsafePathError(f"path {part!r} uses '..' to leave {base}; this is not allowed")
    if not pieces:
        raise UnsafePathError(f"path {part!r} names no file or folder under {base}")
    return pieces


def safe_child(base: Path, *parts: str) -> Path:
    """Join relative ``parts`` under ``base``, refusing any escape from it.

    Parameters
    ----------
    base : pathlib.Path
        The folder everything must stay inside.
    *parts : str
        Relative path pieces (each may contain ``/``).

    Returns
    -------
    pathlib.Path
        ``base / parts...``, absolute.

    Raises
    ------
    UnsafePathError
        If a part is empty, absolute, contains ``..`` or a control character,
        or the joined path (after resolving symbolic links) is not inside
        ``base``.
    """
    root = Path(base).resolve()
    pieces: list[str] = []
    for part in parts:
        pieces.extend(_check_part(part, root))
    child = root.joinpath(*pieces)
    if not child.resolve().is_relative_to(root):
        raise UnsafePathError(
            f"path {'/'.join(pieces)!r} leads outside {root} (through a link); not allowed"
        )
    return child


def slug(name: str) -> str:
    """A plain folder name for a free-form name (an athlete, a date).

    Accents are dropped, every run of characters other than ASCII letters,
    digits, ``.``, ``_`` and ``-`` becomes one ``_``, leading dots and
    underscores are removed, and the result is at most
    :data:`MAX_SLUG_CHARS` long. Different names can give the same slug; the
    caller keeps folders apart.

    Parameters
    ----------
    name : str
        Any text.

    Returns
    -------
    str
        A non-empty name safe as one path component (``"unnamed"`` when
        nothing usable is left).
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = _UNSAFE_CHARS.sub("_", text).strip("._-")[:MAX_SLUG_CHARS].rstrip("._-")
    return text or "unnamed"


__all__ = ["MAX_SLUG_CHARS", "UnsafePathError", "safe_child", "slug"]
