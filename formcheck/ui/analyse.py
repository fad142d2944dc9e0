"""The "Analyse a run" page: choose a clip, set the run details, analyse, see results."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from formcheck.errors import FormcheckError
from formcheck.io.model import PoseModel, load_model
from formcheck.io.video import VideoLimits
from formcheck.io.workspace import UPLOAD_SUFFIXES, list_samples, sha256_bytes, sha256_file
from formcheck.pipeline import AnalysisOptions, ViewChoice
from formcheck.ui.present import (
    DEFAULT_MAX_UPLOAD_MB,
    display_name,
    progress_text,
    sample_title,
    upload_limit_mb,
)
from formcheck.ui.results import TABS, show_results
from formcheck.ui.runner import AppResult, ClipRequest, ResultStore, run_analysis, session_key

LOG = logging.getLogger(__name__)
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "sample_videos"
MODES = ("sample", "upload", "pair")
MODE_LABELS = {
    "sample": "Try a sample clip",
    "upload": "Upload my clip",
    "pair": "Side + rear clips",
}
VIEW_LABELS: dict[ViewChoice, str] = {
    "auto": "Detect it for me",
    "side": "Side",
    "rear": "From behind",
    "front": "From the front",
}
UPLOAD_TYPES = [s.lstrip(".") for s in UPLOAD_SUFFIXES]
FILMING_TIPS = (
    (":material/height:", "Camera at knee to hip height, level, not tilted."),
    (":material/straighten:", "2-4 m away, square to the treadmill."),
    (":material/accessibility_new:", "Whole body in frame, head to feet, all the time."),
    (":material/switch_video:", "Film from the side, from behind, or both."),
    (":material/speed:", "60 fps or more if your phone can (slow motion is fine)."),
    (":material/light_mode:", "Good light, a steady phone (tripod or propped up)."),
    (":material/timer:", "10-30 s of steady running, after you have warmed up."),
)
PROGRESS_EVERY_S = 0.25


@st.cache_resource(show_spinner=False)
def cached_model() -> PoseModel:
    """The verified pose model bytes, loaded once per server (one landmarker per video)."""
    return load_model()


@st.cache_resource(show_spinner=False)
def cached_store() -> ResultStore:
    """The analyses and results of this server."""
    return ResultStore()


@dataclass(frozen=True)
class Inputs:
    """The clips and settings currently chosen on the page."""

    clips: tuple[ClipRequest, ...]
    waiting_for: str

    @property
    def key(self) -> str:
        """Cache key of the whole request (empty when incomplete)."""
        return session_key(self.clips) if self.clips and not self.waiting_for else ""


def _upload_limit() -> int:
    server_cap = st.get_option("server.maxUploadSize") or DEFAULT_MAX_UPLOAD_MB
    return min(upload_limit_mb(), int(server_cap))


def filming_tips() -> None:
    """The filming tips, shown open before the upload (folded once there are results)."""
    with st.expander(
        "How to film your run", expanded="fc_result" not in st.session_state,
        icon=":material/videocam:",
    ):
        cols = st.columns(2)
        for i, (icon, text) in enumerate(FILMING_TIPS):
            cols[i % 2].markdown(f"{icon} {text}")


def _digest(upload: Any) -> str:
    """SHA-256 of an upload, computed once per uploaded file."""
    known: dict[str, str] = st.session_state.setdefault("fc_digests", {})
    if upload.file_id not in known:
        known[upload.file_id] = sha256_bytes(upload.getbuffer())
    return known[upload.file_id]


def _upload_request(upload: Any, options: AnalysisOptions) -> ClipRequest:
    return ClipRequest(
        name=display_name(upload.name),
        digest=_digest(upload),
        options=options,
        data=upload.getbuffer(),
    )


def _run_details(mode: str) -> dict[str, Any]:
    """Optional run details; returns AnalysisOptions keyword arguments."""
    with st.expander("Run details (optional, for better numbers)", icon=":material/tune:"):
        cols = st.columns(4 if mode != "pair" else 3)
        height = cols[0].number_input(
            "Your height (cm)", min_value=100, max_value=230, value=None, step=1,
            key="fc_height", placeholder="e.g. 175",
            help="Gives bounce in cm and adapts the cadence target to your height.",
        )
        speed = cols[1].number_input(
            "Treadmill speed (km/h)", min_value=3.0, max_value=30.0, value=None, step=0.5,
            key="fc_speed", placeholder="e.g. 11",
            help="Gives step length and running speed (mph x 1.609 = km/h).",
        )
        capture = cols[2].number_input(
            "Slow motion: filmed at (fps)", min_value=24.0, max_value=1000.0, value=None,
            step=30.0, key="fc_capture", placeholder="e.g. 240",
            help="For slow-motion clips only: the frame rate the phone filmed at.",
        )
        view: ViewChoice = "auto"
        if mode != "pair":
            view = cols[3].selectbox(
                "Camera view", list(VIEW_LABELS), format_func=VIEW_LABELS.__getitem__,
                key="fc_view",
            )
    return {
        "view": view,
        "height_m": height / 100.0 if height else None,
        "treadmill_speed_kmh": float(speed) if speed else None,
        "capture_fps": float(capture) if capture else None,
    }


def _options(details: dict[str, Any], limit_mb: int) -> AnalysisOptions:
    """The same options for samples and uploads, so a clip's cache key is its bytes."""
    return AnalysisOptions(limits=VideoLimits(max_bytes=limit_mb * 1024**2), **details)


def _sample_inputs(details: dict[str, Any], limit_mb: int) -> Inputs:
    samples = list_samples(SAMPLES_DIR)
    if not samples:
        return Inputs((), "no sample clips are installed (sample_videos/ is missing)")
    names = [p.name for p in samples]
    default = names.index("side_overstride.mp4") if "side_overstride.mp4" in names else 0
    choice = st.selectbox(
        "Sample clip", names, index=default, key="fc_sample",
        format_func=lambda n: sample_title(Path(n).stem),
        help="Short synthetic treadmill clips bundled with formcheck.",
    )
    path = SAMPLES_DIR / choice
    clip = ClipRequest(
        name=path.name, digest=sha256_file(path), options=_options(details, limit_mb), path=path
    )
    return Inputs((clip,), "")


def _upload_inputs(details: dict[str, Any], limit_mb: int) -> Inputs:
    filming_tips()
    upload = st.file_uploader(
        "Your running clip", type=UPLOAD_TYPES, key="fc_upload", max_upload_size=limit_mb,
        help=(
            f"MP4, MOV, M4V, AVI, MKV or WebM, up to {limit_mb} MB. Deleted as soon as it "
            "is analysed."
        ),
    )
    if upload is None:
        return Inputs((), "upload a clip")
    return Inputs((_upload_request(upload, _options(details, limit_mb)),), "")


def _pair_inputs(details: dict[str, Any], limit_mb: int) -> Inputs:
    filming_tips()
    st.caption(
        "Two clips of the same run: one from the side, one from behind. The side clip gives "
        "overstride and knee bend, the rear clip knee drift and pelvic drop; one report."
    )
    cols = st.columns(2)
    side = cols[0].file_uploader(
        "Side view clip", type=UPLOAD_TYPES, key="fc_upload_side", max_upload_size=limit_mb,
        help=f"MP4, MOV, M4V, AVI, MKV or WebM, up to {limit_mb} MB.",
    )
    other = cols[1].file_uploader(
        "Rear view clip", type=UPLOAD_TYPES, key="fc_upload_rear", max_upload_size=limit_mb,
        help=f"MP4, MOV, M4V, AVI, MKV or WebM, up to {limit_mb} MB.",
    )
    other_view = cols[1].radio(
        "The second clip is filmed", ("rear", "front"), horizontal=True, key="fc_pair_view",
        format_func={"rear": "from behind", "front": "from the front"}.__getitem__,
    )
    if side is None or other is None:
        return Inputs((), "upload both clips")
    # Each slot says which view its clip is, as 'formcheck analyze --view side,rear' does.
    return Inputs((
        _upload_request(side, _options({**details, "view": "side"}, limit_mb)),
        _upload_request(other, _options({**details, "view": other_view}, limit_mb)),
    ), "")


def _inputs() -> Inputs:
    mode = st.segmented_control(
        "Clip", MODES, format_func=MODE_LABELS.__getitem__, default="sample", required=True,
        key="fc_mode", label_visibility="collapsed",
    )
    mode = mode or "sample"
    details = _run_details(mode)
    limit_mb = _upload_limit()
    if mode == "sample":
        return _sample_inputs(details, limit_mb)
    if mode == "upload":
        return _upload_inputs(details, limit_mb)
    return _pair_inputs(details, limit_mb)


def _ask(key: str) -> None:
    st.session_state["fc_pending"] = key


class _ProgressBar:
    """A progress bar for pose estimation, updated at most every PROGRESS_EVERY_S."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._bar = st.progress(0.0, text="Opening the clip...")
        self._clock = clock
        self._start: dict[int, float] = {}
        self._last = -1.0

    def update(self, number: int, clips: int, name: str, done: int, total: int) -> None:
        now = self._clock()
        start = self._start.setdefault(number, now)
        if now - self._last < PROGRESS_EVERY_S and done < total:
            return
        self._last = now
        step = f"clip {number} of {clips}" if clips > 1 else ""
        frac, text = progress_text(done, total, now - start, name, step)
        self._bar.progress(frac, text=text)

    def writing(self) -> None:
        self._bar.progress(1.0, text="Drawing the annotated video and the report...")

    def clear(self) -> None:
        self._bar.empty()


def _run(inputs: Inputs) -> None:
    """Run the requested analysis; keep its result or its error in the session."""
    bar = _ProgressBar()
    try:
        result = run_analysis(
            inputs.clips, cached_store(), cached_model,
            on_progress=bar.update, on_writing=bar.writing,
        )
    except FormcheckError as exc:
        _fail(str(exc))
    except Exception as exc:  # an internal failure: one message, details in the server log
        LOG.exception("analysis failed")
        _fail(
            f"formcheck failed inside while analysing this clip ({type(exc).__name__}). "
            "Try another clip; if it happens again, please report it with the clip."
        )
    else:
        _show(result)
    # A rerun requested mid-analysis (a widget changed) interrupts it with Streamlit's
    # own exception; the request stays pending and restarts if the inputs are unchanged.
    bar.clear()


def _fail(message: str) -> None:
    st.session_state.pop("fc_pending", None)
    st.session_state.pop("fc_result", None)
    st.session_state["fc_error"] = message


def _show(result: AppResult) -> None:
    st.session_state.pop("fc_pending", None)
    st.session_state.pop("fc_error", None)
    st.session_state["fc_result"] = result
    st.session_state["fc_tab"] = TABS[0]
    for key in [k for k in st.session_state if str(k).startswith(("fc_flag", "fc_scrub"))]:
        del st.session_state[key]


def _show_error(message: str) -> None:
    st.error(message, icon=":material/error:", title="This clip could not be analysed")
    st.caption(
        "Nothing was kept from it. Check the filming tips, then upload another clip, "
        "or try a sample clip to see what formcheck gives."
    )


def analyse_page() -> None:
    """Lay out the page."""
    st.title("formcheck")
    st.markdown(
        "Film yourself running on a treadmill and get your **cadence, overstride, knee bend "
        "and knee drift**, the few things most worth working on, and the frames that show "
        "them. Everything runs here; your clip is deleted once it is analysed."
    )
    inputs = _inputs()
    label = "Analyse sample" if st.session_state.get("fc_mode", "sample") == "sample" else (
        "Analyse my run"
    )
    st.button(
        label, type="primary", icon=":material/play_arrow:", key="fc_go",
        disabled=not inputs.key, on_click=_ask, args=(inputs.key,),
        help=inputs.waiting_for or None,
    )
    pending = st.session_state.get("fc_pending")
    if pending and pending == inputs.key:
        st.session_state.pop("fc_error", None)
        _run(inputs)
    elif pending:
        st.session_state.pop("fc_pending", None)
    if "fc_error" in st.session_state:
        _show_error(st.session_state["fc_error"])
    result: AppResult | None = st.session_state.get("fc_result")
    if result is None:
        return
    if inputs.key and inputs.key != result.key:
        st.info(
            "You changed the clip or the run details: press the button above to analyse "
            "again. The results below are for the previous choice.",
            icon=":material/info:",
        )
    show_results(result)
