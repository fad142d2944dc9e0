"""The accuracy benchmark's scoring helpers on hand-made truth (no video, no pose model)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import accuracy as bench  # noqa: E402

FPS = 30.0
LEG = 100.0
N = 90


def _truth(ic_frames: dict[str, list[int]]) -> dict[str, Any]:
    """Two heels 60 px apart that never move; contacts at the given frames."""
    heels = {
        "left_heel": np.tile([300.0, 500.0], (N, 1)),
        "right_heel": np.tile([360.0, 500.0], (N, 1)),
    }
    events = [
        {"foot": foot, "kind": "initial_contact", "time_s": f / FPS}
        for foot, frames in ic_frames.items()
        for f in frames
    ]
    return {
        "fps": FPS,
        "leg_length_px": LEG,
        "n_frames": N,
        "width": 640,
        "height": 640,
        "view": "side",
        "joints_px": {k: v.tolist() for k, v in heels.items()},
        "events": sorted(events, key=lambda e: e["time_s"]),
    }


def test_touchdown_counts_swapped_heel_labels_and_their_duration() -> None:
    truth = _truth({"left": [20, 50], "right": [35, 65]})
    raw = bench.truth_dataset(truth)
    pos = raw.position.values  # time, space, keypoints, individuals
    left, right = (list(raw.keypoints.values).index(k) for k in ("left_heel", "right_heel"))
    for first, stop in ((20, 23), (50, 52)):  # left contacts: labels exchanged 3 and 2 frames
        pos[first:stop, :, [left, right]] = pos[first:stop, :, [right, left]]
    cleaned = bench.truth_dataset(truth)
    cleaned.position.values[36:40, 0, right] += 12.0  # right heel 12 % leg off after one contact

    got = bench.touchdown(raw, cleaned, truth)

    assert got["contacts"] == 4
    assert got["swapped_pct"] == pytest.approx(50.0)
    assert got["swap_ms"] == pytest.approx(1000 * 2.5 / FPS)
    assert got["err_before"] == 0.0
    # 4 of the 4 x 4 frames from contact on are 12 % off: the median stays 0 ...
    assert got["err_after"] == 0.0 and got["missing_after_pct"] == 0.0
    # ... until most of them are (and the frames before contact count apart).
    cleaned.position.values[:, 0, right] += 12.0
    cleaned.position.values[20:, 0, left] += 12.0
    moved = bench.touchdown(raw, cleaned, truth)
    assert moved["err_after"] == pytest.approx(12.0)
    assert moved["err_before"] == pytest.approx(12.0)  # 9 of 12 frames before are 12 off


def test_touchdown_leaves_out_contacts_too_near_the_clip_ends_and_counts_missing_heels() -> None:
    truth = _truth({"left": [1, 40], "right": [88]})
    raw = bench.truth_dataset(truth)
    cleaned = bench.truth_dataset(truth)
    left = list(cleaned.keypoints.values).index("left_heel")
    cleaned.position.values[40:44, :, left] = np.nan  # the 4 frames from contact 40 on
    got = bench.touchdown(raw, cleaned, truth)
    assert got["contacts"] == 1
    assert got["swapped_pct"] == 0.0 and got["swap_ms"] == 0.0
    assert got["missing_after_pct"] == pytest.approx(100.0)
    assert np.isnan(got["err_after"])
