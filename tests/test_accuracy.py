"""Accuracy of the full pipeline (video -> MediaPipe -> events -> metrics) against ground truth.

The issue's bounds, asserted as stated: on the bundled synthetic clips
(exact truth from ``formcheck.synth``) and the real treadmill clip
(hand-marked contacts, pose-independent cadence). Pose runs once per clip
(module-scoped fixtures). Scoring is shared with ``benchmarks/accuracy.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from formcheck.pipeline import Analysis, analyze

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import accuracy as bench  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.shared]

SYNTH = ("side_normal", "side_overstride", "rear_valgus_right")
SIDE = ("side_normal", "side_overstride")


@pytest.fixture(scope="module")
def synth_runs(sample_dir: Path, model: Any) -> dict[str, tuple[Analysis, dict[str, Any]]]:
    """Each bundled synthetic clip analysed once, with its truth."""
    out = {}
    for name in SYNTH:
        truth = json.loads((sample_dir / f"{name}.truth.json").read_text())
        out[name] = (analyze(sample_dir / f"{name}.mp4", model=model), truth)
    return out


@pytest.fixture(scope="module")
def scores(synth_runs: dict[str, tuple[Analysis, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Benchmark scores of each synthetic clip."""
    return {name: bench.score(an, truth) for name, (an, truth) in synth_runs.items()}


@pytest.fixture(scope="module")
def male_run(male_clip: Path, model: Any) -> Analysis:
    """The real treadmill clip analysed once."""
    return analyze(male_clip, model=model)


def _short(name: str, reason: str) -> Any:
    """A clip whose issue-3 bound is not met yet: strict xfail, so meeting it turns the test red."""
    return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=reason))


_POSE_LIMIT = "MediaPipe on this figure (benchmarks/accuracy.py: pose, pose@ev and truth rows)"
TIMING_CASES = [
    _short("side_normal", f"median 1.39, p95 2.06 frames; {_POSE_LIMIT}"),
    "side_overstride",
    _short("rear_valgus_right", f"median 2.66, p95 4.09 frames, 1 missed; {_POSE_LIMIT}"),
]
SHANK_CASES = [
    _short("side_normal", f"shank error 13.0 deg; {_POSE_LIMIT}"),
    _short("side_overstride", f"shank error 8.8 deg; {_POSE_LIMIT}"),
]


@pytest.mark.parametrize("name", SYNTH)
def test_cadence_within_one_spm(scores: dict[str, dict[str, Any]], name: str) -> None:
    assert abs(scores[name]["cad_err"]) <= 1.0, scores[name]


@pytest.mark.parametrize("name", TIMING_CASES)
def test_contact_timing_and_count(scores: dict[str, dict[str, Any]], name: str) -> None:
    s = scores[name]
    assert (s["missed"], s["extra"]) == (0, 0), s
    assert s["ic_med"] <= 1.0, s
    assert s["ic_p95"] <= 2.0, s


@pytest.mark.parametrize("name", SHANK_CASES)
def test_shank_angle_and_overstride(scores: dict[str, dict[str, Any]], name: str) -> None:
    s = scores[name]
    assert s["shank"] <= 3.0, s
    assert s["overstride"] <= 3.0, s


def test_rear_view_is_recognised_and_worse_valgus_side_is_right(
    scores: dict[str, dict[str, Any]],
) -> None:
    s = scores["rear_valgus_right"]
    assert s["view_ok"], "the rear clip must be recognised as a rear view"
    assert s["worse_ok"], s


@pytest.mark.xfail(strict=True, reason=f"left leg 7.8 deg off; {_POSE_LIMIT}")
def test_rear_fppa_per_leg(scores: dict[str, dict[str, Any]]) -> None:
    s = scores["rear_valgus_right"]
    assert s["fppa_left"] <= 3.0 and s["fppa_right"] <= 3.0, s


@pytest.mark.parametrize("name", SYNTH)
def test_no_metric_ok_from_a_blind_view(
    synth_runs: dict[str, tuple[Analysis, dict[str, Any]]], name: str
) -> None:
    an, _ = synth_runs[name]
    blind = bench._not_seen(an.view.view) if an.view.view != "unknown" else set(an.metrics)
    ok = [n for n, m in an.metrics.items() if m.status == "ok" and n in blind]
    assert not ok


def test_male_clip_cadence(male_run: Analysis, male_clip: Path) -> None:
    truth = json.loads(male_clip.with_name("treadmill_side_male.truth.json").read_text())
    cad = male_run.metrics["cadence_spm"]
    assert cad.status == "ok"
    assert cad.value is not None
    assert abs(cad.value - truth["cadence_spm"]["value"]) <= 1.0


def test_male_clip_contact_timing(male_run: Analysis, male_clip: Path) -> None:
    truth = json.loads(male_clip.with_name("treadmill_side_male.truth.json").read_text())
    s = bench.score_real(male_run, truth)
    assert (s["missed"], s["extra"]) == (0, 0), s
    assert s["ic_med"] <= 1.0, s
    assert s["ic_p95"] <= 2.0, s


def test_overground_clip_is_not_a_confident_cadence(shared_dir: Path, model: Any) -> None:
    from formcheck.errors import FormcheckError

    clip = shared_dir / "videos" / "overground_side_jogger.mp4"
    try:
        an = analyze(clip, model=model)
    except FormcheckError:
        return  # refusing a 1.6 s clip is as good as flagging it
    cad = an.metrics["cadence_spm"]
    assert cad.status != "ok" or cad.value is None


def _tilted_copy(clip: Path, out: Path, shift: float, t0: float = 4.0, t1: float = 5.5) -> Path:
    """The clip with the camera tilted up for a moment: the picture slides down by
    ``shift`` of its height (feet leaving the frame) from ``t0`` to ``t1`` s, over
    0.3 s cosine ramps (a phone on a wobbly stand)."""
    from fractions import Fraction

    import av
    import cv2
    import numpy as np

    with av.open(str(clip)) as src, av.open(str(out), "w") as dst:
        stream = src.streams.video[0]
        fps = float(stream.average_rate)
        enc = dst.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        enc.width, enc.height, enc.pix_fmt = stream.width, stream.height, "yuv420p"
        enc.options = {"preset": "veryfast", "crf": "20"}
        for i, frame in enumerate(src.decode(stream)):
            img = frame.to_ndarray(format="rgb24")
            u = float(np.clip(min(i / fps - t0, t1 - i / fps) / 0.3, 0.0, 1.0))
            if u > 0:
                h, w = img.shape[:2]
                dy = (0.5 - 0.5 * np.cos(np.pi * u)) * shift * h
                m = np.float32([[1, 0, 0], [0, 1, dy]])
                img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
            for packet in enc.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                dst.mux(packet)
        for packet in enc.encode(None):
            dst.mux(packet)
    return out


def test_male_clip_survives_a_camera_tilt(
    male_run: Analysis, male_clip: Path, model: Any, tmp_path: Path
) -> None:
    """A phone tilting for 1.5 s (feet out of the picture) must not spoil the other strides.

    A copy made this way by a tester (the same tilt, frames differing by at most
    0.03 grey levels on average) locked the step sequence onto the far foot's late
    contacts before the far foot's candidates weighed less (``events.foot_trust``):
    every contact about 4 frames late with the feet swapped, overstride -28 % L
    "ok". The choice was that close; the mechanism is unit-tested in test_events.
    """
    truth = json.loads(male_clip.with_name("treadmill_side_male.truth.json").read_text())
    tilted = analyze(_tilted_copy(male_clip, tmp_path / "tilted.mp4", 0.15), model=model)
    s = bench.score_real(tilted, truth)
    assert s["ic_med"] <= 1.5 and s["missed"] <= 2 and s["extra"] == 0, s
    base = male_run.metrics["overstride_pct_leg"].value
    value = tilted.metrics["overstride_pct_leg"].value
    assert base is not None and value is not None and abs(value - base) < 5.0, (value, base)
