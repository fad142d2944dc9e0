"""formcheck in the browser: ``streamlit run streamlit_app.py``.

The page is thin: it calls the same ``formcheck.pipeline.analyze`` as the CLI
and only lays out what the report holds.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from formcheck.errors import FormcheckError
from formcheck.io.video import probe_video, read_frame
from formcheck.overlay import draw_skeleton, frame_points
from formcheck.pipeline import AnalysisOptions, analyze
from formcheck.report import DISCLAIMER, build_report

SAMPLES = Path(__file__).resolve().parent / "sample_videos"
UPLOAD_TYPES = ["mp4", "mov", "m4v", "avi"]


def _analyse(path: Path, options: AnalysisOptions, key: str) -> None:
    bar = st.progress(0.0, text="Finding the runner...")

    def update(done: int, total: int) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"Pose: frame {done} of {total}")

    try:
        analysis = analyze(path, options, on_progress=update)
    except FormcheckError as exc:
        bar.empty()
        st.session_state["results"][key] = {"error": str(exc)}
        return
    bar.empty()
    st.session_state["results"][key] = {"analysis": analysis, "report": build_report(analysis), "path": str(path)}


def main() -> None:
    """Lay out the page."""
    st.set_page_config(page_title="formcheck", layout="wide")
    st.title("formcheck: running form from video")
    st.caption(DISCLAIMER)
    st.session_state.setdefault("results", {})
    with st.expander("How to film"):
        st.markdown(
            "Tripod at hip height, 3-5 m away, square to the treadmill (side view) or straight "
            "behind it (rear view). Whole body in frame, 10+ seconds of steady running, 60 fps or "
            "more if your phone can."
        )
    source = st.radio("Clip", ["Sample clip", "Upload my clip"], horizontal=True)
    view = st.selectbox("Camera view", ["auto", "side", "rear", "front"])
    options = AnalysisOptions(view=view)  # type: ignore[arg-type]
    path: Path | None = None
    data: bytes | None = None
    if source == "Sample clip":
        samples = sorted(SAMPLES.glob("*.mp4"))
        choice = st.selectbox("Sample", [p.name for p in samples])
        path = SAMPLES / choice if choice else None
        data = path.read_bytes() if path else None
    else:
        upload = st.file_uploader("Your clip", type=UPLOAD_TYPES)
        data = upload.getvalue() if upload else None
    if data is None:
        return
    key = hashlib.sha256(data).hexdigest() + repr(options)
    if st.button("Analyse", type="primary") and key not in st.session_state["results"]:
        if path is None:
            with tempfile.TemporaryDirectory() as tmp:
                tmp_path = Path(tmp) / "upload.mp4"  # the uploaded name is never used as a path
                tmp_path.write_bytes(data)
                _analyse(tmp_path, options, key)
        else:
            _analyse(path, options, key)
    result = st.session_state["results"].get(key)
    if not result:
        return
    if "error" in result:
        st.error(result["error"])
        return
    report = result["report"]
    st.subheader(f"View: {report['view']}" + (f", facing {report['direction']}" if report["direction"] else ""))
    rows = [
        {"metric": name, "value": m["value"], "unit": m["unit"], "±": m["uncertainty"], "status": m["status"], "note": m["reason"]}
        for name, m in report["metrics"].items()
    ]
    st.dataframe(rows, hide_index=True, use_container_width=True)
    if path is not None:
        analysis = result["analysis"]
        n = int(analysis.tracks.sizes["time"])
        idx = st.slider("Frame", 0, max(n - 1, 0), 0)
        frame = read_frame(probe_video(path), idx)
        st.image(draw_skeleton(frame.image, frame_points(analysis.tracks, idx)), use_container_width=True)


main()
