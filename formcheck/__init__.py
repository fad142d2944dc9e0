"""formcheck: running-form analysis from video."""

from __future__ import annotations

__version__ = "0.1.0"
