"""The app in a real browser: the server on localhost, Debian's chromium driven by Playwright.

Uploads a sample clip through the page's file input, waits for the findings,
steps to a flagged frame with the Next button and saves a screenshot. Needs
``/usr/bin/chromium`` (``.ci/run`` installs it); a missing browser fails the
test rather than skipping it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 60
ANALYSIS_TIMEOUT_MS = 300_000

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    pytest.fail(f"streamlit did not start within {START_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run streamlit_app.py`` on a free localhost port; its URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "full",  # an exception must be visible to fail the test
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env={**os.environ}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def test_upload_review_a_flagged_frame_and_screenshot(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does).")
    shot = tmp_path / "flagged_frame.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2200})
            page.goto(server)
            page.get_by_text("Upload my clip", exact=True).click()
            page.locator("input[type=file]").set_input_files(
                str(REPO / "sample_videos" / "side_overstride.mp4")
            )
            go = page.get_by_role("button", name="Analyse my run")
            expect(go).to_be_enabled(timeout=60_000)
            go.click()
            top = page.get_by_text(re.compile(r"Your top \d+ fix"))
            expect(top).to_be_visible(timeout=ANALYSIS_TIMEOUT_MS)
            expect(page.get_by_text("1. Overstriding", exact=False)).to_be_visible()

            page.get_by_role("tab", name="Flagged frames").click()
            caption = page.get_by_text(re.compile(r"^Frame \d+ at \d+\.\d\d s"))
            expect(caption).to_be_visible(timeout=30_000)
            first = caption.inner_text()
            page.get_by_role("button", name="Next").click()
            expect(caption).not_to_have_text(first, timeout=30_000)
            assert re.match(r"Frame \d+ at", caption.inner_text())
            image = page.locator("[data-testid=stImage] img").first
            expect(image).to_be_visible(timeout=30_000)
            # Streamlit may replace the <img> after "Next" re-runs the page: read the
            # current first image each time, not a handle to one that was swapped out.
            width_when_loaded = (
                "() => { const img = document.querySelector('[data-testid=stImage] img');"
                " return img !== null && img.complete ? img.naturalWidth : 0; }"
            )
            width = page.wait_for_function(width_when_loaded, timeout=30_000).json_value()
            assert width >= 640
            assert page.locator("[data-testid=stException]").count() == 0
            assert page.get_by_text("Traceback").count() == 0
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a page with a video frame, not a blank canvas
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] >= 1000 and img.shape[1] == 1280
    assert float(img.std()) > 20.0  # real content, not a uniform page
