"""View, facing and setting detection on analytic runners."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.runner import Runner, make_runner

from formcheck.dataset import from_arrays
from formcheck.view import ViewInfo, detect_view, resolve_view


@pytest.mark.parametrize(
    ("view", "facing"), [("side", "left"), ("side", "right"), ("rear", None), ("front", None)]
)
def test_detects_view_and_facing(view: str, facing: str | None) -> None:
    r = Runner(view=view, facing=facing or "right")
    info = detect_view(make_runner(r, noise_px=3.0))
    assert info.view == view
    assert info.facing == facing
    assert info.setting == "treadmill"
    assert 0.0 < info.confidence <= 1.0 and info.reason


def test_overground_when_hips_cross_the_frame() -> None:
    r = Runner()
    ds = make_runner(r)
    pos = ds["position"].values.copy()
    shift = np.linspace(-400, 400, ds.sizes["time"])
    pos[:, 0, :, :] += shift[:, None, None]
    moved = from_arrays(
        pos[..., 0].transpose(0, 2, 1),
        ds["confidence"].values[..., 0],
        ds["time"].values,
        source="x",
        width=r.width,
        height=r.height,
    )
    assert detect_view(moved).setting == "overground"


def test_unknown_without_torso() -> None:
    r = Runner()
    ds = make_runner(r)
    ds["position"].loc[{"keypoints": ["left_shoulder", "right_shoulder"]}] = np.nan
    assert detect_view(ds).view == "unknown"


def test_resolve_view() -> None:
    detected = ViewInfo("side", "left", "treadmill", 0.8, "cues")
    assert resolve_view(detected, "auto") is detected
    forced = resolve_view(detected, "rear")
    assert (forced.view, forced.facing, forced.confidence) == ("rear", None, 1.0)
    assert "set by the user" in forced.reason
    assert resolve_view(detected, "side").facing == "left"
