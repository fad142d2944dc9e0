"""formcheck's own error types.

Every failure a user can cause (a bad file, a clip with no runner, a missing
model) is raised as a :class:`FormcheckError` subclass whose message is one
plain sentence saying what is wrong and what to do. Front ends print that
message; they never show a traceback.
"""

from __future__ import annotations


class FormcheckError(Exception):
    """Base class for every error formcheck reports to a user."""


class VideoError(FormcheckError):
    """The video cannot be opened or decoded, or is unsuitable."""


class NoRunnerError(FormcheckError):
    """No person was found in (enough of) the clip."""


class ModelError(FormcheckError):
    """The pose model file is missing, corrupt or fails its checksum."""


class TracksFileError(FormcheckError):
    """A saved tracks or report file cannot be read."""


class InputLimitError(FormcheckError):
    """The input exceeds a configured limit (size, duration, resolution)."""


class ClipTooShortError(FormcheckError):
    """The runner is visible for too short a time to measure a stride."""


class SlowMotionError(VideoError):
    """The clip's timing is not real time (slow motion without its capture rate)."""


class UnsafePathError(FormcheckError):
    """A name or path would lead outside the folder it must stay in."""


class RulesError(FormcheckError, ValueError):
    """The rules or guidance data are missing, malformed or inconsistent."""
