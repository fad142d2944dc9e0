"""Drawing the skeleton over a frame (pure: image in, new image out)."""

from __future__ import annotations

import cv2
import numpy as np
import xarray as xr

from formcheck.dataset import INDIVIDUAL
from formcheck.landmarks import SKELETON

LEFT_COLOUR = (255, 140, 0)  # RGB: orange for the runner's left
RIGHT_COLOUR = (0, 170, 255)  # blue for the right
MID_COLOUR = (235, 235, 235)


def _colour(a: str, b: str) -> tuple[int, int, int]:
    if a.startswith("left_") and b.startswith("left_"):
        return LEFT_COLOUR
    if a.startswith("right_") and b.startswith("right_"):
        return RIGHT_COLOUR
    return MID_COLOUR


class PointLookup:
    """Keypoint pixels of any frame of a pose dataset, by name.

    The positions are taken out of the dataset once, so drawing every frame
    of a clip costs a dictionary lookup per frame rather than a search of
    the ``frame`` coordinate and an xarray selection.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    """

    def __init__(self, ds: xr.Dataset) -> None:
        pos = ds["position"]
        if "individuals" in pos.dims:
            pos = pos.isel(individuals=0)
        self._xy = np.asarray(pos.transpose("time", "keypoints", "space").values)
        frames = np.asarray(ds["frame"].values).astype(int)
        # The first row of a repeated frame index wins, as a search would find it.
        self._row = {int(f): i for i, f in reversed(list(enumerate(frames)))}
        self._names = [str(k) for k in ds["keypoints"].values]

    def __call__(self, frame_index: int) -> dict[str, tuple[float, float]]:
        """``{keypoint name: (x, y)}`` of one frame, missing points left out."""
        row = self._row.get(int(frame_index))
        if row is None:
            return {}
        xy = self._xy[row]
        ok = np.isfinite(xy).all(axis=1)
        names = self._names
        return {n: (float(x), float(y)) for n, (x, y), k in zip(names, xy, ok, strict=True) if k}


def frame_points(ds: xr.Dataset, frame_index: int) -> dict[str, tuple[float, float]]:
    """Keypoint pixels of one frame, by name, skipping missing ones.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose dataset.
    frame_index : int
        Decode index of the frame (the ``frame`` coordinate).

    Returns
    -------
    dict
        ``{keypoint name: (x, y)}``; empty when the frame is not in ``ds``.
        For many frames of one dataset, build a :class:`PointLookup` once.
    """
    return PointLookup(ds)(frame_index)


def draw_skeleton(
    image: np.ndarray, points: dict[str, tuple[float, float]], *, thickness: int | None = None
) -> np.ndarray:
    """Draw bones and joints on a copy of an RGB image.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB frame.
    points : dict
        Keypoint pixels by name (see :func:`frame_points`).
    thickness : int, optional
        Line thickness; scaled to the frame size when None.

    Returns
    -------
    numpy.ndarray
        A new image with the skeleton drawn (runner's left orange, right blue).
    """
    out = np.ascontiguousarray(image.copy())
    t = thickness or max(2, int(round(max(image.shape[:2]) / 400)))
    for a, b in SKELETON:
        if a in points and b in points:
            pa = tuple(int(round(v)) for v in points[a])
            pb = tuple(int(round(v)) for v in points[b])
            cv2.line(out, pa, pb, _colour(a, b), t, cv2.LINE_AA)
    for name, (x, y) in points.items():
        if name.startswith(("left_", "right_")) or name == "nose":
            colour = LEFT_COLOUR if name.startswith("left_") else RIGHT_COLOUR if name.startswith("right_") else MID_COLOUR
            cv2.circle(out, (int(round(x)), int(round(y))), t + 2, colour, -1, cv2.LINE_AA)
    return out


__all__ = ["INDIVIDUAL", "PointLookup", "draw_skeleton", "frame_points"]
