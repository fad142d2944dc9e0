"""Speed benchmark: decode, raw pose inference and the whole pipeline, in one run.

Usage::

    python benchmarks/pose_speed.py [--seconds 8] [--repeats 3]

For 720p and 1080p synthetic clips (and the real treadmill clip when
``../shared`` is there), it measures in the same process:

* decode fps: PyAV decode + RGB conversion (+ rotation), nothing else;
* raw inference fps: MediaPipe ``detect_for_video`` on frames decoded
  beforehand (held in memory), i.e. pose alone;
* pipeline fps: ``formcheck.pipeline.analyze`` end to end (decode thread,
  pose, cleaning, view, events, metrics);
* the ratio pipeline / raw inference and the real-time factor (seconds of
  video per second of processing).

Medians over ``--repeats`` runs are printed as one table, with peak RSS.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import mediapipe as mp

from formcheck.io.model import load_model
from formcheck.io.video import iter_frames, probe_video
from formcheck.pipeline import analyze
from formcheck.pose import PoseSettings, _make_landmarker, _quiet_native_stderr


def _decode_fps(clip: Path) -> tuple[float, int]:
    info = probe_video(clip)
    start = time.perf_counter()
    n = sum(1 for _ in iter_frames(info))
    return n / (time.perf_counter() - start), n


def _raw_inference_fps(clip: Path, model) -> float:
    frames = list(iter_frames(probe_video(clip)))
    with _make_landmarker(model, PoseSettings()) as landmarker:
        with _quiet_native_stderr():  # the first call logs a native warning
            warm = mp.Image(image_format=mp.ImageFormat.SRGB, data=frames[0].image)
            landmarker.detect_for_video(warm, 0)
        start = time.perf_counter()
        for f in frames[1:]:
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=f.image)
            landmarker.detect_for_video(image, 1 + int(round(f.time_s * 1000)))
        elapsed = time.perf_counter() - start
    return (len(frames) - 1) / elapsed


def _pipeline(clip: Path, model) -> tuple[float, float]:
    start = time.perf_counter()
    analysis = analyze(clip, model=model)
    elapsed = time.perf_counter() - start
    n = analysis.raw.sizes["time"]
    return n / elapsed, analysis.video["duration_s"] / elapsed


def _clips(workdir: Path, seconds: float) -> list[tuple[str, Path]]:
    from formcheck.synth import SynthParams, render_clip

    clips = []
    for w, h in ((1280, 720), (1920, 1080)):
        path = workdir / f"synth_{h}p.mp4"
        render_clip(SynthParams(width=w, height=h, duration_s=seconds, fps=30), path)
        clips.append((f"synthetic {h}p", path))
    real = Path(__file__).resolve().parents[2] / "shared" / "videos" / "treadmill_side_male.mp4"
    if real.is_file():
        clips.append(("real 720x1280", real))
    return clips


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="synthetic clip length")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    args = parser.parse_args()
    model = load_model()
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}, "
          f"python {platform.python_version()}, mediapipe {mp.__version__}")
    header = (f"{'clip':<16} {'frames':>6} {'decode fps':>10} {'pose fps':>9} "
              f"{'pipeline fps':>12} {'pipe/pose':>9} {'x real time':>11}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, clip in _clips(Path(tmp), args.seconds):
            dec, pose, pipe, rtf = [], [], [], []
            n = 0
            for _ in range(args.repeats):
                d, n = _decode_fps(clip)
                dec.append(d)
                pose.append(_raw_inference_fps(clip, model))
                p, r = _pipeline(clip, model)
                pipe.append(p)
                rtf.append(r)
            md, mp_, mpi, mr = (statistics.median(x) for x in (dec, pose, pipe, rtf))
            rows.append(f"{label:<16} {n:>6} {md:>10.0f} {mp_:>9.1f} {mpi:>12.1f} "
                        f"{mpi / mp_:>9.2f} {mr:>11.2f}")
    print(header)
    print("\n".join(rows))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:.0f} MB (medians of {args.repeats} runs)")


if __name__ == "__main__":
    main()
