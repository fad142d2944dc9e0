"""Accuracy benchmark: events and metrics against exact ground truth.

Renders synthetic clips (``formcheck.synth``) covering cadence, overstride,
valgus (one asymmetric), frame rate, orientation (one with rotation
metadata), facing, side, rear and front views and both runner styles, runs
the full pipeline on each (:func:`formcheck.pipeline.analyze`) and, for
comparison, (a) the metrics on the same pose tracks but at the *true* events
(``pose@ev``: the pose model's error alone, no event timing involved) and (b)
the whole analysis on the *true* joints (``truth``:
:func:`formcheck.pipeline.analyze_tracks` on a dataset built from the truth's
``joints_px``, formcheck's own method error). Together the rows separate the
error that comes from the pose model from the error of formcheck's methods.
The real clips in ``../shared/videos`` are scored against their hand-marked
truth.

Usage::

    python benchmarks/accuracy.py            # all clips
    python benchmarks/accuracy.py --quick    # 4-clip subset
    python benchmarks/accuracy.py --cache DIR
    python benchmarks/accuracy.py --touchdown   # also MediaPipe's feet at contact
    python benchmarks/accuracy.py --draws 3     # pose rows on 3 invisible brightness draws

The pose rows are one draw of chance: decoding the same clips one or two grey
levels brighter (invisible) moves the pose model's landmarks on the synthetic
figure enough to change per-clip results (contacts missed or not, the FPPA's
worse side). ``--draws N`` re-runs pose on N such copies and prints the pose
summary of each, so the spread is visible next to the table.

Rendered clips and their raw pose tracks are cached in ``--cache`` (a temp
folder by default), so a second run only re-analyses.

Scoring. A true contact counts when it lies at least half a step inside the
clip (its descent is visible); a detected contact matches the nearest true
one within 0.4 step; unmatched true contacts are *missed*, unmatched detected
ones within the same span are *extra*. IC errors are in frames. Metric errors
are the median over matched contacts of ``|detected - true|`` per contact
(shank angle, overstride, knee flexion at contact); FPPA is compared per leg
(mean of the detected per-stance peaks vs the true peak).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from formcheck.dataset import from_arrays  # noqa: E402
from formcheck.events import GaitEvent  # noqa: E402
from formcheck.io.tracks import load_tracks, save_tracks  # noqa: E402
from formcheck.landmarks import KEYPOINT_NAMES  # noqa: E402
from formcheck.metrics import compute_metrics  # noqa: E402
from formcheck.pipeline import (  # noqa: E402
    Analysis,
    AnalysisOptions,
    analyze_tracks,
    run_pose,
    video_summary,
)
from formcheck.synth import SynthParams, render_clip, truth_path_for  # noqa: E402


@dataclass(frozen=True)
class Clip:
    """A named synthetic clip."""

    name: str
    params: SynthParams


def _p(**kw: Any) -> SynthParams:
    base = {"duration_s": 7.0}
    base.update(kw)
    return SynthParams(**base)


CLIPS: tuple[Clip, ...] = (
    Clip("side30_r_a_170", _p(fps=30, cadence_spm=170, overstride_pct_leg=8)),
    Clip(
        "side30_l_b_155_os22",
        _p(fps=30, cadence_spm=155, overstride_pct_leg=22, facing="left", style="b"),
    ),
    Clip(
        "side60_r_b_185",
        _p(fps=60, cadence_spm=185, overstride_pct_leg=4, style="b", duration_s=6.0),
    ),
    Clip(
        "rear30_asym_3_14",
        _p(view="rear", fps=30, cadence_spm=165, valgus_left_deg=3, valgus_right_deg=14),
    ),
    Clip(
        "side30_portrait_l_a_200",
        _p(fps=30, cadence_spm=200, facing="left", width=720, height=1280, overstride_pct_leg=12),
    ),
    Clip(
        "side60_portrait_rot_r_a_160",
        _p(
            fps=60,
            cadence_spm=160,
            width=720,
            height=1280,
            rotate_metadata=True,
            overstride_pct_leg=18,
            duration_s=6.0,
        ),
    ),
    Clip("side120_r_a_175", _p(fps=120, cadence_spm=175, overstride_pct_leg=10, duration_s=6.0)),
    Clip(
        "side30_l_a_150_os2",
        _p(fps=30, cadence_spm=150, facing="left", overstride_pct_leg=2, duration_s=8.0),
    ),
    Clip("side30_r_b_190_os25", _p(fps=30, cadence_spm=190, overstride_pct_leg=25, style="b")),
    Clip("rear60_b_0_0", _p(view="rear", fps=60, cadence_spm=180, style="b", duration_s=6.0)),
    Clip(
        "rear30_a_10_10",
        _p(view="rear", fps=30, cadence_spm=170, valgus_left_deg=10, valgus_right_deg=10),
    ),
    Clip(
        "rear30_portrait_b_15_5",
        _p(
            view="rear",
            fps=30,
            cadence_spm=175,
            width=720,
            height=1280,
            valgus_left_deg=15,
            valgus_right_deg=5,
            style="b",
        ),
    ),
    Clip(
        "side60_l_b_165_os15",
        _p(
            fps=60, cadence_spm=165, facing="left", overstride_pct_leg=15, style="b", duration_s=6.0
        ),
    ),
    Clip(
        "front30_asym_4_12",
        _p(view="front", fps=30, cadence_spm=170, valgus_left_deg=4, valgus_right_deg=12),
    ),
    Clip(
        "front60_b_8_8",
        _p(
            view="front",
            fps=60,
            cadence_spm=180,
            style="b",
            valgus_left_deg=8,
            valgus_right_deg=8,
            duration_s=6.0,
        ),
    ),
)
QUICK = ("side30_r_a_170", "side30_l_b_155_os22", "rear30_asym_3_14", "side60_portrait_rot_r_a_160")


# ---------------------------------------------------------------- data


def render_cached(clip: Clip, cache: Path) -> tuple[Path, dict[str, Any]]:
    """Render a clip once; return its path and truth."""
    path = cache / f"{clip.name}.mp4"
    truth_file = truth_path_for(path)
    if path.is_file() and truth_file.is_file():
        return path, json.loads(truth_file.read_text())
    return path, render_clip(clip.params, path)


@contextlib.contextmanager
def brightened(levels: int) -> Iterator[None]:
    """Decode every frame ``levels`` grey levels brighter (0: as decoded) while the block runs.

    One grey level is invisible, yet the pose model's landmarks on the
    synthetic figure move with it; pose on such copies shows how much of the
    table is one draw of that chance.
    """
    from formcheck.io import video  # noqa: PLC0415

    if levels == 0:
        yield
        return
    plain = video.upright_rgb

    def brighter(
        frame: Any, coded_w: int, coded_h: int, k: int, mirror: bool = False
    ) -> np.ndarray:
        img = plain(frame, coded_w, coded_h, k, mirror)
        return np.minimum(img.astype(np.uint16) + levels, 255).astype(np.uint8)

    video.upright_rgb = brighter
    try:
        yield
    finally:
        video.upright_rgb = plain


def pose_cached(
    path: Path, cache: Path, model: Any, draw: int = 0
) -> tuple[Any, dict[str, Any]]:
    """Raw pose tracks of a clip (``draw`` grey levels brighter), from the cache when present."""
    stem = path.stem if draw == 0 else f"{path.stem}.plus{draw}"
    nc, js = cache / f"{stem}.raw.nc", cache / f"{stem}.video.json"
    if nc.is_file() and js.is_file():
        return load_tracks(nc), json.loads(js.read_text())
    with brightened(draw):
        info, raw, scale = run_pose(path, AnalysisOptions(workers=1), model=model)
    video = video_summary(info, scale, raw)
    save_tracks(raw, nc)
    js.write_text(json.dumps(video))
    return raw, video


def truth_dataset(truth: dict[str, Any]) -> Any:
    """A pose dataset made of the exact joints (confidence 0.99; face hidden in rear views)."""
    joints = truth["joints_px"]
    n = int(truth["n_frames"])
    pos = np.full((n, len(KEYPOINT_NAMES), 2), np.nan)
    conf = np.full((n, len(KEYPOINT_NAMES)), 0.99)
    for k, name in enumerate(KEYPOINT_NAMES):
        if name in joints:
            pos[:, k] = np.asarray(joints[name], dtype=float)
    if truth["view"] == "rear":
        for name in ("nose", "left_eye_inner", "right_eye_inner", "left_eye", "right_eye"):
            conf[:, KEYPOINT_NAMES.index(name)] = 0.1
    t = np.arange(n) / float(truth["fps"])
    return from_arrays(
        pos,
        conf,
        t,
        source="truth",
        width=int(truth["width"]),
        height=int(truth["height"]),
        attrs={"n_frames": n, "detected_frames": n, "fps": float(truth["fps"])},
    )


# ---------------------------------------------------------------- scoring


def match_contacts(
    detected: list[tuple[float, str]], true: list[tuple[float, str]], step_s: float, t_end: float
) -> tuple[list[tuple[int, int]], int, int, int]:
    """Match detected to true contacts; return pairs, missed, extra and wrong-foot counts."""
    lo, hi = 0.5 * step_s, t_end - 0.5 * step_s
    counted = [k for k, (tt, _) in enumerate(true) if lo <= tt <= hi]
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for k in counted:
        if not detected:
            break
        d = np.array([abs(td - true[k][0]) for td, _ in detected])
        d[list(used)] = np.inf
        j = int(np.argmin(d))
        if d[j] < 0.4 * step_s:
            pairs.append((j, k))
            used.add(j)
    true_t = np.array([tt for tt, _ in true])
    extra = 0
    for j, (td, _) in enumerate(detected):
        if j in used or not true_t.size:
            continue
        k = int(np.argmin(np.abs(true_t - td)))
        # An unmatched detection is extra unless it belongs to an uncounted edge contact.
        extra += not (abs(true_t[k] - td) < 0.4 * step_s and k not in counted)
    wrong = sum(detected[j][1] != true[k][1] for j, k in pairs)
    return pairs, len(counted) - len(pairs), extra, wrong


def _per_contact_error(an: Analysis, name: str, times: dict[float, float]) -> float:
    """Median |metric - truth| over contacts; ``times`` maps true IC time to true value."""
    m = an.metrics.get(name)
    if m is None or not m.per_stride or not times:
        return float("nan")
    keys = np.array(list(times))
    errs = []
    for row in m.per_stride:
        k = int(np.argmin(np.abs(keys - row["time_s"])))
        if abs(keys[k] - row["time_s"]) < 0.1 and times[keys[k]] is not None:
            errs.append(abs(row["value"] - times[keys[k]]))
    return float(np.median(errs)) if errs else float("nan")


def score(an: Analysis, truth: dict[str, Any]) -> dict[str, Any]:
    """All error measures of one analysis against its synthetic truth."""
    fps = float(truth["fps"])
    step = 60.0 / float(truth["cadence_spm"])
    true_ic = [(e["time_s"], e["foot"]) for e in truth["events"] if e["kind"] == "initial_contact"]
    det = [(e.time_s, e.foot) for e in an.events if e.kind == "initial_contact"]
    pairs, missed, extra, wrong = match_contacts(det, true_ic, step, float(truth["duration_s"]))
    errs = np.array([(det[j][0] - true_ic[k][0]) * fps for j, k in pairs])
    cad = an.metrics["cadence_spm"].value
    out: dict[str, Any] = {
        "cad_err": (cad - truth["cadence_spm"]) if cad is not None else float("nan"),
        "ic_med": float(np.median(np.abs(errs))) if errs.size else float("nan"),
        "ic_p95": float(np.percentile(np.abs(errs), 95)) if errs.size else float("nan"),
        "ic_bias": float(np.median(errs)) if errs.size else float("nan"),
        "missed": missed,
        "extra": extra,
        "wrong": wrong,
        "view_ok": an.view.view == truth["view"]
        and (truth["view"] != "side" or an.view.facing == truth["facing"]),
    }
    contacts = truth["contacts"]
    for key, name in (
        ("shank", "shank_angle_ic_deg"),
        ("overstride", "overstride_pct_leg"),
        ("knee", "knee_flexion_ic_deg"),
    ):
        src = {
            "shank": "shank_angle_deg",
            "overstride": "overstride_pct_leg",
            "knee": "knee_flexion_deg",
        }[key]
        vals = {c["ic_time_s"]: c[src] for c in contacts if c[src] is not None}
        out[key] = _per_contact_error(an, name, vals)
    fppa = an.metrics.get("knee_valgus_fppa_deg")
    peak = truth.get("fppa_peak_deg") or {}
    for side in ("left", "right"):
        got = getattr(fppa, side) if fppa is not None else None
        want = peak.get(side) if peak else None
        out[f"fppa_{side}"] = (
            abs(got - want) if got is not None and want is not None else float("nan")
        )
    differ = bool(peak) and abs(peak["right"] - peak["left"]) > 1.0
    if differ and fppa is not None and fppa.left is not None and fppa.right is not None:
        out["worse_ok"] = (fppa.right > fppa.left) == (peak["right"] > peak["left"])
    else:
        out["worse_ok"] = None
    wrong_view = [
        n for n, m in an.metrics.items() if m.status == "ok" and n in _not_seen(truth["view"])
    ]
    out["wrong_view_ok"] = len(wrong_view)
    return out


def score_true_events(an: Analysis, truth: dict[str, Any]) -> dict[str, Any]:
    """Metric errors of the pose tracks measured at the *true* events (pose error alone).

    The same metric code runs on the cleaned pose tracks and the detected
    view, but with the exact contacts and toe-offs of the truth, so event
    timing plays no part; contact-timing columns are left empty.
    """
    fps = float(truth["fps"])
    events = [
        GaitEvent(e["foot"], e["kind"], int(round(e["time_s"] * fps)), float(e["time_s"]))
        for e in truth["events"]
    ]
    metrics = compute_metrics(an.tracks, an.view, events)
    out = score(replace(an, events=events, metrics=metrics), truth)
    for key in ("ic_med", "ic_p95", "ic_bias", "missed", "extra", "wrong"):
        out[key] = None
    return out


def _not_seen(view: str) -> set[str]:
    """Metric names a view cannot see."""
    from formcheck.metrics import FRONTAL_METRICS, SIDE_METRICS  # noqa: PLC0415

    names = set(FRONTAL_METRICS if view == "side" else SIDE_METRICS)
    return names | {f"{n}_asymmetry_pct" for n in names}


# ---------------------------------------------------------------- real clips


def score_real(an: Analysis | None, truth: dict[str, Any], error: str = "") -> dict[str, Any]:
    """Cadence and contact timing of a real clip against its hand-marked truth."""
    if an is None:
        return {"note": error}
    cad = an.metrics["cadence_spm"]
    out: dict[str, Any] = {
        "cadence": cad.value,
        "cad_status": cad.status,
        "cad_err": (cad.value - truth["cadence_spm"]["value"])
        if cad.value is not None and isinstance(truth.get("cadence_spm"), dict)
        else float("nan"),
    }
    frames = np.array(truth["initial_contacts"]["frames"], dtype=float)
    t = np.asarray(an.tracks["time"].values, dtype=float)
    det = np.array([e.time_s for e in an.events if e.kind == "initial_contact"])
    det_f = np.interp(det, t, np.arange(t.size)) if det.size else det
    errs, used = [], set()
    for f in frames:
        if det_f.size == 0:
            break
        j = int(np.argmin(np.abs(det_f - f)))
        if abs(det_f[j] - f) <= 4 and j not in used:
            errs.append(det_f[j] - f)
            used.add(j)
    e = np.abs(np.array(errs))
    out.update(
        ic_med=float(np.median(e)) if e.size else float("nan"),
        ic_p95=float(np.percentile(e, 95)) if e.size else float("nan"),
        ic_bias=float(np.median(errs)) if errs else float("nan"),
        missed=int(frames.size - len(errs)),
        extra=int(np.sum((det_f >= frames.min() - 4) & (det_f <= frames.max() + 4)) - len(errs))
        if det_f.size
        else 0,
        view=f"{an.view.view}/{an.view.facing}",
    )
    return out


# ---------------------------------------------------------------- report


COLS = (
    ("cad_err", "cad", "{:+.2f}"),
    ("ic_med", "ICmed", "{:.2f}"),
    ("ic_p95", "ICp95", "{:.2f}"),
    ("ic_bias", "ICbias", "{:+.2f}"),
    ("missed", "miss", "{}"),
    ("extra", "xtra", "{}"),
    ("wrong", "foot", "{}"),
    ("shank", "shank", "{:.1f}"),
    ("overstride", "ostr", "{:.1f}"),
    ("knee", "knee", "{:.1f}"),
    ("fppa_left", "fppaL", "{:.1f}"),
    ("fppa_right", "fppaR", "{:.1f}"),
    ("worse_ok", "worse", "{}"),
    ("view_ok", "view", "{}"),
    ("wrong_view_ok", "wvok", "{}"),
)


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "y" if value else "N"
    return spec.format(value)


def format_table(rows: list[tuple[str, str, dict[str, Any]]]) -> str:
    """Plain-text table: one line per clip and source (pose / truth joints)."""
    head = ["clip", "src"] + [c[1] for c in COLS]
    lines = [[name, src] + [_fmt(r.get(k), spec) for k, _, spec in COLS] for name, src, r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=False)]
    out = [
        "  ".join(
            h.rjust(w) if i > 1 else h.ljust(w)
            for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    ]
    out.append("-" * len(out[0]))
    for line in lines:
        out.append(
            "  ".join(
                x.rjust(w) if i > 1 else x.ljust(w)
                for i, (x, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    return "\n".join(out)


BOUNDS: dict[str, tuple[str, float, bool]] = {
    "cad_err": ("|cadence err| spm", 1.0, True),
    "ic_med": ("IC median |err| fr", 1.0, False),
    "ic_p95": ("IC p95 |err| fr", 2.0, False),
    "missed": ("missed ICs", 0, False),
    "extra": ("extra ICs", 0, False),
    "shank": ("shank median |err| deg", 3.0, False),
    "overstride": ("overstride median |err| pts", 3.0, False),
    "knee": ("knee flex IC |err| deg", float("nan"), False),
    "fppa_left": ("FPPA left |err| deg", 3.0, False),
    "fppa_right": ("FPPA right |err| deg", 3.0, False),
}
"""Summary rows: (label, the issue's bound, compare absolute values)."""


def summary(rows: list[tuple[str, str, dict[str, Any]]]) -> str:
    """Worst/median of each error over the clips, per source, with the issue's bounds."""
    bounds = BOUNDS
    out = []
    for src in ("pose", "pose@ev", "truth"):
        sel = [r for _, s, r in rows if s == src]
        if not sel:
            continue
        out.append(f"[{src}]")
        for key, (label, bound, absval) in bounds.items():
            v = np.array(
                [abs(r[key]) if absval else r[key] for r in sel if r.get(key) is not None],
                dtype=float,
            )
            v = v[np.isfinite(v)]
            if not v.size:
                continue
            ok = "" if not np.isfinite(bound) else ("PASS" if v.max() <= bound else "FAIL")
            n_fail = int(np.sum(v > bound)) if np.isfinite(bound) else 0
            out.append(
                f"  {label:30s} median {np.median(v):6.2f}  worst {v.max():6.2f}  "
                f"bound {bound:>4}  {ok} ({n_fail}/{v.size} over)"
            )
        worse = [r["worse_ok"] for r in sel if r.get("worse_ok") is not None]
        views = [r["view_ok"] for r in sel]
        wv = sum(r["wrong_view_ok"] for r in sel)
        out.append(
            f"  worse FPPA side right: {sum(worse)}/{len(worse)}; view/facing right: "
            f"{sum(views)}/{len(views)}; metrics ok from a blind view: {wv}"
        )
    return "\n".join(out)


def touchdown(raw: Any, cleaned: Any, truth: dict[str, Any], half_s: float = 0.1) -> dict[str, Any]:
    """What the pose model does to the feet around each true contact.

    For every true initial contact of the clip, over ``+/- half_s``: a frame
    is *swapped* when the contact foot's raw heel label lies nearer the other
    foot's true heel than its own. Also the cleaned heel's distance from the
    true heel, in % leg, over ``half_s`` before contact and over ``half_s``
    from contact on (what the event detector is given).

    Parameters
    ----------
    raw, cleaned : xarray.Dataset
        The clip's raw MediaPipe tracks and the cleaned tracks of its analysis.
    truth : dict
        The clip's synthetic truth (``joints_px``, ``events``, ``fps``).
    half_s : float
        Half-width of the window around each contact, seconds.

    Returns
    -------
    dict
        ``contacts``, ``swapped_pct`` (contacts with a swapped frame),
        ``swap_ms`` (median swapped time per such contact) and
        ``err_before`` / ``err_after`` (median heel error over the frames of
        all contacts, % leg) and ``missing_after_pct`` (frames after contact
        where cleaning left the heel missing).
    """
    fps, leg = float(truth["fps"]), float(truth["leg_length_px"])
    half = max(1, int(round(half_s * fps)))
    true = {k: np.asarray(v, dtype=float) for k, v in truth["joints_px"].items()}

    def xy(ds: Any, name: str) -> np.ndarray:
        return np.asarray(ds.position.sel(keypoints=name).isel(individuals=0).values, dtype=float)

    n = min(raw.sizes["time"], cleaned.sizes["time"], int(truth["n_frames"]))
    swaps, before, after = [], [], []
    for e in truth["events"]:
        f0 = int(round(e["time_s"] * fps))
        if e["kind"] != "initial_contact" or f0 - half < 0 or f0 + half >= n:
            continue
        own, other = f"{e['foot']}_heel", f"{'left' if e['foot'] == 'right' else 'right'}_heel"
        win = slice(f0 - half, f0 + half + 1)
        label = xy(raw, own)[win]
        swapped = np.linalg.norm(label - true[other][win], axis=1) < np.linalg.norm(
            label - true[own][win], axis=1
        )
        swaps.append(int(swapped.sum()))
        err = np.linalg.norm(xy(cleaned, own)[:n] - true[own][:n], axis=1) / leg * 100
        before.extend(err[f0 - half : f0])  # NaN where cleaning left the heel missing
        after.extend(err[f0 : f0 + half + 1])
    hit = [k for k in swaps if k]
    seen_before, seen_after = np.asarray(before), np.asarray(after)
    seen_before, seen_after = (
        seen_before[np.isfinite(seen_before)],
        seen_after[np.isfinite(seen_after)],
    )
    return {
        "contacts": len(swaps),
        "swapped_pct": 100.0 * len(hit) / len(swaps) if swaps else float("nan"),
        "swap_ms": 1000.0 * float(np.median(hit)) / fps if hit else 0.0,
        "err_before": float(np.median(seen_before)) if seen_before.size else float("nan"),
        "err_after": float(np.median(seen_after)) if seen_after.size else float("nan"),
        "missing_after_pct": 100.0 * (1 - seen_after.size / len(after)) if after else float("nan"),
    }


def format_touchdown(rows: list[tuple[str, float, dict[str, Any]]]) -> str:
    """One line per clip of :func:`touchdown`."""
    out = [
        f"{'clip':28s} {'fps':>4s} {'ICs':>4s} {'swapped':>8s} {'swap ms':>8s} "
        f"{'heel err before':>16s} {'after':>6s} {'missing after':>14s}"
    ]
    for name, fps, r in rows:
        out.append(
            f"{name:28s} {fps:4.0f} {r['contacts']:4d} {r['swapped_pct']:7.0f}% "
            f"{r['swap_ms']:8.0f} {r['err_before']:15.1f}% {r['err_after']:5.1f}%"
            f" {r['missing_after_pct']:13.0f}%"
        )
    return "\n".join(out)


def run_real(shared: Path, model: Any, cache: Path) -> str:
    """Score the real clips in ``shared/videos``."""
    from formcheck.errors import FormcheckError  # noqa: PLC0415

    lines = []
    for stem in ("treadmill_side_male", "overground_side_jogger"):
        clip = shared / "videos" / f"{stem}.mp4"
        truth = json.loads((shared / "videos" / f"{stem}.truth.json").read_text())
        try:
            raw, video = pose_cached(clip, cache, model)
            an, err = analyze_tracks(raw, video, AnalysisOptions()), ""
        except FormcheckError as exc:
            an, err = None, str(exc)
        r = score_real(an, truth, err)
        if an is None:
            lines.append(f"{stem}: no analysis ({r['note']})")
            continue
        want = truth.get("cadence_spm")
        want_s = f"{want['value']} +/- {want['uncertainty']}" if isinstance(want, dict) else "n/a"
        lines.append(
            f"{stem}: view {r['view']}, cadence {_fmt(r['cadence'], '{:.2f}')} ({r['cad_status']}; "
            f"truth {want_s}, err {_fmt(r['cad_err'], '{:+.2f}')}), IC |err| median "
            f"{_fmt(r['ic_med'], '{:.2f}')} p95 {_fmt(r['ic_p95'], '{:.2f}')} bias "
            f"{_fmt(r['ic_bias'], '{:+.2f}')} frames, missed {r['missed']}, extra {r['extra']}"
        )
        if an.metrics["cadence_spm"].reason:
            lines.append(f"    cadence note: {an.metrics['cadence_spm'].reason}")
    return "\n".join(lines)


def draws_summary(
    clips: list[Clip],
    cache: Path,
    model: Any,
    draws: int,
    rows: list[tuple[str, str, dict[str, Any]]],
) -> str:
    """The pose rows' summary for each draw (0 = as decoded), and its spread over the draws."""
    per_draw = [[r for r in rows if r[1] == "pose"]]
    for draw in range(1, draws):
        drawn = []
        for clip in clips:
            path, truth = render_cached(clip, cache)
            raw, video = pose_cached(path, cache, model, draw)
            an = analyze_tracks(raw, video, AnalysisOptions())
            drawn.append((clip.name, "pose", score(an, truth)))
        per_draw.append(drawn)
    out = [
        f"Pose rows on {draws} draws: the same clips decoded 0, 1, ... {draws - 1} grey levels "
        "brighter (invisible; the pose model's landmarks move with it). Per draw: median over "
        "clips / clips over the bound."
    ]
    keys = {k: v for k, v in BOUNDS.items() if k != "knee"}
    for key, (label, bound, absval) in keys.items():
        cells = []
        for drawn in per_draw:
            v = np.array(
                [abs(r[key]) if absval else r[key] for _, _, r in drawn if r.get(key) is not None],
                dtype=float,
            )
            v = v[np.isfinite(v)]
            cells.append(f"{np.median(v):6.2f} /{int(np.sum(v > bound)):>2}" if v.size else "-")
        out.append(f"  {label:30s} " + "   ".join(cells))
    worse = [sum(r["worse_ok"] for _, _, r in d if r.get("worse_ok") is not None) for d in per_draw]
    views = [sum(r["view_ok"] for _, _, r in d) for d in per_draw]
    out.append(f"  {'worse FPPA side right':30s} " + "   ".join(f"{w:>9}" for w in worse))
    out.append(f"  {'view/facing right':30s} " + "   ".join(f"{v:>9}" for v in views))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4-clip subset")
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "formcheck-accuracy"
    )
    ap.add_argument("--only", nargs="*", help="clip names to run")
    ap.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("FORMCHECK_SHARED", REPO.parent / "shared")),
    )
    ap.add_argument("--no-real", action="store_true", help="skip the real clips")
    ap.add_argument(
        "--touchdown", action="store_true", help="also the pose model's feet at contact (side)"
    )
    ap.add_argument(
        "--draws",
        type=int,
        default=1,
        help="pose also on copies decoded 1, 2, ... grey levels brighter: the pose rows' spread",
    )
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    from formcheck.io.model import load_model  # noqa: PLC0415

    model = load_model()
    clips = [
        c
        for c in CLIPS
        if (not args.quick or c.name in QUICK) and (not args.only or c.name in args.only)
    ]
    rows: list[tuple[str, str, dict[str, Any]]] = []
    touch: list[tuple[str, float, dict[str, Any]]] = []
    for clip in clips:
        path, truth = render_cached(clip, args.cache)
        raw, video = pose_cached(path, args.cache, model)
        an = analyze_tracks(raw, video, AnalysisOptions())
        rows.append((clip.name, "pose", score(an, truth)))
        rows.append((clip.name, "pose@ev", score_true_events(an, truth)))
        exact = analyze_tracks(truth_dataset(truth), video, AnalysisOptions())
        rows.append((clip.name, "truth", score(exact, truth)))
        if args.touchdown and truth["view"] == "side":
            touch.append((clip.name, float(truth["fps"]), touchdown(raw, an.tracks, truth)))
    print("Synthetic clips: errors of the full pipeline (src=pose), of the metrics measured on")
    print("the same pose tracks at the true events (src=pose@ev: pose error alone) and of the")
    print("whole analysis on the exact joints (src=truth: formcheck's own method error).")
    print("cad = cadence error spm; IC in frames; shank/knee/FPPA deg; ostr = overstride in")
    print("points of % leg; worse = FPPA worse side right; wvok = metrics ok from a view that")
    print("cannot see them.")
    print(format_table(rows))
    print()
    print(summary(rows))
    if touch:
        print()
        print("Touchdown, side clips: contacts whose raw MediaPipe heel label sits on the other")
        print("foot within 0.1 s of the true contact, for how long, and the cleaned heel's")
        print("error (% leg) in the 0.1 s before and after the true contact (frames where")
        print("cleaning left it missing are counted apart).")
        print(format_touchdown(touch))
    if args.draws > 1:
        print()
        print(draws_summary(clips, args.cache, model, args.draws, rows))
    if not args.no_real and (args.shared / "videos").is_dir():
        print()
        print("Real clips")
        print(run_real(args.shared, model, args.cache))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
