"""Speed and memory benchmark (issue 7): one run, one table, with the profile behind it.

Usage::

    python benchmarks/speed.py                 # full run (about an hour on 2 busy cores)
    python benchmarks/speed.py --quick         # smoke run: 20 s clips, 1 and 2 min for RSS
    python benchmarks/speed.py --workdir DIR   # keep the generated clips in DIR and reuse them

Clips. A 10 s synthetic treadmill clip is rendered with :mod:`formcheck.synth`
at 720p and 1080p, at 180 steps/min and 30 fps, so that 10 s holds exactly
15 strides and the clip loops seamlessly. Longer clips (60 s for speed;
1, 5 and 20 min of 1080p for memory) repeat it by H.264 stream copy with
PyAV (packets re-timed, no re-encoding): rendering 20 minutes would take
longer than analysing it. Every copy starts on the source's keyframe.

Measured, in the same run and on the same clips (medians of ``--repeats``
runs, the runs interleaved so that machine load hits all of them alike):

* decode fps: :func:`formcheck.io.video.iter_frames` alone (PyAV decode,
  RGB conversion, in its background thread);
* raw inference fps: MediaPipe ``detect_for_video`` (and the ``mp.Image``
  wrapping) on frames decoded beforehand in chunks of 60, one landmarker
  over the whole clip: pose alone, the ceiling for one process;
* pipeline fps with 1 and 2 workers: ``run_pose`` + ``analyze_tracks``
  (what ``formcheck analyze`` runs, without writing files), and the ratios;
* x real time: seconds of video per second of processing;
* analysis after pose: ``analyze_tracks`` time for the 60 s clip (the
  analysis libraries are loaded once beforehand; that one-time cost is
  printed in the profile);
* peak RSS: ``analyze(clip)`` (default options: 2 workers for these clips)
  in a fresh subprocess, the RSS of it and its worker processes summed,
  sampled every 0.2 s from /proc (PSS, which counts shared library pages
  once, is printed too);
* batch videos per minute with 1 and 2 workers: ``formcheck batch`` on
  six clips, when :mod:`formcheck.batch` is importable.

The profile below the table says where the time goes: per-frame costs in
the single-process pipeline (waiting for the decode thread, wrapping the
image, inference, storing landmarks), the CPU the pipelines used, and the
analysis stages.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import mediapipe as mp

from formcheck.io.model import PoseModel, load_model
from formcheck.io.video import VideoLimits, iter_frames, probe_video
from formcheck.pipeline import AnalysisOptions, analyze_tracks, run_pose, video_summary
from formcheck.pose import PoseSettings, _quiet_native_stderr, open_landmarker

LOOP_SECONDS = 10.0
LOOP_CADENCE = 180.0  # 10 s = 15 strides of 20 frames at 30 fps: the loop is seamless
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


# ----------------------------------------------------------------------------- clips


def render_loop(path: Path, width: int, height: int) -> Path:
    """Render the seamless 10 s synthetic clip (once; reused when present)."""
    from formcheck.synth import SynthParams, render_clip

    if not path.is_file():
        params = SynthParams(
            width=width, height=height, duration_s=LOOP_SECONDS, fps=30, cadence_spm=LOOP_CADENCE
        )
        render_clip(params, path)
    return path


def loop_clip(src: Path, dst: Path, repeats: int) -> Path:
    """Write ``src`` ``repeats`` times back to back by stream copy (no re-encoding)."""
    import av

    if dst.is_file():
        return dst
    tmp = dst.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        out_stream = None
        offset = 0
        for _ in range(repeats):
            with av.open(str(src)) as inp:
                in_stream = inp.streams.video[0]
                if out_stream is None:
                    out_stream = out.add_stream_from_template(in_stream)
                last_end = 0
                for packet in inp.demux(in_stream):
                    if packet.dts is None or packet.size == 0:
                        continue
                    end = int(packet.pts) + int(packet.duration or 0)
                    last_end = max(last_end, end)
                    packet.pts = int(packet.pts) + offset
                    packet.dts = int(packet.dts) + offset
                    packet.stream = out_stream
                    out.mux(packet)
                offset += last_end
    tmp.replace(dst)
    return dst


@dataclass
class Clips:
    """Every clip the benchmark uses."""

    speed: dict[str, Path] = field(default_factory=dict)
    rss: dict[int, Path] = field(default_factory=dict)
    batch_dir: Path | None = None


def make_clips(workdir: Path, speed_s: float, rss_minutes: list[int], n_batch: int) -> Clips:
    """Render the loops and build the long clips by stream copy."""
    clips = Clips()
    loops = {
        name: render_loop(workdir / f"loop_{name}.mp4", w, h) for name, (w, h) in SIZES.items()
    }
    reps = max(1, round(speed_s / LOOP_SECONDS))
    for name, loop in loops.items():
        clips.speed[name] = loop_clip(loop, workdir / f"speed_{name}_{reps * 10}s.mp4", reps)
    for minutes in rss_minutes:
        clips.rss[minutes] = loop_clip(
            loops["1080p"], workdir / f"rss_1080p_{minutes}min.mp4", minutes * 6
        )
    if n_batch:
        batch = workdir / "batch_clips"
        for k in range(n_batch):  # different lengths, so no two clips have the same contents
            folder = batch / f"athlete{k + 1}" / f"2026-01-{k + 1:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            loop_clip(loops["720p"], folder / "side.mp4", 1 + k % 3)
        clips.batch_dir = batch
    return clips


# ----------------------------------------------------------------------------- speed


def decode_fps(clip: Path) -> float:
    """Frames per second of decoding alone."""
    info = probe_video(clip)
    start = time.perf_counter()
    n = sum(1 for _ in iter_frames(info))
    return n / (time.perf_counter() - start)


def raw_inference(clip: Path, model: PoseModel, chunk: int = 60) -> tuple[float, float]:
    """Pose alone on frames decoded beforehand, chunk by chunk: (fps, CPU ms per frame)."""
    srgb = mp.ImageFormat.SRGB
    frames = iter_frames(probe_video(clip))
    busy = cpu = 0.0
    n = 0
    with open_landmarker(model, PoseSettings()) as landmarker:
        first = next(frames)
        with _quiet_native_stderr():  # first call: graph start-up, off the clock
            landmarker.detect_for_video(mp.Image(image_format=srgb, data=first.image), 0)
        last_ms = 0
        while batch := list(islice(frames, chunk)):
            cpu0 = _cpu_seconds()
            start = time.perf_counter()
            for f in batch:
                last_ms = max(last_ms + 1, int(round(f.time_s * 1000)))
                landmarker.detect_for_video(mp.Image(image_format=srgb, data=f.image), last_ms)
            busy += time.perf_counter() - start
            cpu += _cpu_seconds() - cpu0
            n += len(batch)
    return n / busy, 1000.0 * cpu / n


@dataclass
class PipelineRun:
    """One pipeline run: pose and analysis times, CPU used, workers."""

    frames: int
    duration_s: float
    pose_s: float
    analysis_s: float
    cpu_s: float
    workers: int

    @property
    def total_s(self) -> float:
        return self.pose_s + self.analysis_s

    @property
    def fps(self) -> float:
        return self.frames / self.total_s

    @property
    def realtime(self) -> float:
        return self.duration_s / self.total_s


def _cpu_seconds() -> float:
    own = os.times()
    return own.user + own.system + own.children_user + own.children_system


def pipeline_run(clip: Path, model: PoseModel, workers: int) -> PipelineRun:
    """``run_pose`` + ``analyze_tracks`` with a fixed worker count."""
    options = AnalysisOptions(workers=workers)
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    info, raw, scale = run_pose(clip, options, model=model)
    pose_s = time.perf_counter() - start
    video = video_summary(info, scale, raw)
    start = time.perf_counter()
    analyze_tracks(raw, video, options)
    analysis_s = time.perf_counter() - start
    return PipelineRun(
        frames=int(raw.sizes["time"]),
        duration_s=float(video["duration_s"]),
        pose_s=pose_s,
        analysis_s=analysis_s,
        cpu_s=_cpu_seconds() - cpu0,
        workers=int(raw.attrs["pose_workers"]),
    )


# ----------------------------------------------------------------------------- profile


@dataclass
class FrameProfile:
    """Mean milliseconds per frame in the single-process pose loop."""

    wait_decode: float
    wrap_image: float
    inference: float
    store: float
    frames: int


def profile_pose_loop(clip: Path, model: PoseModel, max_frames: int = 600) -> FrameProfile:
    """The single-process pose loop (as in :func:`formcheck.pose.track_pose`) with timers."""
    from formcheck.pose import TrackBuffer

    srgb = mp.ImageFormat.SRGB
    sums = [0.0, 0.0, 0.0, 0.0]
    frames = iter_frames(probe_video(clip))
    buf = TrackBuffer(max_frames)
    n = 0
    with open_landmarker(model, PoseSettings()) as landmarker:
        last_ms = -1
        while n < max_frames:
            t0 = time.perf_counter()
            f = next(frames, None)
            if f is None:
                break
            t1 = time.perf_counter()
            image = mp.Image(image_format=srgb, data=f.image)
            t2 = time.perf_counter()
            last_ms = max(last_ms + 1, int(round(f.time_s * 1000)))
            with _quiet_native_stderr() if n == 0 else contextlib.nullcontext():
                result = landmarker.detect_for_video(image, last_ms)
            t3 = time.perf_counter()
            buf.add(f.index, f.time_s, result)
            t4 = time.perf_counter()
            if n:  # the first frame starts the graph: left out
                for k, dt in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                    sums[k] += dt
            n += 1
    frames.close()
    m = max(1, n - 1)
    return FrameProfile(*(1000 * s / m for s in sums), frames=m)


def _raw_inference_in_child(clip: str) -> float:
    """:func:`raw_inference` with the bundled model, in a worker process (frames/s)."""
    return raw_inference(Path(clip), load_model())[0]


def raw_inference_two_processes(clip: Path) -> tuple[float, float]:
    """Raw inference alone, in one process and then in two at once: (1-process fps, sum of 2).

    The hardware's own limit for two workers: no decoding, drawing or
    analysis on the clock, only the pose model in two processes sharing the
    machine (caches, memory bandwidth).
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        one = pool.map(_raw_inference_in_child, [str(clip)])[0]
    with ctx.Pool(2) as pool:
        two = pool.map(_raw_inference_in_child, [str(clip)] * 2)
    return one, float(sum(two))


def pose_mode_fps(clip: Path, model: PoseModel, mode: str) -> float:
    """Frames per second of two-segment pose alone, segments in threads or processes."""
    from formcheck.parallel import parallel_pose

    info = probe_video(clip)
    start = time.perf_counter()
    track = parallel_pose(info, model, 2, mode=mode)  # type: ignore[arg-type]
    if track is None:
        return float("nan")
    return track.n_frames / (time.perf_counter() - start)


STAGES = ("visible_part", "clean_tracks", "detect_view", "detect_events", "compute_metrics")


@dataclass
class AnalysisProfile:
    """Where the time after pose goes."""

    duration_s: float
    stages: dict[str, float]
    inner: list[str]
    outputs_s: float


def profile_analysis(clip: Path, model: PoseModel, workdir: Path) -> AnalysisProfile:
    """Profile ``analyze_tracks`` on one clip's raw tracks (cProfile), then time the outputs.

    Gives the tracks' duration, the cumulative seconds of each stage function
    found, the four formcheck functions below the stages with the most
    cumulative time (with their call counts), and the seconds
    :func:`formcheck.io.outputs.write_analysis` takes to write the report
    folder (tracks, annotated video, flagged frames, HTML) afterwards, as
    ``formcheck analyze`` does.
    """
    import cProfile
    import pstats

    from formcheck.io.outputs import write_analysis

    info, raw, scale = run_pose(clip, AnalysisOptions(workers=2), model=model)
    video = video_summary(info, scale, raw)
    prof = cProfile.Profile()
    analysis = prof.runcall(analyze_tracks, raw, video)
    start = time.perf_counter()
    write_analysis(analysis, workdir / "report_out", video_path=clip)
    outputs_s = time.perf_counter() - start
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    stages: dict[str, float] = {}
    inner: list[tuple[float, str]] = []
    for (file, _line, name), (_cc, calls, _tt, cum, _callers) in stats.items():
        if "/formcheck/" not in file:
            continue
        if name in STAGES:
            stages[name] = stages.get(name, 0.0) + float(cum)
        elif name not in ("analyze_tracks", "<lambda>", "<listcomp>", "<genexpr>"):
            inner.append((float(cum), f"{Path(file).stem}.{name} ({calls} calls) {cum:.2f} s"))
    return AnalysisProfile(
        duration_s=float(raw["time"].values[-1] - raw["time"].values[0]),
        stages=stages,
        inner=[text for _, text in sorted(inner, reverse=True)[:4]],
        outputs_s=outputs_s,
    )


# ----------------------------------------------------------------------------- memory


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _tree(pid: int) -> list[int]:
    children = _children_of()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _kb(path: str, key: str) -> int:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class MemoryRun:
    """Peak memory of one ``analyze`` subprocess (and its workers)."""

    peak_rss_mb: float
    peak_pss_mb: float
    main_rss_mb: float
    pose_peak_mb: float
    seconds: float
    frames: int
    workers: int


_DRIVER = """
import json, sys
from formcheck.pipeline import AnalysisOptions, analyze_tracks, run_pose, video_summary
def peak():
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size at fork.
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
options = AnalysisOptions(workers=int(sys.argv[2]) if len(sys.argv) > 2 else None)
info, raw, scale = run_pose(sys.argv[1], options)  # analyze() = these two calls
pose_peak = peak()
analyze_tracks(raw, video_summary(info, scale, raw), options)
print(json.dumps({"frames": int(raw.sizes["time"]), "workers": int(raw.attrs["pose_workers"]),
                  "pose_peak_mb": pose_peak, "maxrss_mb": peak()}))
"""


def memory_run(clip: Path, workers: int | None = None) -> MemoryRun:
    """Run ``analyze(clip)`` in a subprocess, sampling its process tree's RSS and PSS."""
    start = time.perf_counter()
    extra = [] if workers is None else [str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(clip), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = {"rss": 0, "pss": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            pids = _tree(proc.pid)
            rss = sum(_kb(f"/proc/{p}/status", "VmRSS:") for p in pids)
            pss = sum(_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
            peak["rss"] = max(peak["rss"], rss)
            peak["pss"] = max(peak["pss"], pss)
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"analyze failed on {clip.name} (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    return MemoryRun(
        peak_rss_mb=peak["rss"] / 1024,
        peak_pss_mb=peak["pss"] / 1024,
        main_rss_mb=float(result["maxrss_mb"]),
        pose_peak_mb=float(result["pose_peak_mb"]),
        seconds=seconds,
        frames=int(result["frames"]),
        workers=int(result["workers"]),
    )


# ----------------------------------------------------------------------------- batch


@dataclass
class BatchRun:
    """One ``formcheck batch`` run: videos per minute and the cores it kept busy."""

    videos_per_min: float
    cores_busy: float
    error: str = ""


def _children_cpu_s() -> float:
    """CPU seconds of finished child processes and, through them, their own children."""
    kids = os.times()
    return kids.children_user + kids.children_system


def batch_videos_per_minute(
    batch_dir: Path, workers: int, workdir: Path, video: bool = True
) -> BatchRun:
    """Videos per minute of ``formcheck batch`` with ``workers`` workers (``--no-video``
    unless ``video``)."""
    out = workdir / f"batch_out_{workers}{'' if video else '_novideo'}"
    shutil.rmtree(out, ignore_errors=True)
    n = sum(1 for _ in batch_dir.rglob("*.mp4"))
    cmd = [sys.executable, "-m", "formcheck.cli", "batch", str(batch_dir), "--out", str(out),
           "--workers", str(workers), "--quiet", *([] if video else ["--no-video"])]
    cpu0 = _children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    busy = (_children_cpu_s() - cpu0) / elapsed
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return BatchRun(float("nan"), busy, f"batch exit {done.returncode}: {tail[0][:120]}")
    return BatchRun(60.0 * n / elapsed, busy)


# ----------------------------------------------------------------------------- table


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt(value: float, fmt: str = ".1f") -> str:
    return "-" if value != value else format(value, fmt)  # NaN -> "-"


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Results:
    """Everything measured, for the table."""

    decode: dict[str, list[float]] = field(default_factory=dict)
    raw: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    runs: dict[tuple[str, int], list[PipelineRun]] = field(default_factory=dict)
    modes: dict[str, float] = field(default_factory=dict)
    raw_pair: tuple[float, float] | None = None
    frame_profile: FrameProfile | None = None
    analysis: AnalysisProfile | None = None
    memory: dict[tuple[int, int | None], MemoryRun] = field(default_factory=dict)
    batch: dict[int, BatchRun] = field(default_factory=dict)
    batch_no_video: dict[int, BatchRun] = field(default_factory=dict)
    speed_seconds: float = 60.0
    repeats: int = 1
    import_s: float = float("nan")


def load_analysis_modules() -> float:
    """Import the analysis stages (xarray, pandas, scipy); seconds it took.

    ``formcheck.pipeline`` loads them after pose, once per process. They are
    loaded here before the speed runs so that "analysis after pose" times the
    analysis itself in every run, as for a batch worker's second clip; the
    profile prints this one-time cost on its own.
    """
    start = time.perf_counter()
    for name in ("formcheck.cleaning", "formcheck.events", "formcheck.metrics", "formcheck.view"):
        importlib.import_module(name)
    return time.perf_counter() - start


def measure(args: argparse.Namespace, clips: Clips, workdir: Path) -> Results:
    """Run every measurement; speed runs interleaved so load changes hit all alike."""
    model = load_model()
    res = Results(speed_seconds=args.speed_seconds, repeats=args.repeats)
    res.import_s = load_analysis_modules()
    for rep in range(args.repeats):
        for name, clip in clips.speed.items():
            print(f"speed {name}, run {rep + 1}/{args.repeats} ...", file=sys.stderr)
            res.decode.setdefault(name, []).append(decode_fps(clip))
            res.raw.setdefault(name, []).append(raw_inference(clip, model))
            for workers in (1, 2):
                run = pipeline_run(clip, model, workers)
                res.runs.setdefault((name, workers), []).append(run)
    print("profile ...", file=sys.stderr)
    res.frame_profile = profile_pose_loop(clips.speed["1080p"], model)
    for mode in ("threads", "processes"):
        res.modes[mode] = pose_mode_fps(clips.speed["1080p"], model, mode)
    res.raw_pair = raw_inference_two_processes(clips.speed["720p"])
    res.analysis = profile_analysis(clips.speed["1080p"], model, workdir)
    for workers in (None, 1):
        for minutes, clip in clips.rss.items():
            if workers == 1 and minutes not in (min(clips.rss), max(clips.rss)):
                continue
            print(f"memory {minutes} min, workers {workers or 'auto'} ...", file=sys.stderr)
            res.memory[(minutes, workers)] = memory_run(clip, workers)
    if clips.batch_dir is not None:
        for workers in (1, 2):
            print(f"batch, {workers} worker(s) ...", file=sys.stderr)
            res.batch[workers] = batch_videos_per_minute(clips.batch_dir, workers, workdir)
        for workers in (1, 2):
            print(f"batch --no-video, {workers} worker(s) ...", file=sys.stderr)
            res.batch_no_video[workers] = batch_videos_per_minute(
                clips.batch_dir, workers, workdir, video=False
            )
    return res


def table(res: Results, has_batch: bool) -> list[tuple[str, str, str, str, str]]:
    """The rows of the one table: measure, 720p, 1080p, target, met."""
    rows: list[tuple[str, str, str, str, str]] = []
    v: dict[str, dict[str, float]] = {}
    for n in SIZES:
        p1 = [r.fps for r in res.runs[(n, 1)]]
        p2 = [r.fps for r in res.runs[(n, 2)]]
        raw = [fps for fps, _ in res.raw[n]]
        v[n] = {
            "dec": _median(res.decode[n]),
            "raw": _median(raw),
            "p1": _median(p1),
            "p2": _median(p2),
            # ratios of runs made back to back, then their median
            "r1": _median([a / b for a, b in zip(p1, raw, strict=True)]),
            "r2": _median([a / b for a, b in zip(p2, p1, strict=True)]),
            "rt1": _median([r.realtime for r in res.runs[(n, 1)]]),
            "rt2": _median([r.realtime for r in res.runs[(n, 2)]]),
            "an": _median([r.analysis_s for r in res.runs[(n, 1)]]) * 60.0 / res.speed_seconds,
            "w2": min(r.workers for r in res.runs[(n, 2)]),
        }
    a, b = v["720p"], v["1080p"]

    def both(key: str, fmt: str = ".1f") -> tuple[str, str]:
        return _fmt(a[key], fmt), _fmt(b[key], fmt)

    rows.append(("decode fps (decode thread alone)", *both("dec", ".0f"), "", ""))
    rows.append(("raw inference fps (pose alone)", *both("raw"), "", ""))
    rows.append(("pipeline fps, 1 worker", *both("p1"), "", ""))
    rows.append(("pipeline / raw inference", *both("r1", ".2f"), ">= 0.90",
                 _met(min(a["r1"], b["r1"]) >= 0.9)))
    rows.append(("x real time, 1 worker", *both("rt1", ".2f"), "", ""))
    rows.append((f"pipeline fps, 2 workers (used: {a['w2']:.0f}, {b['w2']:.0f})", *both("p2"),
                 "", ""))
    rows.append(("2 workers / 1 worker", *both("r2", ".2f"), ">= 1.60",
                 _met(min(a["r2"], b["r2"]) >= 1.6)))
    rows.append(("x real time, 2 workers", *both("rt2", ".2f"), "", ""))
    an = max(a["an"], b["an"])
    rows.append(("analysis after pose, s per 60 s of video", *both("an", ".2f"), "< 1.0",
                 _met(an < 1.0)))
    for workers in (None, 1):
        runs = {m: r for (m, w), r in res.memory.items() if w == workers}
        if not runs:
            continue
        label = "auto (2)" if workers is None else "1"
        longest = max(runs)
        for minutes in sorted(runs):
            m = runs[minutes]
            last = minutes == longest
            label_row = f"peak RSS MB, {minutes} min 1080p, workers {label}"
            rows.append((f"{label_row} (PSS {m.peak_pss_mb:.0f})", "", f"{m.peak_rss_mb:.0f}",
                         "<= 500" if last else "", _met(m.peak_rss_mb <= 500) if last else ""))
        if len(runs) >= 2:
            lo, hi = runs[min(runs)], runs[longest]
            growth = hi.peak_rss_mb / lo.peak_rss_mb - 1
            rows.append((f"RSS growth {min(runs)} -> {longest} min, workers {label}", "",
                         f"{100 * growth:+.0f}%", "< 20%", _met(growth < 0.2)))
            rows.append((f"x real time, {longest} min 1080p, workers {label}", "",
                         _fmt(longest * 60 / hi.seconds, ".2f"), "", ""))
    if res.batch:
        b1, b2 = res.batch[1], res.batch[2]
        v1, v2 = b1.videos_per_min, b2.videos_per_min
        ratio = v2 / v1 if v1 == v1 and v2 == v2 else float("nan")
        rows.append(("batch videos/min, 1 worker", _fmt(v1, ".2f"), "", "", b1.error))
        rows.append(("batch videos/min, 2 workers", _fmt(v2, ".2f"), "", "", b2.error))
        rows.append(("batch 2 workers / 1 worker", _fmt(ratio, ".2f"), "", ">= 1.70",
                     _met(ratio >= 1.7) if ratio == ratio else "-"))
    if res.batch_no_video:
        n1, n2 = res.batch_no_video[1], res.batch_no_video[2]
        w1, w2 = n1.videos_per_min, n2.videos_per_min
        lean = w2 / w1 if w1 == w1 and w2 == w2 else float("nan")
        rows.append(("batch --no-video videos/min, 1 / 2 workers",
                     f"{_fmt(w1, '.2f')} / {_fmt(w2, '.2f')}", "", "", n1.error or n2.error))
        # Not the issue's workload (its batch writes whole report folders): shown beside it.
        rows.append(("batch --no-video 2 workers / 1 worker", _fmt(lean, ".2f"), "", "", "-"))
    if not res.batch:
        why = "not measured: formcheck.batch is not importable" if not has_batch else "skipped"
        rows.append(("batch 2 workers / 1 worker", why, "", ">= 1.70", "-"))
    return rows


def print_report(res: Results, rows: list[tuple[str, str, str, str, str]], load: str) -> None:
    """Print the machine, the table and the profile."""
    print(f"\nmachine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, mediapipe {mp.__version__}; load average "
          f"(1/5/15 min) at start {load}, at end {_load()}")
    print(f"speed clips: {res.speed_seconds:.0f} s synthetic 720p/1080p 30 fps; medians of "
          f"{res.repeats} interleaved runs")
    print(f"frames reach pose at most {VideoLimits().max_long_side} px on their long side "
          "(1080p is scaled in the decode thread); decode, raw inference and the pipelines "
          "all use that size\n")
    header = ("measure", "720p", "1080p", "target", "met")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))

    print("\nwhere the time goes")
    fp = res.frame_profile
    if fp is not None:
        total = fp.wait_decode + fp.wrap_image + fp.inference + fp.store
        print(f"  1 worker, 1080p, wall ms per frame ({fp.frames} frames): waiting for the "
              f"decode thread {fp.wait_decode:.2f}, mp.Image {fp.wrap_image:.2f}, inference "
              f"{fp.inference:.2f}, storing landmarks {fp.store:.2f} (sum {total:.2f})")
    for n in SIZES:
        raw_cpu = _median([c for _, c in res.raw[n]])
        parts = [f"raw inference {raw_cpu:.1f}"]
        busy = []
        for w in (1, 2):
            runs = res.runs[(n, w)]
            parts.append(f"pipeline {w} worker(s) "
                         f"{_median([1000 * r.cpu_s / r.frames for r in runs]):.1f}")
            busy.append(f"{_median([r.cpu_s / r.total_s for r in runs]):.2f}")
        print(f"  {n}: CPU ms per frame: {', '.join(parts)}; cores busy (CPU s / wall s) "
              f"1 worker {busy[0]}, 2 workers {busy[1]}")
        one = _median([r.fps for r in res.runs[(n, 1)]])
        cpu2 = _median([r.cpu_s / r.frames for r in res.runs[(n, 2)]])
        cores = os.cpu_count() or 1
        print(f"  {n}: ceiling of 2 workers on {cores} cores at that CPU per frame: "
              f"{cores / cpu2:.0f} fps = {cores / cpu2 / one:.2f} x 1 worker")
        raw_fps = [fps for fps, _ in res.raw[n]]
        pose_only = _median([r.frames / r.pose_s / f for r, f in
                             zip(res.runs[(n, 1)], raw_fps, strict=True)])
        share = _median([r.analysis_s / r.total_s for r in res.runs[(n, 1)]])
        print(f"  {n}: pose stage alone (decode thread + pose, no analysis) / raw inference "
              f"{pose_only:.2f}; analysis is {share:.0%} of the 1-worker pipeline time")
    print(f"  loading the analysis libraries (xarray, pandas, scipy), once per process after pose: "
          f"{res.import_s:.2f} s (not in 'analysis after pose')")
    if res.raw_pair is not None:
        one, two = res.raw_pair
        print(f"  raw inference alone, 720p: 1 process {one:.1f} fps, 2 processes at once "
              f"{two:.1f} fps together = {two / one:.2f} x (the machine's own limit for two "
              "workers; the pipeline's ceiling above is lower by the CPU it adds per frame)")
    if res.modes:
        print("  2-segment pose alone, 1080p: segments in threads "
              f"{_fmt(res.modes['threads'])} fps, in worker processes "
              f"{_fmt(res.modes['processes'])} fps")
    if res.batch:
        b1, b2 = res.batch[1], res.batch[2]
        print(f"  batch: cores busy 1 worker {b1.cores_busy:.2f}, 2 workers {b2.cores_busy:.2f}; "
              f"2 workers gain at most 2 / {b1.cores_busy:.2f} = "
              f"{2 / b1.cores_busy:.2f} x, less the CPU they add "
              f"(CPU per video, 2 / 1 worker: "
              f"{b2.cores_busy / b2.videos_per_min / (b1.cores_busy / b1.videos_per_min):.2f})")
    if res.batch_no_video:
        n1 = res.batch_no_video[1]
        print(f"  batch --no-video: cores busy 1 worker {n1.cores_busy:.2f}, so 2 workers gain "
              f"at most {2 / n1.cores_busy:.2f} x (the annotated video keeps about 1.6 cores "
              "busy for about as long as pose)")
    for (minutes, workers), m in sorted(res.memory.items(), key=lambda kv: str(kv[0])):
        print(f"  memory, {minutes} min 1080p, workers {workers or 'auto'}: peak of the analysing "
              f"process {m.pose_peak_mb:.0f} MB by the end of pose, {m.main_rss_mb:.0f} MB by the "
              "end of the analysis after pose")
    an = res.analysis
    if an is not None:
        print(f"  analysis of {an.duration_s:.0f} s of 1080p tracks, cumulative s per stage: "
              + ", ".join(f"{k} {v:.2f}" for k, v in an.stages.items()))
        print("  heaviest functions inside: " + "; ".join(an.inner))
        print(f"  then writing the report folder (annotated video, frames, HTML; "
              f"'formcheck analyze' does this after analyze()): {an.outputs_s:.1f} s")


def main() -> None:
    """Measure everything and print the table and the profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="speed runs per measure")
    parser.add_argument("--speed-seconds", type=float, default=60.0, help="speed clip length")
    parser.add_argument("--rss-minutes", type=int, nargs="*", default=[1, 5, 20])
    parser.add_argument("--batch-clips", type=int, default=6, help="0 skips the batch rows")
    parser.add_argument("--quick", action="store_true", help="20 s speed clips, 1+2 min RSS")
    parser.add_argument("--workdir", type=Path, help="keep and reuse the generated clips here")
    args = parser.parse_args()
    if args.quick:
        args.speed_seconds, args.repeats, args.rss_minutes = 20.0, 1, [1, 2]
    has_batch = importlib.util.find_spec("formcheck.batch") is not None
    load = _load()
    with tempfile.TemporaryDirectory(prefix="formcheck-speed-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"making clips in {workdir} ...", file=sys.stderr)
        n_batch = args.batch_clips if has_batch else 0
        clips = make_clips(workdir, args.speed_seconds, args.rss_minutes, n_batch)
        res = measure(args, clips, workdir)
    print_report(res, table(res, has_batch), load)


if __name__ == "__main__":
    main()
