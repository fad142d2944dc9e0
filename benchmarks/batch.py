"""Batch throughput benchmark: videos per minute with 1 and 2 local workers, in one run.

Usage::

    python benchmarks/batch.py [--clips 6] [--seconds 6] [--width 640 --height 360]
                               [--workers 1 2] [--engine local]

It renders a synthetic squad (``--clips`` side and rear clips of different
athletes), then runs the whole ``formcheck batch`` (hashing, pose, metrics,
report folders with annotated video, database, squad pages) once per worker
count into a fresh output folder, and prints wall time and videos per minute,
with the CPU time spent per video (this process and its workers: independent
of other load) and the load average before each run: on a shared machine the
ratio between runs of the same invocation means more than the absolute
numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from formcheck.batch.engines import EngineOptions
from formcheck.batch.runner import BatchConfig, run_batch
from formcheck.synth import SynthParams, render_clip


def render_squad(root: Path, n: int, seconds: float, width: int, height: int) -> None:
    """``n`` clips, one athlete each, alternating side and rear, two runner styles."""
    for i in range(n):
        view = "side" if i % 2 == 0 else "rear"
        params = SynthParams(
            view=view,
            style="a" if i % 4 < 2 else "b",
            cadence_spm=160.0 + 3 * i,
            overstride_pct_leg=4.0 + 2 * i if view == "side" else 8.0,
            valgus_right_deg=6.0 if view == "rear" else 0.0,
            width=width,
            height=height,
            duration_s=seconds,
            seed=i,
        )
        clip = root / f"athlete_{i:02d}" / "2025-06-01" / f"{view}.mp4"
        clip.parent.mkdir(parents=True, exist_ok=True)
        render_clip(params, clip)
        clip.with_suffix(".truth.json").unlink(missing_ok=True)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    """Render the squad, run the batch per worker count, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--engine", choices=["local", "ray"], default="local")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="fc-batch-bench-") as tmp:
        src = Path(tmp) / "squad"
        render_squad(src, args.clips, args.seconds, args.width, args.height)
        print(
            f"{args.clips} clips, {args.seconds:g} s each, {args.width}x{args.height} @ 30 fps; "
            f"engine {args.engine}; {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs"
        )
        header = ("workers", "wall s", "videos/min", "CPU s/video", "load before", "ok/failed")
        print("{:>7} {:>8} {:>11} {:>12} {:>12} {:>10}".format(*header))
        for n in args.workers:
            load = os.getloadavg()[0]
            cpu0 = _cpu_seconds()
            start = time.perf_counter()
            summary = run_batch(
                BatchConfig(
                    input=src,
                    out=Path(tmp) / f"out_{n}",
                    engine=EngineOptions(engine=args.engine, workers=n),
                )
            )
            wall = time.perf_counter() - start
            cpu = (_cpu_seconds() - cpu0) / max(summary.videos_done, 1)
            rate = summary.videos_done / wall * 60
            print(
                f"{n:>7} {wall:>8.1f} {rate:>11.2f} {cpu:>12.1f} {load:>12.2f} "
                f"{summary.videos_done:>5}/{summary.videos_failed}"
            )


if __name__ == "__main__":
    main()
