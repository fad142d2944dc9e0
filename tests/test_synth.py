"""Fast tests of the synthetic runner: exact timing, truth metrics, writer, params."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from formcheck.errors import FormcheckError
from formcheck.io.writer import VideoWriter
from formcheck.synth import SynthParams, render_clip, simulate
from formcheck.synth import kinematics as kin
from formcheck.synth.truth import build_truth


def _stance_mask(gait: kin.Gait, side: str, t: np.ndarray) -> np.ndarray:
    since = np.mod(t - gait.first_ic_s[side], gait.stride_s)
    return since < gait.contact_s


@pytest.mark.parametrize(
    "kw", [{}, {"style": "b", "duty_factor": 0.28}, {"overstride_pct_leg": 22, "cadence_spm": 155}]
)
def test_foot_on_belt_exactly_during_contact(kw: dict) -> None:
    gait = kin.solve_gait(SynthParams(**kw))
    for side in ("left", "right"):
        ic = gait.first_ic_s[side] + 2 * gait.stride_s
        # strictly inside stance and strictly inside swing, avoiding the end points
        t_st = ic + gait.contact_s * np.linspace(1e-6, 1 - 1e-6, 500)
        t_sw = ic + gait.contact_s + (gait.stride_s - gait.contact_s) * np.linspace(1e-4, 1 - 1e-4, 2000)
        st = kin.foot_points(gait, side, t_st)
        sw = kin.foot_points(gait, side, t_sw)
        low_st = np.minimum(st["heel"][:, 1], st["foot_index"][:, 1])
        low_sw = np.minimum(sw["heel"][:, 1], sw["foot_index"][:, 1])
        assert np.all(low_st == 0.0)
        assert np.all(low_st >= 0.0) and np.all(st["ankle"][:, 1] > 0)
        assert np.all(low_sw > 0.0)
        # heel exactly on the belt at IC, toe the last point on the belt at TO
        at = kin.foot_points(gait, side, np.array([ic, ic + gait.contact_s - 1e-9]))
        assert at["heel"][0, 1] == 0.0 and at["foot_index"][0, 1] > 0.0
        assert at["foot_index"][1, 1] == 0.0 and at["heel"][1, 1] > 0.02
        # the contact point moves with the belt
        flat = ic + gait.contact_s * np.array([0.25, 0.45])
        heel = kin.foot_points(gait, side, flat)["heel"][:, 0]
        assert (heel[0] - heel[1]) / np.diff(flat)[0] == pytest.approx(gait.belt_speed, rel=1e-9)


def test_events_cadence_and_duty() -> None:
    p = SynthParams(cadence_spm=172, duty_factor=0.33, duration_s=8, start_phase=0.3)
    sim = simulate(p)
    ics = [e for e in sim.events if e.kind == "initial_contact"]
    tos = [e for e in sim.events if e.kind == "toe_off"]
    times = np.array([e.time_s for e in ics])
    assert np.all(np.diff(times) > 0)
    assert 60 * (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(172, rel=1e-9)
    assert [e.foot for e in ics] == [("right", "left")[i % 2] for i in range(len(ics))] or [e.foot for e in ics] == [
        ("left", "right")[i % 2] for i in range(len(ics))
    ]
    stride = 120 / 172
    for e in tos:
        ic = [c.time_s for c in ics if c.foot == e.foot and c.time_s < e.time_s]
        if ic:
            assert (e.time_s - ic[-1]) / stride == pytest.approx(0.33, rel=1e-9)
    assert all(0 <= e.time_s <= sim.times[-1] for e in sim.events)
    # start_phase: first right IC at (1 - start_phase) * stride
    first_right = min(e.time_s for e in ics if e.foot == "right")
    assert first_right == pytest.approx(0.7 * stride)


def test_side_truth_metrics_match_params() -> None:
    for facing in ("left", "right"):
        p = SynthParams(overstride_pct_leg=12, facing=facing, duration_s=2)
        gait = kin.solve_gait(p)
        truth = build_truth(p, gait, simulate(p))
        assert truth["contacts"] and truth["fppa_peak_deg"] is None
        for c in truth["contacts"]:
            # projected overstride: exact in 3D, within 2.5% (relative) after perspective
            assert c["overstride_pct_leg"] == pytest.approx(12, rel=0.025)
            assert c["fppa_peak_deg"] is None
            jp = kin.project_joints(gait.camera, kin.joints_3d(gait, np.array([c["ic_time_s"]])))
            f = c["foot"]
            d = 1 if facing == "right" else -1
            shank = kin.shank_angle_deg(jp[f"{f}_knee"], jp[f"{f}_ankle"], d)[0]
            assert c["shank_angle_deg"] == pytest.approx(shank)
            assert 5 < c["knee_flexion_deg"] < 25
        # the near foot is the one on the facing side, and it is drawn nearer
        j3 = simulate(p).joints3d
        near = facing
        far = "left" if near == "right" else "right"
        assert np.all(gait.camera.depth(j3[f"{near}_ankle"]) < gait.camera.depth(j3[f"{far}_ankle"]))
    bigger = SynthParams(overstride_pct_leg=22, cadence_spm=155, duration_s=2)
    t2 = build_truth(bigger, kin.solve_gait(bigger), simulate(bigger))
    t1 = build_truth(
        SynthParams(duration_s=2), kin.solve_gait(SynthParams(duration_s=2)), simulate(SynthParams(duration_s=2))
    )
    assert np.mean([c["knee_flexion_deg"] for c in t2["contacts"]]) < np.mean(
        [c["knee_flexion_deg"] for c in t1["contacts"]]
    )
    assert np.mean([c["shank_angle_deg"] for c in t2["contacts"]]) > np.mean(
        [c["shank_angle_deg"] for c in t1["contacts"]]
    )


def test_rear_fppa_peak_matches_params() -> None:
    p = SynthParams(view="rear", valgus_left_deg=3, valgus_right_deg=12, duration_s=2)
    gait = kin.solve_gait(p)
    truth = build_truth(p, gait, simulate(p))
    assert truth["fppa_peak_deg"]["left"] == pytest.approx(3, abs=1e-4)
    assert truth["fppa_peak_deg"]["right"] == pytest.approx(12, abs=1e-4)
    assert truth["facing"] is None
    for c in truth["contacts"]:
        assert c["overstride_pct_leg"] is None
        t = np.array([c["ic_time_s"]])
        assert abs(kin.projected_fppa_deg(gait, c["foot"], t)[0]) < 1.0  # ~0 at IC
    # left leg on the image left in a rear view
    jp = simulate(p).joints_px
    assert np.all(jp["left_hip"][:, 0] < jp["right_hip"][:, 0])


def test_joints_px_shape_and_framing() -> None:
    p = SynthParams(duration_s=1, width=720, height=1280)
    sim = simulate(p)
    assert sim.times.size == 30
    ys = np.concatenate([v[:, 1] for v in sim.joints_px.values()])
    xs = np.concatenate([v[:, 0] for v in sim.joints_px.values()])
    assert xs.min() > 0 and xs.max() < p.width and ys.min() > 0 and ys.max() < p.height


def test_writer_round_trip_vfr_and_rotation(tmp_path: Path) -> None:
    img = np.zeros((96, 64, 3), np.uint8)  # upright portrait
    img[:16] = (255, 0, 0)  # red top band
    stored = np.ascontiguousarray(np.rot90(img, k=-1))
    times = [0.0, 0.031, 0.07, 0.1, 0.145]
    path = tmp_path / "vfr.mp4"
    with VideoWriter(path, 96, 64, fps=30, rotation_deg=90, crf=18) as w:
        for t in times:
            w.write(stored, time_s=t)
    assert not list(tmp_path.glob(".*tmp*"))
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == len(times)
    assert [round(float(f.time), 4) for f in frames] == times
    assert all(f.rotation == 90 for f in frames)
    up = np.rot90(frames[0].to_ndarray(format="rgb24"), k=frames[0].rotation // 90)
    assert up.shape == (96, 64, 3) and up[4, 32, 0] > 200 and up[80, 32, 0] < 50
    # constant frame rate without times
    cfr = tmp_path / "cfr.mp4"
    with VideoWriter(cfr, 64, 96, fps=25) as w:
        for _ in range(3):
            w.write(img)
    with av.open(str(cfr)) as c:
        fr = list(c.decode(video=0))
        assert c.streams.video[0].average_rate == Fraction(25)
    assert len(fr) == 3 and fr[0].rotation == 0


def test_writer_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(FormcheckError):
        VideoWriter(tmp_path / "x.mp4", 63, 64, 30)
    path = tmp_path / "bad.mp4"
    with pytest.raises(FormcheckError), VideoWriter(path, 64, 64, 30) as w:
        w.write(np.zeros((32, 64, 3), np.uint8))
    assert not path.exists() and not list(tmp_path.iterdir())


def test_render_clip_small(tmp_path: Path) -> None:
    p = SynthParams(width=320, height=180, duration_s=1, fps=20, view="rear", valgus_right_deg=8)
    truth = render_clip(p, tmp_path / "clip.mp4")
    on_disk = json.loads((tmp_path / "clip.truth.json").read_text())
    assert on_disk["schema"] == "formcheck-synth-truth/1" and on_disk["n_frames"] == 20
    assert len(on_disk["joints_px"]["left_ankle"]) == 20 == truth["n_frames"]
    with av.open(str(tmp_path / "clip.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 20


@pytest.mark.parametrize(
    "kw",
    [
        {"cadence_spm": 110},
        {"duty_factor": 0.7},
        {"overstride_pct_leg": 45},
        {"fps": 5},
        {"width": 641},
        {"duration_s": 0.5},
        {"view": "top"},
        {"style": "c"},
        {"start_phase": 1.0},
        {"valgus_left_deg": 40},
        {"seed": -1},
    ],
)
def test_params_validation(kw: dict) -> None:
    with pytest.raises(FormcheckError):
        SynthParams(**kw)


def test_params_frozen() -> None:
    p = SynthParams()
    with pytest.raises(AttributeError):
        p.cadence_spm = 180  # type: ignore[misc]
