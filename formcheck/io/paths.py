"""Paths built from names that come from users (manifests, athlete names, uploads).

:func:`safe_child` is the one way to turn such a name into a path: it keeps
the result inside a base folder whatever the name contains (``..``, an
absolute path, a Windows drive or share, a NUL byte, or a symlink that points
outside). :func:`upload_file_name` names an uploaded file by its content, so
the name the uploader chose is never used as a path.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from formcheck.errors import UnsafePathError

MAX_SLUG_CHARS = 64
"""Longest folder name :func:`slug` makes."""
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
"""Clip types formcheck looks for (batch folders, app uploads); an uploaded clip keeps
one of these suffixes, anything else is stored as ``.mp4``."""


def _components(part: str) -> list[str]:
    """Split one user-given part into path components, refusing unsafe ones."""
    if not isinstance(part, str):
        raise UnsafePathError(f"a path part must be text, not {type(part).__name__}.")
    shown = repr(part[:60])
    if "\x00" in part:
        raise UnsafePathError(f"the name {shown} contains a NUL byte; use plain letters.")
    if _CONTROL.search(part):
        raise UnsafePathError(f"the name {shown} contains control characters; use plain letters.")
    if part.startswith(("/", "\\")):
        raise UnsafePathError(f"the name {shown} is an absolute path; give a relative name.")
    if _DRIVE.match(part):
        raise UnsafePathError(f"the name {shown} starts with a drive; give a relative name.")
    pieces = re.split(r"[/\\]", part)
    for piece in pieces:
        if piece in ("", "."):
            raise UnsafePathError(f"the name {shown} has an empty or '.' component.")
        if piece == ".." or piece.strip() in ("..", "."):
            raise UnsafePathError(f"the name {shown} leads out of its folder ('..').")
    return pieces


def safe_child(base: Path, *parts: str) -> Path:
    """A path inside ``base`` made from user-given parts, or an error.

    Parameters
    ----------
    base : pathlib.Path
        The folder the result must stay in (need not exist yet).
    *parts : str
        Names or relative paths (``/`` or ``\\`` separated), e.g. an athlete
        name and a clip name from a manifest.

    Returns
    -------
    pathlib.Path
        ``base`` joined with the parts' components; it resolves (following
        any existing symlinks) to a path strictly inside ``base``.

    Raises
    ------
    UnsafePathError
        If no part is given, or a part is empty, absolute, has a drive letter,
        ``..``, a NUL or control character, or leads outside ``base`` through
        a symlink.
    """
    if not parts:
        raise UnsafePathError("no name was given for a path inside the output folder.")
    components: list[str] = []
    for part in parts:
        components.extend(_components(part))
    base = Path(base)
    candidate = base.joinpath(*components)
    root = base.resolve()
    resolved = candidate.resolve()
    if resolved == root or not resolved.is_relative_to(root):
        shown = "/".join(components)[:80]
        raise UnsafePathError(
            f"the name {shown!r} leads outside {base.name or base} (through a link); "
            "choose another name."
        )
    return candidate


def upload_file_name(original_name: str, content_sha256: str) -> str:
    """The file name to store an upload under: its content hash and a known suffix.

    Parameters
    ----------
    original_name : str
        The name the uploader's browser sent; only its suffix is looked at
        (and only if it is a known video suffix).
    content_sha256 : str
        Hex SHA-256 of the uploaded bytes.

    Returns
    -------
    str
        ``"upload-<first 16 hex digits><suffix>"``.

    Raises
    ------
    UnsafePathError
        If the digest is not hexadecimal.
    """
    digest = content_sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{16,128}", digest):
        raise UnsafePathError("the upload's content hash must be hexadecimal.")
    suffix = Path(str(original_name).replace("\\", "/")).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        suffix = ".mp4"
    return f"upload-{digest[:16]}{suffix}"


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


__all__ = ["MAX_SLUG_CHARS", "safe_child", "slug", "upload_file_name"]
