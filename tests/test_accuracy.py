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
