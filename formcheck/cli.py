"""The ``formcheck`` command line: thin, calling the same pipeline as the app.

Every user-caused problem ends in one line on stderr (``error: ...``) and a
non-zero exit code; no traceback ever reaches the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from formcheck.errors import FormcheckError
from formcheck.io.video import VideoLimits
from formcheck.settings import (
    LEVEL_WORDS,
    UNCERTAINTY_NOTE,
    check_runner_inputs,
    status_word,
)

if TYPE_CHECKING:
    from formcheck.pipeline import AnalysisOptions

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="formcheck",
    help="Analyse running form from video: foot strikes, cadence, overstride, knee valgus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from formcheck import __version__

        typer.echo(f"formcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _app_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Analyse running form from video: foot strikes, cadence, overstride, knee valgus."""


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


@contextmanager
def _progress(quiet: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr, or nothing when quiet or not a terminal."""
    if quiet:
        yield None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeRemainingColumn(),
        console=_stderr(),
        transient=True,
    )
    task = progress.add_task(escape(label), total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=max(total, done) if total else None)

    with progress:
        yield update


def _print_summary(report: dict[str, Any], out_dir: Path) -> None:
    console = Console(highlight=False)
    pq = report["pose_quality"]
    video = report["video"]
    console.print(
        f"[bold]{escape(str(video['file']))}[/]: {video['frames']} frames, "
        f"{video['duration_s']:.1f} s, "
        f"{video['fps']:.1f} fps, {video['width']}x{video['height']}; runner found in "
        f"{pq['detection_rate']:.0%} of frames"
    )
    facing = f", facing {report['direction']}" if report.get("direction") else ""
    for note in video.get("warnings", []):
        console.print(f"[yellow]note:[/] {escape(str(note))}")
    console.print(f"view: {report['view']}{facing} ({report['setting']})")
    metrics = report.get("metrics", {})
    if metrics:
        table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD)
        combined = "views" in report
        # Values, sides and statuses stay whole on a narrow terminal; a long metric
        # name folds onto a second line rather than losing its end. Why a metric
        # is not ok is listed below the table.
        table.add_column("metric", overflow="fold", min_width=20)
        table.add_column("value", no_wrap=True)
        for col in ("left", "right", "status", *(["from"] if combined else [])):
            table.add_column(col, no_wrap=True)
        for name, m in metrics.items():
            status = str(m.get("status", ""))
            table.add_row(
                name,
                _fmt(m.get("value"), m.get("uncertainty"), m.get("unit", "")),
                _fmt(m.get("left"), None, ""),
                _fmt(m.get("right"), None, ""),
                status_word(status, str(m.get("reason", ""))),
                *([str(m.get("source_view", ""))] if combined else []),
            )
        console.print(table)
        console.print(f"[dim]{escape(UNCERTAINTY_NOTE)}[/]")
        _print_reasons(console, metrics)
    _print_findings(console, report)
    console.print(
        escape(f"results written to {out_dir} (open {out_dir / 'report.html'})")
    )


def _print_reasons(console: Console, metrics: dict[str, Any]) -> None:
    """Why each metric is not ``ok``: each reason once, naming the metrics it applies to."""
    by_reason: dict[tuple[str, str], list[str]] = {}
    for name, m in metrics.items():
        status = str(m.get("status", ""))
        if status != "ok":
            by_reason.setdefault((status, str(m.get("reason", ""))), []).append(name)
    for (status, reason), names in by_reason.items():
        text = escape(f"{', '.join(names)}: {reason}")
        console.print(f"[dim]{status_word(status)}:[/] {text}")


def _print_findings(console: Console, report: dict[str, Any], top: int = 3) -> None:
    items = report.get("findings", {}).get("items", [])
    if not items:
        console.print("[bold]findings:[/] nothing outside its target band.")
    else:
        console.print("[bold]top fixes:[/]")
        for f in items[:top]:
            console.print(
                escape(
                    f"  {f['rank']}. {f['title']} "
                    f"[{LEVEL_WORDS.get(f['level'], f['level'])}, confidence {f['confidence']}]"
                )
            )
            for o in f["observations"]:
                console.print(f"     {escape(o['text'])}")
            action = next((a for a in f["actions"] if a["kind"] in ("cue", "drill")), None)
            if action:
                dose = f" ({action['dose']})" if action["dose"] else ""
                console.print(escape(f"     try: {action['text']}{dose}"))
        if len(items) > top:
            console.print(f"  ... and {len(items) - top} more in the HTML report")
    console.print(f"[dim]{escape(str(report.get('disclaimer', '')))}[/]")


def _fmt(value: Any, unc: Any, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:.1f}" if isinstance(value, int | float) else str(value)
    if isinstance(unc, int | float):
        text += f" ± {unc:.1f}"
    return f"{text} {unit}".strip()


def _limits(max_size_mb: float, max_duration: float, max_resolution: int) -> VideoLimits:
    """VideoLimits from the command-line options, with option names in errors."""
    import math

    for name, value in (
        ("--max-size-mb", max_size_mb),
        ("--max-duration", max_duration),
        ("--max-resolution", max_resolution),
    ):
        if not (math.isfinite(value) and value > 0):
            raise FormcheckError(f"{name} must be a positive number, not {value}.")
    if max_resolution < 64:
        raise FormcheckError(f"--max-resolution must be at least 64 pixels, not {max_resolution}.")
    return VideoLimits(
        max_bytes=int(max_size_mb * 1024**2),
        max_duration_s=float(max_duration),
        max_long_side=int(max_resolution),
    )


@app.command()
def analyze(
    videos: Annotated[
        list[Path],
        typer.Argument(
            help="Running clip (mp4, mov, m4v, avi, mkv, webm). Give a side and a rear clip "
            "of the same run to combine them into one report."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder.")
    ] = Path("formcheck-out"),
    view: Annotated[
        str,
        typer.Option(
            help="Camera view: auto, side, rear or front; with several clips, one per clip "
            "separated by commas (side,rear)."
        ),
    ] = "auto",
    capture_fps: Annotated[
        float | None,
        typer.Option(help="Frame rate the clip was filmed at (slow-motion clips)."),
    ] = None,
    height: Annotated[float | None, typer.Option(help="Runner height in metres.")] = None,
    speed: Annotated[float | None, typer.Option(help="Treadmill speed in km/h.")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Another MediaPipe pose_landmarker .task file.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    max_size_mb: Annotated[
        float, typer.Option(help="Refuse files larger than this many megabytes.")
    ] = 2048.0,
    max_duration: Annotated[
        float, typer.Option(help="Refuse clips longer than this many seconds.")
    ] = 1800.0,
    max_resolution: Annotated[
        int, typer.Option(help="Downscale frames with a longer side (pixels) before pose.")
    ] = VideoLimits.max_long_side,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Pose trackers working on time segments of one clip at once (default: 1 for "
            "clips under 20 s, else 2 on a machine with 2 or more cores).",
        ),
    ] = None,
    no_video: Annotated[
        bool,
        typer.Option(
            "--no-video", help="Skip the annotated video (faster; the report is otherwise whole)."
        ),
    ] = False,
) -> None:
    """Analyse a clip (or a side and a rear clip of one run) and write the report to --out."""
    from formcheck.pipeline import AnalysisOptions

    views = _views_for(view, len(videos))
    limits = _limits(max_size_mb, max_duration, max_resolution)
    options = [
        AnalysisOptions(
            model_path=str(model) if model else None,
            view=clip_view,  # type: ignore[arg-type]
            capture_fps=capture_fps,
            height_m=height,
            treadmill_speed_kmh=speed,
            limits=limits,
            workers=workers,
        )
        for clip_view in views
    ]
    with _out_folder(out):
        _analyze_into(out, videos, options, quiet, write_video=not no_video)


def _analyze_into(
    out: Path,
    videos: list[Path],
    options: list[AnalysisOptions],
    quiet: bool,
    *,
    write_video: bool = True,
) -> None:
    """Analyse each clip with its options and write the (combined) report to ``out``."""
    from formcheck.pipeline import analyze as run_analysis

    analyses = []
    for clip, clip_options in zip(videos, options, strict=True):
        with _progress(quiet, f"pose {clip.name}") as update:
            analyses.append(run_analysis(clip, clip_options, on_progress=update))
    # Imported after pose: the report's libraries need not sit beside the landmarkers.
    from formcheck.io.outputs import write_session
    from formcheck.session import make_session, session_labels

    session = make_session(analyses)
    paths = dict(zip(session_labels(analyses), videos, strict=True))
    report = write_session(session, out, video_paths=paths, write_video=write_video)
    if not quiet:
        _print_summary(report, out)


@contextmanager
def _out_folder(out: Path) -> Iterator[None]:
    """The output folder, made before any work; removed again if the run fails and left it empty."""
    made = [p for p in (out, *out.parents) if not p.exists()]  # innermost first
    _prepare_out(out)
    try:
        yield
    except BaseException:
        for folder in made:
            if not folder.is_dir() or any(folder.iterdir()):
                break
            folder.rmdir()
        raise


def _check_out(out: Path) -> None:
    """Refuse an --out that is an existing file."""
    if out.exists() and not out.is_dir():
        raise FormcheckError(f"--out {out} is a file, not a folder: give a folder name.")


def _prepare_out(out: Path) -> None:
    """Create the output folder before any work, or say plainly why it cannot be one."""
    _check_out(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FormcheckError(
            f"cannot create the output folder {out} ({exc.strerror or exc}): choose a folder "
            "you can write to with --out."
        ) from exc


def _views_for(view: str, n: int) -> list[str]:
    """One view choice per clip from ``--view`` (one value for all, or one per clip)."""
    allowed = ("auto", "side", "rear", "front")
    parts = [v.strip() for v in view.split(",")]
    bad = [v for v in parts if v not in allowed]
    if bad:
        raise FormcheckError(f"--view must be auto, side, rear or front, not {bad[0]!r}")
    if len(parts) == 1:
        return parts * n
    if len(parts) != n:
        raise FormcheckError(
            f"--view lists {len(parts)} views for {n} clips: give one for all or one per clip"
        )
    return parts


@app.command()
def report(
    out_dir: Annotated[Path, typer.Argument(help="A folder written by 'formcheck analyze'.")],
    video: Annotated[
        Path | None,
        typer.Option(help="The source clip, if it moved (else the one recorded in outputs.json)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Re-render every output of DIR from its tracks.nc and report.json (no pose)."""
    from formcheck.io.outputs import REPORT_FILE, write_session
    from formcheck.io.tracks import load_report
    from formcheck.session import Session

    old = load_report(out_dir / REPORT_FILE)
    if video is not None and not video.is_file():
        raise FormcheckError(f"no such video: {video}")
    labels = list(old["views"]) if isinstance(old.get("views"), dict) else []
    if labels:
        if video is not None:
            raise FormcheckError("--video is for one-clip reports; this folder combines clips")
        loaded = {label: _reload(out_dir / label, None) for label in labels}
    else:
        loaded = {"clip": _reload(out_dir, video)}
    session = Session({label: analysis for label, (analysis, _) in loaded.items()})
    new = write_session(
        session,
        out_dir,
        video_paths={label: src for label, (_, src) in loaded.items()},
        write_tracks=False,
    )
    if not quiet:
        if any(src is None for _, src in loaded.values()):
            _stderr().print(
                "note: source clip not found; frames are drawn on a blank background "
                "(pass --video PATH)."
            )
        _print_summary(new, out_dir)


def _reload(folder: Path, video: Path | None) -> tuple[Any, Path | None]:
    """Re-analyse one saved clip folder from its tracks; returns (analysis, source clip)."""
    from formcheck.io.outputs import REPORT_FILE, source_video
    from formcheck.io.tracks import TRACKS_FILE, load_report, load_tracks
    from formcheck.pipeline import AnalysisOptions, analyze_tracks

    old = load_report(folder / REPORT_FILE)
    raw = load_tracks(folder / TRACKS_FILE)
    opts = old["options"]
    options = AnalysisOptions(
        view=opts["view"],
        capture_fps=opts.get("capture_fps"),
        height_m=opts.get("height_m"),
        treadmill_speed_kmh=opts.get("treadmill_speed_kmh"),
    )
    return analyze_tracks(raw, old["video"], options), video or source_video(folder)


@app.command()
def batch(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of clips arranged athlete/YYYY-MM-DD/clip.mp4 (any depth), or a CSV "
            "manifest with columns athlete, date, view, path (optional: height, "
            "treadmill_speed, capture_fps)."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (reports, squad summary, database).")
    ] = Path("formcheck-batch"),
    db: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy database URL (default: sqlite file formcheck.db in --out)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Parallel videos (default: all cores).")
    ] = None,
    engine: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (HOST:6379); a local Ray when omitted."),
    ] = None,
    view: Annotated[
        str, typer.Option(help="View of clips whose name does not say: auto, side, rear, front.")
    ] = "auto",
    capture_fps: Annotated[
        float | None, typer.Option(help="Frame rate the clips were filmed at (slow motion).")
    ] = None,
    height: Annotated[float | None, typer.Option(help="Runner height in metres.")] = None,
    speed: Annotated[float | None, typer.Option(help="Treadmill speed in km/h.")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Another MediaPipe pose_landmarker .task file.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    no_video: Annotated[
        bool,
        typer.Option(
            "--no-video",
            help="Skip each session's annotated video (about half the time after pose).",
        ),
    ] = False,
) -> None:
    """Analyse a squad's clips in parallel, store every session, write squad and history pages.

    Re-running the same command resumes: sessions already done (same clip contents) are
    skipped. Exit code 0 when every video was analysed, 1 when some failed (listed).
    """
    from formcheck.batch.engines import EngineOptions
    from formcheck.batch.inputs import Defaults
    from formcheck.batch.runner import BatchConfig, run_batch

    if engine not in ("local", "ray"):
        raise FormcheckError(f"--engine must be local or ray, not {engine!r}")
    if address and engine != "ray":
        raise FormcheckError("--address is for --engine ray")
    check_runner_inputs(height, speed)
    _check_out(out)  # the batch makes the folder once its input has been read
    config = BatchConfig(
        input=source,
        out=out,
        db_url=db,
        defaults=Defaults(
            view=_views_for(view, 1)[0],  # type: ignore[arg-type]
            height_m=height,
            treadmill_speed_kmh=speed,
            capture_fps=capture_fps,
        ),
        engine=EngineOptions(engine=engine, workers=workers, address=address),  # type: ignore[arg-type]
        model_path=str(model.resolve()) if model else None,
        write_video=not no_video,
    )
    with _batch_progress(quiet) as update:
        summary = run_batch(config, on_progress=update)
    if not quiet:
        _print_batch_summary(summary)
    if summary.videos_failed:
        raise typer.Exit(1)


@contextmanager
def _batch_progress(quiet: bool) -> Iterator[Callable[[Any], None] | None]:
    """An overall progress bar: videos done, failed, time left."""
    if quiet:
        yield None
        return
    progress = Progress(
        TextColumn("[bold]videos"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("done {task.fields[done]}, failed {task.fields[failed]}"),
        TextColumn("{task.fields[skipped]}"),
        TimeRemainingColumn(),
        console=_stderr(),
        transient=True,
    )
    task = progress.add_task("videos", total=None, done=0, failed=0, skipped="")

    def update(p: Any) -> None:
        progress.update(
            task,
            total=p.total or None,
            completed=p.done + p.failed,
            done=p.done,
            failed=p.failed,
            skipped=f"(skipped {p.skipped} already done)" if p.skipped else "",
        )

    with progress:
        yield update


def _print_batch_summary(summary: Any) -> None:
    console = Console(highlight=False)
    console.print(
        f"[bold]{summary.videos_done}[/] videos analysed, [bold]{summary.videos_failed}[/] "
        f"failed, {summary.videos_skipped} skipped (already done); sessions: "
        f"{summary.sessions_done} written, {summary.sessions_skipped} already done, "
        f"{summary.sessions_failed} failed"
    )
    for source, message in summary.errors:
        # Input problems already start with their source (the squad page shows them alone).
        text = message if message.startswith(f"{source}:") else f"{source}: {message}"
        console.print(f"[red]failed[/] {escape(text)}", soft_wrap=True)
    console.print(escape(f"squad summary: {summary.squad_html} and {summary.squad_csv.name}"))
    console.print(escape(f"database: {summary.db_url}"))


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Output .mp4 (ground truth goes beside it).")],
    view: Annotated[str, typer.Option(help="side, rear or front.")] = "side",
    facing: Annotated[str, typer.Option(help="left or right (side view).")] = "right",
    cadence: Annotated[float, typer.Option(help="Steps per minute.")] = 170.0,
    duty_factor: Annotated[float, typer.Option(help="Contact time / stride time.")] = 0.36,
    overstride: Annotated[float, typer.Option(help="Heel ahead of hip at contact, % leg.")] = 8.0,
    valgus_left: Annotated[float, typer.Option(help="Peak knee FPPA, left leg (deg).")] = 0.0,
    valgus_right: Annotated[float, typer.Option(help="Peak knee FPPA, right leg (deg).")] = 0.0,
    trunk_lean: Annotated[float, typer.Option(help="Forward trunk lean (deg).")] = 7.0,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 30.0,
    width: Annotated[int, typer.Option(help="Frame width.")] = 1280,
    height: Annotated[int, typer.Option(help="Frame height.")] = 720,
    duration: Annotated[float, typer.Option(help="Seconds.")] = 6.0,
    style: Annotated[str, typer.Option(help="Runner style: a or b.")] = "a",
    rotate_metadata: Annotated[
        bool, typer.Option(help="Portrait: store landscape pixels + rotation metadata.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Render a synthetic treadmill runner with exact ground truth."""
    from formcheck.synth import SynthParams, render_clip

    params = SynthParams(
        view=view,  # type: ignore[arg-type]
        facing=facing,  # type: ignore[arg-type]
        cadence_spm=cadence,
        duty_factor=duty_factor,
        overstride_pct_leg=overstride,
        valgus_left_deg=valgus_left,
        valgus_right_deg=valgus_right,
        trunk_lean_deg=trunk_lean,
        fps=fps,
        width=width,
        height=height,
        duration_s=duration,
        style=style,  # type: ignore[arg-type]
        rotate_metadata=rotate_metadata,
        seed=seed,
    )
    truth = render_clip(params, out)
    Console(highlight=False).print(
        escape(
            f"wrote {out} ({truth['n_frames']} frames) and its ground truth "
            f"{out.with_suffix('.truth.json').name}"
        )
    )


def _is_usage_error(exc: BaseException) -> bool:
    """True for click's own errors (usage, bad option values), whichever copy raised it.

    Newer typer releases carry their own copy of click (``typer._click``),
    whose exceptions are not ``click.ClickException`` instances. Both kinds
    show their message (and the usage) themselves and carry their exit code:
    2 for usage errors. formcheck itself raises none of them.
    """
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(
        exc, "show"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every error into one line and an exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        Process exit code.
    """
    try:
        code = app(args=argv, standalone_mode=False)
        if code == EXIT_INTERRUPTED:
            # typer turns Ctrl-C into Exit(130), which click returns instead of raising.
            _stderr().print("interrupted; nothing half-written was kept.")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
    except FormcheckError as exc:
        _stderr().print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _stderr().print("interrupted; nothing half-written was kept.")
        return EXIT_INTERRUPTED
    except typer.Abort:
        # click turns Ctrl-C (KeyboardInterrupt) inside a command into Abort.
        _stderr().print("interrupted; nothing half-written was kept.")
        return EXIT_INTERRUPTED
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 1) or 0)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        _stderr().print(
            f"[bold red]error:[/] unexpected failure ({type(exc).__name__}: "
            f"{escape(str(exc))}). Please report it with the clip if you can.",
            soft_wrap=True,
        )
        return EXIT_INTERNAL_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
