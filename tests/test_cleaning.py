"""Cleaning: analytic tracks with known answers, plus gaps, noise and label swaps."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.cleaning import (
    CleaningSettings,
    clean_tracks,
    fill_gaps,
    lowpass,
    mask_low_confidence,
    reject_outliers,
    repair_leg_swaps,
)
from formcheck.dataset import from_arrays, keypoint_xy
from formcheck.landmarks import KEYPOINT_NAMES

N = len(KEYPOINT_NAMES)
IDX = {name: i for i, name in enumerate(KEYPOINT_NAMES)}


def _runner(fps: float = 60.0, seconds: float = 4.0, step_hz: float = 1.4):
    """Two legs moving in antiphase around fixed hips (a side-view caricature)."""
    t = np.arange(int(fps * seconds)) / fps
    pos = np.zeros((t.size, N, 2))
    pos[:, :, 0] = 500.0
    pos[:, :, 1] = 300.0
    for side, phase in (("left", 0.0), ("right", np.pi)):
        swing = 120.0 * np.sin(2 * np.pi * step_hz * t + phase)
        lift = 30.0 * np.maximum(0.0, np.cos(2 * np.pi * step_hz * t + phase))
        pos[:, IDX[f"{side}_hip"]] = np.c_[np.full_like(t, 500.0), np.full_like(t, 400.0)]
        pos[:, IDX[f"{side}_knee"]] = np.c_[500 + 0.5 * swing, 520.0 - 0.5 * lift]
        for stem, dy in (("ankle", 640.0), ("heel", 655.0), ("foot_index", 660.0)):
            toe = 25 if stem == "foot_index" else 0
            pos[:, IDX[f"{side}_{stem}"]] = np.c_[500 + swing + toe, dy - lift]
    conf = np.full((t.size, N), 0.95)
    return pos, conf, t


def _ds(pos, conf, t):
    return from_arrays(pos, conf, t, source="synthetic", width=1000, height=800)


def test_lowpass_removes_noise_without_lag() -> None:
    pos, conf, t = _runner()
    rng = np.random.default_rng(0)
    noisy = pos + rng.normal(0, 4.0, pos.shape)
    out = lowpass(_ds(noisy, conf, t), cutoff_hz=8.0)
    truth = pos[:, IDX["left_ankle"], 0]
    filt = keypoint_xy(out, "left_ankle")[:, 0]
    raw = noisy[:, IDX["left_ankle"], 0]
    assert np.sqrt(np.mean((filt - truth) ** 2)) < 0.6 * np.sqrt(np.mean((raw - truth) ** 2))
    lags = np.arange(-5, 6)
    xc = [np.dot(np.roll(filt - filt.mean(), k), truth - truth.mean()) for k in lags]
    assert lags[int(np.argmax(xc))] == 0


def test_lowpass_keeps_the_signal_of_a_variable_frame_rate_clip() -> None:
    """Frames 17-50 ms apart (a phone's variable rate): the runner's 1.4 Hz swing passes
    the 8 Hz filter unchanged wherever the gaps are, and noise is still reduced."""
    pos, conf, t = _runner(fps=60.0, seconds=4.0)
    rng = np.random.default_rng(3)
    keep = np.cumsum(rng.choice([1, 2, 3], size=t.size, p=[0.3, 0.5, 0.2]))
    keep = np.concatenate([[0], keep[keep < t.size]])
    pos, conf, t = pos[keep], conf[keep], t[keep]
    truth = pos[:, IDX["left_ankle"], 0]
    inner = slice(10, -10)  # away from the filter's start-up at the ends

    def rms_error(values: np.ndarray) -> float:
        return float(np.sqrt(np.mean((values - truth)[inner] ** 2)))

    clean = lowpass(_ds(pos, conf, t), cutoff_hz=8.0)
    assert rms_error(keypoint_xy(clean, "left_ankle")[:, 0]) < 1.0  # of a 240 px swing
    assert "uniform" in clean.attrs["cleaning_filter"]
    noisy = pos + rng.normal(0, 3.0, pos.shape)
    out = lowpass(_ds(noisy, conf, t), cutoff_hz=8.0)
    raw = noisy[:, IDX["left_ankle"], 0]
    assert rms_error(keypoint_xy(out, "left_ankle")[:, 0]) < 0.8 * rms_error(raw)


def test_fill_gaps_is_bounded_in_real_time() -> None:
    pos, conf, t = _runner(fps=30.0)
    gapped = pos.copy()
    gapped[10:13, IDX["left_knee"]] = np.nan  # 3 frames: 0.13 s from last to next
    gapped[40:55, IDX["left_knee"]] = np.nan  # 15 frames: too long
    out = fill_gaps(_ds(gapped, conf, t), max_gap_s=0.15)
    knee = keypoint_xy(out, "left_knee")
    assert np.all(np.isfinite(knee[10:13]))
    assert np.all(np.isnan(knee[40:55]))
    ends = [pos[9, IDX["left_knee"], 0], pos[13, IDX["left_knee"], 0]]
    lin = np.interp(t[10:13], [t[9], t[13]], ends)
    np.testing.assert_allclose(knee[10:13, 0], lin)


def test_low_confidence_points_are_masked() -> None:
    pos, conf, t = _runner()
    conf[5, IDX["right_heel"]] = 0.1
    out = mask_low_confidence(_ds(pos, conf, t), 0.3)
    assert np.all(np.isnan(keypoint_xy(out, "right_heel")[5]))
    assert np.all(np.isfinite(keypoint_xy(out, "right_heel")[6]))


@pytest.mark.parametrize("start,length", [(20, 1), (50, 4), (120, 6)])
def test_swapped_leg_labels_are_repaired(start: int, length: int) -> None:
    pos, conf, t = _runner()
    swapped = pos.copy()
    for stem in ("knee", "ankle", "heel", "foot_index"):
        li, ri = IDX[f"left_{stem}"], IDX[f"right_{stem}"]
        swapped[start : start + length, [li, ri]] = pos[start : start + length, [ri, li]]
    out, n = repair_leg_swaps(_ds(swapped, conf, t))
    assert n == length
    np.testing.assert_allclose(keypoint_xy(out, "left_ankle"), pos[:, IDX["left_ankle"]])
    np.testing.assert_allclose(keypoint_xy(out, "right_ankle"), pos[:, IDX["right_ankle"]])


def test_collapsed_far_leg_is_dropped_then_filled() -> None:
    pos, conf, t = _runner()
    bad = pos.copy()
    # Find frames where the legs are far apart and put the right labels on the left leg.
    apart = np.abs(pos[:, IDX["left_ankle"], 0] - pos[:, IDX["right_ankle"], 0]) > 150
    frames = np.flatnonzero(apart)[10:12]
    for stem in ("knee", "ankle", "heel", "foot_index"):
        bad[frames, IDX[f"right_{stem}"]] = pos[frames, IDX[f"left_{stem}"]]
    cleaned = clean_tracks(_ds(bad, conf, t), CleaningSettings(cutoff_hz=20.0))
    err = np.abs(keypoint_xy(cleaned, "right_ankle")[frames] - pos[frames, IDX["right_ankle"]])
    assert np.all(err < 15.0), err


def test_clean_tracks_keeps_a_clean_track() -> None:
    pos, conf, t = _runner()
    out = clean_tracks(_ds(pos, conf, t))
    assert out.attrs["cleaning_swaps_repaired"] == 0
    np.testing.assert_allclose(keypoint_xy(out, "left_ankle"), pos[:, IDX["left_ankle"]], atol=2.0)


def test_outlier_rule_does_not_depend_on_the_chunking(monkeypatch) -> None:
    import formcheck.cleaning as cleaning

    pos, conf, t = _runner(fps=60.0, seconds=3.0)
    rng = np.random.default_rng(5)
    glitches = rng.choice(t.size, 12, replace=False)  # including near the clip's ends
    glitches[:2] = [0, t.size - 1]
    pos[glitches, IDX["left_heel"]] += 200.0  # 0.3-0.5 leg lengths away
    ds = _ds(pos, conf, t)
    whole, n_whole = reject_outliers(ds, 0.25, 0.1)
    monkeypatch.setattr(cleaning, "OUTLIER_CHUNK", 7)  # chunk edges everywhere
    chunked, n_chunked = reject_outliers(ds, 0.25, 0.1)
    np.testing.assert_array_equal(whole["position"].values, chunked["position"].values)
    assert n_whole == n_chunked >= 12
    assert np.all(np.isnan(keypoint_xy(chunked, "left_heel")[glitches]))


def test_cleaning_leaves_its_input_alone_and_drops_the_raw_world_landmarks() -> None:
    pos, conf, t = _runner()
    swapped = pos.copy()
    for stem in ("knee", "ankle", "heel", "foot_index"):
        li, ri = IDX[f"left_{stem}"], IDX[f"right_{stem}"]
        swapped[40:44, [li, ri]] = pos[40:44, [ri, li]]
    world = np.zeros((t.size, N, 3))
    ds = from_arrays(
        swapped, conf, t, source="synthetic", width=1000, height=800, world_position=world
    )
    before = ds.copy(deep=True)
    out = clean_tracks(ds)
    assert out.attrs["cleaning_swaps_repaired"] == 4
    # The raw dataset is untouched: the report keeps it and saves it as tracks.nc.
    assert ds.identical(before)
    # The cleaned tracks hold the 2D image tracks only.
    assert "world_position" not in out and "world_position" in ds
    np.testing.assert_allclose(keypoint_xy(out, "left_ankle"), pos[:, IDX["left_ankle"]], atol=2.0)


def test_cleaning_computes_in_float64_whatever_the_raw_precision() -> None:
    """float32 raw tracks (as pose gives them) clean to exactly the float64 result;
    the result is stored in float32, the model's precision, rounded once at the end."""
    pos, conf, t = _runner()
    rng = np.random.default_rng(5)
    pos32 = (pos + rng.normal(0.0, 1.5, pos.shape)).astype(np.float32)
    conf32 = conf.astype(np.float32)
    raw32 = from_arrays(pos32, conf32, t, source="synthetic", width=1000, height=800)
    raw64 = from_arrays(
        pos32.astype(float), conf32.astype(float), t, source="synthetic", width=1000, height=800
    )
    assert raw32["position"].dtype == np.float32 and raw64["position"].dtype == np.float64
    out32, out64 = clean_tracks(raw32), clean_tracks(raw64)
    assert out32["position"].dtype == np.float32 == out32["confidence"].dtype
    assert out32.identical(out64)
    # The stages compute in float64: the public low-pass stage, which keeps
    # float64, gives the same positions before the final rounding.
    staged = lowpass(
        fill_gaps(
            reject_outliers(
                repair_leg_swaps(mask_low_confidence(raw32, CleaningSettings().min_confidence))[0],
                CleaningSettings().outlier_leg,
                CleaningSettings().outlier_window_s,
            )[0],
            CleaningSettings().max_gap_s,
        ),
        CleaningSettings().cutoff_hz,
        CleaningSettings().filter_order,
    )
    assert staged["position"].dtype == np.float64
    np.testing.assert_array_equal(
        out32["position"].values, staged["position"].values.astype(np.float32)
    )
    assert np.nanmax(np.abs(out32["position"].values - staged["position"].values)) < 1e-4


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_swaps_and_collapses_on_an_analytic_runner(fps: float) -> None:
    """Whole-leg swaps (hip to toe) and a collapse are found on a realistic side-view runner."""
    from fixtures.runner import Runner, make_runner

    from formcheck.cleaning import _leg_array, leg_scale_px, track_legs

    r = Runner(fps=fps)
    swaps = (40, 41, 42, 100)
    ds = make_runner(r, noise_px=2.0, swap_frames=swaps)
    rep = track_legs(_leg_array(ds, "left"), _leg_array(ds, "right"), leg_scale_px(ds))
    assert set(np.flatnonzero(rep.flip)) == set(swaps)
    assert not rep.drop_left.any() and not rep.drop_right.any()
    clean = make_runner(r, noise_px=2.0)
    left, right = _leg_array(clean, "left"), _leg_array(clean, "right")
    right[70:73, 1:] = left[70:73, 1:]  # the right labels copied onto the left leg
    rep = track_legs(left, right, leg_scale_px(clean))
    assert set(np.flatnonzero(rep.drop_right)) == {70, 71, 72}
    assert not rep.flip.any() and not rep.drop_left.any()


def test_leg_repair_reads_missing_and_exchanged_frames_without_copying_the_legs() -> None:
    """Collapsed frames passed as ``missing`` cost exactly what NaN-masked copies of the
    legs cost, and ``exchanged`` frames resolve exactly as legs exchanged beforehand."""
    from formcheck.cleaning import (
        COST_CHUNK,
        resolve_collapses,
        transition_costs,
    )

    rng = np.random.default_rng(7)
    n = 2 * COST_CHUNK + 37  # several chunks, the last one short
    t = np.arange(n) / 30.0
    left = np.stack(
        [np.c_[300 + 80 * np.sin(5 * t + k), 500 + 20 * k + np.cos(5 * t)] for k in range(5)], 1
    )
    right = left[::-1].copy() + rng.normal(0, 2, left.shape)
    left[rng.random(left.shape[:2]) < 0.05] = np.nan  # missing points
    left[:3] = np.nan  # nothing to carry forward at the start
    missing = np.zeros(n, dtype=bool)
    for start in (0, 500, COST_CHUNK - 1, 2 * COST_CHUNK + 30):
        missing[start : start + 5] = True
    masked_l, masked_r = left.copy(), right.copy()
    masked_l[missing] = np.nan
    masked_r[missing] = np.nan
    costs = transition_costs(left, right, 250.0, missing=missing)
    np.testing.assert_array_equal(costs, transition_costs(masked_l, masked_r, 250.0))
    assert np.isfinite(costs).all() and costs[2:].max() > 0

    exchanged = rng.random(n) < 0.3
    swap = exchanged[:, None, None]
    fixed_l, fixed_r = np.where(swap, right, left), np.where(swap, left, right)
    drops = resolve_collapses(left, right, missing, exchanged=exchanged)
    expected = resolve_collapses(fixed_l, fixed_r, missing)
    for got, want in zip(drops, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert (drops[0] | drops[1]).sum() == missing.sum()


def test_cleaning_works_on_one_copy_of_the_tracks() -> None:
    """The stages change one working copy in place: a long clip's peak stays under 2.2 copies.

    numpy reports its buffers to ``tracemalloc``; the limit is in units of
    one float64 copy of the positions. Each stage copying its input peaked
    at 6.8 copies on this clip; one working copy with whole-clip leg-repair
    temporaries (carried-forward copies of the legs, the repaired legs, the
    outlier medians of 1024 frames at once) at 2.9; now 1.9.
    """
    import tracemalloc

    pos, conf, t = _runner(fps=30.0, seconds=600.0)
    noisy = (pos + np.random.default_rng(1).normal(0.0, 2.0, pos.shape)).astype(np.float32)
    ds = _ds(noisy, conf.astype(np.float32), t)
    one_copy = pos.size * 8
    tracemalloc.start()
    try:
        out = clean_tracks(ds)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2.2 * one_copy, peak / one_copy
    assert out["confidence"].dtype == np.float32
    ankle = keypoint_xy(out, "left_ankle")
    seen = np.isfinite(ankle[:, 0])
    assert seen.mean() > 0.99
    rms = np.sqrt(np.mean((ankle[seen] - pos[seen, IDX["left_ankle"]]) ** 2))
    assert rms < 2.0  # below the added noise: the stages really ran


def test_in_place_cleaning_matches_the_stage_functions_run_one_after_another() -> None:
    """clean_tracks (one working copy) gives exactly what the public stages give in turn."""
    from formcheck.cleaning import lowpass as lowpass_stage

    pos, conf, t = _runner(fps=60.0, seconds=4.0)
    rng = np.random.default_rng(3)
    noisy = pos + rng.normal(0.0, 2.0, pos.shape)
    noisy[rng.choice(t.size, 8, replace=False), IDX["left_heel"]] += 150.0
    for stem in ("knee", "ankle", "heel", "foot_index"):
        li, ri = IDX[f"left_{stem}"], IDX[f"right_{stem}"]
        noisy[60:64, [li, ri]] = noisy[60:64, [ri, li]]
    conf[rng.random(conf.shape) < 0.03] = 0.1
    ds = _ds(noisy, conf, t)
    s = CleaningSettings()
    staged = mask_low_confidence(ds, s.min_confidence)
    staged, n_swaps = repair_leg_swaps(staged)
    staged, n_out = reject_outliers(staged, s.outlier_leg, s.outlier_window_s)
    staged = lowpass_stage(fill_gaps(staged, s.max_gap_s), s.cutoff_hz, s.filter_order)
    whole = clean_tracks(ds, s)
    assert n_swaps == whole.attrs["cleaning_swaps_repaired"] >= 4
    assert n_out == whole.attrs["cleaning_outliers_removed"] >= 8
    # The whole stage stores its result in float32, the pose model's precision.
    assert whole["position"].dtype == np.float32
    np.testing.assert_array_equal(
        whole["position"].values, staged["position"].values.astype(np.float32)
    )
    assert whole["confidence"].dtype == np.float32
    np.testing.assert_array_equal(
        whole["confidence"].values, staged["confidence"].values.astype(np.float32)
    )
    assert whole.attrs["cleaning_filter"] == staged.attrs["cleaning_filter"]
