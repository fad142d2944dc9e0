"""The HTML report: pure rendering, and a real headless-browser check."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from formcheck.html_report import render_html

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def _report():
    frame = {"frame": 12, "time_s": 0.4, "foot": "right", "metric": "overstride_pct_leg",
             "value": 22.0, "unit": "% leg length", "level": "act", "geometry": "overstride",
             "band": "good <= 8 % leg length", "image": "images/frame_00012_overstride_pct_leg.png"}
    g = {"kind": "cue", "title": "", "text": "Land <closer> & quicker", "dose": "", "source": "T"}
    return {
        "video": {"file": "clip.mp4", "frames": 10, "duration_s": 1.0, "fps": 30.0},
        "view": "side", "direction": "right", "formcheck_version": "0",
        "metrics": {"cadence_spm": {"value": 155.0, "unit": "steps/min", "uncertainty": 1.0,
                                    "status": "ok", "reason": "", "n_strides": 4}},
        "findings": {"rules_version": "x", "top_fixes": ["overstriding"], "general_advice": [g],
                     "items": [{"id": "overstriding", "rank": 1, "top_fix": True, "title": "Overstriding",
                                "level": "act", "severity": "high", "side": "both",
                                "confidence": "high", "confidence_reasons": [],
                                "observations": [{"text": "seen"}], "frames": [frame],
                                "why": [g], "actions": [g],
                                "see_clinician": {"text": "see a doctor", "source": "T"},
                                "evidence": "e", "sources": ["S"]}]},
        "disclaimer": "formcheck is a training aid, not a diagnosis.",
    }


def test_render_html_is_self_contained_and_escaped():
    text = render_html(_report(), images={"images/frame_00012_overstride_pct_leg.png": PNG_1PX},
                       plots={"Plot": "<svg></svg>"}, video=b"\x00\x00")
    assert text.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in text and "data:video/mp4;base64," in text
    assert "Land &lt;closer&gt; &amp; quicker" in text
    assert "not a diagnosis" in text and "Top fixes" in text
    # nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_flagged_frames_are_embedded_as_small_jpegs():
    """A camera frame as PNG is about 1 MB; the report embeds a JPEG some times smaller."""
    import numpy as np

    from formcheck.io.exports import encode_png, web_images

    rng = np.random.default_rng(0)
    smooth = np.linspace(0, 255, 640 * 360 * 3).reshape(360, 640, 3)
    frame = np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)
    rel = "images/frame_00012_overstride_pct_leg.png"
    png = encode_png(frame)
    jpeg = web_images({rel: png, "images/broken.png": b"not an image"})
    assert jpeg[rel][:3] == b"\xff\xd8\xff" and len(jpeg[rel]) * 3 < len(png)
    assert jpeg["images/broken.png"] == b"not an image"  # kept as it is
    text = render_html(_report(), images={rel: jpeg[rel]})
    assert "data:image/jpeg;base64," in text and "data:image/png" not in text


def test_clip_limits_are_shown_in_the_report():
    report = _report()
    plain = render_html(report)
    assert 'id="clip-notes"' not in plain
    report["video"]["warnings"] = ["only 4 s of <running>: cadence is low confidence"]
    text = render_html(report)
    notes = text.split('id="clip-notes"', 1)[1].split("</div>", 1)[0]
    assert "only 4 s of &lt;running&gt;: cadence is low confidence" in notes


def _launch(p):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["side_overstride", "rear_valgus_right"])
def test_html_report_in_real_browser(analysed_sample, name):
    from playwright.sync_api import sync_playwright

    _, report, out, _ = analysed_sample(name)
    page_file = out / "report.html"
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri(), wait_until="load")
            imgs = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])"
            )
            n_frames = sum(len(f["frames"]) for f in report["findings"]["items"])
            assert len(imgs) == n_frames
            assert all(complete and width > 0 for complete, width, _ in imgs), imgs
            page.wait_for_function(
                "() => { const v = document.querySelector('video');"
                " return v && (v.readyState >= 1 || v.error); }",
                timeout=20_000,
            )
            state = page.evaluate(
                "() => { const v = document.querySelector('video');"
                " return {duration: v.duration, error: v.error ? v.error.code : null,"
                " w: v.videoWidth}; }"
            )
            assert state["error"] is None, state
            assert state["duration"] > 0 and state["w"] > 0, state
            assert page.locator("svg").count() >= 2
            assert not errors, errors
            page.screenshot(path=f"/tmp/formcheck_report_{name}.png", full_page=False)
        finally:
            browser.close()


def test_a_given_input_reads_given_not_measured():
    report = _report()
    report["metrics"]["speed_m_s"] = {"value": 3.3, "unit": "m/s", "uncertainty": None,
                                      "status": "ok", "reason": "given by the user",
                                      "n_strides": 0}
    text = render_html(report)
    speed_row = text[text.index("<td>speed_m_s</td>"):].split("</tr>")[0]
    cadence_row = text[text.index("<td>cadence_spm</td>"):].split("</tr>")[0]
    assert ">given<" in speed_row and ">measured<" not in speed_row
    assert ">measured<" in cadence_row


def test_the_report_says_what_the_uncertainty_covers():
    text = render_html(_report())
    assert "95 % confidence of the mean" in text and "pose model&#x27;s own error" in text
