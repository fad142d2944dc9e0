"""The central dataset: one validating constructor, labelled access."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.dataset import InvalidDatasetError, from_arrays, keypoint_xy
from formcheck.landmarks import KEYPOINT_NAMES, mirror_name

N = len(KEYPOINT_NAMES)


def _arrays(n: int = 10):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, N, 2)), rng.uniform(size=(n, N)), np.arange(n) / 30.0


def test_from_arrays_labels_and_attrs() -> None:
    pos, conf, t = _arrays()
    ds = from_arrays(pos, conf, t, source="clip.mp4", width=640, height=360)
    assert ds.position.dims == ("time", "space", "keypoints", "individuals")
    assert ds.confidence.dims == ("time", "keypoints", "individuals")
    assert ds.attrs["fps"] == pytest.approx(30.0)
    np.testing.assert_allclose(
        keypoint_xy(ds, "left_knee"), pos[:, KEYPOINT_NAMES.index("left_knee")]
    )
    assert list(ds.frame.values) == list(range(10))


def test_keypoint_track_as_a_read_only_view() -> None:
    """``copy=False`` reads the dataset's own memory, in its precision, and cannot change it."""
    pos, conf, t = _arrays()
    ds = from_arrays(pos, conf, t, source="clip.mp4", width=640, height=360)
    view = keypoint_xy(ds, "left_knee", copy=False)
    np.testing.assert_array_equal(view, keypoint_xy(ds, "left_knee"))
    assert np.shares_memory(view, ds["position"].values)
    with pytest.raises(ValueError):
        view[0, 0] = 1.0
    copied = keypoint_xy(ds, "left_knee")
    copied[0, 0] = 1.0  # a copy stays the caller's to change
    assert not np.shares_memory(copied, ds["position"].values)
    # float32 positions (cleaned tracks) are viewed as they are; a copy is float64.
    ds32 = from_arrays(pos.astype(np.float32), conf, t, source="c.mp4", width=640, height=360)
    view32 = keypoint_xy(ds32, "left_knee", copy=False)
    assert view32.dtype == np.float32 and np.shares_memory(view32, ds32["position"].values)
    assert keypoint_xy(ds32, "left_knee").dtype == np.float64


def test_from_arrays_rejects_bad_shapes_and_times() -> None:
    pos, conf, t = _arrays()
    with pytest.raises(InvalidDatasetError):
        from_arrays(pos[:, :5], conf, t, source="x", width=1, height=1)
    with pytest.raises(InvalidDatasetError):
        from_arrays(pos, conf[:, :5], t, source="x", width=1, height=1)
    t_bad = t.copy()
    t_bad[5] = t_bad[4]
    with pytest.raises(InvalidDatasetError, match="strictly increasing"):
        from_arrays(pos, conf, t_bad, source="x", width=1, height=1)


def test_fps_from_variable_timestamps_is_the_median_rate() -> None:
    pos, conf, _ = _arrays(9)
    t = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9]) / 60.0  # one dropped frame
    ds = from_arrays(pos, conf, t, source="x", width=1, height=1)
    assert ds.attrs["fps"] == pytest.approx(60.0)


def test_mirror_name() -> None:
    assert mirror_name("left_heel") == "right_heel"
    assert mirror_name("right_foot_index") == "left_foot_index"
    assert mirror_name("nose") == "nose"


def test_point_lookup_reads_each_frame_by_its_decode_index() -> None:
    from formcheck.overlay import PointLookup, frame_points

    n, k = 4, len(KEYPOINT_NAMES)
    pos = np.arange(n * k * 2, dtype=float).reshape(n, k, 2)
    pos[1, 3] = np.nan  # a missing point is left out
    ds = from_arrays(
        pos,
        np.ones((n, k)),
        np.arange(n) / 30.0,
        source="t",
        width=9,
        height=9,
        frame=np.array([5, 6, 8, 9]),
    )
    lookup = PointLookup(ds)
    second = lookup(6)
    assert len(second) == k - 1 and KEYPOINT_NAMES[3] not in second
    assert second[KEYPOINT_NAMES[0]] == (float(pos[1, 0, 0]), float(pos[1, 0, 1]))
    assert lookup(9)[KEYPOINT_NAMES[-1]] == (float(pos[3, -1, 0]), float(pos[3, -1, 1]))
    assert lookup(7) == {} and frame_points(ds, 7) == {}  # a frame not in the tracks
    assert frame_points(ds, 8) == lookup(8)
