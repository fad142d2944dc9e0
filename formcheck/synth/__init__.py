"""Synthetic treadmill-running clips with exact ground truth.

>>> from formcheck.synth import SynthParams, render_clip
>>> truth = render_clip(SynthParams(view="rear", valgus_right_deg=12), "rear.mp4")  # doctest: +SKIP

:func:`render_clip` writes ``<clip>.mp4`` and ``<clip stem>.truth.json``;
:func:`simulate` gives the exact joints and events without any video.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from formcheck.io.writer import VideoWriter
from formcheck.synth.kinematics import GaitEvent, Simulation, simulate, solve_gait
from formcheck.synth.params import SynthParams
from formcheck.synth.render import render_frames
from formcheck.synth.truth import build_truth

__all__ = ["GaitEvent", "Simulation", "SynthParams", "build_truth", "render_clip", "render_frames", "simulate"]


def truth_path_for(clip_path: str | Path) -> Path:
    """Return ``<folder>/<clip stem>.truth.json`` for a clip path."""
    p = Path(clip_path)
    return p.with_name(p.stem + ".truth.json")


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to a temporary file in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_clip(params: SynthParams, out_path: str | Path, crf: int = 23) -> dict[str, Any]:
    """Render a synthetic clip to an H.264 MP4 and write its ground truth beside it.

    Parameters
    ----------
    params : SynthParams
        Clip parameters.
    out_path : str or pathlib.Path
        Destination ``.mp4``; the truth goes to ``<stem>.truth.json`` in the
        same folder. Both are written atomically.
    crf : int, default 23
        x264 quality (lower is better and larger).

    Returns
    -------
    dict
        The ground truth (see :func:`formcheck.synth.truth.build_truth`).

    Notes
    -----
    With ``params.rotate_metadata`` and a portrait size, the stored pixels are
    landscape (the upright image rotated 90 deg clockwise) and the file
    carries a 90 deg display rotation, so a correct reader shows it upright.
    """
    out = Path(out_path)
    gait = solve_gait(params)
    sim = simulate(params)
    truth = build_truth(params, gait, sim)
    rotate = params.rotate_metadata and params.portrait
    w, h = (params.height, params.width) if rotate else (params.width, params.height)
    with VideoWriter(out, w, h, params.fps, rotation_deg=90 if rotate else 0, crf=crf) as writer:
        for frame in render_frames(params, stored=True):
            writer.write(frame)
    _write_json_atomic(truth_path_for(out), truth)
    return truth
