"""Build the ground-truth dictionary of a synthetic clip (pure, JSON-ready).

Every metric is computed from the *projected* pixel joints at the exact event
time, with the definitions of ``docs/METRICS.md``. Sagittal measures
(overstride, shank angle, knee flexion) are ``None`` for rear and front views and FPPA
is ``None`` for a side view: a metric from the wrong view is not reported.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from formcheck.landmarks import KEYPOINT_NAMES, SIDES, Side
from formcheck.synth.kinematics import (
    FPPA_SAMPLES,
    Gait,
    GaitEvent,
    Simulation,
    joints_3d,
    knee_flexion_deg,
    project_joints,
    projected_fppa_deg,
    shank_angle_deg,
)
from formcheck.synth.params import SynthParams

SCHEMA = "formcheck-synth-truth/1"


def _contact_record(params: SynthParams, gait: Gait, foot: Side, ic: float) -> dict[str, Any]:
    """Metrics of one contact, from projected joints at the exact IC time."""
    fps = params.fps
    cam = gait.camera
    px = project_joints(cam, joints_3d(gait, np.array([ic])))
    hip, knee, ankle = px[f"{foot}_hip"], px[f"{foot}_knee"], px[f"{foot}_ankle"]
    to = ic + gait.contact_s
    rec: dict[str, Any] = {
        "foot": foot,
        "ic_time_s": ic,
        "ic_frame": round(ic * fps),
        "to_time_s": to,
        "to_frame": round(to * fps),
        "shank_angle_deg": None,
        "overstride_pct_leg": None,
        "heel_ahead_of_hip_px": None,
        "knee_flexion_deg": None,
        "fppa_peak_deg": None,
        "fppa_peak_time_s": None,
        "fppa_peak_frame": None,
    }
    if params.view == "side":
        direction = cam.direction
        mid_hip_x = 0.5 * (px["left_hip"][0, 0] + px["right_hip"][0, 0])
        ahead = float((px[f"{foot}_heel"][0, 0] - mid_hip_x) * direction)
        rec["shank_angle_deg"] = float(shank_angle_deg(knee, ankle, direction)[0])
        rec["heel_ahead_of_hip_px"] = ahead
        rec["overstride_pct_leg"] = ahead / gait.leg_length_px * 100.0
        rec["knee_flexion_deg"] = float(knee_flexion_deg(hip, knee, ankle)[0])
    else:
        t = ic + gait.contact_s * np.linspace(0.0, 1.0, FPPA_SAMPLES)
        fppa = projected_fppa_deg(gait, foot, t)
        target = params.valgus_left_deg if foot == "left" else params.valgus_right_deg
        i = int(np.argmin(fppa)) if target < 0 else int(np.argmax(fppa))
        rec["fppa_peak_deg"] = float(fppa[i])
        rec["fppa_peak_time_s"] = float(t[i])
        rec["fppa_peak_frame"] = round(float(t[i]) * fps)
    return rec


def _event_record(event: GaitEvent, fps: float) -> dict[str, Any]:
    """JSON form of one event."""
    return {"foot": event.foot, "kind": event.kind, "time_s": event.time_s, "frame": round(event.time_s * fps)}


def build_truth(params: SynthParams, gait: Gait, sim: Simulation) -> dict[str, Any]:
    """Assemble the ground-truth dictionary written beside a synthetic clip.

    Parameters
    ----------
    params : SynthParams
        Clip parameters.
    gait : Gait
        The solved gait (``solve_gait(params)``).
    sim : Simulation
        Motion sampled at the frame times (``simulate(params)``).

    Returns
    -------
    dict
        JSON-serialisable truth, schema ``"formcheck-synth-truth/1"``: clip
        geometry, exact events, per-contact metrics, and per-frame pixel joints
        (upright display coordinates, x right, y down, subject's own sides,
        rounded to 0.1 px). ``leg_length_px`` is the leg length projected at
        the runner's midplane depth.
    """
    fps = params.fps
    n = int(sim.times.size)
    contacts = [_contact_record(params, gait, e.foot, e.time_s) for e in sim.events if e.kind == "initial_contact"]
    fppa_peak: dict[str, float] | None = None
    if params.view in ("rear", "front"):
        fppa_peak = {}
        for side in SIDES:
            values = [c["fppa_peak_deg"] for c in contacts if c["foot"] == side]
            if values:
                fppa_peak[side] = float(np.mean(values))
    return {
        "schema": SCHEMA,
        "params": asdict(params),
        "fps": fps,
        "width": params.width,
        "height": params.height,
        "n_frames": n,
        "duration_s": n / fps,
        "view": params.view,
        "facing": params.facing if params.view == "side" else None,
        "leg_length_px": gait.leg_length_px,
        "cadence_spm": params.cadence_spm,
        "stride_time_s": gait.stride_s,
        "belt_speed_m_s": gait.belt_speed,
        "events": [_event_record(e, fps) for e in sim.events],
        "contacts": contacts,
        "fppa_peak_deg": fppa_peak,
        "duty_factor": params.duty_factor,
        "contact_time_s": gait.contact_s,
        "trunk_lean_deg": params.trunk_lean_deg,
        "joints_px": {name: np.round(sim.joints_px[name], 1).tolist() for name in KEYPOINT_NAMES},
    }
